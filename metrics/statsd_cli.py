"""`metrics statsd sample`: a thin command over `metrics.statsd_client.send_samples`."""

from __future__ import annotations

import json

import click

from metrics.cli_kit import settings
from metrics.graphite_paths import prefixed
from metrics.statsd_client import DEFAULT_HOST, DEFAULT_PORT, send_samples, statsd_metrics, summary_lines


@click.group()
def statsd() -> None:
    """Push metrics to StatsD."""


@statsd.command("sample")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="StatsD host.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="StatsD UDP port.")
@click.option("--spec", "spec_names", multiple=True, help="Only this spec (repeatable; default: every spec with StatsD metrics).")
@click.option("--events", default=20, show_default=True, type=click.IntRange(min=1), help="Sample events per metric (before sample-rate dropping).")
@click.option("--duration", default=0.0, show_default=True, type=click.FloatRange(min=0), help="Spread the events over this many seconds.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed: the same seed sends the same values.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def sample(ctx: click.Context, host: str, port: int, spec_names: tuple[str, ...], events: int, duration: float, seed: int, as_json: bool) -> None:
    """Push sample values for every StatsD metric of the catalogue, and print what was sent.

    Counters, gauges and timers, with dimension values drawn from each dimension's allowed values
    and each metric's sample rate. StatsD has no timestamps: use it for live values only. With an
    environment's `graphite_prefix`, every bucket starts with it.
    """
    from metrics import catalogue as catalogue_mod

    s = settings(ctx)
    cat = catalogue_mod.load(s.catalogue)
    try:
        specs = [cat.spec(name) for name in spec_names] if spec_names else list(cat)
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="--spec") from None
    specs = [prefixed(spec, s.graphite_prefix) for spec in specs]  # the environment's buckets
    if not statsd_metrics(specs):
        raise click.ClickException(f"no StatsD metrics in {', '.join(s.name for s in specs)}")
    summaries = send_samples(specs, host=host, port=port, events=events, duration=duration, seed=seed)
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in summaries], indent=2))
    else:
        for line in summary_lines(summaries):
            click.echo(line)
        click.echo(f"sent to StatsD at {host}:{port} (UDP: delivery is not confirmed)", err=True)
