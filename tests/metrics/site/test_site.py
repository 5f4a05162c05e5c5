"""`metrics site`: the catalogue site written from a real warehouse, read as HTML and in headless Chromium.

The warehouse is made as `make demo` makes it, in small: generated sample data for four days, then
the tests' codemirror query folder run by the runner, so codemirror's metrics have tables and a run
log while the other specs' tables are missing ("no data yet"). The catalogue is a copy of the tests'
with reference_previews deprecated (and a `<script>` in its description) and country_indicators
past its sunset date.

Chromium is Debian's `chromium`, driven by Selenium through Debian's `chromium-driver`; both are
installed by `scripts/superset/install-chromium.sh` (make test runs it; this module runs it too
when they are missing), so the browser test runs everywhere and never skips.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner

from ingestion.sample import generate_and_load
from metrics.cli import main
from metrics.config import load_settings
from metrics.engines import open_engine
from metrics.reports.runner import update_reports
from metrics.site import MARKER, build
from tests.conftest import CATALOGUE, QUERIES, ROOT, SHIPPED_CATALOGUE, SHIPPED_QUERIES, edit

START = dt.date(2026, 11, 5)
DAYS = 5  # through the last day the runner computes at NOW (11-09): every computed day has a partition
NOW = dt.datetime(2026, 11, 10, 12)
TODAY = dt.date(2026, 11, 22)
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "test-artifacts"
HOSTILE = "<script>alert('site')</script> & <b>bold</b>"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("site")
    catalogue = shutil.copytree(CATALOGUE, tmp / "catalogue")
    queries = shutil.copytree(QUERIES, tmp / "queries")
    edit(
        catalogue / "reference_previews.yaml",
        "status: active",
        "status: deprecated\nsunset:\n  date: 2027-06-30\n  plan: Replaced by the new footnote metrics.",
    )
    edit(catalogue / "reference_previews.yaml", "description: >\n  Footnote clicks per pageview on each wiki", f'description: "{HOSTILE}"\nx: >\n  Footnote')
    edit(catalogue / "reference_previews.yaml", "x: >\n  Footnote", "# before:\n  # Footnote")
    edit(catalogue / "reference_previews.yaml", "\n  became a default", "\n  # became a default")
    edit(
        catalogue / "country_indicators.yaml",
        "status: active",
        "status: active\nsunset:\n  date: 2026-10-01\n  plan: The indicators moved to the yearly report.",
    )
    generate_and_load(tmp / "wh", tmp / "raw", 7, START, DAYS, pageview_lines=50)
    folder = queries / "codemirror"
    config = folder / "config.yaml"
    config.write_text(config.read_text().replace("2026-09-01", str(START)))
    with open_engine(tmp / "wh") as engine:
        summary = update_reports(folder, engine, tmp / "reports", now=NOW, graphite=False)
        assert summary.ok, summary.lines()
    settings = load_settings(catalogue=catalogue, queries=queries, warehouse=tmp / "wh")
    site = build(tmp / "site", settings=settings, today=TODAY, superset_url="http://superset.example.org/", grafana_url="https://grafana.example.org")
    assert not [n for n in site.notes.values() if n.startswith("no chart")], site.notes
    return {"tmp": tmp, "site": tmp / "site", "catalogue": catalogue, "queries": queries, "wh": tmp / "wh"}


def page(setup: dict[str, Path], name: str) -> str:
    return (setup["site"] / "specs" / f"{name}.html").read_text("utf-8")


def test_every_spec_has_a_page_with_what_the_spec_says(setup) -> None:
    index = (setup["site"] / "index.html").read_text("utf-8")
    names = sorted(p.stem for p in setup["catalogue"].glob("*.yaml"))
    assert sorted(p.stem for p in (setup["site"] / "specs").glob("*.html")) == names
    assert all(f'href="specs/{n}.html"' in index for n in names)
    html = page(setup, "codemirror")
    for text in (
        "WMDE Technical Wishes",
        "https://phabricator.wikimedia.org/",
        "1.2.0",
        "2027-12-31",
        "Research questions",
        "History",
        "<code>editor</code>",
        # the Graphite path, the report and the text of its query file
        "<code>MediaWiki.CodeMirror.toggles.{editor}.{enabled}.{wiki}</code>",
        "report <code>codemirror/toggles</code>",
        "hive/toggles.hql",
        # dashboards: Superset's slug and Grafana's uid, under the URLs given (trailing slash dropped)
        'href="http://superset.example.org/superset/dashboard/metrics-codemirror/"',
        'href="https://grafana.example.org/d/metrics-codemirror"',
    ):
        assert text in html, text
    query = (setup["queries"] / "codemirror" / "hive" / "toggles.hql").read_text()
    first = next(line for line in query.splitlines() if "SELECT" in line.upper())
    assert first.strip().replace("'", "&#39;").replace('"', "&#34;").replace("<", "&lt;").replace(">", "&gt;") in html


def test_charts_come_from_the_metric_tables_and_missing_tables_say_no_data_yet(setup) -> None:
    html = page(setup, "codemirror")
    toggles = re.search(r'id="metric-toggles".*?</section>', html, re.S)
    assert toggles is not None
    uri = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', toggles.group(0))
    assert uri is not None, "no chart for toggles"
    svg = base64.b64decode(uri.group(1))
    assert svg.startswith(b"<svg") or b"<svg" in svg[:400]
    # top_pageviews' tables were never computed: a note, not a crash and not an empty chart
    pageviews = page(setup, "top_pageviews")
    assert "no data yet" in pageviews and "data:image/svg" not in pageviews
    # "data as of": the last day the runner computed, read from the table's own partitions
    days = sorted(p.name for p in (setup["wh"] / "metrics" / "codemirror_toggles").glob("dt=*"))
    assert days and f"data through {days[-1].removeprefix('dt=')}" in html
    assert "data as of: no run log" not in html


def test_deprecated_and_past_sunset_specs_are_marked(setup) -> None:
    deprecated, past, active = page(setup, "reference_previews"), page(setup, "country_indicators"), page(setup, "top_pageviews")
    assert 'class="warning">This spec is deprecated' in deprecated and deprecated.count('class="mark mark-deprecated"') == 1 + 3  # title and its 3 metrics
    assert "This spec&#39;s sunset date 2026-10-01 is past" in past and 'class="mark mark-past-sunset"' in past
    assert 'class="warning"' not in active and 'class="mark ' not in active


def test_spec_text_is_escaped(setup) -> None:
    html = page(setup, "reference_previews")
    index = (setup["site"] / "index.html").read_text("utf-8")
    for text in (html, index):
        assert "<script>alert" not in text and "<b>bold</b>" not in text
        assert "&lt;script&gt;alert(&#39;site&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in text


def test_built_twice_is_byte_identical_and_stale_pages_go(setup) -> None:
    settings = load_settings(catalogue=setup["catalogue"], queries=setup["queries"], warehouse=setup["wh"])
    again = build(
        setup["tmp"] / "again", settings=settings, today=TODAY, superset_url="http://superset.example.org/", grafana_url="https://grafana.example.org"
    )
    first = {p.relative_to(setup["site"]): p.read_bytes() for p in setup["site"].rglob("*") if p.is_file()}
    second = {p.relative_to(again.out): p.read_bytes() for p in again.out.rglob("*") if p.is_file()}
    assert first.keys() == second.keys() and first == second
    smaller = shutil.copytree(setup["catalogue"], setup["tmp"] / "smaller")
    (smaller / "top_pageviews.yaml").unlink()
    build(again.out, settings=load_settings(catalogue=smaller, queries=setup["queries"], warehouse=setup["wh"]), today=TODAY, draw=False)
    assert not (again.out / "specs" / "top_pageviews.html").exists() and (again.out / "specs" / "codemirror.html").exists()


def test_bad_input_exits_2_with_one_line(setup, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--catalogue", str(setup["catalogue"]), "--queries", str(setup["queries"]), "--warehouse", str(setup["wh"]), "site"]
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    result = runner.invoke(main, [*base, "-o", str(other), "--no-charts"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith(f"{other}:") and "the folder holds other files" in result.output and "-o" in result.output
    assert sorted(p.name for p in other.iterdir()) == ["mine.txt"] and (other / "mine.txt").read_text() == "keep me"
    for url, why in (("javascript:alert(1)", "is not an http(s) URL"), ("https://admin:secret@superset.example.org", "user name or password")):
        result = runner.invoke(main, [*base, "-o", str(tmp_path / "s"), "--superset-url", url])
        assert result.exit_code == 2 and why in result.output and "--superset-url" in result.output, result.output
        assert "secret" not in result.output
    result = runner.invoke(main, [*base, "-o", str(tmp_path / "s"), "--today", "2026-13-01"])
    assert result.exit_code == 2 and "--today" in result.output
    assert not (tmp_path / "s").exists()
    result = runner.invoke(main, [*base, "-o", str(tmp_path / "ok"), "--no-charts"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ok" / MARKER).is_file() and "wrote" in result.output and "4 specs" in result.output


def test_shipped_catalogue_renders_without_a_warehouse(tmp_path: Path) -> None:
    settings = load_settings(catalogue=SHIPPED_CATALOGUE, queries=SHIPPED_QUERIES, warehouse=tmp_path / "empty")
    site = build(tmp_path / "site", settings=settings, today=TODAY)
    specs = sorted(p.stem for p in SHIPPED_CATALOGUE.glob("*.yaml"))
    assert sorted(p.stem for p in (tmp_path / "site" / "specs").glob("*.html")) == specs
    assert site.charts == 0 and set(site.notes.values()) <= {"no data yet", "collected by StatsD: its values are in Graphite only (see the Grafana board)"}
    for name in specs:
        html = (tmp_path / "site" / "specs" / f"{name}.html").read_text("utf-8")
        assert "data as of: no run log" in html and "(set superset_url to link it)" in html and 'class="problem"' not in html


# --- in headless Chromium ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        subprocess.run(["bash", str(ROOT / "scripts" / "superset" / "install-chromium.sh")], check=True, timeout=900)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,1800", "--no-first-run"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def errors(driver) -> list[str]:
    """The console messages of level SEVERE since the last call (errors, failed loads of files)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def visible_specs(driver) -> list[str]:
    return driver.execute_script("return Array.from(document.querySelectorAll('#specs > li')).filter(e => e.offsetParent !== null).map(e => e.id)")


