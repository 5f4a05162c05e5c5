"""Reading hourly dumps for ranking: one hour straight into a ranker, or a day's sums per page.

The dumps are parsed as `ingestion.pageviews` parses them (the same file opening and ISA-L
decompression, the same Arrow options, the same unquoting, the same line-by-line fallback), with
two differences that make an hour cost little more than decompressing it: domain codes come
dictionary-encoded and are decoded once per distinct code, and titles stay undecoded bytes until
the ranker says a row can still rank (then they are checked as UTF-8 and unquoted). A line Arrow
cannot take (field count, a count that is not a non-negative integer, bad quoting or UTF-8 in a
row that is decoded) sends the file to the slow path, which ranks the good lines and returns the
others with their line numbers. Views are summed per (domain, title) before ranking on every path:
an hour is checked, as it is read, for a page listed on several lines (then it is read again and
summed as a day is); a damaged or 0-byte dump raises `CorruptInput`, as ingestion does.
"""

from __future__ import annotations

import queue
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ingestion import pageviews
from ingestion.quarantine import Rejected
from metrics.errors import MetricsError
from metrics.toppages.ranking import BIGINT_MAX, Ranker, summed_past

RAW = pa.schema([("domain_code", pa.binary()), ("page_title", pa.binary()), ("count_views", pa.int64())])
"""What is converted of a line; the fourth field (`total_response_size`) must be there but is not read."""
NAMES = ["domain_code", "page_title", "count_views", "total_response_size"]
IDS = pa.schema([("domain", pa.int32()), ("page_title", pa.binary()), ("count_views", pa.int64())])
"""Rows with their domain as the ranker's id and the title as written: what a day's sums are made of.
Titles are summed by their bytes as written (the dumps write each title one way) and decoded only
for the rows that can rank."""
BLOCK = 1 << 20
WHOLE_BYTES = 256 << 20
"""Dumps up to this size (compressed) are decompressed at once and parsed in pieces; larger ones are streamed."""
SUMS_BATCH = 1 << 16
"""Rows of a day's sums ranked at a time: the first batch sets the floors that make the others cheap."""


@dataclass
class Read:
    """What reading one dump found: its lines, and those it could not take (with line numbers)."""

    path: Path
    lines: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def _raw_batches(path: Path, threads: bool) -> Iterator[pa.RecordBatch]:
    """The dump's batches as Arrow reads them (`RAW`, counts checked); `BadLine` at a line it cannot take."""
    try:
        raw, stream = pageviews.open_dump(path)
    except pageviews.UNREADABLE as exc:
        raise pageviews.damaged(path, exc) from None
    try:
        yield from _parse(pa.PythonFile(pageviews.LineEnds(stream), mode="r"), threads)  # a lone \r ends no line
    except pageviews.UNREADABLE as exc:
        raise pageviews.damaged(path, exc) from None
    finally:
        stream.close()
        raw.close()


def check(path: Path) -> None:
    """Read a dump to its end, decompressing only: `InputError` (`CorruptInput` for damage) when it cannot be."""
    try:
        raw, stream = pageviews.open_dump(path)
        with raw, stream:
            while stream.read(BLOCK):
                pass
    except pageviews.UNREADABLE as exc:
        raise pageviews.damaged(path, exc) from None


def _parse(stream: Any, threads: bool) -> Iterator[pa.RecordBatch]:
    """Arrow's batches of dump text (a file object or an Arrow stream), counts checked; `BadLine` at a line it cannot take."""
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(column_names=NAMES, block_size=BLOCK, use_threads=threads),
            parse_options=pageviews.PARSE_OPTIONS,
            convert_options=pageviews.convert_options(RAW, check_utf8=False),
        )
        for batch in reader:
            if batch.num_rows and pc.min(batch.column(2)).as_py() < 0:
                raise pageviews.BadLine("negative count")
            yield batch
    except pa.ArrowInvalid as exc:
        raise pageviews.BadLine(str(exc)) from None


