"""Graphite paths from spec templates: one function fills them for the runner, StatsD and Grafana."""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from metrics.spec import Spec

SAFE_CHARACTERS = r"A-Za-z0-9_=\-"
"""What a Graphite path segment may hold: Reportupdater's allowed characters ([a-zA-Z0-9_=-.]) less
the dot, which separates segments."""
_UNSAFE_SEGMENT = re.compile(f"[^{SAFE_CHARACTERS}]")
_UNSAFE_PATH = re.compile(f"[^{SAFE_CHARACTERS}.]")

STATSD_PREFIX = {"counter": "stats_counts", "gauge": "stats.gauges", "timer": "stats.timers"}
"""Where StatsD's graphite backend (legacy namespace) writes each metric type."""


def sanitize_segment(value: object) -> str:
    """A value made safe as one Graphite path segment: anything but [A-Za-z0-9_=-] becomes `_`.

    A dot would split the segment in two and a space would break the plaintext protocol, so
    `en.m` becomes `en_m` and `Main Page` becomes `Main_Page`. A boolean is `true`/`false`, as
    Hive and the TSV files write it; NULL (None) is empty, so `_`.
    """
    text = _UNSAFE_SEGMENT.sub("_", segment_text(value))
    return text or "_"


def segment_text(value: object) -> str:
    """The text of a value in a path: `true`/`false` for booleans, empty for None, else `str()`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sanitize_path(path: str) -> str:
    """A whole dotted path made safe for the plaintext protocol: the segment rule, dots kept.

    For Reportupdater's `graphite:` paths, whose lookups may add dots on purpose (`en.wiki`). An
    empty segment (`a..b`, from an empty value) becomes `_`, as an empty value does in `sanitize_segment`.
    """
    return ".".join(segment or "_" for segment in _UNSAFE_PATH.sub("_", path).split("."))


def placeholders(template: str) -> list[str]:
    """The `{names}` of a path template, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def expand(template: str, values: Mapping[str, object], *, sanitize: bool = True) -> str:
    """Fill a path template; every placeholder must have a value."""
    missing = [name for name in placeholders(template) if name not in values]
    if missing:
        raise KeyError(f"no value for {', '.join(missing)} in Graphite path {template!r}")
    filled = {k: sanitize_segment(v) if sanitize else v for k, v in values.items()}
    return template.format_map(filled)


def pattern(template: str, values: Mapping[str, str] | None = None, default: str = "*") -> str:
    """The template with each placeholder replaced by `values[name]` (unsanitized, e.g. `$wiki`) or `default`."""
    values = values or {}
    return template.format_map({name: values.get(name, default) for name in placeholders(template)})


def node_index(template: str, name: str) -> int:
    """The 0-based Graphite node index of placeholder `name` (for aliasByNode / groupByNode)."""
    for index, segment in enumerate(template.split(".")):
        if "{" + name + "}" in segment:
            return index
    raise KeyError(f"placeholder {name!r} not in {template!r}")


def same_nodes(template: str, other: str) -> bool:
    """Whether two templates have as many nodes and each placeholder at the same node (so their series
    can be matched node by node, e.g. a ratio's two parts)."""
    names = placeholders(template)
    return (
        len(template.split(".")) == len(other.split("."))
        and sorted(names) == sorted(placeholders(other))
        and all(node_index(template, n) == node_index(other, n) for n in names)
    )


def prefix_problem(prefix: str) -> str | None:
    """Why `prefix` cannot go before every Graphite path of an environment (None when it can).

    A prefix is one or more dot-separated path segments of `SAFE_CHARACTERS` (`staging`,
    `metrics.prod`): no empty segment, no leading or trailing dot, no wildcard.
    """
    if not prefix:
        return "it is empty"
    for segment in prefix.split("."):
        if not segment:
            return "it has an empty segment (a leading, trailing or doubled dot)"
        bad = _UNSAFE_SEGMENT.search(segment)
        if bad:
            return f"segment {segment!r} holds {bad.group(0)!r}"
    return None


def with_prefix(path: str, prefix: str | None) -> str:
    """`prefix.path`, or `path` unchanged when there is no prefix (the default environment)."""
    return f"{prefix}.{path}" if prefix else path


def prefixed(spec: "Spec", prefix: str | None) -> "Spec":
    """The spec as an environment with Graphite prefix `prefix` sees it: every `graphite_path` under the prefix.

    StatsD buckets are the `graphite_path` too, so a StatsD metric lands at `<namespace>.<prefix>.<path>`
    (e.g. `stats_counts.staging.MediaWiki...`) and a report metric at `<prefix>.<path>`; panels, node
    numbers and checks derived from the prefixed spec follow by construction. The same spec when `prefix` is None.
    """
    if not prefix:
        return spec
    metrics = [m.model_copy(update={"graphite_path": with_prefix(m.graphite_path, prefix)}) if m.graphite_path else m for m in spec.metrics]
    return spec.model_copy(update={"metrics": metrics})
