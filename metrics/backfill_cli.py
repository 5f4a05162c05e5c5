"""`metrics backfill`: recompute the intervals computed by an old definition of their report (`metrics.reports.stale`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path

import click

from metrics import bounds
from metrics.cli_kit import existing_warehouse, settings
from metrics.operations_cli import _folders, _now
from metrics.problems import InputError
from metrics.runner_cli import LEVELS, _address as address


def _day(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InputError.at(option, f"{text!r} is not a date", "write YYYY-MM-DD") from None
    if bounds.day_problem(day):
        raise InputError.at(option, f"{bounds.day_problem(day)}", f"give a date from {bounds.FIRST_DAY} to 2099-12-31")
    return day


@click.command("backfill")
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False))
@click.option("-r", "--report", "refs", multiple=True, metavar="FOLDER/REPORT", help="Only this report (repeatable; default: every report of the folders).")
@click.option("--from", "start_text", metavar="YYYY-MM-DD", help="Only intervals starting on or after this day.")
@click.option("--to", "end_text", metavar="YYYY-MM-DD", help="Only intervals starting before this day (exclusive, as rerun-reports' END).")
@click.option("--unknown", is_flag=True, help="Also recompute intervals computed before definitions were recorded (the plan's `unknown`).")
@click.option("--dry-run", is_flag=True, help="List what would be recomputed; compute and write nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: the list as JSON (the shape of `metrics plan --json`'s `stale`).")
@click.option("--output", type=click.Path(file_okay=False), help="Also rewrite Reportupdater's TSV files, in OUTPUT/<folder name>.")
@click.option("--no-graphite", is_flag=True, help="Do not queue or send the recomputed values to Graphite.")
@click.option("--graphite", "graphite_address", metavar="HOST:PORT", help="Carbon plaintext address (default: each config's graphite host and port).")
@click.option("--workers", type=click.IntRange(1, 64), help="Executions run at once per folder (default: one per CPU, at most 16).")
@click.option(
    "--flush-seconds", type=click.FloatRange(0), default=2.0, show_default=True, help="Recomputed intervals are written and logged at least this often."
)
@click.option("--now", "now_text", metavar="YYYY-MM-DDTHH:MM", help="Pretend the current UTC time is this (which intervals are due).")
@click.option("-l", "--log-level", type=click.Choice(LEVELS, case_sensitive=False), default="warning", show_default=True)
@click.pass_context
def backfill_command(
    ctx: click.Context,
    folders: tuple[str, ...],
    refs: tuple[str, ...],
    start_text: str | None,
    end_text: str | None,
    unknown: bool,
    dry_run: bool,
    as_json: bool,
    output: str | None,
    no_graphite: bool,
    graphite_address: str | None,
    workers: int | None,
    flush_seconds: float,
    now_text: str | None,
    log_level: str,
) -> None:
    """Recompute the intervals whose data an old definition of their report computed.

    \b
    Every interval records the hash of its report's definition (query file, type, dialect,
    granularity, ...: docs/runner.md) and the versions of the specs that read it. An interval is
    stale when its latest successful run recorded another hash than the report's current one;
    `metrics plan` lists them. This command recomputes exactly those (of the reports given,
    between --from and --to), with the runner: under each folder's lock, replacing their
    partitions (never appending), and records the new hash. A report whose definition did not
    change recomputes nothing and says so. Stale intervals whose depends_on tables lack days
    are kept as they are. Default: every folder of --queries.
    Python: metrics.schedule.run_all(folders, engine, recompute=metrics.reports.runner.Recompute(...));
    the list alone: metrics.reports.stale.find_all(folders, engine).
    Exit status: 0 when all went well, 1 when an interval or a folder failed, 2 for bad input.
    """
    from metrics import catalogue as catalogue_mod
    from metrics.engines import open_configured
    from metrics.reports import stale as stale_mod
    from metrics.reports.reader import read_folder
    from metrics.reports.runner import Recompute
    from metrics.schedule import run_all

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    s = settings(ctx)
    existing_warehouse(s)
    start, end = _day(start_text, "--from"), _day(end_text, "--to")
    if start and end and start >= end:
        raise InputError.at("--to", f"{end} is not after --from {start}", "--to is exclusive: give the day after the last one to recompute")
    if as_json and not dry_run:
        raise InputError.at("--json", "--json lists what would be recomputed", "add --dry-run")
    now = _now(now_text)
    paths = _folders(s, folders)
    known = {f"{r.folder_name}/{r.key}": path for path in paths for r in read_folder(path).reports}
    for ref in refs:
        if ref not in known:
            raise InputError.at("--report", f"unknown report {ref!r}", f"known reports: {', '.join(sorted(known)) or 'none'}")
    if refs:
        paths = [p for p in paths if p in {known[ref] for ref in refs}]
    only = set(refs) or None
    recompute = Recompute(unknown=unknown, start=start, end=end)
    cat = catalogue_mod.load(s.catalogue) if Path(s.catalogue).is_dir() else None
    with open_configured(s) as engine:
        if dry_run:
            found = stale_mod.find_all(paths, engine, cat, now, only)
            todo = {item.ref: recompute.narrow(item.todo(unknown)) for item in found}
            if as_json:
                click.echo(json.dumps({"stale": [item.as_dict() for item in found]}, indent=2))
                return
            for item in found:
                count = sum(len(days) for days in todo[item.ref].values())
                if not count:
                    click.echo(f"{item.ref}: nothing to recompute (definition {item.current.query_hash})")
                    continue
                click.echo(f"{item.ref}: {count} interval(s) would be recomputed; stale and unknown intervals:")
                for line in item.lines()[1:]:
                    click.echo(line)
            return
        exit_code = 0
        for path in paths:
            keys = [ref.split("/", 1)[1] for ref in refs if known[ref] == path] or None
            result = run_all(
                [path],
                engine,
                output=output,
                graphite=not no_graphite,
                graphite_address=address(graphite_address),
                graphite_prefix=s.graphite_prefix,
                catalogue=cat,
                now=now,
                workers=workers,
                flush_seconds=flush_seconds,
                recompute=recompute,
                only=keys,
            )
            exit_code = max(exit_code, result.exit_code)
            for run in result.folders:
                click.echo(f"{path.name}:")
                for line in run.summary.lines() if run.summary is not None else result.lines()[:-1]:
                    click.echo(f"  {line}")
    sys.exit(exit_code)
