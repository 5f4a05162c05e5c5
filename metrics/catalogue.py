"""Load and validate the metrics-spec catalogue.

`load(dir)` returns typed specs or raises `InputError` with every problem; `validate(paths)`
returns the problems (errors and warnings) without raising.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from metrics import aggregation, bounds, yamlfile
from metrics.graphite_paths import same_nodes
from metrics.problems import InputError, Problem, shown
from metrics.spec import ALLOWED_AGGREGATIONS, Dimension, Graph, Metric, Spec, full_match, pattern_problem

SUFFIXES = (".yaml", ".yml")


@dataclass
class Catalogue:
    """The specs of a catalogue folder, in file-name order."""

    root: Path
    specs: list[Spec] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    def __iter__(self):
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def spec(self, name: str) -> Spec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(f"no spec named {name!r} in {self.root} (known: {', '.join(s.name for s in self.specs)})")


def spec_files(paths: Iterable[Path | str]) -> list[Path]:
    """The YAML files named, or found directly inside the folders named."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file()))
        else:
            found.append(path)
    return found


def load(root: Path | str, *, today: dt.date | None = None) -> Catalogue:
    """Load every spec in `root`; raises `InputError` listing every error found."""
    root = Path(root)
    if not root.is_dir():
        where = "" if root.is_absolute() else f" in {Path.cwd()}"
        raise InputError.at(
            root,
            f"catalogue folder not found{where}",
            "run from the project folder (where metrics.toml or metrics/catalogue is), or pass --catalogue DIR and --warehouse DIR, or create the folder",
        )
    files = spec_files([root])
    specs, problems = _check(files, today=today)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise InputError(problems)
    return Catalogue(root, specs, {s.name: f for s, f in zip(specs, files)}, problems)


def validate(paths: Iterable[Path | str], *, today: dt.date | None = None) -> list[Problem]:
    """All problems (errors and warnings) of the specs in `paths`, sorted by file and line."""
    files = spec_files(paths)
    return sorted(_check(files, today=today)[1])


def load_spec(path: Path | str, *, today: dt.date | None = None) -> Spec:
    """Load one spec file; raises `InputError` listing every error."""
    specs, problems = _check([Path(path)], today=today)
    if any(p.is_error for p in problems):
        raise InputError(problems)
    return specs[0]


def _check(files: list[Path], *, today: dt.date | None) -> tuple[list[Spec], list[Problem]]:
    problems: list[Problem] = []
    parsed: list[tuple[Spec, yamlfile.Located, Path]] = []
    for path in files:
        if not path.exists():
            problems.append(Problem(str(path), 1, 1, "file not found", "check the path"))
            continue
        try:
            located = yamlfile.load(path)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        spec, spec_problems = _parse(located)
        problems.extend(spec_problems)
        if spec is not None:
            problems.extend(_check_spec(spec, located, path, today or dt.date.today()))
            parsed.append((spec, located, path))
    problems.extend(_check_across(parsed))
    return [spec for spec, _, _ in parsed], problems


# --- schema --------------------------------------------------------------------------------


