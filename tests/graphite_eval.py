"""Graphite's render functions, as documented (graphite-web 1.1 `render/functions.py`), applied in
Python to in-memory series: what a Grafana target means, without a Graphite server.

Only the functions the dashboard builder emits are known; any other name raises, so a new function
in a target cannot pass unevaluated. Series are per-point values on one common time axis.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

Value = float | None


@dataclass(frozen=True)
class Series:
    name: str
    path: str
    """The path expression the series came from (what aliasByNode reads)."""
    values: tuple[Value, ...]


def evaluate(target: str, stored: Mapping[str, Sequence[Value]], variables: Mapping[str, str] | None = None) -> list[Series]:
    """The series of `target` over `stored` (path -> values on the common axis); `$name` -> variables or `*`."""
    text = re.sub(r"\$([a-z][a-z0-9_]*)", lambda m: (variables or {}).get(m.group(1), "*"), target)
    parser = _Parser(text)
    node = parser.expression()
    if parser.rest().strip():
        raise ValueError(f"cannot parse {parser.rest()!r} in {target!r}")
    result = _eval(node, stored)
    if not isinstance(result, list):
        raise ValueError(f"{target!r} is not a series list")
    return result


# --- parsing --------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def rest(self) -> str:
        return self.text[self.pos :]

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def expression(self) -> Any:
        self._skip()
        if self.text[self.pos] == "'":
            end = self.pos + 1
            out = ""
            while self.text[end] != "'":
                if self.text[end] == "\\":
                    end += 1
                out += self.text[end]
                end += 1
            self.pos = end + 1
            return ("str", out)
        match = re.compile(r"[A-Za-z0-9_.*\-=\[\]{}]+").match(self.text, self.pos)
        if not match:
            raise ValueError(f"unexpected {self.rest()!r}")
        token = match.group(0)
        self.pos = match.end()
        self._skip()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            self.pos += 1
            args = []
            while True:
                self._skip()
                if self.text[self.pos] == ")":
                    self.pos += 1
                    break
                args.append(self.expression())
                self._skip()
                if self.text[self.pos] == ",":
                    self.pos += 1
            return ("call", token, args)
        if re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", token):
            return ("num", float(token))
        return ("path", token)


# --- evaluation -----------------------------------------------------------------------------


def _eval(node: Any, stored: Mapping[str, Sequence[Value]]) -> Any:
    kind = node[0]
    if kind in ("str", "num"):
        return node[1]
    if kind == "path":
        pattern = node[1]
        nodes = pattern.split(".")
        out = []
        for path in sorted(stored):
            parts = path.split(".")
            if len(parts) == len(nodes) and all(fnmatch.fnmatchcase(p, n) for p, n in zip(parts, nodes)):
                out.append(Series(path, path, tuple(stored[path])))
        return out
    name, args = node[1], [_eval(a, stored) for a in node[2]]
    function = FUNCTIONS.get(name)
    if function is None:
        raise ValueError(f"Graphite function {name}() is not known to this evaluator")
    return function(*args)


def _sum(values: Sequence[Value]) -> Value:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _columns(series: list[Series]) -> list[tuple[Value, ...]]:
    return list(zip(*(s.values for s in series))) if series else []


def sum_series(series: list[Series]) -> list[Series]:
    if not series:
        return []
    return [Series(f"sumSeries({','.join(s.name for s in series)})", series[0].path, tuple(_sum(c) for c in _columns(series)))]


def diff_series(*lists: list[Series]) -> list[Series]:
    """The first series less the others, per point, skipping None (graphite-web 1.1's `safeDiff`)."""
    series = [s for lst in lists for s in lst]
    if not series:
        return []

    def diff(column: tuple[Value, ...]) -> Value:
        present = [v for v in column if v is not None]
        return present[0] - sum(present[1:]) if present else None

    return [Series(f"diffSeries({','.join(s.name for s in series)})", series[0].path, tuple(diff(c) for c in _columns(series)))]


def group(*lists: list[Series]) -> list[Series]:
    return [s for lst in lists for s in lst]


def group_by_nodes(series: list[Series], fn: str, *nodes: float) -> list[Series]:
    assert fn == "sum", fn
    groups: dict[str, list[Series]] = {}
    for s in series:
        parts = s.path.split(".")
        key = ".".join(parts[int(n)] for n in nodes)
        groups.setdefault(key, []).append(s)
    return [Series(key, key, tuple(_sum(c) for c in _columns(group))) for key, group in sorted(groups.items())]


def _div(a: Value, b: Value) -> Value:
    return None if a is None or b is None or b == 0 else a / b


def as_percent(series: list[Series], total: list[Series] | None = None, *nodes: float) -> list[Series]:
    if total is None:
        totals = [_sum(c) for c in _columns(series)]
        return [Series(f"asPercent({s.name})", s.path, tuple(_percent(v, t) for v, t in zip(s.values, totals))) for s in series]
    if nodes:

        def key(s: Series) -> str:
            return ".".join(s.path.split(".")[int(n)] for n in nodes)

        by_key = {key(t): t for t in total}
        out = []
        for s in series:
            t = by_key.get(key(s))
            values = tuple(_percent(v, tv) for v, tv in zip(s.values, t.values)) if t else tuple(None for _ in s.values)
            out.append(Series(f"asPercent({s.name},{t.name if t else 'MISSING'})", s.path, values))
        return out
    assert len(total) == 1, "asPercent's total must be one series without nodes"
    return [Series(f"asPercent({s.name},{total[0].name})", s.path, tuple(_percent(v, t) for v, t in zip(s.values, total[0].values))) for s in series]


def _percent(v: Value, t: Value) -> Value:
    ratio = _div(v, t)
    return None if ratio is None else ratio * 100


def divide_series(dividends: list[Series], divisor: list[Series]) -> list[Series]:
    if len(divisor) != 1:
        raise ValueError(f"divideSeries needs exactly one divisor series, got {len(divisor)}")
    d = divisor[0]
    return [Series(f"divideSeries({s.name},{d.name})", s.path, tuple(_div(a, b) for a, b in zip(s.values, d.values))) for s in dividends]


def scale(series: list[Series], factor: float) -> list[Series]:
    return [replace(s, name=f"scale({s.name},{factor:g})", values=tuple(None if v is None else v * factor for v in s.values)) for s in series]


def offset(series: list[Series], amount: float) -> list[Series]:
    return [replace(s, name=f"offset({s.name},{amount:g})", values=tuple(None if v is None else v + amount for v in s.values)) for s in series]


def integral(series: list[Series]) -> list[Series]:
    out = []
    for s in series:
        current, values = 0.0, []
        for v in s.values:
            if v is None:
                values.append(None)
            else:
                current += v
                values.append(current)
        out.append(replace(s, name=f"integral({s.name})", values=tuple(values)))
    return out


def consolidate_by(series: list[Series], fn: str) -> list[Series]:
    return series  # evaluated at full resolution: nothing to consolidate


def alias(series: list[Series], name: str) -> list[Series]:
    return [replace(s, name=name) for s in series]


def alias_by_node(series: list[Series], *nodes: float) -> list[Series]:
    return [replace(s, name=".".join(s.path.split(".")[int(n)] for n in nodes)) for s in series]


def alias_sub(series: list[Series], search: str, replacement: str) -> list[Series]:
    return [replace(s, name=re.sub(search, replacement, s.name)) for s in series]


def sort_by_total(series: list[Series]) -> list[Series]:
    """Largest sum over the range first (graphite-web: `safeSum(s) or 0`, stable for equal sums)."""
    return sorted(series, key=lambda s: -(_sum(s.values) or 0))


def limit(series: list[Series], n: float) -> list[Series]:
    return series[: int(n)]


FUNCTIONS = {
    "sortByTotal": sort_by_total,
    "limit": limit,
    "sumSeries": sum_series,
    "diffSeries": diff_series,
    "group": group,
    "groupByNodes": group_by_nodes,
    "asPercent": as_percent,
    "divideSeries": divide_series,
    "scale": scale,
    "offset": offset,
    "integral": integral,
    "consolidateBy": consolidate_by,
    "alias": alias,
    "aliasByNode": alias_by_node,
    "aliasSub": alias_sub,
}


def last_not_null(values: Sequence[Value]) -> Value:
    """Grafana's `lastNotNull` reducer, which the stat panels use."""
    return next((v for v in reversed(values) if v is not None), None)
