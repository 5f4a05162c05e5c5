"""CSV files and the World Bank style API: declared types, bad rows quarantined, clear HTTP errors."""

from __future__ import annotations

import csv
import json
import socket
from pathlib import Path

import pytest

from ingestion import generate, tabular
from ingestion.serve import serve_world_bank
from metrics.engines import open_engine
from metrics.problems import InputError
from metrics.warehouse import Warehouse
from tests.ingestion.conftest import read_both

EDITORS = "country:varchar,year:bigint,active_editors:bigint"


def test_csv_loads_with_declared_types(warehouse: Warehouse, tmp_path: Path) -> None:
    path = generate.editors_csv(1, tmp_path / "editors.csv", range(2019, 2022), country_count=40)
    summary = tabular.load_csv(warehouse, path, "external.editors_by_country", EDITORS, ["year"])
    with open(path, newline="") as f:
        expected = list(csv.DictReader(f))
    assert (summary.read, summary.stored, summary.quarantined) == (len(expected), len(expected), 0)
    table = read_both(warehouse, "external", "editors_by_country", ["year", "country"])
    assert sum(table["active_editors"].to_pylist()) == sum(int(r["active_editors"]) for r in expected)
    assert str(table.schema.field("active_editors").type) == "int64"
    tabular.load_csv(warehouse, path, "external.editors_by_country", EDITORS, ["year"])  # again: replaced
    assert read_both(warehouse, "external", "editors_by_country", ["year", "country"]).num_rows == len(expected)


def test_csv_bad_rows_are_quarantined(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "editors.csv"
    path.write_text("country,year,active_editors\nDEU,2020,5000\nFRA,2020,lots\nESP,2020\n,2020,\nITA,,7\nPRT,2021,12\n", "utf-8")
    summary = tabular.load_csv(warehouse, path, "external.editors_by_country", EDITORS, ["year"])
    assert (summary.read, summary.stored, summary.quarantined) == (6, 3, 3)
    table = read_both(warehouse, "external", "editors_by_country", ["country"])
    assert table["country"].null_count == 1  # an empty cell is NULL, not quarantined
    with open_engine(warehouse) as engine:
        rows = engine.query("SELECT line, raw, reason FROM quarantine.csv ORDER BY line").to_pylist()
    assert [(r["line"], r["raw"]) for r in rows] == [(3, "FRA,2020,lots"), (4, "ESP,2020"), (6, "ITA,,7")]
    assert "active_editors" in rows[0]["reason"] and "fields" in rows[1]["reason"] and "partition" in rows[2]["reason"]


def test_csv_declaration_errors_are_clear(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="no known type"):
        tabular.load_csv(warehouse, path, "external.x", "a:number", [])
    with pytest.raises(InputError, match="header lacks"):
        tabular.load_csv(warehouse, path, "external.x", "a:bigint,c:bigint", [])
    with pytest.raises(InputError, match="schema.table"):
        tabular.load_csv(warehouse, path, "x", "a:bigint", [])


def test_api_pages_are_loaded_and_nulls_kept(warehouse: Warehouse) -> None:
    payload = generate.world_bank_records(3, range(2018, 2021), country_count=60)
    payload["SP.POP.TOTL"].append({**payload["SP.POP.TOTL"][0], "countryiso3code": "", "country": {"id": "1W", "value": "World"}})
    payload["SP.POP.TOTL"].append({**payload["SP.POP.TOTL"][0], "value": "many"})
    with serve_world_bank(payload) as url:
        summary = tabular.load_world_bank(warehouse, url, list(generate.INDICATORS), per_page=50)
    records = [r for rs in payload.values() for r in rs]
    assert (summary.read, summary.stored, summary.quarantined) == (len(records), len(records) - 2, 2)
    table = read_both(warehouse, "external", "world_bank_indicators", ["indicator", "country", "year"])
    nulls = sum(1 for r in records if r["value"] is None)
    assert table["value"].null_count == nulls
    good = [r for r in records if r["countryiso3code"] and not isinstance(r["value"], str) and r["value"] is not None]
    assert sum(table["value"].drop_null().to_pylist()) == pytest.approx(sum(float(r["value"]) for r in good))
    with open_engine(warehouse) as engine:
        rows = engine.query("SELECT source_file, line, raw, reason FROM quarantine.world_bank ORDER BY line").to_pylist()
    assert len(rows) == 2 and all("page=" in r["source_file"] and json.loads(r["raw"]) for r in rows)
    with serve_world_bank(payload) as url:  # again: replaced, not added
        tabular.load_world_bank(warehouse, url, list(generate.INDICATORS), per_page=500)
    assert read_both(warehouse, "external", "world_bank_indicators", ["indicator", "country", "year"]).num_rows == len(records) - 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("fault, message", [((500, b"oops"), "HTTP 500"), ((200, b"<html>"), "not JSON"), ((200, b'{"a": 1}'), "not \\[\\{page")])
def test_api_errors_are_clear(warehouse: Warehouse, fault: tuple[int, bytes], message: str) -> None:
    with serve_world_bank({}, faults={"X": fault}) as url:
        with pytest.raises(InputError, match=message):
            tabular.load_world_bank(warehouse, url, ["X"])


def test_api_unknown_indicator_and_refused_connection(warehouse: Warehouse) -> None:
    with serve_world_bank({}) as url:
        with pytest.raises(InputError, match="the API refused"):
            tabular.load_world_bank(warehouse, url, ["NO.SUCH"])
    with pytest.raises(InputError, match="cannot reach the API"):
        tabular.load_world_bank(warehouse, f"http://127.0.0.1:{_free_port()}/v2", ["SP.POP.TOTL"], timeout=2)
