"""`metrics run` and `metrics status`: thin commands over `metrics.schedule` and `metrics.status`."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from metrics.cli_kit import existing_warehouse, settings
from metrics.runner_cli import LEVELS, _address as address

if TYPE_CHECKING:
    from metrics.config import Settings
    from metrics.schedule import RunAll
    from metrics.status import Status

LAG_PREFIX = "metrics_service.report_lag"
"""The StatsD bucket prefix of the lag gauges: Graphite shows them as stats.gauges.<prefix>.<folder>.<report>."""


def _now(text: str | None) -> dt.datetime | None:
    """--now as naive UTC (an offset is converted), or None."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date and time: write YYYY-MM-DDTHH:MM (UTC)", param_hint="--now") from None
    if not 1970 <= moment.year <= 2099:  # what is due is enumerated day by day: keep it to the dates specs may hold
        raise click.BadParameter(f"{text!r} is outside 1970-2099: give a time in that range", param_hint="--now")
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _duration(text: str | None, option: str) -> dt.timedelta | None:
    from metrics.schedule import parse_duration

    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _folders(s: Settings, given: tuple[str, ...]) -> list[Path]:
    from metrics.reports.validate import query_folders

    folders = [Path(f) for f in given] or query_folders(s.queries)
    if not folders:
        raise click.UsageError(f"no query folders (folders with a config.yaml) under {s.queries}: pass folders, or --queries DIR")
    return folders


def _send_lag(current: Status, statsd: tuple[str, int], prefix: str) -> None:
    """The lag of every report as a StatsD gauge; a StatsD problem is a warning (UDP gives no receipt anyway)."""
    from metrics.errors import MetricsError
    from metrics.statsd_client import send_gauges
    from metrics.status import lag_gauges

    gauges = lag_gauges(current, prefix)
    try:
        send_gauges(gauges, host=statsd[0], port=statsd[1])
    except MetricsError as exc:
        click.echo(f"warning: {exc}", err=True)
        return
    click.echo(f"sent {len(gauges)} lag gauge(s) to StatsD at {statsd[0]}:{statsd[1]} ({prefix}.<folder>.<report>)", err=True)


@click.command("run")
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False))
@click.option("--output", type=click.Path(file_okay=False), help="Also write Reportupdater's TSV files, into OUTPUT/<folder name>.")
@click.option("--no-graphite", is_flag=True, help="Do not queue or send report values to Graphite.")
@click.option("--graphite", "graphite_address", metavar="HOST:PORT", help="Carbon plaintext address (default: each config's graphite host and port).")
@click.option(
    "--graphite-web",
    metavar="URL",
    envvar="METRICS_GRAPHITE_WEB",
    help="graphite-web base URL: a Graphite event per folder that ran, shown on the Grafana boards (env METRICS_GRAPHITE_WEB).",
)
@click.option(
    "--statsd",
    "statsd_address",
    metavar="HOST:PORT",
    envvar="METRICS_STATSD",
    help="After each run, send each report's lag as a StatsD gauge (env METRICS_STATSD).",
)
@click.option("--statsd-prefix", default=LAG_PREFIX, show_default=True, help="Bucket prefix of the lag gauges.")
@click.option(
    "--every", "every_text", metavar="DURATION", help="Keep running: again at each slot of DURATION (1h: the top of every hour), until SIGTERM/SIGINT."
)
@click.option("-l", "--log-level", type=click.Choice(LEVELS, case_sensitive=False), default="warning", show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), help="Executions run at once per folder (default: one per CPU, at most 16).")
@click.option(
    "--flush-seconds", type=click.FloatRange(0), default=2.0, show_default=True, help="Finished intervals are written and logged at least this often."
)
@click.option("--now", "now_text", metavar="YYYY-MM-DDTHH:MM", help="Pretend the current UTC time is this (not with --every).")
@click.pass_context
def run_command(
    ctx: click.Context,
    folders: tuple[str, ...],
    output: str | None,
    no_graphite: bool,
    graphite_address: str | None,
    graphite_web: str | None,
    statsd_address: str | None,
    statsd_prefix: str,
    every_text: str | None,
    log_level: str,
    workers: int | None,
    flush_seconds: float,
    now_text: str | None,
) -> None:
    """Run every query folder once (default: each folder of --queries), then print one summary.

    \b
    Each folder runs under its lock, as `metrics update-reports FOLDER` would: a folder that
    another run holds is skipped and reported, a folder whose config cannot be read is reported,
    and neither stops the others.
    With --every, run again at each slot (multiples of DURATION in UTC) until SIGTERM or SIGINT,
    which stop it between runs (a second signal stops at once). Cron, systemd and Airflow set-ups:
    docs/operations.md.
    Exit status (without --every): 2 when a folder's config has errors, else 1 when an interval,
    a folder or Graphite failed, else 0 (also when a folder was skipped); with --every, 0 once stopped.
    """
    from metrics.schedule import every, stop_on_signals

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    s = settings(ctx)
    period = _duration(every_text, "--every")
    now = _now(now_text)
    if period is not None and now is not None:
        raise click.UsageError("--now pretends one moment: it cannot be combined with --every")
    if period is not None and period < dt.timedelta(seconds=1):
        raise click.BadParameter("give at least 1s", param_hint="--every")
    paths = _folders(s, folders)
    options = {
        "output": output,
        "graphite": not no_graphite,
        "graphite_address": address(graphite_address),
        "graphite_web": graphite_web,
        "workers": workers,
        "flush_seconds": flush_seconds,
    }
    statsd = address(statsd_address)
    if period is None:
        result = _run_once(s, paths, now, options, statsd, statsd_prefix, progress=True)
        sys.exit(result.exit_code)

    def job() -> None:
        from metrics.errors import MetricsError

        try:
            _run_once(s, paths, None, options, statsd, statsd_prefix, progress=False)
        except MetricsError as exc:  # the catalogue or the engine: this run is lost, the next one tries again
            for line in exc.lines():
                click.echo(line, err=True)

    def say(message: str) -> None:
        click.echo(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M:%S} UTC metrics run --every {every_text}: {message}", err=True)

    with stop_on_signals() as stop:
        every(period, job, stop, say=say)


