"""An environment's Graphite prefix put into a built dashboard at import.

The committed dashboards are environment-neutral (the catalogue's paths), as the Superset bundles
are; `metrics import grafana` with an environment's `graphite_prefix` rewrites each panel target
and variable query to read where that environment's runs and StatsD write
(`metrics.graphite_paths.prefixed`): every path gets the prefix (after StatsD's namespace, where
StatsD puts a bucket), and every node number counted on a raw path moves by the prefix's segments.
The result equals the dashboard built from the prefixed spec (tested for every spec).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Union

from metrics.errors import MetricsError
from metrics.graphite_paths import STATSD_PREFIX

NODE_ARGUMENTS = {"groupByNodes": 3, "asPercent": 2, "aliasByNode": 1}
"""Functions whose arguments from this index on are node numbers of their first argument's series names.
(groupByNodes' first node, at index 2, is the builder's `0`: it only names the group, so it stays.)"""
_NAMESPACES = sorted((p + "." for p in STATSD_PREFIX.values()), key=len, reverse=True)


@dataclass
class _Call:
    name: str
    args: list["_Node"]


@dataclass
class _Atom:
    text: str
    """As written: a path, a number, or a quoted string (quotes kept)."""
    kind: str


_Node = Union[_Call, _Atom]


class PrefixError(MetricsError):
    """A dashboard target this rewriter cannot read (so it cannot be imported under a prefix): bad input, exit 2."""

    exit_code = 2


def prefix_dashboard(dashboard: dict[str, Any], prefix: str | None) -> dict[str, Any]:
    """A copy of `dashboard` whose Graphite targets and variable queries read under `prefix` (the same dict when None)."""
    if not prefix:
        return dashboard
    out = copy.deepcopy(dashboard)
    for panel in out.get("panels", []):
        for target in panel.get("targets", []):
            if isinstance(target.get("target"), str):
                target["target"] = prefix_target(target["target"], prefix)
    for variable in out.get("templating", {}).get("list", []):
        if variable.get("type") == "query" and isinstance(variable.get("query"), str):
            variable["query"] = variable["definition"] = _prefix_path(variable["query"], prefix)
    return out


def prefix_target(target: str, prefix: str) -> str:
    """`target` reading its series under `prefix`; raises `PrefixError` for a target it cannot parse."""
    parser = _Parser(target)
    node = parser.expression()
    if parser.pos != len(target):
        raise PrefixError(f"cannot read the Graphite target {target[:200]!r} at {target[parser.pos : parser.pos + 20]!r}")
    return _emit(_rewrite(node, prefix))


def _prefix_path(path: str, prefix: str) -> str:
    for namespace in _NAMESPACES:
        if path.startswith(namespace):
            return f"{namespace}{prefix}.{path[len(namespace) :]}"
    return f"{prefix}.{path}"


def _insert_at(path: str) -> int:
    """The node index where the prefix goes into `path` (after a StatsD namespace)."""
    return next((n.count(".") for n in _NAMESPACES if path.startswith(n)), 0)


def _rewrite(node: _Node, prefix: str) -> _Node:
    if isinstance(node, _Atom):
        return _Atom(_prefix_path(node.text, prefix), "path") if node.kind == "path" else node
    args = [_rewrite(a, prefix) for a in node.args]
    first = NODE_ARGUMENTS.get(node.name)
    if first is not None and node.args and not _has_call(node.args[0], "groupByNodes"):
        # node numbers counted on raw paths (groupByNodes' output names are `<node 0>.<value>`: unchanged)
        at, shift = _insert_at(_first_path(node.args[0])), prefix.count(".") + 1
        for index in range(first, len(args)):
            arg = args[index]
            if isinstance(arg, _Atom) and arg.kind == "num" and int(arg.text) >= at:
                args[index] = _Atom(str(int(arg.text) + shift), "num")
    return _Call(node.name, args)


def _has_call(node: _Node, name: str) -> bool:
    return isinstance(node, _Call) and (node.name == name or any(_has_call(a, name) for a in node.args))


def _first_path(node: _Node) -> str:
    if isinstance(node, _Atom):
        return node.text if node.kind == "path" else ""
    return next((p for p in (_first_path(a) for a in node.args) if p), "")


def _emit(node: _Node) -> str:
    if isinstance(node, _Atom):
        return node.text
    return f"{node.name}({', '.join(_emit(a) for a in node.args)})"


class _Parser:
    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def _fail(self) -> PrefixError:
        return PrefixError(f"cannot read the Graphite target {self.text[:200]!r} at {self.text[self.pos : self.pos + 20]!r}")

    def expression(self) -> _Node:
        self._skip()
        if self.pos >= len(self.text):
            raise self._fail()
        if self.text[self.pos] in "'\"":
            quote, end = self.text[self.pos], self.pos + 1
            while end < len(self.text) and self.text[end] != quote:
                end += 2 if self.text[end] == "\\" else 1
            if end >= len(self.text):
                raise self._fail()
            atom = _Atom(self.text[self.pos : end + 1], "str")
            self.pos = end + 1
            return atom
        match = re.compile(r"[A-Za-z0-9_.*\-=\[\]{}$]+").match(self.text, self.pos)
        if not match:
            raise self._fail()
        token = match.group(0)
        self.pos = match.end()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            self.pos += 1
            args: list[_Node] = []
            while True:
                self._skip()
                if self.pos >= len(self.text):
                    raise self._fail()
                if self.text[self.pos] == ")":
                    self.pos += 1
                    return _Call(token, args)
                args.append(self.expression())
                self._skip()
                if self.pos < len(self.text) and self.text[self.pos] == ",":
                    self.pos += 1
        if re.fullmatch(r"-?\d+", token):
            return _Atom(token, "num")
        if re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", token):
            return _Atom(token, "float")
        return _Atom(token, "path")
