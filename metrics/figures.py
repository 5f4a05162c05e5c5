"""`metrics.plot`: a catalogue metric as a matplotlib figure that reads well by construction.

from metrics import plot, query
plot("toggles", by="editor", grain="week")                 # query's arguments
plot(query("toggles", by="wiki"), top=3)                   # or a frame of query
plot("toggles", by="editor").savefig("toggles.png")

One line per group; the `top` groups by total are drawn and the others become one "other" line,
computed by the metric's own rule (a sum for counts; a new query of the rest for ratios and means,
never a sum of ratios). The title says what is plotted (`metrics.describe.describe`); the y axis
carries the metric's unit, its numbers written as `metrics.describe.compact` writes them (7.2B,
12,500, 92.5%: never 7.2e+09), from zero for counts and amounts (`metrics.describe.zero_based`);
dates are labelled concisely, without overlap. Figures are drawn on the Agg canvas: no display is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib import dates as mdates, ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from metrics import notebook
from metrics.describe import compact
from metrics.spec import Metric
from metrics.tables import TIME_COLUMN

TOP = 8
"""Groups drawn as their own line; the rest are one "other" line."""

OTHER = "other"


def plot(data: pd.DataFrame | str | Metric, by: str | list[str] | None = None, *, top: int = TOP, **query_args: Any) -> Figure:
    """A line chart of a metric over time: a frame of `metrics.query`, or `query`'s own arguments.

    `top` (>= 1) groups by total are drawn, the rest as one "other" line. A frame without `dt`
    (grain `all`) is drawn as horizontal bars. A frame that did not come from `query` is drawn
    with its last column as the value and the columns between `dt` and it as the groups.
    Raises InputError as `query` does; ValueError for `top` < 1 or a frame without rows.
    """
    if top < 1:
        raise ValueError(f"top={top!r}: draw at least one group (top >= 1)")
    if isinstance(data, pd.DataFrame):
        if by is not None or query_args:
            raise ValueError("give either a frame of query or query's arguments, not both")
        frame = data
    else:
        frame = notebook.query(data, by, **query_args)
    about = _described(frame)
    series = _series(frame, about, top)
    figure = Figure(figsize=(10, 5), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    if series.empty:
        ax.text(0.5, 0.5, "no rows in the range asked", ha="center", va="center", transform=ax.transAxes)
    elif isinstance(series.index, pd.DatetimeIndex):
        for label in series.columns:
            style: dict[str, Any] = {"color": "0.55", "linestyle": "--"} if label == OTHER else {}
            ax.plot(series.index, series[label], marker="o" if len(series) < 15 else None, markersize=3, label=str(label), **style)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    else:
        ax.barh([str(i) for i in series.columns], series.iloc[0].tolist(), color=["0.55" if c == OTHER else "C0" for c in series.columns])
        ax.invert_yaxis()
    _format_values(ax, about, horizontal=not isinstance(series.index, pd.DatetimeIndex))
    if not series.empty and isinstance(series.index, pd.DatetimeIndex) and about.get("zero") and float(series.min().min()) >= 0:
        ax.set_ylim(bottom=0)
    groups = about.get("groups", len(series.columns))
    rest = f", the rest as {OTHER}" if OTHER in series.columns else " shown"
    shown = f" (top {top} of {groups}{rest})" if groups > top else ""
    ax.set_title(about["title"] + shown, loc="left", fontsize="medium")
    if isinstance(series.index, pd.DatetimeIndex) and len(series.columns) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False, title=", ".join(about["by"]) or None)
    ax.grid(True, alpha=0.3)
    return figure


def save(figure: Figure, path: Path | str) -> Path:
    """Write the figure (PNG, SVG or PDF by the file's suffix) atomically; returns the path."""
    from metrics import atomic

    path = Path(path)
    with atomic.replacing(path) as out:
        figure.savefig(out, format=path.suffix.lstrip(".").lower() or "png", dpi=100)
    return path


def _described(frame: pd.DataFrame) -> dict[str, Any]:
    """What the frame holds: `query`'s description, or one read from the columns of another frame."""
    about = frame.attrs.get("described")
    if about:
        return dict(about)
    if frame.empty or len(frame.columns) < 1:
        raise ValueError("the frame has no columns to plot")
    value = str(frame.columns[-1])
    by = tuple(str(c) for c in frame.columns[:-1] if c != TIME_COLUMN)
    return {
        "metric": value,
        "value": value,
        "weight": value,
        "by": by,
        "title": value.replace("_", " ").capitalize(),
        "unit": value,
        "format": "number",
        "additive": False,
        "call": None,
        "zero": False,
    }


def _series(frame: pd.DataFrame, about: dict[str, Any], top: int) -> pd.DataFrame:
    """One column per group drawn (the top ones, then "other"), indexed by date (or one row without dates)."""
    value, by = about["value"], list(about["by"])
    if frame.empty:
        return pd.DataFrame()
    frame = frame.copy()
    label = frame[by].astype(str).agg(" / ".join, axis=1) if by else pd.Series(about["metric"], index=frame.index)
    frame["_group"] = label
    weights = frame.groupby("_group")[about["weight"]].sum().sort_values(ascending=False, kind="stable")
    # Ties (frequent for small groups) are broken by name, so the same data draws the same chart.
    ranked = sorted(weights.index, key=lambda g: (-weights[g], g))
    kept, rest = ranked[:top], ranked[top:]
    about["groups"] = len(ranked)
    time = TIME_COLUMN in frame.columns
    index = pd.to_datetime(frame[TIME_COLUMN]) if time else pd.Series(0, index=frame.index)
    frame["_at"] = index
    wide = frame[frame["_group"].isin(kept)].pivot_table(index="_at", columns="_group", values=value, aggfunc="first", dropna=False)[kept]
    if rest:
        other = _other(frame, about, rest)
        if other is not None:
            wide[OTHER] = other.reindex(wide.index)
    if not time:
        wide.index = pd.RangeIndex(len(wide))
    else:
        wide.index = pd.DatetimeIndex(wide.index)
    return wide


def _other(frame: pd.DataFrame, about: dict[str, Any], rest: list[str]) -> pd.Series | None:
    """The value of the groups not drawn, by the metric's rule: a sum when values add up, else a new query of those rows."""
    if about["additive"]:
        return frame[frame["_group"].isin(rest)].groupby("_at")[about["value"]].sum()
    call = about.get("call")
    if not call:
        return None  # a frame from elsewhere: its parts are unknown, so "other" is left out, not made up
    by = list(about["by"])
    kept = frame[~frame["_group"].isin(rest)][by].drop_duplicates()
    args = {k: v for k, v in call.items() if k not in ("metric", "by")}
    others = notebook.query(call["metric"], [], exclude=[{str(k): str(v) for k, v in row.items()} for row in kept.to_dict("records")], **args)
    if others.empty:
        return None
    at = pd.to_datetime(others[TIME_COLUMN]) if TIME_COLUMN in others.columns else pd.Series(0, index=others.index)
    return pd.Series(others[about["value"]].to_numpy(), index=at.to_numpy())


def _format_values(ax: Axes, about: dict[str, Any], horizontal: bool) -> None:
    """Numbers from the metric's unit and type: counts as integers with separators, shares in percent."""
    axis = ax.xaxis if horizontal else ax.yaxis
    fmt = about["format"]
    if fmt == "integer":
        axis.set_major_locator(ticker.MaxNLocator(integer=True))
    # 7.2B, 12,500, 0.25, 92.5%: never the offset or scientific notation matplotlib falls back to.
    axis.set_major_formatter(ticker.FuncFormatter(lambda x, _: compact(x, fmt)))
    (ax.set_xlabel if horizontal else ax.set_ylabel)(about["unit"])
    if not horizontal:
        ax.set_xlabel("")