def _parse(located: yamlfile.Located) -> tuple[Spec | None, list[Problem]]:
    if not isinstance(located.data, dict):
        kind = type(located.data).__name__
        return None, [located.problem((), f"a spec is a mapping of keys, this file holds a {kind}", "start the file with `name: ...`")]
    try:
        return Spec.model_validate(located.data), []
    except ValidationError as exc:
        return None, [_schema_problem(located, err) for err in exc.errors()]


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], bool]:
    """The part of a pydantic location that exists in the data (union tags are skipped)."""
    path: list[Any] = []
    node = data
    for index, part in enumerate(loc):
        if isinstance(node, dict) and part in node and index + 1 < len(loc) and not isinstance(node[part], (dict, list)):
            continue  # a union tag that is also a key (`source.report`): what follows is the place
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part not in node and part == loc[-1]:
            return tuple(path), False
    return tuple(path), True


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model whose fields are checked at `loc` (for 'did you mean')."""
    current: Any = Spec
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return None
    current = _unwrap(current, None)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any, part: Any) -> Any:
    """Step from a type to the type of its field/item `part` (None: stop at a model)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            tagged = [m for m in models if part in _tags(m)]
            if tagged:
                return tagged[0]
            annotation = models[0] if len(models) == 1 else (args[0] if len(args) == 1 else None)
            if annotation is None:
                return None
        elif origin is list and isinstance(part, int):
            return typing.get_args(annotation)[0]
        elif origin is dict and part is not None:
            return typing.get_args(annotation)[1]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if part is None:
                return annotation
            if part in annotation.model_fields:
                return annotation.model_fields[part].annotation
            return annotation  # a union tag: stay on the model
        else:
            return annotation if part is None else None


def _tags(model: type[BaseModel]) -> tuple[Any, ...]:
    """The values of a model's `type` Literal, which tag it in a discriminated union."""
    field = model.model_fields.get("type")
    return typing.get_args(field.annotation) if field else ()


def _dotted(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the spec"


def _schema_problem(located: yamlfile.Located, err: ErrorDetails) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    path, exists = _data_path(located.data, loc)
    where = _dotted(path)
    if kind == "missing":
        name = loc[-1]
        owner = _dotted(path) if path else "the top level"
        return located.problem(path, f"missing required key '{name}' in {owner}", f"add `{name}:`")
    if kind == "extra_forbidden":
        name = loc[-1]
        model = _model_at(loc[:-1])
        choices = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(choices)}" if choices else "remove it"
        return located.problem(path, f"unknown key '{name}' in {_dotted(path[:-1])}", hint, key=True)
    if kind == bounds.OUT_OF_BOUNDS:
        return located.problem(path, f"{where}: {err['msg']}", err.get("ctx", {}).get("hint", "fix the value"))
    if kind == "union_tag_invalid" or kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return located.problem(path, f"{where}: {shown(err['input'])} is not allowed", f"use one of {expected}")
    if kind == "union_tag_not_found":
        return located.problem(path, f"{where}: missing 'type'", "add `type: report` or `type: statsd`")
    if kind == "string_pattern_mismatch":
        return located.problem(path, f"{where}: {shown(err['input'])} has the wrong form", _pattern_hint(loc, err))
    if kind == "string_type" and isinstance(err["input"], (int, float)) and not isinstance(err["input"], bool):
        hint = _pattern_hint(loc, err) + ", in quotes if YAML reads it as a number" if loc[-1] == "version" else f"write it in quotes: '{err['input']}'"
        return located.problem(path, f"{where}: {err['input']} is a number, not text", hint)
    message = err["msg"][0].lower() + err["msg"][1:]
    return located.problem(path, f"{where}: {message}", "fix the value")


def _pattern_hint(loc: tuple[Any, ...], err: ErrorDetails) -> str:
    pattern = err.get("ctx", {}).get("pattern", "")
    field = loc[-1] if not isinstance(loc[-1], int) else loc[-2]
    if field == "version":
        return "use a semantic version such as 1.0.0"
    if field == "graphite_path":
        return "dot-separated segments of letters, digits, _ and -, with {dimension} placeholders"
    if field == "report":
        return "write '<query folder>/<report key>'"
    return f"lower-case letters, digits and _, starting with a letter (pattern {pattern})"


# --- one spec --------------------------------------------------------------------------------


