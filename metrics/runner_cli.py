"""`metrics update-reports` and `metrics rerun-reports`: Reportupdater's two commands, same arguments."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from metrics import bounds
from metrics.cli_kit import settings
from metrics.problems import InputError

LEVELS = ["debug", "info", "warning", "error", "critical"]


def _address(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"{value!r} is not HOST:PORT")
    return host, int(port)


@click.command("update-reports")
@click.argument("query_folder", type=click.Path(exists=True, file_okay=False))
@click.argument("output_folder", required=False, type=click.Path(file_okay=False))
@click.option("--config-path", type=click.Path(dir_okay=False), help="Config file (default: QUERY_FOLDER/config.yaml).")
@click.option("--no-graphite", is_flag=True, help="Do not queue or send anything to Graphite.")
@click.option("--graphite", "graphite_address", metavar="HOST:PORT", help="Carbon plaintext address (default: the config's graphite host and port).")
@click.option(
    "-l",
    "--log-level",
    type=click.Choice(LEVELS, case_sensitive=False),
    default="warning",
    show_default=True,
    help="info: what each report has due, and each failure as it happens; debug: also tracebacks of failures.",
)
@click.option("-r", "--report", "only", multiple=True, help="Run only this report (repeatable).")
@click.option("--workers", type=click.IntRange(1, 64), help="Executions run at once (default: one per CPU, at most 16); the results do not depend on it.")
@click.option(
    "--flush-seconds",
    type=click.FloatRange(0),
    default=2.0,
    show_default=True,
    help="Finished intervals are written and logged in batches: when this long has passed since the last write, at the next"
    " interval that finishes. What is logged survives a killed run. 0 writes each interval on its own (slow).",
)
@click.option("--now", "now_text", metavar="YYYY-MM-DDTHH:MM", help="Pretend the current UTC time is this (what is due is computed from it).")
@click.pass_context
def update_reports_command(
    ctx: click.Context,
    query_folder: str,
    output_folder: str | None,
    config_path: str | None,
    no_graphite: bool,
    graphite_address: str | None,
    log_level: str,
    only: tuple[str, ...],
    workers: int | None,
    flush_seconds: float,
    now_text: str | None,
) -> None:
    """Compute every missing interval of the reports in QUERY_FOLDER.

    Results go to warehouse tables `metrics.<folder>_<report>` (partitioned by dt) and, when
    OUTPUT_FOLDER is given, to Reportupdater's TSV files there, byte for byte. Report values go to
    carbon with their own dates unless --no-graphite. Exit status 2 when the config has errors (the
    reports without errors still run), else 1 when anything failed (the summary lists it; failed
    intervals are retried on the next run), 0 otherwise, and 0 when another run holds the folder.
    """
    import datetime as dt

    from metrics import catalogue as catalogue_mod, redact
    from metrics.engines import open_configured
    from metrics.reports.lock import Locked
    from metrics.reports.runner import update_reports

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    redact.mask_logging()
    s = settings(ctx)
    now = None
    if now_text:
        try:
            now = dt.datetime.fromisoformat(now_text)
        except ValueError:
            raise click.BadParameter(f"{now_text!r} is not a date and time: write YYYY-MM-DDTHH:MM (UTC)", param_hint="--now") from None
        if bounds.day_problem(now.date()):
            raise click.BadParameter(f"{bounds.day_problem(now.date())}: give a time from {bounds.FIRST_DAY} to 2099-12-31", param_hint="--now")
        if now.tzinfo is not None:
            now = now.astimezone(dt.timezone.utc).replace(tzinfo=None)
    cat = catalogue_mod.load(s.catalogue) if Path(s.catalogue).is_dir() else None
    with open_configured(s) as engine:
        try:
            summary = update_reports(
                query_folder,
                engine,
                output_folder,
                config_path=config_path,
                graphite=not no_graphite,
                graphite_address=_address(graphite_address),
                graphite_prefix=s.graphite_prefix,
                catalogue=cat,
                now=now,
                workers=workers,
                flush_seconds=flush_seconds,
                only=list(only) or None,
                progress=True,
            )
        except Locked as exc:
            click.echo(str(exc), err=True)
            return
    for problem in summary.problems:
        click.echo(str(problem), err=True)
    for line in summary.lines():
        click.echo(line, err=True)
    if any(p.is_error for p in summary.problems):
        sys.exit(InputError.exit_code)
    if not summary.ok:
        sys.exit(1)


@click.command("rerun-reports")
@click.argument("query_folder", type=click.Path(exists=True, file_okay=False))
@click.argument("start")
@click.argument("end")
@click.option("--config-path", type=click.Path(dir_okay=False), help="Config file (default: QUERY_FOLDER/config.yaml).")
@click.option("-r", "--report", "reports", multiple=True, help="Report to rerun (repeatable; default: all).")
def rerun_reports_command(query_folder: str, start: str, end: str, config_path: str | None, reports: tuple[str, ...]) -> None:
    """Mark [START, END) of reports to be recomputed by the next update-reports run.

    START is inclusive and END exclusive (YYYY-MM-DD). The request stays pending until every
    interval it covers has run successfully.
    """
    from metrics.reports.reruns import request

    path = request(query_folder, start, end, list(reports) or None, config_path)
    click.echo(f"reports marked to be re-run: {path}")
