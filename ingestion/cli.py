"""`metrics ingest ...`: thin commands over the loaders, each printing one summary line per source."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Callable, Iterator

import click

from ingestion.summary import LoadSummary
from metrics.cli_kit import settings
from metrics.errors import Location, MetricsError


@contextlib.contextmanager
def _progress(label: str, total: int | None, enabled: bool = True) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr (only on a terminal); yields the `advance(n)` callback."""
    import sys

    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(label), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


def _report(summary: LoadSummary) -> None:
    click.echo(summary.line(), err=True)


def _run(load: Callable[[], LoadSummary]) -> None:
    """Print the summary of a load; when files were refused whole, the summary of the others, then the error."""
    from ingestion.inputs import RefusedFiles

    try:
        summary = load()
    except RefusedFiles as exc:
        _report(exc.summary)
        raise
    _report(summary)


@click.group()
def ingest() -> None:
    """Load raw data (events, pageview dumps, CSV, HTTP API) into the warehouse."""


@ingest.command("events")
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--schemas",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of versioned event schemas, <title>/<version>.json (default: the shipped ingestion/schemas). Each title is a stream.",
)
@click.pass_context
def events_command(ctx: click.Context, files: tuple[str, ...], schemas: str | None) -> None:
    """Load newline-delimited JSON events (FILE... or - for stdin, plain or gzip) into event.<stream>, validated.

    Events keep their shape: nested objects are struct columns (event.action), arrays are arrays.
    Invalid events go to quarantine.events with the reason; loading a file again replaces its rows.
    A damaged gzip file is refused whole (its earlier rows stay) and named in an error; the other
    files are loaded.
    """
    import sys

    from ingestion import events
    from ingestion.registry import Registry

    registry = Registry(schemas) if schemas else None

    from ingestion.inputs import is_gzip

    # the bar's total: lines counted in 1 MB reads (only for a bar: never the whole file in memory); none for gzip
    paths = [Path(f) for f in files if f != "-" and Path(f).is_file()]
    total_lines = sum(_count_lines(p) for p in paths) if sys.stderr.isatty() and not any(is_gzip(p) for p in paths) else 0
    with _progress("events", total_lines or None, "-" not in files) as advance:
        _run(lambda: events.load(settings(ctx).warehouse, files, registry=registry, progress=advance))


@ingest.command("pageviews")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def pageviews_command(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Load hourly pageview dumps (pageviews-YYYYMMDD-HH0000.gz) into wmf.pageview_hourly.

    The hour comes from the file name; loading an hour again replaces it. Unparseable lines go
    to quarantine.pageviews. A damaged gzip file is refused whole (its hour keeps what it held)
    and named in an error; the other files are loaded.
    """
    from ingestion import pageviews

    with _progress("pageviews", sum(Path(f).stat().st_size for f in files)) as advance:
        _run(lambda: pageviews.load(settings(ctx).warehouse, files, progress=advance))


@ingest.command("csv")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--table", required=True, help="Target table as schema.table, e.g. external.editors_by_country.")
@click.option("--columns", required=True, help="Declared columns name:type,... (varchar, bigint, double, boolean, date, timestamp).")
@click.option("--partition-by", "partition_by", default="", help="Integer columns to partition by, comma separated (e.g. year).")
@click.pass_context
def csv_command(ctx: click.Context, file: str, table: str, columns: str, partition_by: str) -> None:
    """Load a CSV file (UTF-8, header line; plain or gzip) into a table with declared column types; bad rows are quarantined."""
    from ingestion import tabular

    keys = [k.strip() for k in partition_by.split(",") if k.strip()]
    _report(tabular.load_csv(settings(ctx).warehouse, file, table, columns, keys))


@ingest.command("api")
@click.argument("url")
@click.option("--indicator", "indicators", multiple=True, help="Indicator id, e.g. SP.POP.TOTL (repeatable); fetched from URL/country/all/indicator/ID.")
@click.option("--per-page", type=click.IntRange(1, 32500), default=1000, show_default=True)
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for each answer.")
@click.pass_context
def api_command(ctx: click.Context, url: str, indicators: tuple[str, ...], per_page: int, timeout: float) -> None:
    """Load indicators from a World Bank style JSON API into external.world_bank_indicators."""
    from ingestion import tabular

    with _progress("api", None) as advance:
        _report(tabular.load_world_bank(settings(ctx).warehouse, url, indicators, per_page=per_page, timeout=timeout, progress=advance))


@ingest.command("sample")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the generated raw files.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--start", required=True, help="First day, YYYY-MM-DD.")
@click.option("--days", type=click.IntRange(1, 366), default=28, show_default=True)
@click.option("--pageview-lines", type=click.IntRange(1), default=1500, show_default=True, help="Lines of an average hourly dump.")
@click.pass_context
def sample_command(ctx: click.Context, out: str, seed: int, start: str, days: int, pageview_lines: int) -> None:
    """Generate sample raw data for every source (events, dumps, CSV, API) and load it all."""
    from ingestion.sample import generate_and_load

    try:
        first = dt.date.fromisoformat(start)
    except ValueError:
        raise MetricsError(f"{start!r} is not a date", "write YYYY-MM-DD", Location("--start")) from None
    say = lambda text: click.echo(text, err=True)  # noqa: E731
    for summary in generate_and_load(settings(ctx).warehouse, Path(out), seed, first, days, pageview_lines=pageview_lines, say=say):
        _report(summary)