class _Domains:
    """One file's domain codes as written (bytes) -> the ranker's ids; each code decoded once."""

    def __init__(self, ranker: Ranker):
        self.ranker = ranker
        self.known = pa.array([], pa.binary())
        self.ids = np.zeros(0, np.int32)

    def of(self, domains: pa.Array) -> np.ndarray:
        """The id of each row's domain."""
        where = pc.index_in(domains, value_set=self.known)
        if where.null_count:
            new = pc.unique(domains.filter(where.is_null()))
            try:
                names = [pageviews.unquote(raw.decode("utf-8")) for raw in new.to_pylist()]
            except (UnicodeDecodeError, ValueError) as exc:
                raise pageviews.BadLine(f"domain code: {exc}") from None
            self.known = pa.concat_arrays([self.known, new])
            self.ids = np.concatenate([self.ids, self.ranker.domain_ids(names)])
            where = pc.index_in(domains, value_set=self.known)
        return self.ids[where.to_numpy(zero_copy_only=False)]


def _decode(titles: pa.Array) -> pa.Array:
    """Titles as text: UTF-8 checked, quoted ones unquoted."""
    try:
        text = titles.cast(pa.string())
    except pa.ArrowInvalid as exc:
        raise pageviews.BadLine(f"page title: {exc}") from None
    unquoted = pageviews.unquote_array(text)
    return unquoted.combine_chunks() if isinstance(unquoted, pa.ChunkedArray) else unquoted


def _read_slow(path: Path) -> tuple[pa.Table, list[Rejected]]:
    """The good lines of a dump (domain, title, views), and the others."""
    table, rejected = pageviews.read_slow(path, str(path))
    return table.select(["domain_code", "page_title", "count_views"]), rejected


def _feed(ranker: Ranker, batches: Iterator[pa.RecordBatch], twice: "_Twice") -> int:
    """Rank raw batches: domains mapped to ids, rows below their floor dropped, the others decoded and kept; returns the lines.

    Every row is also handed to `twice` (`IDS`), which checks that each page comes once.
    """
    lines = 0
    domains = _Domains(ranker)
    for batch in batches:
        ids, views = domains.of(batch.column(0)), batch.column(2).to_numpy()
        twice.add(pa.RecordBatch.from_arrays([pa.array(ids), batch.column(1), batch.column(2)], schema=IDS))
        keep = ranker.could_rank(ids, views)
        if len(keep):
            ranker.add(ids[keep], _decode(batch.column(1).take(pa.array(keep))), views[keep])
        lines += batch.num_rows
    return lines


class _Twice:
    """Whether a (domain, title) comes in two rows of an hour: each row's 64-bit hash (DuckDB's, as an
    embedded library), taken once the hour is read, sorted.

    The rows are kept until then (titles as written, about 25 bytes a row). Hashing in a thread as
    the batches arrived cost twice the wall time: the two threads kept waiting for each other's
    turn at the interpreter. Two rows sharing a hash but not a page (about one hour in a million at
    5 million lines) only make the hour summed needlessly. It costs about 0.15 s on a
    5-million-line hour (the reading itself: about 0.5 s).
    """

    def __init__(self) -> None:
        self.rows: list[pa.RecordBatch] = []

    def add(self, batch: pa.RecordBatch) -> None:
        self.rows.append(batch.select(["domain", "page_title"]))

    def result(self) -> bool:
        """Whether some page came twice; call once, after the last batch."""
        import duckdb

        rows, self.rows = self.rows, []
        if not rows:
            return False
        with duckdb.connect(config={"threads": 1}) as con:
            con.register("hour_rows", pa.Table.from_batches(rows))
            hashes = con.sql("SELECT hash(domain, page_title) AS h FROM hour_rows").fetchnumpy()["h"]
        hashes.sort()
        return bool((hashes[1:] == hashes[:-1]).any())

    def close(self) -> None:
        """End without an answer (the hour is read another way, or not at all)."""
        self.rows = []


SUMS = (
    "SELECT domain, page_title, CAST(CASE WHEN sum(count_views) > 9223372036854775807 THEN -1 ELSE sum(count_views) END AS BIGINT) AS count_views"
    " FROM hour_rows GROUP BY domain, page_title"
)
"""Views per (domain id, title as written): the dumps' own aggregation key (each title is written one way);
a sum past 2^63-1 is given as `ranking.SUMMED_PAST`, for `_rank_sums` to name the page."""


