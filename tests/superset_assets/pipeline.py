"""The demo pipeline in small, for the Superset tests: generated raw data -> runner -> metric tables -> catalog file."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from ingestion.sample import generate_and_load
from metrics import catalogue as catalogue_mod
from metrics.engines import open_engine
from metrics.engines.duckdb import write_catalog
from metrics.reports.runner import update_reports
from metrics.warehouse import Warehouse
from tests.conftest import CATALOGUE, QUERIES

START = dt.date(2026, 11, 15)
DAYS = 3
NOW = dt.datetime(2026, 11, 18, 12)
TODAY = dt.date(2026, 11, 18)
EQUITY_START = "2022-01-01"  # the yearly indicators: four Januaries are enough, and quicker than 2015 on


def build_warehouse(tmp: Path, seed: int = 7, graphite_address: tuple[str, int] | None = None) -> Path:
    """Load generated raw data for DAYS days, run every query folder (as of NOW), write catalog.duckdb.

    `graphite_address`: the carbon (host, plaintext port) the runner sends the catalogue metrics' values to.
    """
    warehouse = tmp / "warehouse"
    generate_and_load(warehouse, tmp / "raw", seed, START, DAYS, pageview_lines=300)
    cat = catalogue_mod.load(CATALOGUE, today=TODAY) if graphite_address else None
    with open_engine(warehouse) as engine:
        for source in sorted(p for p in QUERIES.iterdir() if (p / "config.yaml").is_file()):
            folder = shutil.copytree(source, tmp / "queries" / source.name)
            config = folder / "config.yaml"
            text = config.read_text().replace("2026-09-01", str(START)).replace("2026-11-01", str(START)).replace("2015-01-01", EQUITY_START)
            config.write_text(text)
            summary = update_reports(
                folder, engine, tmp / "reports" / source.name, now=NOW, graphite=graphite_address is not None, graphite_address=graphite_address, catalogue=cat
            )
            assert summary.ok, summary.lines()
    write_catalog(Warehouse(warehouse), warehouse / "catalog.duckdb")
    return warehouse


def bump_version(spec_file: Path, old: str, new: str, change: str = "Bumped by a test.") -> None:
    """Set the spec's version to `new` and add the history entry a version needs."""
    text = spec_file.read_text("utf-8")
    assert text.count(f"\nversion: {old}\n") == 1
    text = text.replace(f"\nversion: {old}\n", f"\nversion: {new}\n")
    text = text.replace("\nhistory:\n", f"\nhistory:\n  - {{version: {new}, date: 2026-11-20, change: {change}}}\n", 1)
    spec_file.write_text(text, "utf-8")
