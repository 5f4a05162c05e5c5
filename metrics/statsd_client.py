"""StatsD for product code, checked against the catalogue, and sample values for every StatsD metric.

    from metrics.statsd_client import statsd_client
    stats = statsd_client("codemirror")
    stats.incr("codemirror_toggle_clicks", editor="wikitext_2017", enabled="true")
    stats.timing("codemirror_render_time", 42.0, editor="wikitext_2010")

The bucket is the metric's `graphite_path` filled with the dimension values; StatsD's graphite
backend then writes it under `stats_counts.`, `stats.gauges.` or `stats.timers.` (see
grafana/targets.py). A typo in a metric or dimension name, a value outside a dimension's allowed
set, or the wrong method for the metric's type raises `StatsdUsageError` instead of silently
creating a new Graphite series. StatsD has no timestamps: backfilled report values go to carbon.
"""

from __future__ import annotations

import difflib
import itertools
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import statsd

from metrics import catalogue as catalogue_mod
from metrics.errors import MetricsError
from metrics.graphite_paths import expand
from metrics.spec import Metric, Spec

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8125
METHOD_FOR_TYPE = {"counter": "incr", "gauge": "gauge", "timer": "timing"}


class StatsdUsageError(MetricsError, ValueError):
    """A StatsD call that does not match the spec (unknown metric, bad dimension value, wrong type)."""


class SpecStatsd:
    """A StatsD client that only sends what a spec declares."""

    def __init__(self, spec: Spec, client: statsd.StatsClient):
        self.spec = spec
        self.client = client

    def incr(self, metric: str, count: int = 1, **dimensions: str) -> None:
        """Count `count` events of a counter metric."""
        m, bucket = self._checked(metric, "incr", dimensions)
        self.client.incr(bucket, count, rate=m.sample_rate)

    def gauge(self, metric: str, value: float, **dimensions: str) -> None:
        """Set a gauge metric to `value`."""
        m, bucket = self._checked(metric, "gauge", dimensions)
        self.client.gauge(bucket, value, rate=m.sample_rate)

    def timing(self, metric: str, ms: float, **dimensions: str) -> None:
        """Record one duration (milliseconds) of a timer metric."""
        m, bucket = self._checked(metric, "timing", dimensions)
        self.client.timing(bucket, ms, rate=m.sample_rate)

    def bucket(self, metric: str, **dimensions: str) -> str:
        """The StatsD bucket of a metric for these dimension values (checked like a send)."""
        m = self._metric(metric)
        return self._checked(metric, METHOD_FOR_TYPE[m.type], dimensions)[1]

    def _metric(self, name: str) -> Metric:
        for metric in self.spec.metrics:
            if metric.name == name:
                return metric
        names = [m.name for m in self.spec.metrics if m.via_statsd]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"its StatsD metrics: {', '.join(names) or '(none)'}"
        raise StatsdUsageError(f"spec {self.spec.name!r} has no metric {name!r} ({hint})")

    def _checked(self, name: str, method: str, dimensions: dict[str, str]) -> tuple[Metric, str]:
        metric = self._metric(name)
        if not metric.via_statsd:
            raise StatsdUsageError(f"metric {name!r} is computed by a report, not sent through StatsD (its values go to carbon from the runner)")
        if metric.graphite_path is None:
            raise StatsdUsageError(f"metric {name!r} has no graphite_path, so StatsD has no bucket for it")
        expected = METHOD_FOR_TYPE[metric.type]
        if method != expected:
            raise StatsdUsageError(f"metric {name!r} is a {metric.type}: use .{expected}(), not .{method}()")
        unknown = sorted(set(dimensions) - set(metric.dimensions))
        if unknown:
            raise StatsdUsageError(
                f"metric {name!r} has no dimension {', '.join(map(repr, unknown))} (its dimensions: {', '.join(metric.dimensions) or 'none'})"
            )
        missing = [d for d in metric.dimensions if d not in dimensions]
        if missing:
            raise StatsdUsageError(f"metric {name!r} needs a value for {', '.join(map(repr, missing))}")
        for dim_name, value in dimensions.items():
            dim = self.spec.dimension(dim_name)
            if not isinstance(value, str) or not dim.accepts(value):
                allowed = f"allowed: {', '.join(dim.values)}" if dim.values != "open" else f"values must match {dim.pattern!r}"
                raise StatsdUsageError(f"value {value!r} is not allowed for dimension {dim_name!r} of metric {name!r} ({allowed})")
        return metric, expand(metric.graphite_path, dimensions)


def statsd_client(
    spec: str | Spec,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    catalogue: Path | str | None = None,
    client: statsd.StatsClient | None = None,
) -> SpecStatsd:
    """A checked StatsD client for one spec (by name, from the catalogue folder, or a loaded Spec)."""
    if isinstance(spec, str):
        if catalogue is None:
            from metrics.config import load_settings

            catalogue = load_settings().catalogue
        spec = catalogue_mod.load(catalogue).spec(spec)
    return SpecStatsd(spec, client or statsd.StatsClient(host, port))


