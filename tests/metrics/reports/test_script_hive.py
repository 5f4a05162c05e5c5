"""Script reports that call `hive` and `beeline`, run unchanged through the runner on DuckDB.

The folder (tests/fixtures/script_reports/pageview_scripts) is written as Wikimedia's script reports
were: a bash script with HiveQL in a heredoc and `set hive.cli.print.header=true;`, one piping
`hive -S` into awk, one running a HiveQL file with beeline and piping it into the folder's Python
helper. The data are generated pageview dumps loaded with the service's own loader; the expected
TSV files are computed in plain Python from the rows of `wmf.pageview_hourly` read back with pyarrow.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from ingestion import generate, pageviews
from metrics.engines import open_engine
from metrics.reports.runner import update_reports
from tests.conftest import FIXTURES

FOLDER = FIXTURES / "script_reports" / "pageview_scripts"
START = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
DAYS = [dt.date(2026, 11, 1), dt.date(2026, 11, 2)]
NOW = dt.datetime(2026, 11, 3, 12)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("scripts")
    pageviews.load(tmp / "wh", generate.pageview_dumps(11, tmp / "raw", START, 24 * len(DAYS), 120))
    folder = shutil.copytree(FOLDER, tmp / "q" / "pageview_scripts")
    with open_engine(tmp / "wh") as engine:
        summary = update_reports(folder, engine, tmp / "out", now=NOW, graphite=False)
    assert summary.ok, summary.lines()
    assert len(summary.outcomes) == 3 * len(DAYS)
    return tmp


def views_by_day(root: Path) -> dict[str, list[dict]]:
    """The raw rows of wmf.pageview_hourly, by day (`YYYY-MM-DD`)."""
    rows = ds.dataset(root / "wh" / "wmf" / "pageview_hourly", format="parquet", partitioning="hive").to_table().to_pylist()
    by_day: dict[str, list[dict]] = collections.defaultdict(list)
    for r in rows:
        by_day[f"{r['year']:04d}-{r['month']:02d}-{r['day']:02d}"].append(r)
    return by_day


def tsv(header: list[str], rows: list[list[object]]) -> bytes:
    """A TSV file as Reportupdater writes it (Python's csv module: tab, QUOTE_MINIMAL, `\\r\\n`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def is_mobile(domain_code: str) -> bool:
    return domain_code.endswith(".m") or ".m." in domain_code


def test_heredoc_script_with_hive_header(run: Path) -> None:
    rows = []
    for day, raw in sorted(views_by_day(run).items()):
        views: collections.Counter[str] = collections.Counter()
        pages = collections.defaultdict(set)
        for r in raw:
            views[r["domain_code"]] += r["count_views"]
            pages[r["domain_code"]].add(r["page_title"])
        top = sorted(views, key=lambda code: (-views[code], code))[:10]
        rows += [[day, code, views[code], len(pages[code])] for code in top]
    assert (run / "out" / "domain_views.tsv").read_bytes() == tsv(["date", "domain_code", "views", "pages"], rows)
    with open_engine(run / "wh") as engine:
        table = engine.query("SELECT dt, domain_code, views FROM metrics.pageview_scripts_domain_views ORDER BY dt, views DESC, domain_code").to_pylist()
    assert [[str(r["dt"]), r["domain_code"], r["views"]] for r in table] == [row[:3] for row in rows]


def test_hive_silent_piped_into_awk(run: Path) -> None:
    rows = []
    for day, raw in sorted(views_by_day(run).items()):
        total: collections.Counter[str] = collections.Counter()
        mobile: collections.Counter[str] = collections.Counter()
        for r in raw:
            project = r["domain_code"].split(".")[0]
            total[project] += r["count_views"]
            if is_mobile(r["domain_code"]):
                mobile[project] += r["count_views"]
        rows += [[day, p, f"{mobile[p] / total[p]:.4f}"] for p in sorted(total)]
    assert (run / "out" / "mobile_share.tsv").read_bytes() == tsv(["date", "project", "mobile_share"], rows)


def test_beeline_file_piped_into_the_folders_helper(run: Path) -> None:
    rows = []
    for day, raw in sorted(views_by_day(run).items()):
        sites: collections.Counter[str] = collections.Counter()
        for r in raw:
            sites["mobile" if is_mobile(r["domain_code"]) else "desktop"] += r["count_views"]
        assert set(sites) == {"desktop", "mobile"}
        rows.append([day, sites["desktop"], sites["mobile"]])
    assert (run / "out" / "site_views.tsv").read_bytes() == tsv(["date", "desktop", "mobile"], rows)