def _rank_sums(ranker: Ranker, sums: Iterable[pa.RecordBatch]) -> None:
    """Rank batches of `IDS` rows that list each (domain, title) once: rows below their floor dropped, the others decoded."""
    for batch in sums:
        ids, views = batch.column(0).to_numpy(), batch.column(2).to_numpy()
        if len(views) and views.min() < 0:  # SUMMED_PAST
            first = int(np.argmax(views < 0))
            raise summed_past(ranker.names[ids[first]], _decode(batch.column(1).slice(first, 1))[0].as_py())
        keep = ranker.could_rank(ids, views)
        if len(keep):
            ranker.add(ids[keep], _decode(batch.column(1).take(pa.array(keep))), views[keep])


def _page_sums(table: pa.Table) -> pa.Table:
    """(domain, title, views) text columns with views summed per (domain, title)."""
    exact = table.set_column(2, "count_views", table.column("count_views").cast(pa.decimal128(38, 0)))  # no int64 wrap-around
    summed = exact.group_by(["domain_code", "page_title"], use_threads=False).aggregate([("count_views", "sum")])
    past = pc.greater(summed.column("count_views_sum"), pa.scalar(BIGINT_MAX, pa.decimal128(38, 0)))
    if pc.any(past).as_py():
        first = summed.filter(past).slice(0, 1).to_pylist()[0]
        raise summed_past(first["domain_code"], first["page_title"])
    views = summed.column("count_views_sum").cast(pa.int64())
    return pa.table([summed.column("domain_code"), summed.column("page_title"), views], names=["domain_code", "page_title", "count_views"])


HOUR_MEMORY = "1GB"
"""DuckDB's memory limit while it sums the pages of an hour that lists a page twice (it spills beyond)."""


def rank_hour(path: Path, make: Callable[[], Ranker]) -> tuple[pa.Table, Read]:
    """The ranked top of one hourly dump (`ranking.RESULT`) and what was read.

    Streamed: ISA-L decompresses in Arrow's read-ahead thread while this one parses and ranks.
    A dump lists each page once; one that lists a (domain, title) on several lines is read again
    and ranked from the views summed per (domain, title), as a day is (`rank_day`) and as the
    `wmf.pageview_hourly` table is. Raises `InputError` (`CorruptInput` for damage) when the file
    cannot be read to its end.
    """
    read = Read(path)
    ranker = make()
    twice = _Twice()
    try:
        read.lines = _feed(ranker, _raw_batches(path, threads=True), twice)
    except pageviews.BadLine:  # a line the fast path cannot take: the good lines, line by line
        twice.close()
        table, read.rejected = _read_slow(path)
        ranker = make()
        ranker.feed(_page_sums(table))
        read.lines = table.num_rows + len(read.rejected)
        return ranker.result(), read
    except BaseException:
        twice.close()
        raise
    if twice.result():
        with tempfile.TemporaryDirectory(prefix="toppages-spill-") as spill:
            result, (read,) = rank_day([path], make, workers=1, memory_limit=HOUR_MEMORY, spill=Path(spill))
        return result, read
    return ranker.result(), read


def _id_batches(path: Path, ranker: Ranker, slow: bool, read: Read) -> Iterator[pa.RecordBatch]:
    """Every row of a dump as `IDS`; the fast path raises `BadLine` (after giving earlier batches)."""
    if slow:
        table, read.rejected = _read_slow(path)
        read.lines = table.num_rows + len(read.rejected)
        for batch in table.to_batches(max_chunksize=BLOCK):
            encoded = pc.dictionary_encode(batch.column(0))
            ids = ranker.domain_ids(encoded.dictionary.to_pylist())[encoded.indices.to_numpy(zero_copy_only=False)]
            yield pa.RecordBatch.from_arrays([pa.array(ids), _requote(batch.column(1)), batch.column(2)], schema=IDS)
        return
    domains = _Domains(ranker)
    for batch in _raw_batches(path, threads=False):
        _check(batch.column(1))
        yield pa.RecordBatch.from_arrays([pa.array(domains.of(batch.column(0))), batch.column(1), batch.column(2)], schema=IDS)
        read.lines += batch.num_rows


