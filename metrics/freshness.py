"""What a dashboard says about the freshness of its data: "data through" a day, per report it reads.

The values come from the run log (`metrics.status.spec_freshness`); the dashboards' builders
(`superset_assets`, `grafana`) only show them, through `markdown`, and never read the run log
themselves. Nothing here depends on the clock: the same run log gives the same text, so a
dashboard built twice from an unchanged run log is byte-identical.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from metrics.spec import ReportSource, Spec

RUN_TAG = "metrics-run"
"""A tag of every Graphite event a run posts (`metrics.graphite_events`): all runs of all folders."""


@dataclass(frozen=True)
class Freshness:
    """How far one report's data goes, from the run log."""

    report: str
    """`<query folder>/<report key>`, as a metric's `source.report` names it."""
    through: dt.date | None
    """The last day of the newest interval done for every explode combination (None: none done yet)."""
    last_run: dt.datetime | None
    """When the run log last recorded an interval of the report, in UTC (None: never)."""


def report_refs(spec: Spec) -> list[str]:
    """The reports (`folder/report`) whose results the spec's metrics read, sorted."""
    return sorted({m.source.report for m in spec.metrics if isinstance(m.source, ReportSource)})


def query_folders(spec: Spec) -> list[str]:
    """The query folders of the spec's reports, sorted (each run of one posts a Graphite event)."""
    return sorted({ref.split("/", 1)[0] for ref in report_refs(spec)})


def run_tag(folder: str) -> str:
    """The tag of the runs of one query folder, the only tag a board's annotation query asks for.

    One tag, not two: graphite-web (django-tagging) drops the tags of a query that no event has
    yet, so `metrics-run folder:x` would show every folder's runs until `x` first ran, whereas a
    query whose only tag is unknown matches nothing.
    """
    return f"{RUN_TAG}:{folder}"


def event_tags(folder: str) -> list[str]:
    """The tags of the Graphite event a run of `folder` posts."""
    return [RUN_TAG, run_tag(folder)]


def markdown(items: Sequence[Freshness]) -> str:
    """Markdown lines for a dashboard's text: the day each report's data goes through, and its last run.

    Empty when `items` is empty (a spec without reports, or no run log where the assets were built).
    """
    if not items:
        return ""
    lines = ["**Data as of** (from the run log when this dashboard was built; `metrics status` has the current state):", ""]
    for item in sorted(items, key=lambda i: i.report):
        through = f"through {item.through.isoformat()}" if item.through else "no interval done yet"
        last = f", last run {_utc(item.last_run)}" if item.last_run else ""
        lines.append(f"- `{item.report}`: {through}{last}")
    return "\n".join(lines) + "\n"


def _utc(moment: dt.datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")
