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


def test_csv_values_beyond_their_type_are_quarantined_per_line(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    rows = [
        "DEU,2020,9223372036854775807",  # the largest bigint: stored
        "FRA,2020,9223372036854775808",  # 2^63: beyond a 64-bit bigint
        f"ESP,2020,{10**40}",
        "ITA,2020,1_000",  # Python would read these; Hive and Trino would not
        "PRT,2020,\u0661\u0662",  # Arabic-Indic digits
        "AUT,2020, 12",
        "BEL,2020,-9223372036854775808",  # the smallest: stored
    ]
    path.write_text("country,year,active_editors\n" + "\n".join(rows) + "\n", "utf-8")
    summary = tabular.load_csv(warehouse, path, "external.editors_by_country", EDITORS, ["year"])
    assert (summary.read, summary.stored, summary.quarantined) == (7, 2, 5)
    table = read_both(warehouse, "external", "editors_by_country", ["country"])
    assert table["active_editors"].to_pylist() == [-(1 << 63), (1 << 63) - 1]
    with open_engine(warehouse) as engine:
        rejected = engine.query("SELECT line, raw, reason FROM quarantine.csv ORDER BY line").to_pylist()
    assert [(r["line"], r["raw"]) for r in rejected] == [(n, rows[n - 2]) for n in (3, 4, 5, 6, 7)]
    assert "does not fit a 64-bit bigint" in rejected[0]["reason"] and "does not fit" in rejected[1]["reason"]
    assert all("active_editors" in r["reason"] for r in rejected)


def test_csv_line_that_is_not_utf8_is_quarantined_with_its_bytes(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"country,year,active_editors\nDEU,2020,5\nCaf\xe9,2020,7\nFRA,2020,9\n")
    summary = tabular.load_csv(warehouse, path, "external.editors_by_country", EDITORS, ["year"])
    assert (summary.read, summary.stored, summary.quarantined) == (3, 2, 1)
    assert "\ufffd" not in "".join(read_both(warehouse, "external", "editors_by_country", ["country"])["country"].to_pylist())
    with open_engine(warehouse) as engine:
        (row,) = engine.query("SELECT line, raw, reason FROM quarantine.csv").to_pylist()
    assert row == {"line": 3, "raw": "Caf\\xe9,2020,7", "reason": "not UTF-8: byte 0xe9 at column 4"}
    path.write_bytes(b"country,y\xe9ar,active_editors\nDEU,2020,5\n")
    with pytest.raises(InputError, match=r"latin1.csv:1:10: the header line is not UTF-8"):
        tabular.load_csv(warehouse, path, "external.editors_by_country", EDITORS, ["year"])


def test_csv_doubles_and_times_beyond_their_range_are_quarantined(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,1e308,2026-01-01T00:00:00Z\n2,1e309,2026-01-01T00:00:00Z\n3,inf,2026-01-01T00:00:00Z\n4,0,9999-12-31T23:00:00-05:00\n", "utf-8")
    summary = tabular.load_csv(warehouse, path, "external.x", "a:bigint,b:double,c:timestamp")
    assert (summary.stored, summary.quarantined) == (2, 2)  # a literal inf is a double, as in Hive; 1e309 overflows to it
    with open_engine(warehouse) as engine:
        reasons = [r["reason"] for r in engine.query("SELECT reason FROM quarantine.csv ORDER BY line").to_pylist()]
    assert "beyond the range of a double" in reasons[0] and "beyond the years" in reasons[1]


def test_api_values_beyond_a_column_are_quarantined_per_record(warehouse: Warehouse) -> None:
    payload = generate.world_bank_records(4, range(2019, 2021), country_count=10)
    records = payload["SP.POP.TOTL"]
    first = records[0]
    odd = [{**first, "value": 10**400}, {**first, "indicator": {"id": "\ud800"}}]
    faults = {"DEEP": (200, b"[" * 100_000 + b"]" * 100_000), "PAGES": (200, json.dumps([{"page": 1, "pages": "lots"}, []]).encode())}
    with serve_world_bank({"SP.POP.TOTL": records + odd}, faults=faults) as url:
        summary = tabular.load_world_bank(warehouse, url, ["SP.POP.TOTL"], per_page=7)
        with pytest.raises(InputError, match="nested too deeply"):
            tabular.load_world_bank(warehouse, url, ["DEEP"])
        with pytest.raises(InputError, match="pages='lots'"):
            tabular.load_world_bank(warehouse, url, ["PAGES"])
    assert (summary.read, summary.stored, summary.quarantined) == (len(records) + 2, len(records), 2)
    with open_engine(warehouse) as engine:
        rows = engine.query("SELECT raw, reason FROM quarantine.world_bank ORDER BY line").to_pylist()
    assert "beyond the range of a double" in rows[0]["reason"] and "\\ud800" in rows[1]["raw"]
