"""Tabular sources: CSV files and a World Bank style paged JSON API, into tables of declared types.

CSV (`load_csv`): UTF-8 (plain or gzip), a header line, then one row a line (a line ends at `\n`
or `\r\n`; a quoted cell cannot hold a line break); the declared columns are taken by name (other columns
are ignored), converted to their declared types; an empty cell is NULL (for text columns too),
except in a partition column. A row that has the wrong number of fields, a byte that is not
UTF-8, a value that does not convert, or an empty partition value goes to `quarantine.csv` with its
line and the reason. Numbers are ASCII, as Hive and Trino write them (`+12`, `-3.5e2`, `inf`,
`nan`; not `1_000` or other scripts' digits). A `bigint` is a 64-bit integer, the BIGINT of Hive,
Trino and DuckDB: a value beyond it is quarantined, not stored in a wider type, so the column
keeps the type the queries expect and the value is seen (Hive would store it as NULL, silently);
declare such a column `double` or `varchar` instead. A `double` whose digits overflow to
infinity is quarantined the same way. A damaged gzip file is refused whole (see `ingestion.inputs`).

API (`load_world_bank`): `GET <base>/country/all/indicator/<id>?format=json&page=N&per_page=M`, each
answer `[{"page", "pages", ...}, [records]]`, into `external.world_bank_indicators` (indicator,
country ISO alpha-3, value; partitioned by year). A null `value` is the API saying "no data for
that year": it is kept as NULL (a row exists, the value is unknown). A record without a 3-letter
country code (aggregates such as regions have none), with a non-numeric year or a value that is
not a number goes to `quarantine.world_bank`, with the page URL (secrets masked, `metrics.redact`)
and its position in the answer.

Both write one file per (source, partition): a CSV file is keyed by its path, an API load by
its indicator, so loading again replaces instead of duplicating.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import httpx
import pyarrow as pa

from ingestion import inputs, quarantine
from ingestion.inputs import CorruptInput
from ingestion.quarantine import Rejected
from ingestion.storage import put_keyed, source_key
from ingestion.summary import LoadSummary
from metrics import redact
from metrics.problems import InputError
from metrics.warehouse import Warehouse, check_name

TYPES: dict[str, pa.DataType] = {
    "varchar": pa.string(),
    "string": pa.string(),
    "text": pa.string(),
    "bigint": pa.int64(),
    "int": pa.int64(),
    "integer": pa.int64(),
    "double": pa.float64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
TRUE, FALSE = {"true", "t", "1", "yes"}, {"false", "f", "0", "no"}
INTEGER = re.compile(r"[+-]?[0-9]+")
FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE)
INT64 = (-(1 << 63), (1 << 63) - 1)


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType


def parse_columns(text: str) -> list[Column]:
    """`name:type,...` (types: varchar, bigint, double, boolean, date, timestamp) as columns."""
    columns = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, kind = item.partition(":")
        if kind.strip().lower() not in TYPES:
            raise InputError.at("--columns", f"column {item!r} has no known type", f"write name:type with a type among {', '.join(sorted(set(TYPES)))}")
        columns.append(Column(check_name(name.strip(), "column name"), TYPES[kind.strip().lower()]))
    if not columns:
        raise InputError.at("--columns", "no columns declared", "write --columns name:type,name:type")
    return columns


def parse_table(text: str) -> tuple[str, str]:
    """`schema.table` as its two checked names."""
    schema, dot, table = text.partition(".")
    if not dot:
        raise InputError.at("--table", f"{text!r} is not schema.table", "write e.g. --table external.editors_by_country")
    return check_name(schema, "schema"), check_name(table, "table")


def convert(value: str, kind: pa.DataType) -> Any:
    """A CSV cell as a value of `kind` (empty -> None); ValueError when it does not convert."""
    if value == "":
        return None
    if pa.types.is_string(kind):
        return value
    if pa.types.is_integer(kind):
        if not INTEGER.fullmatch(value):
            raise ValueError(f"{value!r} is not an integer")
        if len(value) > 20 or not INT64[0] <= int(value) <= INT64[1]:  # the length first: int() of a huge text is slow
            raise ValueError(f"{value} does not fit a 64-bit bigint (from {INT64[0]} to {INT64[1]}): declare the column double or varchar")
        return int(value)
    if pa.types.is_floating(kind):
        if not FLOAT.fullmatch(value):
            raise ValueError(f"{value!r} is not a number")
        number = float(value)
        if math.isinf(number) and "inf" not in value.lower():
            raise ValueError(f"{value} is beyond the range of a double")
        return number
    if pa.types.is_boolean(kind):
        lowered = value.strip().lower()
        if lowered in TRUE | FALSE:
            return lowered in TRUE
        raise ValueError(f"{value!r} is not a boolean")
    try:
        if pa.types.is_date(kind):
            return dt.date.fromisoformat(value)
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a {'date (YYYY-MM-DD)' if pa.types.is_date(kind) else 'timestamp (YYYY-MM-DD HH:MM:SS)'}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    try:
        return moment.astimezone(dt.timezone.utc)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in the year 10000 in UTC
        raise ValueError(f"{value!r} is beyond the years 1 to 9999 in UTC") from None


def _partitions(rows: list[tuple], columns: Sequence[Column], partition_by: Sequence[str]) -> dict[tuple, tuple[dict, pa.Table]]:
    """Rows grouped by their partition values, each group a table without the partition columns."""
    index = {c.name: i for i, c in enumerate(columns)}
    groups: dict[tuple, list[tuple]] = {}
    for row in rows:
        groups.setdefault(tuple(row[index[p]] for p in partition_by), []).append(row)
    data_columns = [c for c in columns if c.name not in partition_by]
    out = {}
    for key, members in sorted(groups.items()):
        values = list(zip(*members))  # a group has at least the row that created it
        table = pa.table({c.name: pa.array(values[index[c.name]], c.type) for c in data_columns})
        out[key] = (dict(zip(partition_by, key)), table)
    return out


def load_csv(warehouse: Warehouse | Path | str, path: Path | str, table: str, columns: Sequence[Column] | str, partition_by: Sequence[str] = ()) -> LoadSummary:
    """Load one CSV file into `schema.table` with declared column types, partitioned by integer columns."""
    started = time.perf_counter()
    warehouse = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    columns = parse_columns(columns) if isinstance(columns, str) else list(columns)
    schema, name = parse_table(table)
    kinds = {c.name: c.type for c in columns}
    for key in partition_by:
        if key not in kinds or not pa.types.is_integer(kinds[key]):
            raise InputError.at("--partition-by", f"partition column {key!r} is not a declared integer column", "declare it in --columns as name:bigint")
    path = Path(path)
    if not path.is_file():
        raise InputError.at(path, "no such file", "check the path of the CSV file")
    key = source_key(path)
    source = str(path)
    try:
        text = [line.removesuffix(b"\n").removesuffix(b"\r") for line in inputs.lines(path)]
    except CorruptInput as exc:
        quarantine.refuse(warehouse, "csv", key, Rejected(source, exc.readable + 1, "", exc.what))
        raise
    if not text:
        raise InputError.at(path, "empty file", "a CSV file needs a header line naming its columns")
    try:
        header = next(csv.reader([text[0].decode("utf-8-sig")]), [])
    except UnicodeDecodeError as exc:
        raise InputError.at(path, f"the header line is not UTF-8 (byte 0x{text[0][exc.start]:02x})", "save the file as UTF-8", column=exc.start + 1) from None
    except csv.Error as exc:
        raise InputError.at(path, f"the header line is not CSV: {exc}", "fix the header line") from None
    missing = [c.name for c in columns if c.name not in header]
    if missing:
        raise InputError.at(path, f"header lacks declared column(s) {', '.join(missing)} (it has {', '.join(header)})", "fix the header or --columns")
    positions = [header.index(c.name) for c in columns]
    rows, rejected = [], []
    for number, data in enumerate(text[1:], 2):
        try:
            line = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            rejected.append(Rejected(source, number, quarantine.raw_text(data), f"not UTF-8: byte 0x{data[exc.start]:02x} at column {exc.start + 1}"))
            continue
        try:
            cells = next(csv.reader([line]), [])
            if len(cells) != len(header):
                raise ValueError(f"expected {len(header)} fields, found {len(cells)}")
            row = []
            for column, position in zip(columns, positions):
                try:
                    value = convert(cells[position], column.type)
                except ValueError as exc:
                    raise ValueError(f"column {column.name}: {exc}") from None
                if value is None and column.name in partition_by:
                    raise ValueError(f"partition column {column.name} is empty")
                row.append(value)
            rows.append(tuple(row))
        except (ValueError, csv.Error) as exc:
            rejected.append(Rejected(source, number, line, str(exc)))
    if partition_by:
        put_keyed(warehouse, schema, name, key, _partitions(rows, columns, list(partition_by)))
    else:
        warehouse.put_file(schema, name, {}, key, _partitions(rows, columns, [])[()][1] if rows else pa.table({c.name: pa.array([], c.type) for c in columns}))
    summary = LoadSummary("csv", files=1, read=len(text) - 1, stored=len(rows))
    summary.quarantined = quarantine.store(warehouse, "csv", key, rejected)
    summary.add_table(f"{schema}.{name}")
    summary.seconds = time.perf_counter() - started
    return summary


# --- World Bank style API -----------------------------------------------------------------

WORLD_BANK = ("external", "world_bank_indicators")
WB_COLUMNS = [Column("indicator", pa.string()), Column("country", pa.string()), Column("value", pa.float64()), Column("year", pa.int64())]
ISO3 = re.compile(r"^[A-Z]{3}$")
MAX_PAGES = 100_000


def _get_json(client: httpx.Client, url: str, params: dict[str, Any]) -> Any:
    """One GET answered with JSON; InputError (naming the URL, its secrets masked) for anything else."""
    shown = redact.mask_url(url)
    try:
        response = client.get(url, params=params)
    except httpx.TimeoutException:
        raise InputError.at(shown, f"no answer within {client.timeout.read} s", "check that the API is up, or raise --timeout") from None
    except httpx.HTTPError as exc:
        raise InputError.at(shown, f"cannot reach the API: {redact.mask_text(str(exc))}", "check the URL and that the API is up") from None
    answered = redact.mask_url(str(response.url))
    if response.status_code != 200:
        raise InputError.at(answered, f"HTTP {response.status_code}: {response.text[:200]!r}", "check the URL and the indicator")
    try:
        return response.json()
    except ValueError:
        raise InputError.at(answered, f"the answer is not JSON (starts {response.text[:80]!r})", "check that the URL is the JSON API") from None
    except RecursionError:
        raise InputError.at(answered, "the answer is JSON nested too deeply to read", "check that the URL is a World Bank style API") from None


def fetch_pages(url: str, *, per_page: int = 1000, timeout: float = 30.0) -> Iterable[tuple[str, int, list]]:
    """Every page of a World Bank style answer, as (page URL, index of its first record, records)."""
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        page, pages, first = 1, 1, 0
        while page <= pages:
            body = _get_json(client, url, {"format": "json", "page": page, "per_page": per_page})
            here = redact.mask_url(f"{url}?format=json&page={page}&per_page={per_page}")  # stored in the quarantine: no secret
            if isinstance(body, list) and body and isinstance(body[0], dict) and "message" in body[0]:
                messages = "; ".join(str(m.get("value", m)) for m in body[0]["message"] if isinstance(m, dict)) or str(body[0]["message"])
                raise InputError.at(here, f"the API refused: {messages}", "check the indicator id")
            if not (isinstance(body, list) and len(body) == 2 and isinstance(body[0], dict) and isinstance(body[1], (list, type(None)))):
                raise InputError.at(here, "the answer is not [{page, pages, ...}, [records]]", "check that the URL is a World Bank style API")
            records = body[1] or []
            yield here, first, records
            first += len(records)
            pages = body[0].get("pages") or 1
            if isinstance(pages, bool) or not isinstance(pages, int) or not 1 <= pages <= MAX_PAGES:
                raise InputError.at(
                    here, f"the answer says pages={pages!r}, not a number of pages from 1 to {MAX_PAGES:,}", "check that the URL is a World Bank style API"
                )
            page += 1


def world_bank_row(record: Any) -> tuple[str, str, float | None, int]:
    """(indicator, country, value, year) of one record; ValueError says what is wrong with it."""
    if not isinstance(record, dict):
        raise ValueError("record is not an object")
    indicator = record.get("indicator")
    indicator = indicator.get("id") if isinstance(indicator, dict) else None
    if not isinstance(indicator, str) or not indicator:
        raise ValueError("no indicator.id")
    indicator.encode("utf-8")  # UnicodeEncodeError (a ValueError) for a lone surrogate, which no column can store
    country = record.get("countryiso3code")
    if not isinstance(country, str) or not ISO3.fullmatch(country):
        raise ValueError(f"countryiso3code {country!r} is not an ISO alpha-3 code (aggregates have none)")
    date = record.get("date")
    if not isinstance(date, str) or not re.fullmatch(r"\d{4}", date):
        raise ValueError(f"date {date!r} is not a year")
    value = record.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"value {value!r} is not a number")
    try:
        number = None if value is None else float(value)
    except OverflowError:
        raise ValueError(f"value {value} is beyond the range of a double") from None
    if number is not None and not math.isfinite(number):
        raise ValueError(f"value {value} is not a finite number")
    return indicator, country, number, int(date)


def _raw_record(record: Any) -> str:
    """A record as quarantine text: its JSON, non-ASCII kept unless it holds a lone surrogate (then escaped)."""
    text = json.dumps(record, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(record)
    return text


def load_world_bank(
    warehouse: Warehouse | Path | str,
    url: str,
    indicators: Sequence[str] = (),
    *,
    per_page: int = 1000,
    timeout: float = 30.0,
    progress: Callable[[int], None] | None = None,
) -> LoadSummary:
    """Load indicators from a World Bank style API (base URL; `<url>/country/all/indicator/<id>` per indicator).

    Without indicators, `url` itself is paged. Each indicator replaces its earlier load.
    """
    started = time.perf_counter()
    warehouse = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    targets = [(f"{url.rstrip('/')}/country/all/indicator/{i}", i) for i in indicators] or [(url, "all")]
    summary = LoadSummary("world_bank")
    for target, label in targets:
        rows, rejected = [], []
        for here, first, records in fetch_pages(target, per_page=per_page, timeout=timeout):
            for offset, record in enumerate(records, first + 1):
                try:
                    rows.append(world_bank_row(record))
                except ValueError as exc:
                    rejected.append(Rejected(here, offset, _raw_record(record), str(exc)))
            if progress:
                progress(len(records))
        key = "indicator-" + re.sub(r"[^A-Za-z0-9_\-]+", "_", label)
        put_keyed(warehouse, *WORLD_BANK, key, _partitions(rows, WB_COLUMNS, ["year"]))
        summary.files += 1
        summary.read += len(rows) + len(rejected)
        summary.stored += len(rows)
        summary.quarantined += quarantine.store(warehouse, "world_bank", key, rejected)
    summary.add_table(".".join(WORLD_BANK))
    summary.seconds = time.perf_counter() - started
    return summary