def _check_spec(spec: Spec, located: yamlfile.Located, path: Path, today: dt.date) -> list[Problem]:
    out: list[Problem] = []
    p = located.problem
    if path.stem != spec.name:
        out.append(
            p(
                ("name",),
                f"spec name '{spec.name}' differs from the file name '{path.name}'",
                f"rename the file to {spec.name}.yaml or the spec to '{path.stem}'",
            )
        )
    dims = {d.name: d for d in spec.dimensions}
    out.extend(_duplicates([d.name for d in spec.dimensions], "dimensions", "dimension", p))
    out.extend(_duplicates([m.name for m in spec.metrics], "metrics", "metric", p))

    for i, dim in enumerate(spec.dimensions):
        if dim.values == "open" and not dim.pattern:
            out.append(p(("dimensions", i, "values"), f"open dimension '{dim.name}' has no pattern", "add `pattern:`, e.g. '[a-z0-9_]+' for wiki names"))
        if dim.pattern is not None:
            why = pattern_problem(dim.pattern)
            if why is not None:
                hint = "fix the pattern: no backreferences or lookaround (patterns are matched in linear time)"
                out.append(p(("dimensions", i, "pattern"), f"dimension '{dim.name}': invalid regular expression ({why})", hint))
                continue
        checks = [("values", v) for v in (dim.values if dim.values != "open" else [])] + [("examples", v) for v in dim.examples]
        for j, (key, value) in enumerate(checks):
            index = j if key == "values" else j - (len(checks) - len(dim.examples))
            if dim.pattern and not full_match(dim.pattern, value):
                out.append(
                    p(
                        ("dimensions", i, key, index),
                        f"value {shown(value)} of dimension '{dim.name}' does not match its pattern {shown(dim.pattern)}",
                        "fix the value or the pattern",
                    )
                )
        if dim.default is not None and not dim.accepts(dim.default):
            out.append(p(("dimensions", i, "default"), f"default {shown(dim.default)} is not an allowed value of dimension '{dim.name}'", _allowed_hint(dim)))
        if dim.values != "open" and not dim.values:
            out.append(p(("dimensions", i, "values"), f"dimension '{dim.name}' lists no values", "list its values, or write `values: open` with a pattern"))

    metric_names = {m.name for m in spec.metrics}
    for i, metric in enumerate(spec.metrics):
        for j, name in enumerate(metric.dimensions):
            if name not in dims:
                out.append(
                    p(
                        ("metrics", i, "dimensions", j),
                        f"metric '{metric.name}' names dimension '{name}', which the spec does not declare",
                        _suggest(name, dims, "dimensions"),
                    )
                )
        placeholders = metric.path_placeholders()
        for name in placeholders:
            if name not in dims:
                out.append(
                    p(("metrics", i, "graphite_path"), f"placeholder '{{{name}}}' in the Graphite path is not a dimension", _suggest(name, dims, "dimensions"))
                )
            elif name not in metric.dimensions:
                out.append(
                    p(
                        ("metrics", i, "graphite_path"),
                        f"placeholder '{{{name}}}' is not among the dimensions of metric '{metric.name}'",
                        f"add '{name}' to its dimensions",
                    )
                )
        if metric.graphite_path:
            for name in metric.dimensions:
                if name in dims and name not in placeholders:
                    out.append(
                        p(
                            ("metrics", i, "graphite_path"),
                            f"dimension '{name}' of metric '{metric.name}' is missing from its Graphite path",
                            f"add .{{{name}}} to the path, or the values collide in one series",
                        )
                    )
        if metric.normalization:
            by = metric.normalization.by
            if by == metric.name:
                out.append(p(("metrics", i, "normalization", "by"), f"metric '{metric.name}' is normalized by itself", "name another metric of the spec"))
            elif by not in metric_names:
                out.append(
                    p(
                        ("metrics", i, "normalization", "by"),
                        f"normalization names metric '{by}', which the spec does not define",
                        _suggest(by, metric_names, "metrics"),
                    )
                )
            else:
                extra = set(spec.metric(by).dimensions) - set(metric.dimensions)
                if extra:
                    out.append(
                        p(
                            ("metrics", i, "normalization", "by"),
                            f"denominator '{by}' is split by {', '.join(sorted(extra))}, which '{metric.name}' is not",
                            "a denominator's dimensions must be a subset of the metric's",
                        )
                    )
        if metric.source is not None and metric.source.type == "report" and metric.type == "timer":
            out.append(p(("metrics", i, "type"), "a timer is a StatsD type", "a report column is a counter or a gauge"))
        out.extend(_check_aggregation(spec, i, metric, p))

    for i, graph in enumerate(spec.graphs):
        for j, name in enumerate(graph.metrics):
            if name not in metric_names:
                out.append(
                    p(
                        ("graphs", i, "metrics", j),
                        f"graph '{graph.title}' names metric '{name}', which the spec does not define",
                        _suggest(name, metric_names, "metrics"),
                    )
                )
        known = [spec.metric(n) for n in graph.metrics if n in metric_names]
        if graph.split_by:
            if graph.split_by not in dims:
                out.append(
                    p(
                        ("graphs", i, "split_by"),
                        f"graph '{graph.title}' is split by '{graph.split_by}', which is not a dimension",
                        _suggest(graph.split_by, dims, "dimensions"),
                    )
                )
            else:
                for m in known:
                    if graph.split_by not in m.dimensions:
                        out.append(
                            p(
                                ("graphs", i, "split_by"),
                                f"metric '{m.name}' of graph '{graph.title}' has no dimension '{graph.split_by}'",
                                f"split by one of {', '.join(m.dimensions) or '(none)'}",
                            )
                        )
        out.extend(_check_within(graph, i, known, dims, p))
        for name, value in graph.filters.items():
            if name not in dims:
                out.append(
                    p(("graphs", i, "filters", name), f"graph filter on '{name}', which is not a dimension", _suggest(name, dims, "dimensions"), key=True)
                )
            elif not dims[name].accepts(value):
                out.append(p(("graphs", i, "filters", name), f"value {shown(value)} is not allowed for dimension '{name}'", _allowed_hint(dims[name])))
        if "normalized" in graph.show:
            for m in known:
                if not m.normalization:
                    out.append(
                        p(
                            ("graphs", i, "show"),
                            f"graph '{graph.title}' shows 'normalized' but metric '{m.name}' has no normalization",
                            "add a normalization to the metric, or drop 'normalized'",
                        )
                    )
        out.extend(_check_graph_grain(spec, i, graph, known, p))
        if "percentage" in graph.show and not graph.split_by:
            out.append(
                p(("graphs", i, "show"), f"graph '{graph.title}' shows 'percentage' without split_by", "percentages are shares of split values: add split_by")
            )
        out.extend(_check_graph_kind(graph, i, known, dims, p))

    if spec.status == "deprecated" and spec.sunset is None:
        out.append(p(("status",), "a deprecated spec needs a sunset date and plan", "add `sunset: {date: ..., plan: ...}`"))
    if spec.sunset and spec.sunset.date < today:
        out.append(
            p(
                ("sunset", "date"),
                f"sunset date {spec.sunset.date} is past",
                "remove the spec and its instrumentation, or move the date and bump the version",
                severity="warning",
            )
        )
    if spec.history and spec.version not in {h.version for h in spec.history}:
        out.append(p(("version",), f"version {spec.version} has no history entry", "add one to `history:` saying what changed", severity="warning"))
    return out


