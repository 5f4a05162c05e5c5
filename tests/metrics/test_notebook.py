"""`metrics.query` and `metrics.plot` over a warehouse made from generated sample data, and docs/notebook.ipynb run end to end.

The warehouse is what `make demo` makes, in small: `metrics ingest sample` for six days across two
weeks, then every shipped query folder. Numbers are checked against DuckDB SQL over the Parquet
files written by the runner (not the engine's views, not `metrics.aggregation`).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.text import Text
from nbclient import NotebookClient

from ingestion.sample import generate_and_load
from metrics import plot, query
from metrics.cli import main
from metrics.engines import open_engine
from metrics.problems import InputError
from metrics.reports.runner import update_reports
from tests.conftest import CATALOGUE, ROOT, SHIPPED_CATALOGUE, SHIPPED_QUERIES

START = dt.date(2026, 11, 5)  # a Thursday: six days fill the end of one week and the start of the next
DAYS = 6
NOW = dt.datetime(2026, 11, 11, 12)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("notebook")
    generate_and_load(tmp / "wh", tmp / "raw", 7, START, DAYS, pageview_lines=300)
    with open_engine(tmp / "wh") as engine:
        for source in sorted(p for p in SHIPPED_QUERIES.iterdir() if (p / "config.yaml").is_file()):
            folder = shutil.copytree(source, tmp / "queries" / source.name)
            config = folder / "config.yaml"
            config.write_text(config.read_text().replace("2026-09-01", str(START)).replace("2026-11-01", str(START)).replace("2015-01-01", "2022-01-01"))
            summary = update_reports(folder, engine, tmp / "reports" / source.name, now=NOW, graphite=False)
            assert summary.ok, summary.lines()
    return tmp / "wh"


def parquet(warehouse: Path, sql: str) -> pd.DataFrame:
    """DuckDB SQL where {table} names read the runner's Parquet files directly."""
    tables = {t: f"read_parquet('{warehouse}/metrics/{t}/dt=*/*.parquet', hive_partitioning = true)" for t in ("codemirror_toggles", "codemirror_sessions")}
    tables["indicators"] = f"read_parquet('{warehouse}/metrics/equity_landscape_indicators/dt=*/*.parquet', hive_partitioning = true)"
    result = duckdb.sql(sql.format(**tables))
    return pd.DataFrame(result.fetchall(), columns=result.columns)  # dates stay datetime.date, as query gives them


def test_sum_metric_by_week_equals_the_parquet_files(warehouse: Path) -> None:
    got = query("toggles", by="wiki", since="2026-11-01", grain="week", catalogue=CATALOGUE, warehouse=warehouse)
    assert list(got.columns) == ["dt", "wiki", "toggles"]
    expected = parquet(
        warehouse,
        "SELECT CAST(date_trunc('week', CAST(dt AS DATE)) AS DATE) AS week, wiki, sum(toggles) AS toggles FROM {codemirror_toggles} GROUP BY 1, 2",
    )
    want = {(r.week, r.wiki): int(r.toggles) for r in expected.itertuples()}
    assert {(r.dt, r.wiki): int(r.toggles) for r in got.itertuples()} == want
    assert {week for week, _ in want} == {dt.date(2026, 11, 2), dt.date(2026, 11, 9)} and sum(want.values()) > 1000

    # since/until are days, both included; where keeps the given values, bound as parameters.
    some = query(
        "toggles",
        by="wiki",
        since="2026-11-06",
        until="2026-11-09",
        where={"editor": "wikitext_2017", "wiki": ["enwiki", "dewiki"]},
        catalogue=CATALOGUE,
        warehouse=warehouse,
    )
    expected = parquet(
        warehouse,
        "SELECT CAST(dt AS DATE) AS day, wiki, sum(toggles) AS toggles FROM {codemirror_toggles} "
        "WHERE editor = 'wikitext_2017' AND wiki IN ('enwiki', 'dewiki') AND CAST(dt AS DATE) BETWEEN DATE '2026-11-06' AND DATE '2026-11-09' GROUP BY 1, 2",
    )
    assert {(r.dt, r.wiki): int(r.toggles) for r in some.itertuples()} == {(r.day, r.wiki): int(r.toggles) for r in expected.itertuples()}
    assert {d for d, _ in zip(some["dt"], some["wiki"])} == {dt.date(2026, 11, d) for d in (6, 7, 8, 9)}


