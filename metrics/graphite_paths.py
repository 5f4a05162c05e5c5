"""Graphite paths from spec templates: one function fills them for the runner, StatsD and Grafana."""

from __future__ import annotations

import re
import string
from typing import Mapping

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
