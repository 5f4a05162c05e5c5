"""`metrics plot`: a thin command over `metrics.figures.plot` (the function notebooks call)."""

from __future__ import annotations

import click

from metrics.cli_kit import settings

# Spelled out (metrics.aggregation.TIME_GRAINS, metrics.notebook.SHOWN) so that `--help` loads no pandas.
GRAINS = ["day", "week", "month", "year", "period", "all"]
SHOWS = ["total", "normalized", "percentage"]


@click.command("plot")
@click.argument("metric")
@click.option("--by", multiple=True, metavar="DIMENSION", help="One line per value of this dimension (repeatable: per combination).")
@click.option("--since", metavar="YYYY-MM-DD", help="First day (included).")
@click.option("--until", metavar="YYYY-MM-DD", help="Last day (included).")
@click.option("--grain", type=click.Choice(GRAINS), default="day", show_default=True, help="Time bucket of each point.")
@click.option(
    "--where", "filters", multiple=True, metavar="DIMENSION=VALUE", help="Keep rows with this value (repeatable; several values of one dimension: any)."
)
@click.option("--show", type=click.Choice(SHOWS), default="total", show_default=True, help="The metric, its normalization ratio, or each group's share.")
@click.option("--top", type=click.IntRange(min=1), default=8, show_default=True, help="Lines drawn; the other groups become one 'other' line.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The image to write: .png, .svg or .pdf.")
@click.pass_context
def plot_command(
    ctx: click.Context,
    metric: str,
    by: tuple[str, ...],
    since: str | None,
    until: str | None,
    grain: str,
    filters: tuple[str, ...],
    show: str,
    top: int,
    output: str,
) -> None:
    """Draw METRIC over time from the metric tables, by its aggregation rule, into an image.

    \b
    The Python equivalent: from metrics import plot; plot("toggles", by="editor").savefig("toggles.png")
    Example: metrics plot toggles --by editor --grain week -o toggles.png
    """
    from pathlib import Path

    where: dict[str, list[str]] = {}
    for item in filters:
        name, equals, value = item.partition("=")
        if not equals or not name.isidentifier():
            raise click.BadParameter(f"{item!r} is not DIMENSION=VALUE", param_hint="--where")
        where.setdefault(name, []).append(value)
    if Path(output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise click.BadParameter(f"{output!r}: write a .png, .svg or .pdf file", param_hint="--output")

    from metrics.figures import plot, save

    figure = plot(metric, list(by), top=top, since=since, until=until, grain=grain, where=where, show=show, settings=settings(ctx))
    click.echo(f"wrote {save(figure, output)}")
