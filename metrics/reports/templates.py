"""Query text: Reportupdater placeholders filled, then transpiled to the engine's dialect.

Placeholders use `str.format` as Reportupdater did (`{{` and `}}` are literal braces). Every
report type gets `{from_timestamp}`/`{to_timestamp}` (`YYYYMMDDHHMMSS`), `{from_date}`/`{to_date}`
(`YYYY-MM-DD`), `{year}`, `{month}`, `{day}` (zero-padded, of the start) and its explode values.
Only these validated values are pasted into SQL.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Callable, Mapping

import sqlglot
from sqlglot import exp

from metrics.engines import sql as engine_sql
from metrics.engines.base import QueryError
from metrics.errors import MetricsError
from metrics.reports.intervals import Interval


class TemplateError(MetricsError, ValueError):
    """A query that cannot be filled or transpiled; the message says why."""


def placeholders(start: dt.date, end: dt.date, explode: Mapping[str, str]) -> dict[str, str]:
    """The values a query template may use for one interval (or range) and explode combination."""
    values = {
        "from_timestamp": start.strftime("%Y%m%d000000"),
        "to_timestamp": end.strftime("%Y%m%d000000"),
        "from_date": start.isoformat(),
        "to_date": end.isoformat(),
        "year": f"{start.year:04d}",
        "month": f"{start.month:02d}",
        "day": f"{start.day:02d}",
    }
    values.update(explode)
    return values


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill `{name}` placeholders; an unknown one is an error naming it.

    A placeholder is a bare name: `{wiki}`. A conversion or format spec (`{wiki!r}`,
    `{wiki:>99999999}`) would change the validated value on its way into the SQL, or pad it
    to any size, and attribute or index access (`{wiki.__class__}`) would reach past it: each
    is refused, as is a nested placeholder.
    """
    try:
        fields = [(name, conversion, spec) for _, name, spec, conversion in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise TemplateError(f"malformed placeholder: {exc} (write literal braces as {{{{ and }}}})") from None
    names = {name for name, _, _ in fields}
    unknown = sorted(n for n in names if n not in values)
    if unknown:
        raise TemplateError(f"query template contains unknown placeholders: {', '.join(unknown)} (known: {', '.join(sorted(values))})")
    if any(not n or not n.isidentifier() for n in names):
        raise TemplateError("query template has an empty or positional placeholder {} (write literal braces as {{ and }})")
    dressed = sorted({name for name, conversion, spec in fields if conversion or spec})
    if dressed:
        raise TemplateError(
            f"placeholder(s) {', '.join(dressed)} carry a conversion or format spec (! or :), which would change the value (write {{{dressed[0]}}} alone)"
        )
    return template.format_map(values)


def sample_values(interval: Interval, explode: Mapping[str, list[str]]) -> dict[str, str]:
    """Placeholder values for checking a template without running it."""
    return placeholders(interval.start, interval.end, {k: v[0] if v else "x" for k, v in explode.items()})


def transpile(sql: str, read: str, write: str, schema: engine_sql.SqlSchema | Callable[[], engine_sql.SqlSchema] | None = None) -> str:
    """A report query (one SELECT) from dialect `read` to `write`; see `metrics.engines.sql.render`."""
    try:
        tree = engine_sql.parse(sql, read)
        if not isinstance(tree, exp.Query):
            raise TemplateError(f"a report query is a SELECT, found {tree.key.upper()}")
        return engine_sql.render(tree, read, write, schema)
    except QueryError as exc:
        raise TemplateError(str(exc)) from None


def functions_used(sql: str, dialect: str) -> set[str]:
    """Names of functions sqlglot does not know (kept as written), for checking against the engine."""
    tree = sqlglot.parse_one(sql, read=dialect)
    return {node.name.lower() for node in tree.find_all(exp.Anonymous)}


def output_columns(sql: str, dialect: str) -> list[str]:
    """The names of a SELECT's output columns (empty for `*`)."""
    tree = sqlglot.parse_one(sql, read=dialect)
    if not isinstance(tree, exp.Query) or any(isinstance(e, exp.Star) for e in tree.expressions):
        return []
    return list(tree.named_selects)