def test_site_in_chromium(setup, browser) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    index = (setup["site"] / "index.html").resolve()
    driver.get(index.as_uri())
    errors(driver)
    driver.execute_script("console.error('probe of the console log')")
    assert any("probe of the console log" in m for m in errors(driver)), "console errors are not seen: the check below would pass blindly"

    names = sorted(p.stem for p in setup["catalogue"].glob("*.yaml"))
    pages = [index] + [(setup["site"] / "specs" / f"{n}.html").resolve() for n in names]
    for path in pages:
        driver.get(path.as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        assert errors(driver) == [], path.name
        # every local link, stylesheet, script and image resolves to a file, and its #anchor to an element
        targets = driver.execute_script("return Array.from(document.querySelectorAll('a[href], link[href], script[src], img[src]')).map(e => e.href || e.src)")
        local = [t for t in targets if t.startswith("file:")]
        assert len(local) >= 3, path.name
        for target in local:
            parts = urlsplit(target)
            file = Path(unquote(parts.path))
            assert file.is_file(), f"{path.name}: {target} is missing"
            if parts.fragment:
                assert f'id="{parts.fragment}"' in file.read_text("utf-8"), f"{path.name}: {target} has no such anchor"
        if path != index:
            # each chart is an image the browser decoded (not a broken picture)
            broken = driver.execute_script(
                "return Array.from(document.querySelectorAll('figure.chart img')).filter(i => !(i.complete && i.naturalWidth > 0)).length"
            )
            assert broken == 0, path.name
    driver.get((setup["site"] / "specs" / "codemirror.html").resolve().as_uri())
    assert len(driver.find_elements(By.CSS_SELECTOR, "figure.chart img")) >= 2
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "site-codemirror.png"))

    # the search box: a spec's name leaves only that spec; a metric's name finds its spec; nonsense, none
    driver.get(index.as_uri())
    box = driver.find_element(By.ID, "search")
    assert visible_specs(driver) == [f"spec-{n}" for n in names]
    box.send_keys("codemirror")
    assert visible_specs(driver) == ["spec-codemirror"]
    assert driver.find_element(By.ID, "shown").text == f"1 of {len(names)} shown"
    box.clear()
    box.send_keys("footnote_clicks")
    assert visible_specs(driver) == ["spec-reference_previews"]
    box.clear()
    box.send_keys("no such thing anywhere")
    assert visible_specs(driver) == [] and driver.find_element(By.ID, "nothing").is_displayed()
    box.clear()
    box.send_keys(" ")
    assert visible_specs(driver) == [f"spec-{n}" for n in names]
    driver.get(index.as_uri() + "?q=deprecated")
    assert visible_specs(driver) == ["spec-reference_previews"]

    # marks: the deprecated spec and the past-sunset one show theirs, in the list and on their pages; the others none
    driver.get(index.as_uri())
    marks = driver.execute_script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('#specs > li')).map(e => [e.id, Array.from(e.querySelectorAll('.mark')).filter(m => m.offsetParent !== null).map(m => m.innerText.toLowerCase())]))"
    )
    assert marks == {
        "spec-codemirror": [],
        "spec-country_indicators": ["past sunset"],
        "spec-reference_previews": ["deprecated"],
        "spec-top_pageviews": [],
    }
    driver.get((setup["site"] / "specs" / "reference_previews.html").resolve().as_uri())
    title = driver.find_element(By.TAG_NAME, "h1")
    assert "DEPRECATED" in title.text.upper()
    metric_marks = driver.find_elements(By.CSS_SELECTOR, "section.metric .mark-deprecated")
    assert metric_marks and all(m.is_displayed() for m in metric_marks)
    # the hostile description is shown as text, and no script of it ran
    assert HOSTILE in driver.find_element(By.CSS_SELECTOR, "p.description").text
    assert driver.execute_script("return document.querySelectorAll('script').length") == 0
    driver.save_screenshot(str(ARTIFACTS / "site-deprecated.png"))
    assert errors(driver) == []