def _check_aggregation(spec: Spec, i: int, metric: Metric, p) -> list[Problem]:
    """A metric's type, aggregation, source and ratio parts agree (metrics.spec.Aggregation)."""
    out: list[Problem] = []
    names = {m.name for m in spec.metrics}
    allowed = ALLOWED_AGGREGATIONS[metric.type]
    if metric.aggregation not in allowed:
        out.append(p(("metrics", i, "aggregation"), f"a {metric.type} cannot be {metric.aggregation}", f"use {' or '.join(allowed)}, or change `type`"))
    if metric.type == "ratio":
        if metric.ratio is None:
            out.append(
                p(
                    ("metrics", i, "type"),
                    f"ratio '{metric.name}' does not say what it divides",
                    "add `ratio: {numerator: <metric>, denominator: <metric>}`: it is recomputed as sum(numerator) / sum(denominator) at every grain",
                )
            )
        if metric.source is not None:
            out.append(
                p(
                    ("metrics", i, "source"),
                    f"ratio '{metric.name}' is computed from its parts, not read from a source",
                    "remove `source:`; give the parts as metrics and name them under `ratio:`",
                )
            )
        if metric.graphite_path is not None:
            out.append(
                p(
                    ("metrics", i, "graphite_path"),
                    f"ratio '{metric.name}' is computed from its parts, so it has no Graphite series of its own",
                    "write `graphite_path: null`; panels divide the parts' series",
                )
            )
    else:
        if metric.ratio is not None:
            out.append(p(("metrics", i, "ratio"), f"metric '{metric.name}' is a {metric.type}, not a ratio", "remove `ratio:`, or write `type: ratio`"))
        if metric.source is None:
            out.append(
                p(
                    ("metrics", i),
                    f"metric '{metric.name}' has no source",
                    "add `source: {type: report, report: <folder>/<report>, column: <column>}` or `source: {type: statsd}`",
                )
            )
    if metric.ratio is not None and metric.type == "ratio":
        for key in ("numerator", "denominator"):
            name = getattr(metric.ratio, key)
            where = ("metrics", i, "ratio", key)
            if name == metric.name:
                out.append(p(where, f"ratio '{metric.name}' divides by itself", "name another metric of the spec"))
            elif name not in names:
                out.append(p(where, f"ratio names metric '{name}', which the spec does not define", _suggest(name, names, "metrics")))
            else:
                part = spec.metric(name)
                if part.aggregation == "non_additive":
                    out.append(
                        p(where, f"{key} '{name}' is non-additive, so its sum means nothing", "a ratio's parts are counters or gauges that can be added")
                    )
                elif not set(metric.dimensions) <= set(part.dimensions):
                    missing = sorted(set(metric.dimensions) - set(part.dimensions))
                    out.append(
                        p(
                            where,
                            f"ratio '{metric.name}' is split by {', '.join(missing)}, which its {key} '{name}' is not",
                            "a ratio's dimensions must be dimensions of its numerator and its denominator",
                        )
                    )
        if metric.ratio.numerator in names and metric.ratio.denominator in names:
            num, den = spec.metric(metric.ratio.numerator), spec.metric(metric.ratio.denominator)
            if num.ratio is None and den.ratio is None and (num.table is None) != (den.table is None):
                out.append(
                    p(
                        ("metrics", i, "ratio"),
                        f"the parts of ratio '{metric.name}' are stored in different places (a table and StatsD)",
                        "take both parts from reports, or both from StatsD",
                    )
                )
    pairs = []
    if metric.ratio is not None and {metric.ratio.numerator, metric.ratio.denominator} <= names:
        pairs.append((("metrics", i, "ratio"), spec.metric(metric.ratio.numerator), spec.metric(metric.ratio.denominator)))
    if metric.normalization and metric.normalization.by in names:
        pairs.append((("metrics", i, "normalization"), metric, spec.metric(metric.normalization.by)))
    for place, num, den in pairs:
        if aggregation.same_rows(num, den) and num.graphite_path and den.graphite_path and not same_nodes(num.graphite_path, den.graphite_path):
            out.append(
                p(
                    place,
                    f"'{num.name}' and '{den.name}' come from the same rows, but their Graphite paths put the dimensions at different nodes",
                    "give both paths the same shape, e.g. prefix.<name>.{dimension}, so panels can pair their points",
                )
            )
    if metric.normalization and metric.normalization.by in names and metric.normalization.by != metric.name:
        by = spec.metric(metric.normalization.by)
        for who, m in (("metric", metric), ("denominator", by)):
            if m.aggregation == "non_additive":
                out.append(
                    p(
                        ("metrics", i, "normalization"),
                        f"{who} '{m.name}' is non-additive: a normalization divides sums",
                        "normalize counters or gauges, or define a ratio metric from additive parts",
                    )
                )
                break
    return out