def _run_once(
    s: Settings, folders: list[Path], now: dt.datetime | None, options: dict, statsd: tuple[str, int] | None, prefix: str, *, progress: bool
) -> RunAll:
    from metrics import catalogue as catalogue_mod
    from metrics.engines import open_configured
    from metrics.schedule import run_all
    from metrics.status import status

    cat = catalogue_mod.load(s.catalogue) if Path(s.catalogue).is_dir() else None
    with open_configured(s) as engine:
        result = run_all(folders, engine, catalogue=cat, now=now, progress=progress, graphite_prefix=s.graphite_prefix, **options)
        for line in result.lines():
            click.echo(line)
        if statsd is not None:
            _send_lag(status(folders, engine, now=now), statsd, prefix)
    return result


@click.command("status")
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON (shape: docs/operations.md).")
@click.option("--now", "now_text", metavar="YYYY-MM-DDTHH:MM", help="The UTC time to judge at (default: now).")
@click.option("--grace", "grace_text", default="0s", show_default=True, metavar="DURATION", help="An interval is late only this long after it is due.")
@click.option("--statsd", "statsd_address", metavar="HOST:PORT", help="Also send each report's lag (seconds) as a StatsD gauge.")
@click.option("--statsd-prefix", default=LAG_PREFIX, show_default=True, help="Bucket prefix of the lag gauges.")
@click.pass_context
def status_command(
    ctx: click.Context, folders: tuple[str, ...], as_json: bool, now_text: str | None, grace_text: str, statsd_address: str | None, statsd_prefix: str
) -> None:
    """Per query folder and report: the last interval done, what is late, what failed and why, what waits.

    \b
    Read from the run log (either write mode); what is due is the runner's own rule (granularity
    and lag). Default: every folder of --queries. The Python equivalent is
    metrics.status.status(folders, engine, now=...), which returns plain dataclasses.
    Exit status: 0 when every report is fresh or waiting for its sources, 1 when a report is late
    or failed or a folder's config has errors (for alerting), 2 for bad input to this command.
    """
    from metrics.engines import open_configured
    from metrics.status import status

    s = settings(ctx)
    existing_warehouse(s)
    now = _now(now_text)
    grace = _duration(grace_text, "--grace") or dt.timedelta(0)
    paths = _folders(s, folders)
    statsd = address(statsd_address)
    with open_configured(s, lazy=True) as engine:
        current = status(paths, engine, now=now, grace=grace)
        if statsd is not None:
            _send_lag(current, statsd, statsd_prefix)
    if as_json:
        click.echo(json.dumps(current.as_dict(), indent=2))
    else:
        for line in current.lines():
            click.echo(line)
    sys.exit(0 if current.ok else 1)


SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
"""The project's service scripts; `metrics up` and `down` need a checkout of the project."""


def _script(name: str, directory: str | None) -> None:
    """Run scripts/<name> with METRICS_UP_DIR set, passing its output through; exit with its status."""
    import os
    import subprocess

    from metrics.errors import MetricsError

    script = SCRIPTS / name
    if not script.is_file():
        raise MetricsError(f"{script} not found: `metrics up` and `down` run the project's service scripts", "run them from a checkout of the project")
    env = dict(os.environ)
    if directory:
        env["METRICS_UP_DIR"] = str(Path(directory).resolve())
    sys.exit(subprocess.run(["bash", str(script)], env=env, check=False).returncode)


_UP_DIR = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    envvar="METRICS_UP_DIR",
    help="Where the demo data and the services' state live (default: .services/up of the project).",
)


@click.command("up")
@_UP_DIR
def up_command(directory: str | None) -> None:
    """Start a local Superset with the demo's dashboards, and StatsD/Graphite fed with sample values.

    \b
    Builds the demo warehouse (generated data, every query folder), starts Superset on 127.0.0.1
    and imports the demo's bundles, starts carbon, graphite-web and StatsD and sends them
    `metrics statsd sample`; prints the URLs and the login (SUPERSET_ADMIN_USER /
    SUPERSET_ADMIN_PASSWORD, default admin / admin). The first time installs Superset and Graphite
    into .services/ (about 5 minutes). Stop both with `metrics down`.
    """
    _script("up.sh", directory)


@click.command("down")
@_UP_DIR
def down_command(directory: str | None) -> None:
    """Stop what `metrics up` started (Superset, carbon, graphite-web, StatsD), by their PIDs; data stays."""
    _script("down.sh", directory)
