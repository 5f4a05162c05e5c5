"""What every part's commands share: the root group that turns errors into lines and exit codes, and the settings.

Parts import this module, never `metrics.cli`, which imports them to add their commands.
"""

from __future__ import annotations

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