def test_ratio_by_week_is_a_sum_over_a_sum(warehouse: Path) -> None:
    got = query("toggles", by="editor", grain="week", show="normalized", catalogue=CATALOGUE, warehouse=warehouse)
    assert list(got.columns) == ["dt", "editor", "toggles", "toggles_per_editing_sessions"]
    expected = parquet(
        warehouse,
        "WITH t AS (SELECT date_trunc('week', CAST(dt AS DATE)) AS week, editor, sum(toggles) AS n FROM {codemirror_toggles} GROUP BY 1, 2), "
        "s AS (SELECT date_trunc('week', CAST(dt AS DATE)) AS week, editor, sum(sessions) AS d FROM {codemirror_sessions} GROUP BY 1, 2) "
        "SELECT CAST(t.week AS DATE) AS week, t.editor, n / d AS ratio, n / d AS mean_of FROM t JOIN s USING (week, editor)",
    )
    want = {(r.week, r.editor): r.ratio for r in expected.itertuples()}
    assert len(want) == 4
    assert {(r.dt, r.editor): r.toggles_per_editing_sessions for r in got.itertuples()} == pytest.approx(want, rel=1e-12)
    # Not the mean of the daily ratios, which differs on this data.
    daily = query("toggles", by="editor", grain="day", show="normalized", catalogue=CATALOGUE, warehouse=warehouse)
    daily["week"] = [d - dt.timedelta(days=d.weekday()) for d in daily["dt"]]
    means = daily.groupby(["week", "editor"])["toggles_per_editing_sessions"].mean()
    assert any(abs(means[k] - v) > 1e-9 for k, v in want.items())

    # A `type: ratio` metric of paired columns: rows missing either part count in neither sum.
    pct = query("internet_users_pct", grain="year", catalogue=CATALOGUE, warehouse=warehouse)
    expected = parquet(
        warehouse,
        "SELECT CAST(dt AS DATE) AS year, 100.0 * sum(internet_users) FILTER (WHERE population IS NOT NULL) "
        "/ sum(population) FILTER (WHERE internet_users IS NOT NULL) AS pct FROM {indicators} GROUP BY 1",
    )
    assert len(pct) >= 3
    assert dict(zip(pct["dt"], pct["internet_users_pct"])) == pytest.approx({r.year: r.pct for r in expected.itertuples()}, rel=1e-12)


def test_errors_name_the_nearest_and_values_never_reach_sql(warehouse: Path) -> None:
    def error(**kwargs: object) -> str:
        args = {"metric": "toggles", "catalogue": CATALOGUE, "warehouse": warehouse, **kwargs}
        with pytest.raises(InputError) as caught:
            query(**args)  # type: ignore[arg-type]
        assert len(caught.value.lines()) == 1
        return caught.value.lines()[0]

    assert "no metric named 'toggle' (did you mean 'toggles'?)" in error(metric="toggle")
    assert "unknown dimension 'wikis' (did you mean 'wiki'?)" in error(by="wikis")
    assert "unknown grain 'weekly' (did you mean 'week'?)" in error(grain="weekly")
    assert "grain is one of period, day, week, month, year, all" in error(grain="fortnight")
    assert "until='2026-11-31' is not a date" in error(until="2026-11-31")
    assert "filter on 'wikis': an unknown dimension (did you mean 'wiki'?)" in error(where={"wikis": "enwiki"})
    assert "codemirror.yaml:" in error(where={"wiki": "enwiki' OR '1'='1"})  # the pattern refuses it before any SQL
    assert "is not a value of 'editor'" in error(where={"editor": "visualeditor"})
    assert "filter editor=2010 is not a value of 'editor' (values: wikitext_2010, wikitext_2017)" in error(where={"editor": 2010})
    assert "a share of 'internet_users_pct' has no meaning" in error(metric="internet_users_pct", by="country", show="percentage")
    # A value the pattern allows but no row has is bound, not pasted: no rows, no error.
    assert query("toggles", where={"wiki": "nosuchwiki"}, catalogue=CATALOGUE, warehouse=warehouse).empty


