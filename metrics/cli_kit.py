"""What every part's commands share: the root group that turns errors into lines and exit codes, and the settings.

Parts import this module, never `metrics.cli`, which imports them to add their commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from metrics import redact
from metrics.config import Settings
from metrics.errors import MetricsError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class RootGroup(click.Group):
    """The `metrics` group: the one place where an exception becomes what the user sees.

    A `MetricsError` prints its lines (`file:line:column: what (hint)`) on stderr and exits with
    its `exit_code` (2 for bad input, `InputError`; 1 for a failure while running); click's own
    exceptions keep their output and codes (2 for a usage error); anything else is a bug: one
    line and exit 2, or the traceback with --debug. Every line goes through `redact.mask_text`,
    which knows the secrets of the environment (`redact.remember_environment`) from the start.
    """

    def invoke(self, ctx: click.Context) -> Any:
        redact.remember_environment()
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except MetricsError as exc:
            for line in exc.lines():
                click.echo(redact.mask_text(line), err=True)
            ctx.exit(exc.exit_code)
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            message = redact.mask_text(" ".join(str(exc).split()))
            click.echo(f"error: {type(exc).__name__}: {message} (run with --debug for the traceback)", err=True)
            ctx.exit(2)


def settings(ctx: click.Context) -> Settings:
    """The project settings, loaded once by the root group."""
    return ctx.find_root().obj


WAREHOUSE_CHOICE = "choose another with --warehouse, METRICS_WAREHOUSE or warehouse in metrics.toml"
"""How a user points a command at another warehouse (the precedence of `metrics.config`)."""


def existing_warehouse(s: Settings) -> Path:
    """The settings' warehouse folder, absolute; `UsageError` (exit 2) naming it when it does not exist.

    Commands that only read (status, backfill, query, export-duckdb) refuse a missing warehouse
    rather than report on an empty one: a wrong path would otherwise look like a warehouse where
    nothing ran. With write_mode `sql` the tables live in the cluster, not here: not checked.
    """
    from metrics.errors import UsageError

    root = Path(s.warehouse).absolute()
    if s.write_mode != "sql" and not root.is_dir():
        raise UsageError(f"no warehouse at {root}: nothing has run there", f"{WAREHOUSE_CHOICE}; `metrics run` creates a new one")
    return root


def import_plan_options(system: str, assets: str) -> Any:
    """`--prune` and `--plan FILE` of `metrics import <system>` (`system`: "Superset" or "Grafana";
    `assets`: what prune deletes, e.g. "the dashboards")."""

    def add(command: Any) -> Any:
        command = click.option(
            "--plan",
            "plan_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"A plan saved by `metrics plan -o FILE`: refuse (exit 2) if the live {system} no longer matches it.",
        )(command)
        return click.option("--prune", is_flag=True, help=f"Delete {assets} we imported that the catalogue no longer builds (the plan's orphans).")(command)

    return add


def service_url(s: Settings, given: str | None, key: str, system: str, option: str = "--url") -> str:
    """`option` if given, else the selected environment's `key` (superset_url, grafana_url, graphite_url); `InputError` at `option` without either."""
    from metrics.problems import InputError

    url = given or getattr(s, key)
    if not url:
        where = f"environment {s.env} has no {key}" if s.env else "no environment is selected"
        raise InputError.at(
            option, f"no {system} URL: {where}", f"pass {option}, or set {key} in the [env.NAME] table of metrics.toml and select it with --env"
        )
    return str(url)


def echo_plan(plan: Any) -> None:
    """Print a `metrics.plan.SystemPlan`, a line per asset (the `on_plan` of the importers)."""
    for line in plan.lines():
        click.echo(line)
