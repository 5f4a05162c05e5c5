"""Writer: each period's ranking into the warehouse, optionally a gzip CSV, then the run log.

- `metrics.top_pages_hourly`, partitioned by `dt` (DATE) and `hour` (INT), and
  `metrics.top_pages_daily`, partitioned by `dt`: `domain_code, page_title, count_views, rank`.
  A period's partition is replaced atomically; an empty hour is an empty partition.
- With a CSV folder: `toppages-YYYYMMDD-HH.csv.gz` (or `toppages-YYYYMMDD.csv.gz` for a day), a header
  line and the rows sorted by domain, then views descending (then title), written beside and renamed;
  the empty string is written `""` (see `csv_gzip`).
- `metrics.top_pages_runs` (partitioned by `dt`, one keyed file per period): the last attempt at
  each period, with the settings it ranked with. A period is done when its last attempt succeeded
  with the same top, ties and blacklist, from the same kind of source (files or table), its partition is there, and (when asked for) its CSV.
  The log is written after the data, so a crash in between only makes the period run again.
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from metrics import atomic
from metrics.toppages.periods import Period
from metrics.toppages.sources import TABLE
from metrics.warehouse import Warehouse, partition_path

SCHEMA = "metrics"
TABLES = {"hour": "top_pages_hourly", "day": "top_pages_daily"}
RUNS = "top_pages_runs"
RUN_COLUMNS = pa.schema(
    [
        ("grain", pa.string()),
        ("period_start", pa.timestamp("us", tz="UTC")),
        ("status", pa.string()),
        ("top", pa.int64()),
        ("ties", pa.string()),
        ("blacklist", pa.string()),
        ("source", pa.string()),
        ("rows", pa.int64()),
        ("lines", pa.int64()),
        ("rejected", pa.int64()),
        ("seconds", pa.float64()),
        ("error", pa.string()),
        ("finished_at", pa.timestamp("us", tz="UTC")),
    ]
)
CSV_HEADER = ["domain_code", "page_title", "count_views", "rank"]


@dataclass(frozen=True)
class Ranking:
    """What a result depends on besides its data: N, the tie policy and the blacklist's digest."""

    top: int
    ties: str
    blacklist: str = ""
    source: str = ""
    """The kind of source, `files` or `table` (`source_kind`): a period done from one is not done for the other."""


def source_kind(source: str) -> str:
    """`table` for an attempt's source `wmf.pageview_hourly`, `files` for any other (dump paths)."""
    return "table" if source == TABLE else "files"


@dataclass
class Attempt:
    """One period's attempt, as the run log records it."""

    status: str
    source: str = ""
    rows: int = 0
    lines: int = 0
    rejected: int = 0
    seconds: float = 0.0
    error: str = ""


class Output:
    """Where results go: the warehouse tables, and a CSV folder when given."""

    def __init__(self, warehouse: Warehouse, csv_dir: Path | None = None):
        self.warehouse = warehouse
        self.csv_dir = csv_dir

    @staticmethod
    def partition(period: Period) -> dict[str, int | dt.date]:
        day = period.start.date()
        return {"dt": day, "hour": period.start.hour} if period.grain == "hour" else {"dt": day}

    def csv_path(self, period: Period) -> Path | None:
        if self.csv_dir is None:
            return None
        suffix = f"{period.start:%Y%m%d-%H}" if period.grain == "hour" else f"{period.start:%Y%m%d}"
        return self.csv_dir / f"toppages-{suffix}.csv.gz"

    def _log_file(self, period: Period) -> Path:
        key = f"hour-{period.start.hour:02d}" if period.grain == "hour" else "day"
        return self.warehouse.table_dir(SCHEMA, RUNS) / partition_path({"dt": period.start.date()}) / f"part-{key}.parquet"

    def last(self, period: Period) -> dict | None:
        """The run log's record of the period's last attempt, if any."""
        path = self._log_file(period)
        if not path.is_file():
            return None
        rows = pq.read_table(path).to_pylist()
        return rows[0] if rows else None

    def has_result(self, period: Period) -> bool:
        """Whether the period's partition is there (from this run or an earlier one)."""
        return (self.warehouse.table_dir(SCHEMA, TABLES[period.grain]) / partition_path(self.partition(period))).is_dir()

    def done(self, period: Period, ranking: Ranking) -> bool:
        """Whether the period was computed with `ranking` and its outputs are all there."""
        last = self.last(period)
        if not last or last["status"] != "ok" or Ranking(last["top"], last["ties"], last["blacklist"] or "", source_kind(last["source"] or "")) != ranking:
            return False
        if not self.has_result(period):
            return False
        csv_path = self.csv_path(period)
        return csv_path is None or csv_path.is_file()

    def write(self, period: Period, result: pa.Table) -> None:
        """Replace the period's partition (and CSV) with `result` (`ranking.RESULT`, in its order)."""
        self.warehouse.replace_partition(SCHEMA, TABLES[period.grain], self.partition(period), result)
        csv_path = self.csv_path(period)
        if csv_path is not None:
            atomic.write_bytes(csv_path, csv_gzip(result))

    def log(self, period: Period, ranking: Ranking, attempt: Attempt) -> None:
        """Record the period's attempt (replacing the one before)."""
        row = {
            "grain": period.grain,
            "period_start": period.start,
            "status": attempt.status,
            "top": ranking.top,
            "ties": ranking.ties,
            "blacklist": ranking.blacklist,
            "source": attempt.source,
            "rows": attempt.rows,
            "lines": attempt.lines,
            "rejected": attempt.rejected,
            "seconds": round(attempt.seconds, 3),
            "error": attempt.error,
            "finished_at": dt.datetime.now(dt.timezone.utc),
        }
        key = self._log_file(period).stem.removeprefix("part-")
        self.warehouse.put_file(SCHEMA, RUNS, {"dt": period.start.date()}, key, pa.Table.from_pylist([row], schema=RUN_COLUMNS))


CSV_QUOTED = r'[,"\r\n]'
"""A text field holding one of these is quoted (RFC 4180: between `"`, a `"` doubled), as Python's `csv` writes it."""


def csv_gzip(result: pa.Table) -> bytes:
    """The result as gzip CSV bytes: a header, then `domain_code,page_title,count_views,rank` rows.

    Text is quoted as RFC 4180 says when it holds a comma, a quote or a line break (`"Washington,_D.C."`,
    a quote inside doubled), and the empty string is always written `""`, as Spark's CSV writer (the job this
    replaces) wrote it, so that a reader tells the empty domain code from a missing value.
    """
    fields = []
    for name in CSV_HEADER:
        column = result.column(name)
        if pa.types.is_string(column.type):
            quote = pc.or_(pc.equal(column, ""), pc.match_substring_regex(column, CSV_QUOTED))
            quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
            column = pc.if_else(quote, quoted, column)
        else:
            column = column.cast(pa.string())
        fields.append(column)
    lines = pc.binary_join_element_wise(*fields, ",") if result.num_rows else pa.array([], pa.string())
    text = "\n".join([",".join(CSV_HEADER), *lines.to_pylist()]) + "\n"
    return gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)