def _lines(figure) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    ax = figure.axes[0]
    return {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}


def _overlap(labels: list[Text], renderer) -> bool:  # type: ignore[no-untyped-def]
    boxes = [t.get_window_extent(renderer) for t in labels if t.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_plot_top_groups_other_by_the_metric_rule_and_readable_axes(warehouse: Path) -> None:
    frame = query("toggles", by="wiki", catalogue=CATALOGUE, warehouse=warehouse)
    figure = plot(frame, top=2)
    lines = _lines(figure)
    totals = frame.groupby("wiki")["toggles"].sum().sort_values(ascending=False)
    assert list(lines) == [*totals.index[:2], "other"]
    rest = frame[frame["wiki"].isin(totals.index[2:])].groupby("dt")["toggles"].sum()
    assert lines["other"] == rest.tolist() and len(rest) == DAYS
    ax = figure.axes[0]
    assert ax.get_title(loc="left") == "Toggles per day, by wiki (top 2 of 5, the rest as other)"
    assert ax.get_ylabel() == "toggles"
    figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and all("." not in t for t in ticks) and any("," in t for t in ticks)  # counts: 12,000 not 12000.0
    assert not _overlap(ax.get_xticklabels(), figure.canvas.get_renderer())

    # A ratio's "other" is the ratio of the other groups' sums, from a new query, not a sum of ratios.
    figure = plot("toggles", by="wiki", grain="week", show="normalized", top=2, catalogue=CATALOGUE, warehouse=warehouse)
    lines = _lines(figure)
    top2 = list(lines)[:2]
    expected = parquet(
        warehouse,
        "WITH t AS (SELECT date_trunc('week', CAST(dt AS DATE)) AS week, sum(toggles) AS n FROM {codemirror_toggles} WHERE wiki NOT IN ("
        + ", ".join(f"'{w}'" for w in top2)
        + ") GROUP BY 1), s AS (SELECT date_trunc('week', CAST(dt AS DATE)) AS week, sum(sessions) AS d FROM {codemirror_sessions} WHERE wiki NOT IN ("
        + ", ".join(f"'{w}'" for w in top2)
        + ") GROUP BY 1) SELECT n / d AS ratio FROM t JOIN s USING (week) ORDER BY week",
    )
    assert lines["other"] == pytest.approx(expected["ratio"].tolist(), rel=1e-12)
    assert figure.axes[0].get_title(loc="left").startswith("Toggles per editing session, weekly, by wiki")
    assert figure.axes[0].get_ylabel() == "toggles per editing session"

    share = plot("toggles", by="enabled", grain="week", show="percentage", catalogue=CATALOGUE, warehouse=warehouse)
    share.canvas.draw()
    ticks = [t.get_text() for t in share.axes[0].get_yticklabels() if t.get_text()]
    assert ticks and all(t.endswith("%") for t in ticks)
    assert [a + b for a, b in zip(*_lines(share).values())] == pytest.approx([100.0, 100.0])


def test_titles_name_the_grain_of_the_data_not_only_the_grain_asked(warehouse: Path) -> None:
    # The indicators are one value a year: asked by day or by week, the points are still yearly.
    for grain in ("day", "week", "period"):
        frame = query("population", grain=grain, catalogue=CATALOGUE, warehouse=warehouse)
        assert frame.attrs["described"]["title"] == "Population, yearly", grain
        assert frame.attrs["described"]["plotted"] == "year"
    assert plot("population", catalogue=CATALOGUE, warehouse=warehouse).axes[0].get_title(loc="left") == "Population, yearly"
    # Over the whole range (no dates to tell the grain by), a level is the mean of its values, not a sum.
    assert query("population", grain="all", catalogue=CATALOGUE, warehouse=warehouse).attrs["described"]["title"] == "Population, mean of reported values"
    # Daily data keeps the grain asked.
    assert query("toggles", grain="week", catalogue=CATALOGUE, warehouse=warehouse).attrs["described"]["title"] == "Toggles per week"


def _ticks(figure) -> list[str]:  # type: ignore[no-untyped-def]
    figure.canvas.draw()
    return [t.get_text() for t in figure.axes[0].get_yticklabels() if t.get_text()]


def test_value_axes_read_as_numbers_and_amounts_start_at_zero(warehouse: Path) -> None:
    population = plot("population", catalogue=CATALOGUE, warehouse=warehouse)
    ticks = _ticks(population)
    assert ticks and not [t for t in ticks if "e" in t.lower()], ticks  # 7.2B, never 7.2e+09
    assert any(t.endswith(("B", "M")) for t in ticks) and population.axes[0].yaxis.get_offset_text().get_text() == ""
    assert population.axes[0].get_ylim()[0] == 0  # an amount: from zero, however far from it
    toggles = plot("toggles", grain="week", catalogue=CATALOGUE, warehouse=warehouse)
    assert toggles.axes[0].get_ylim()[0] == 0
    # A percentage far from zero (every value above half the largest) fits its values.
    pct = query("internet_users_pct", catalogue=CATALOGUE, warehouse=warehouse)
    low, high = pct["internet_users_pct"].min(), pct["internet_users_pct"].max()
    figure = plot(pct)
    assert (figure.axes[0].get_ylim()[0] == 0) == (not low > high / 2)
    assert all(t.endswith("%") for t in _ticks(figure))


def test_metrics_plot_outside_the_project_says_what_to_pass(warehouse: Path, tmp_path: Path) -> None:
    bare = [sys.executable, "-m", "metrics", "plot", "population", "-o", "p.png"]
    done = subprocess.run(bare, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "--catalogue DIR" in done.stderr and str(tmp_path) in done.stderr
    given = [sys.executable, "-m", "metrics", "--catalogue", str(CATALOGUE), "plot", "population", "-o", "p.png"]
    done = subprocess.run(given, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith(str(tmp_path / "warehouse")) and "--warehouse DIR" in done.stderr and "equity_landscape_indicators" in done.stderr
    assert not (tmp_path / "p.png").exists() and not (tmp_path / "warehouse").exists()


def test_metrics_plot_writes_an_image(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "toggles.png"
    cli = [sys.executable, "-m", "metrics", "--catalogue", str(CATALOGUE), "--warehouse", str(warehouse)]
    done = subprocess.run([*cli, "plot", "toggles", "--by", "editor", "-o", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    # From another folder: the "other" series of a ratio is read from the warehouse given, not ./warehouse.
    ratio = subprocess.run(
        [*cli, "plot", "internet_users_pct", "--by", "country", "--grain", "year", "--top", "3", "-o", "pct.svg"], capture_output=True, text=True, cwd=tmp_path
    )
    assert ratio.returncode == 0, ratio.stderr
    svg = (tmp_path / "pct.svg").read_text()
    assert "(top 3 of " in svg and "<!-- other -->" in svg
    bad = CliRunner().invoke(main, [*cli[3:], "plot", "toggles", "--by", "editr", "-o", str(out)])  # in-process: one start less
    assert bad.exit_code == 2 and bad.exception is not None and isinstance(bad.exception, SystemExit)
    assert bad.stderr.strip().splitlines() == [
        f"{CATALOGUE / 'codemirror.yaml'}:1:1: unknown dimension 'editr' (did you mean 'editor'?) (by takes dimensions of 'toggles': editor, enabled, wiki)"
    ]


def test_the_docs_notebook_runs_end_to_end(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = nbformat.read(ROOT / "docs" / "notebook.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # shipped without stale outputs
    monkeypatch.setenv("METRICS_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("METRICS_CATALOGUE", str(SHIPPED_CATALOGUE))
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "docs")}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    tables = [o for o in outputs if o.output_type == "execute_result" and "text/html" in o.data]
    assert len(tables) >= 4 and "enwiki" in tables[0].data["text/html"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
