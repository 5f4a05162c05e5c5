"""`metrics verify`: a thin command over `metrics.verify.verify`."""

from __future__ import annotations

import os

import click

from metrics.cli_kit import service_url, settings


@click.command("verify")
@click.option("--superset-url", help="Superset base URL with the bundles imported, e.g. http://127.0.0.1:8088. Default: the environment's superset_url.")
@click.option("--graphite-url", help="graphite-web base URL the runner's carbon feeds, e.g. http://127.0.0.1:8080. Default: the environment's graphite_url.")
@click.option("--dates", type=click.IntRange(min=1), default=3, show_default=True, help="Dates per metric: first, last and evenly between.")
@click.option("--spec", "specs", multiple=True, metavar="NAME", help="Only this spec (repeatable; default: every spec).")
@click.option("--user", envvar="SUPERSET_USER", default="admin", show_default=True, help="Superset user (or SUPERSET_USER); password from SUPERSET_PASSWORD.")
@click.pass_context
def verify_command(ctx: click.Context, superset_url: str | None, graphite_url: str | None, dates: int, specs: tuple[str, ...], user: str) -> None:
    """Check that each metric's daily total agrees in its table, metrics.query, Superset and Graphite.

    \b
    Exit 0 when every checked value agrees, 1 on a mismatch (one line each: metric, date, surface,
    both values) or when a service cannot be read, 2 on bad input.
    Python: from metrics.verify import verify
    """
    from metrics.problems import InputError
    from metrics.verify import verify
    from superset_assets.importer import PASSWORD_ENV

    password = os.environ.get(PASSWORD_ENV)
    if not password:
        raise InputError.at(PASSWORD_ENV, "no Superset password in the environment", f"export {PASSWORD_ENV}, the password of --user {user}")
    s = settings(ctx)
    superset_url = service_url(s, superset_url, "superset_url", "Superset", "--superset-url")
    graphite_url = service_url(s, graphite_url, "graphite_url", "graphite-web", "--graphite-url")
    report = verify(s, superset_url=superset_url, superset_user=user, superset_password=password, graphite_url=graphite_url, dates=dates, spec_names=specs)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        ctx.exit(1)