def send_gauges(gauges: Mapping[str, float], *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    """Set each StatsD gauge bucket to its value, batched into few UDP packets; returns the lines sent.

    For the service's own gauges, which no spec declares (the lag of each report, from
    `metrics.status.lag_gauges`). StatsD writes them to `stats.gauges.<bucket>` at its next flush.
    UDP gives no receipt; an unknown host raises `MetricsError`.
    """
    try:
        client = RecordingStatsClient(host, port)
    except OSError as exc:
        raise MetricsError(f"cannot reach StatsD at {host}:{port}: {exc}", "check the --statsd HOST:PORT") from None
    try:
        with client.pipeline() as pipe:
            for bucket in sorted(gauges):
                pipe.gauge(bucket, gauges[bucket])
    finally:
        client.close()
    return client.lines


# --- sample values --------------------------------------------------------------------------


class RecordingStatsClient(statsd.StatsClient):
    """A UDP StatsD client that also keeps every line it sent (after sample-rate dropping)."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)
        self.lines: list[str] = []

    def _send(self, data: str) -> None:
        self.lines.extend(data.splitlines())
        super()._send(data)


@dataclass
class BucketSummary:
    """What was sent to one bucket, and what StatsD will make of it in one flush."""

    bucket: str
    type: str
    rate: float
    values: list[float] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return len(self.values)

    @property
    def statsd_count(self) -> float:
        """Counters: the scaled count StatsD writes to stats_counts; timers: the scaled number of timings."""
        return sum(v / self.rate for v in self.values) if self.type == "counter" else len(self.values) / self.rate

    def as_dict(self) -> dict:
        data = {"bucket": self.bucket, "sent": self.sent, "rate": self.rate, "values": self.values}
        if self.type in ("counter", "timer"):
            data["statsd_count"] = self.statsd_count
        if self.type == "timer" and self.values:
            data.update(sum=sum(self.values), lower=min(self.values), upper=max(self.values))
        if self.type == "gauge" and self.values:
            data["last"] = self.values[-1]
        return data


@dataclass
class MetricSummary:
    """The sample values sent for one StatsD metric."""

    spec: str
    metric: str
    type: str
    events: int
    buckets: dict[str, BucketSummary] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return sum(b.sent for b in self.buckets.values())

    def as_dict(self) -> dict:
        return {
            "spec": self.spec,
            "metric": self.metric,
            "type": self.type,
            "events": self.events,
            "sent": self.sent,
            "buckets": [self.buckets[k].as_dict() for k in sorted(self.buckets)],
        }


def statsd_metrics(specs: Iterable[Spec]) -> list[tuple[Spec, Metric]]:
    """Every metric collected through StatsD (with a Graphite path) of the given specs."""
    return [(s, m) for s in specs for m in s.metrics if m.via_statsd and m.graphite_path]


def send_samples(
    specs: Iterable[Spec],
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    events: int = 20,
    duration: float = 0.0,
    seed: int = 0,
) -> list[MetricSummary]:
    """Send `events` sample values per StatsD metric, spread over `duration` seconds.

    Dimension values are drawn from each dimension's allowed values (the examples of an open one);
    counters count 1-5, gauges are 0-100, timers 5-500 ms; each metric's `sample_rate` is passed to
    the StatsD client, which drops events at random and marks the rest `@rate`. The same seed sends
    the same lines. Returns what was actually sent, per metric and bucket.
    """
    rng = random.Random(seed)
    client = RecordingStatsClient(host, port)
    plan = []
    for spec, metric in statsd_metrics(specs):
        combos = list(itertools.product(*(spec.dimension(d).allowed_values() for d in metric.dimensions)))
        if not combos:
            raise StatsdUsageError(f"metric {metric.name!r}: a dimension has no values or examples to sample")
        plan += [(spec, metric, dict(zip(metric.dimensions, rng.choice(combos)))) for _ in range(events)]
    rng.shuffle(plan)
    summaries: dict[str, MetricSummary] = {}
    senders: dict[str, SpecStatsd] = {}
    saved = random.getstate()
    random.seed(seed)  # the statsd client drops sampled events with the global `random`
    try:
        for index, (spec, metric, dims) in enumerate(plan):
            sender = senders.setdefault(spec.name, SpecStatsd(spec, client))
            summary = summaries.setdefault(metric.name, MetricSummary(spec.name, metric.name, metric.type, 0))
            summary.events += 1
            value = {"counter": rng.randint(1, 5), "gauge": rng.randint(0, 100), "timer": rng.randint(5, 500)}[metric.type]
            before = len(client.lines)
            getattr(sender, METHOD_FOR_TYPE[metric.type])(metric.name, value, **dims)
            if len(client.lines) > before:
                bucket = sender.bucket(metric.name, **dims)
                summary.buckets.setdefault(bucket, BucketSummary(bucket, metric.type, metric.sample_rate)).values.append(value)
            if duration and index < len(plan) - 1:
                time.sleep(duration / len(plan))
    finally:
        random.setstate(saved)
        client.close()
    return [summaries[k] for k in sorted(summaries)]


def summary_lines(summaries: list[MetricSummary]) -> list[str]:
    """A human-readable summary: one line per metric, one indented line per bucket."""
    out = []
    for s in summaries:
        out.append(f"{s.spec}.{s.metric} ({s.type}): {s.events} events, {s.sent} sent")
        for key in sorted(s.buckets):
            b = s.buckets[key]
            detail = (
                f"sum {sum(b.values):g}, StatsD count {b.statsd_count:g}"
                if s.type == "counter"
                else (f"last {b.values[-1]:g}" if s.type == "gauge" else f"mean {sum(b.values) / b.sent:g} ms, StatsD count {b.statsd_count:g}")
            )
            rate = f" @{b.rate:g}" if b.rate < 1 else ""
            out.append(f"  {key}: {b.sent} sent{rate}, {detail}")
    return out