def _check_graph_kind(graph: Graph, i: int, known: list[Metric], dims: dict[str, Dimension], p) -> list[Problem]:
    """A pie is a share of a whole (one metric that adds up over the split); a world map is split by country codes."""
    out: list[Problem] = []
    if graph.kind not in ("pie", "world_map"):
        return out
    what = "a pie shows each split value's share of a whole" if graph.kind == "pie" else "a world map colours each country by one value"
    if not graph.split_by:
        out.append(p(("graphs", i, "kind"), f"graph '{graph.title}' is a {graph.kind} without split_by", f"{what}: add split_by"))
    if len(graph.metrics) != 1:
        out.append(p(("graphs", i, "metrics"), f"graph '{graph.title}' is a {graph.kind} of {len(graph.metrics)} metrics", f"{what}: name one metric"))
    if len(graph.show) != 1:
        out.append(p(("graphs", i, "show"), f"graph '{graph.title}' is a {graph.kind} showing {', '.join(graph.show)}", f"{what}: show one quantity"))
    if graph.kind == "pie":
        for m in known:
            if m.aggregation == "non_additive" or set(graph.show) - {"total", "percentage"}:
                out.append(
                    p(
                        ("graphs", i, "kind"),
                        f"graph '{graph.title}' is a pie of {'non-additive metric' if m.aggregation == 'non_additive' else 'a ' + '/'.join(graph.show) + ' of'} '{m.name}', which is not a share of a whole",
                        "a pie is for a metric that adds up over the split dimension (show total or percentage): use a line or a table",
                    )
                )
    elif graph.split_by in dims and dims[graph.split_by].country_codes() is None:
        out.append(
            p(
                ("graphs", i, "split_by"),
                f"graph '{graph.title}' is a world map split by '{graph.split_by}', whose values are not ISO 3166-1 country codes",
                "split by a dimension with pattern '[A-Z]{3}' (alpha-3, e.g. DEU) or '[A-Z]{2}' (alpha-2, e.g. DE)",
            )
        )
    if graph.kind == "world_map" and "percentage" in graph.show:
        out.append(p(("graphs", i, "show"), f"graph '{graph.title}' is a world map of a percentage", "show total, mean or normalized"))
    return out


