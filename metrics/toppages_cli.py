"""`metrics toppages`: a thin command over `metrics.toppages.top_pages`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from metrics.cli_kit import settings

TIES = ["row_number", "rank", "dense_rank"]  # metrics.toppages.TIES, spelled out so that `--help` imports no pyarrow


@click.command("toppages")
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--from", "start", metavar="YYYY-MM-DDTHH", help="First hour (UTC) to rank; with files, defaults to their first.")
@click.option("--to", "end", metavar="YYYY-MM-DDTHH", help="The hour after the last one (exclusive); with files, defaults to after their last.")
@click.option("--blacklist", type=click.Path(dir_okay=False), help="File of 'domain_code page_title' pairs to leave out, one a line, quoted as in the dumps.")
@click.option("--top", type=click.IntRange(1, 100_000), default=25, show_default=True, help="Pages per domain.")
@click.option(
    "--ties",
    type=click.Choice(TIES),
    default="row_number",
    show_default=True,
    help="row_number: exactly N rows, ties broken by title; rank: the rows ranked N or better, every row tied at the last place kept; dense_rank: every page among the N highest view counts.",
)
@click.option("--daily", is_flag=True, help="Rank each day over its 24 hours (--from and --to are then days).")
@click.option(
    "--csv-dir",
    type=click.Path(file_okay=False),
    help='Also write one gzip CSV per period here (toppages-YYYYMMDD-HH.csv.gz; with --daily, toppages-YYYYMMDD.csv.gz); the empty string is written "".',
)
@click.option("--force", is_flag=True, help="Compute periods again even when done before with the same settings (one that fails keeps its previous result).")
@click.option("--workers", type=click.IntRange(1, 64), help="Dumps read at once (default: one per CPU, at most 4).")
@click.pass_context
def toppages_command(
    ctx: click.Context,
    files: tuple[str, ...],
    start: str | None,
    end: str | None,
    blacklist: str | None,
    top: int,
    ties: str,
    daily: bool,
    csv_dir: str | None,
    force: bool,
    workers: int | None,
) -> None:
    """The top pages of each wiki (domain code) per hour, or per day, from pageview dumps.

    \b
    FILES are dumps (pageviews-YYYYMMDD-HH0000.gz) or folders holding them (searched at any depth);
    without FILES the hours are read from wmf.pageview_hourly (then --from and --to are needed).
    Each hour (or day) is ranked on its own into metrics.top_pages_hourly (partitioned by dt and
    hour) or metrics.top_pages_daily (by dt), and with --csv-dir into one gzip CSV. A period done
    before with the same --top, --ties and --blacklist, from the same kind of source (files or
    the table), is skipped (--force computes it again).
    One line per period on stderr (a day that fails adds one line per hour that failed, with its
    reason); a period that fails (no dump, a damaged or 0-byte dump) does not stop the others,
    keeps what an earlier run wrote for it (its line then says so), and the exit status is then 1.

    The Python equivalent: metrics.toppages.top_pages(warehouse, start, end, files, top=..., ...).
    """
    from metrics import toppages
    from metrics.engines import open_configured
    from metrics.toppages.periods import parse_hour

    s = settings(ctx)
    first = parse_hour(start, "--from") if start else None
    last = parse_hour(end, "--to") if end else None
    say = lambda outcome: click.echo(outcome.line(), err=True)  # noqa: E731
    common = dict(top=top, ties=ties, blacklist=blacklist, daily=daily, csv_dir=csv_dir, force=force, workers=workers, on_outcome=say)
    if files:
        summary = toppages.top_pages(s.warehouse, first, last, [Path(f) for f in files], **common)  # type: ignore[arg-type]
    else:
        with open_configured(s, lazy=True) as engine:
            engine.prepare([("wmf", "pageview_hourly")])
            summary = toppages.top_pages(s.warehouse, first, last, engine=engine, **common)  # type: ignore[arg-type]
    click.echo(summary.line(), err=True)
    if not summary.ok:
        sys.exit(1)
