"""The small charts of `metrics site` (`metrics/site/charts.py`): plain titles, readable numbers, zero baselines.

The warehouse holds the yearly country indicators (loaded by `ingestion.sample` from its World Bank
style API, then the shipped equity_landscape query folder run by the runner): values in the
billions, one a year, the case that drew "7.2e+09" axes under a "level (sum per stored period,
averaged over the periods) per period" title.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from ingestion.sample import generate_and_load
from metrics import catalogue as catalogue_mod
from metrics.config import Settings, load_settings
from metrics.engines import open_engine
from metrics.reports.runner import update_reports
from metrics.site.charts import existing_tables, metric_chart, small_figure
from tests.conftest import SHIPPED_CATALOGUE, SHIPPED_QUERIES

START = dt.date(2026, 11, 5)
NOW = dt.datetime(2026, 11, 10, 12)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("site-charts")
    generate_and_load(tmp / "wh", tmp / "raw", 7, START, 2, pageview_lines=20)
    folder = shutil.copytree(SHIPPED_QUERIES / "equity_landscape", tmp / "queries" / "equity_landscape")
    with open_engine(tmp / "wh") as engine:
        summary = update_reports(folder, engine, tmp / "reports", now=NOW, graphite=False)
        assert summary.ok, summary.lines()
    return load_settings(catalogue=SHIPPED_CATALOGUE, queries=tmp / "queries", warehouse=tmp / "wh")


def _ticks(figure) -> list[str]:  # type: ignore[no-untyped-def]
    figure.canvas.draw()
    return [t.get_text() for t in figure.axes[0].get_yticklabels() if t.get_text()]


def test_a_yearly_level_in_billions_reads_in_plain_words_and_numbers(settings: Settings) -> None:
    spec = _spec(settings)
    population = spec.metric("population")
    chart = metric_chart(spec, population, settings, existing_tables(settings))
    assert chart.svg and chart.title == "Population, yearly"  # not "level (sum per stored period, ...) per period"
    figure = small_figure(population, settings)
    assert figure is not None
    ticks = _ticks(figure)
    assert ticks and not [t for t in ticks if "e+" in t or "e-" in t], ticks  # 7.2B, not 7.2e+09
    assert any(t.endswith("B") for t in ticks)
    assert figure.axes[0].yaxis.get_offset_text().get_text() == ""  # no "1e9" above the axis either
    assert figure.axes[0].get_ylim()[0] == 0  # people: an amount starts at zero


def test_a_rate_and_a_percentage_say_their_unit_and_grain(settings: Settings) -> None:
    tables = existing_tables(settings)
    spec = _spec(settings)
    editors = metric_chart(spec, spec.metric("active_editors"), settings, tables)
    assert editors.title.startswith("Active editors, yearly")
    pct = small_figure(spec.metric("internet_users_pct"), settings)
    assert pct is not None and all(t.endswith("%") for t in _ticks(pct))
    assert pct.axes[0].get_title(loc="left") == "Internet users pct, yearly"


def _spec(settings: Settings):  # type: ignore[no-untyped-def]
    return catalogue_mod.load(settings.catalogue).spec("country_indicators")