def _check_within(graph: Graph, i: int, known: list[Metric], dims: dict[str, Dimension], p) -> list[Problem]:
    """`within` keeps a table's rows apart by a second dimension: a table's, beside split_by, of every metric."""
    if not graph.within:
        return []
    where = ("graphs", i, "within")
    if graph.kind != "table" or not graph.split_by or graph.within == graph.split_by:
        return [p(where, f"graph '{graph.title}' has within: '{graph.within}'", "within is for a table with split_by, naming another dimension")]
    if graph.within not in dims:
        return [p(where, f"graph '{graph.title}' is kept apart by '{graph.within}', which is not a dimension", _suggest(graph.within, dims, "dimensions"))]
    return [
        p(where, f"metric '{m.name}' of graph '{graph.title}' has no dimension '{graph.within}'", f"use one of {', '.join(m.dimensions) or '(none)'}")
        for m in known
        if graph.within not in m.dimensions
    ]


def _check_graph_grain(spec: Spec, i: int, graph: Graph, known: list[Metric], p) -> list[Problem]:
    """A graph asks for each metric only at grains where its aggregation gives a value."""
    out: list[Problem] = []
    fixed = set(graph.filters) | {d for d in (graph.split_by, graph.within) if d}
    for m in known:
        if m.aggregation == "non_additive" and "percentage" in graph.show:
            out.append(
                p(
                    ("graphs", i, "show"),
                    f"graph '{graph.title}' shows 'percentage' of non-additive metric '{m.name}'",
                    "shares of a total need a metric that adds up: drop 'percentage'",
                )
            )
        if m.native_only:
            loose = [d for d in m.dimensions if d not in fixed]
            if graph.kind == "big_number" or loose:
                why = "one number over the whole range" if graph.kind == "big_number" else f"over {', '.join(loose)}"
                out.append(
                    p(
                        ("graphs", i),
                        f"graph '{graph.title}' would combine non-additive metric '{m.name}' {why}",
                        "its values exist only at the grain they are stored at: split or filter the graph by every dimension of the metric",
                    )
                )
        ratios = []
        if m.ratio is not None and m.ratio.denominator in {x.name for x in spec.metrics}:
            ratios.append(spec.metric(m.ratio.denominator))
        if "normalized" in graph.show and m.normalization and m.normalization.by in {x.name for x in spec.metrics}:
            ratios.append(spec.metric(m.normalization.by))
        for den in ratios:
            lacking = sorted(d for d in fixed if d not in den.dimensions)
            if lacking:
                out.append(
                    p(
                        ("graphs", i),
                        f"graph '{graph.title}' splits or filters '{m.name}' by {', '.join(lacking)}, which its denominator '{den.name}' is not split by",
                        "split the graph by a dimension both parts have, or show the ratio unsplit",
                    )
                )
    return out