def _check(titles: pa.Array) -> None:
    """`BadLine` when a title is not UTF-8 or badly quoted: a day's titles are decoded only after summing,
    when it is too late to tell which dump held the line."""
    try:
        text = titles.cast(pa.string())
    except pa.ArrowInvalid as exc:
        raise pageviews.BadLine(f"page title: {exc}") from None
    quoted = pc.starts_with(text, '"')
    if pc.any(quoted).as_py() and not pc.all(pc.match_substring_regex(text.filter(quoted), pageviews.QUOTED)).as_py():
        raise pageviews.BadLine("badly quoted page title")


def _requote(titles: pa.Array) -> pa.Array:
    """Titles as the dumps write them (the inverse of unquoting), so that the slow path's rows sum with the fast path's."""
    quoted = pc.or_(pc.equal(titles, ""), pc.match_substring(titles, '"'))
    if not pc.any(quoted).as_py():
        return titles.cast(pa.binary())
    texts = titles.to_pylist()
    for i in pc.indices_nonzero(quoted).to_pylist():
        texts[i] = '"' + texts[i].replace("\\", "\\\\").replace('"', '\\"') + '"'
    return pa.array(texts, pa.string()).cast(pa.binary())


class DayFailed(Exception):
    """A dump of the day could not be read by the fast path (`path`); the day is summed again with it read slowly."""

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = path


def rank_day(paths: Sequence[Path], make: Callable[[], Ranker], *, workers: int, memory_limit: str, spill: Path) -> tuple[pa.Table, list[Read]]:
    """The ranked top of the views summed per page over `paths` (a day's dumps), and what was read.

    The dumps are decompressed and parsed `workers` at a time in threads, while DuckDB, used here as
    an embedded library (not the configured engine), sums views per (domain id, title) in one thread
    and bounded memory (`memory_limit`, spilling into `spill`). The sums are then ranked like an hour. A dump
    with a line the fast path cannot take makes the day start again with that dump read line by line.
    """
    slow: set[Path] = set()
    while True:
        try:
            return _rank_day(paths, make(), slow, workers, memory_limit, spill)
        except DayFailed as exc:
            slow.add(exc.path)


def _rank_day(paths: Sequence[Path], ranker: Ranker, slow: set[Path], workers: int, memory_limit: str, spill: Path) -> tuple[pa.Table, list[Read]]:
    import duckdb

    reads = [Read(path) for path in paths]
    batches: queue.Queue[pa.RecordBatch] = queue.Queue(maxsize=4 * workers)
    stop = threading.Event()
    failure: list[BaseException] = []

    def read_one(read: Read) -> None:
        try:
            for batch in _id_batches(read.path, ranker, read.path in slow, read):
                while not stop.is_set():
                    try:
                        batches.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        pass
                if stop.is_set():
                    return
        except pageviews.BadLine:
            failure.append(DayFailed(read.path))
            stop.set()
        except BaseException as exc:  # handed to the caller, which raises it
            failure.append(exc)
            stop.set()

    def produce() -> Iterator[pa.RecordBatch]:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="toppages-read")
        futures = [pool.submit(read_one, read) for read in reads]
        try:
            while True:
                if stop.is_set():  # a reader failed: the day is not summed
                    raise failure[0] if failure else RuntimeError("the day's reading stopped")
                try:
                    yield batches.get(timeout=0.1)
                except queue.Empty:
                    if all(f.done() for f in futures) and batches.empty():
                        return
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

    spill.mkdir(parents=True, exist_ok=True)
    # One DuckDB thread: the readers keep the other cores busy, and one hash table (not one per
    # thread, merged) took less CPU and about two thirds of the memory on a day of 24 large hours.
    con = duckdb.connect(config={"threads": 1, "memory_limit": memory_limit, "temp_directory": str(spill), "preserve_insertion_order": False})
    try:
        con.register("hour_rows", pa.RecordBatchReader.from_batches(IDS, produce()))
        _rank_sums(ranker, con.sql(SUMS).to_arrow_reader(SUMS_BATCH))
    except duckdb.Error as exc:
        if failure:
            raise failure[0] from None
        if isinstance(exc, duckdb.OutOfMemoryException):
            raise MetricsError(
                f"summing the day's pages needed more than {memory_limit} of memory", "free memory on the machine, or rank hours instead of days"
            ) from None
        raise
    finally:
        stop.set()
        con.close()
    if failure:
        raise failure[0]
    return ranker.result(), reads