def _duplicates(names: list[str], key: str, what: str, p) -> list[Problem]:
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        if name in seen:
            out.append(p((key, i, "name"), f"duplicate {what} '{name}' (also {key}[{seen[name]}])", f"give each {what} its own name"))
        seen.setdefault(name, i)
    return out


def _suggest(name: str, choices: Iterable[str], what: str) -> str:
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"declared {what}: {', '.join(choices)}" if choices else f"declare it under `{what}:`"


def _allowed_hint(dim) -> str:
    if dim.values == "open":
        return f"values must match {shown(dim.pattern)}"
    return f"allowed: {', '.join(dim.values)}"


# --- across specs --------------------------------------------------------------------------


def _path_shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _check_across(parsed: list[tuple[Spec, yamlfile.Located, Path]]) -> list[Problem]:
    out: list[Problem] = []
    spec_seen: dict[str, str] = {}
    metric_seen: dict[str, str] = {}
    path_seen: dict[str, str] = {}
    for spec, located, _ in parsed:
        if spec.name in spec_seen:
            out.append(located.problem(("name",), f"spec name '{spec.name}' is also used by {spec_seen[spec.name]}", "give each spec its own name"))
        spec_seen.setdefault(spec.name, located.file)
        local_paths: set[str] = set()
        for i, metric in enumerate(spec.metrics):
            line = located.position(("metrics", i, "name"))[0]
            where = f"{located.file}:{line}"
            other = metric_seen.get(metric.name)
            if other and not other.startswith(located.file + ":"):
                out.append(
                    located.problem(
                        ("metrics", i, "name"),
                        f"metric name '{metric.name}' is also defined at {other}",
                        "metric names are unique across the catalogue: rename one",
                    )
                )
            metric_seen.setdefault(metric.name, where)
            if metric.graphite_path:
                shape = _path_shape(metric.graphite_path)
                if shape in path_seen or shape in local_paths:
                    other = path_seen.get(shape, "this spec")
                    out.append(
                        located.problem(
                            ("metrics", i, "graphite_path"),
                            f"Graphite path '{metric.graphite_path}' is also used at {other}",
                            "each metric needs its own Graphite path",
                        )
                    )
                local_paths.add(shape)
        for i, metric in enumerate(spec.metrics):
            if metric.graphite_path:
                line = located.position(("metrics", i, "graphite_path"))[0]
                path_seen.setdefault(_path_shape(metric.graphite_path), f"{located.file}:{line}")
    return out
