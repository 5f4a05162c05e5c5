"""Hive's meaning kept on DuckDB and Trino: the table of what differs, and the rewrites.

sqlglot translates Hive SQL's syntax, not its meaning: `CAST(3.5 AS INT)` is 3 in Hive and 4
on DuckDB and Trino, `SUBSTR(s, 0, 10)` is ten characters in Hive and nine on DuckDB. `RULES`
lists every Hive function, cast and operator whose meaning differs on a target engine, and says
for each what the service does: rewrite the expression so that it keeps Hive's meaning, or
refuse the query (at `metrics validate`, and when it runs) with the reason and the rewrite to
use. The table is the one source: `keep_meaning` applies it, `refusals` lists what it refuses,
`markdown()` is docs/hive-semantics.md, and the tests run every rule's examples on Spark (the
oracle of Hive's meaning) and through the service on each engine.

    tree = sql.parse(text, "hive")
    tree = keep_meaning(tree, "duckdb")     # raises SemanticsError for a refused construct
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, cast

import sqlglot
from sqlglot import exp
from sqlglot.dialects.hive import Hive
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.parsers.hive import HiveParser

from metrics.engines.base import QueryError

ENGINES = ("duckdb", "trino")
"""The dialects the rules rewrite Hive SQL for."""

Action = Literal["rewrite", "refuse", "kept", "fails"]
ACTIONS: dict[str, str] = {
    "rewrite": "rewritten to keep Hive's meaning",
    "refuse": "refused by `metrics validate` and at run time, with the rewrite to use",
    "kept": "sqlglot's translation already keeps Hive's meaning (checked by the oracle tests)",
    "fails": "the engine raises an error where Hive returns a value: the interval fails, never a wrong number",
}


class SemanticsError(QueryError):
    """A Hive construct that would mean something else on the engine; the hint is the rewrite to use."""

    def __init__(self, message: str, hint: str = "", line: int = 1, column: int = 1):
        super().__init__(message, hint)
        self.line, self.column = line, column

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


@dataclass(frozen=True)
class Example:
    """A Hive query whose values must be the same on Spark (Hive's meaning) and through the service.

    `sql` reads the oracle table `oracle.vals` (see `ORACLE_ROWS`). `spark` is the SQL Spark runs
    where Spark itself differs from Hive (it then calls Hive's own UDF classes, registered in the
    Spark session as `hive_<name>`, see `HIVE_UDFS`). `refused_on` lists engines that refuse it.
    """

    sql: str
    spark: str | None = None
    refused_on: tuple[str, ...] = ()
    fails_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One Hive construct whose meaning differs on a target engine, and what the service does about it."""

    key: str
    construct: str
    hive: str
    duckdb: str
    trino: str
    action: dict[str, Action]
    service: str
    examples: tuple[Example, ...]
    spark: str = ""
    """How Spark (the test oracle) differs from Hive here, if it does."""
    rewrite: Callable[[exp.Expression, "Context"], exp.Expression | None] | None = field(default=None, repr=False, compare=False)
    nodes: tuple[type[exp.Expression], ...] = field(default=(), repr=False, compare=False)
    typed: bool = field(default=True, repr=False, compare=False)
    """Whether the rewrite reads the types of its arguments (a statement it applies to is typed first)."""


@dataclass
class Context:
    write: str

    def refuse(self, node: exp.Expression, rule: str, message: str, hint: str) -> exp.Expression:
        line, column = position(node)
        raise SemanticsError(f"{message} [hive-semantics: {rule}]", hint, line, column)


def scalar(expression: str) -> str:
    """An example query: one Hive expression for every row of the oracle table, in row order."""
    return f"SELECT id, {expression} AS v FROM oracle.vals ORDER BY id"


def aggregate(expression: str) -> str:
    """An example query: one Hive aggregate over the oracle table."""
    return f"SELECT {expression} AS v FROM oracle.vals"


ORACLE_COLUMNS = {"id": "BIGINT", "i": "BIGINT", "b": "BIGINT", "d": "DOUBLE", "s": "STRING", "ts": "STRING", "flag": "BOOLEAN", "j": "STRING"}
"""Hive types of the oracle table `oracle.vals` the examples read."""

ORACLE_ROWS: list[dict[str, object]] = [
    {"id": 1, "i": 2, "b": 1793491200, "d": 2.675, "s": "a,b,,c", "ts": "2026-11-01T05:00:00Z", "flag": True, "j": '{"a":{"b":1},"c":"x","n":null,"l":[1,2]}'},
    {"id": 2, "i": 5, "b": 0, "d": -2.5, "s": "Hello", "ts": "2026-11-07 23:59:59", "flag": False, "j": '{"a":[{"b":"y"}],"c":"z"}'},
    {"id": 3, "i": -7, "b": 1700000000, "d": 3.7, "s": "", "ts": "2026-01-01", "flag": None, "j": "not json"},
    {"id": 4, "i": None, "b": None, "d": None, "s": None, "ts": None, "flag": True, "j": None},
    {"id": 5, "i": 3, "b": -86401, "d": 0.125, "s": "false", "ts": "2024-12-30 12:30:00", "flag": False, "j": '{"c":"w"}'},
]
"""The rows of the oracle table: NULLs, negatives, halves, an empty string, several date forms."""

HIVE_UDFS = {
    "hive_to_boolean": "org.apache.hadoop.hive.ql.udf.UDFToBoolean",
    "hive_percentile_approx": "org.apache.hadoop.hive.ql.udf.generic.GenericUDAFPercentileApprox",
    "hive_std": "org.apache.hadoop.hive.ql.udf.generic.GenericUDAFStd",
    "hive_variance": "org.apache.hadoop.hive.ql.udf.generic.GenericUDAFVariance",
    "hive_to_string": "org.apache.hadoop.hive.ql.udf.UDFToString",
    "hive_concat": "org.apache.hadoop.hive.ql.udf.generic.GenericUDFConcat",
    "hive_hour": "org.apache.hadoop.hive.ql.udf.UDFHour",
    "hive_minute": "org.apache.hadoop.hive.ql.udf.UDFMinute",
    "hive_second": "org.apache.hadoop.hive.ql.udf.UDFSecond",
}
"""Hive 2.3's own classes (shipped in pyspark's hive-exec jar), for the cases where Spark is not Hive."""


# --- helpers building engine SQL ---------------------------------------------------------------

INTEGER_TYPES = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT}
FRACTIONAL_TYPES = {exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE, exp.DataType.Type.DECIMAL}


def _type(node: exp.Expression) -> Any:
    """The annotated type of a node, None when unknown."""
    t = node.type
    if t is None or t.this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
        return None
    return t.this


def _is_text(node: exp.Expression) -> bool:
    t = _type(node)
    return t in exp.DataType.TEXT_TYPES or (t is None and isinstance(node, exp.Literal) and node.is_string)


def _f(name: str, *args: exp.Expression) -> exp.Expression:
    """A call of an engine function sqlglot should write as is."""
    return exp.Anonymous(this=name, expressions=list(args))


def _sql(template: str, **parts: exp.Expression) -> exp.Expression:
    """A generic-SQL template whose `_name` columns are replaced by (copies of) `parts`."""
    tree = sqlglot.parse_one(template)
    for column in list(tree.find_all(exp.Column)):
        if column.name.startswith("_") and column.name[1:] in parts:
            column.replace(parts[column.name[1:]].copy())
    return cast(exp.Expression, tree)


def _int(value: int) -> exp.Expression:
    return exp.Literal.number(value)


def _literal_int(node: exp.Expression | None) -> int | None:
    if node is None:
        return None
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        value = _literal_int(node.this)
        return None if value is None else -value
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return int(node.this)
        except ValueError:
            return None
    return None


def _string(node: exp.Expression | None) -> str | None:
    return node.this if isinstance(node, exp.Literal) and node.is_string else None


def as_date(node: exp.Expression) -> exp.Expression:
    """Hive's reading of a value as a DATE: a date, the date of a timestamp, or the `yyyy-MM-dd` a string starts with."""
    t = _type(node)
    if t == exp.DataType.Type.DATE:
        return node
    if t in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME):
        return exp.cast(node, "DATE")
    # SimpleDateFormat("yyyy-MM-dd").parse reads a prefix: '2026-11-01T05:00:00Z' is 2026-11-01
    return exp.TryCast(this=exp.Substring(this=exp.cast(node, "VARCHAR"), start=_int(1), length=_int(10)), to=exp.DataType.build("DATE"))


def as_timestamp(node: exp.Expression) -> exp.Expression:
    """Hive's reading of a value as a TIMESTAMP (strings `yyyy-MM-dd[ HH:mm:ss]` or ISO 8601 in UTC; NULL when not one)."""
    t = _type(node)
    if t in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME):
        return node
    if t == exp.DataType.Type.DATE:
        return exp.cast(node, "TIMESTAMP")
    # Hive also reads ISO 8601 text ('2026-11-01T05:00:00Z', UTC); Trino's cast does not
    text = _sql("REPLACE(REPLACE(_s, 'T', ' '), 'Z', '')", s=exp.cast(node, "VARCHAR"))
    return exp.TryCast(this=text, to=exp.DataType.build("TIMESTAMP"))


def _trunc(node: exp.Expression, ctx: Context) -> exp.Expression:
    return _f("TRUNC" if ctx.write == "duckdb" else "TRUNCATE", node)


def to_integer(node: exp.Expression, to: exp.DataType, ctx: Context) -> exp.Expression:
    """Hive's cast to an integer type: fractions truncated toward zero, strings like '3.7' read as 3, bad strings NULL."""
    t = _type(node)
    if t in INTEGER_TYPES or t == exp.DataType.Type.BOOLEAN:
        return exp.Cast(this=node, to=to)  # strict: an overflow is an error, not a wrapped number
    if t in FRACTIONAL_TYPES:
        return exp.Cast(this=_trunc(node, ctx), to=to)
    # strings (and unknown types): through a decimal wide enough for every BIGINT, NULL when not a number
    decimal = exp.TryCast(this=node, to=exp.DataType.build("DECIMAL(38, 18)"))
    return exp.TryCast(this=_trunc(decimal, ctx), to=to)


# --- Java SimpleDateFormat patterns ------------------------------------------------------------


@dataclass(frozen=True)
class Letter:
    """A Java pattern field (`yyyy`, `MM`, `u`...) as DuckDB strftime and Trino (Joda) write it."""

    duckdb: str
    joda: str
    width: int | None  # characters it prints when fixed (for Hive's prefix parsing)
    parse: bool = True  # whether it may be parsed (unix_timestamp with a pattern)


JAVA_FIELDS: dict[str, Letter] = {
    "y": Letter("%Y", "yyyy", 4),
    "yyy": Letter("%Y", "yyyy", 4),
    "yyyy": Letter("%Y", "yyyy", 4),
    "yy": Letter("%y", "yy", 2, parse=False),
    "M": Letter("%-m", "M", None),
    "MM": Letter("%m", "MM", 2),
    "MMM": Letter("%b", "MMM", 3, parse=False),
    "MMMM": Letter("%B", "MMMM", None, parse=False),
    "d": Letter("%-d", "d", None),
    "dd": Letter("%d", "dd", 2),
    "H": Letter("%-H", "H", None),
    "HH": Letter("%H", "HH", 2),
    "h": Letter("%-I", "h", None, parse=False),
    "hh": Letter("%I", "hh", 2, parse=False),
    "m": Letter("%-M", "m", None),
    "mm": Letter("%M", "mm", 2),
    "s": Letter("%-S", "s", None),
    "ss": Letter("%S", "ss", 2),
    "SSS": Letter("%g", "SSS", 3),
    "a": Letter("%p", "a", 2, parse=False),
    "E": Letter("%a", "EEE", 3, parse=False),
    "EE": Letter("%a", "EEE", 3, parse=False),
    "EEE": Letter("%a", "EEE", 3, parse=False),
    "EEEE": Letter("%A", "EEEE", None, parse=False),
    "u": Letter("%u", "e", 1, parse=False),
    "D": Letter("%-j", "D", None, parse=False),
    "DDD": Letter("%j", "DDD", 3, parse=False),
}
"""Every Java pattern field the service translates; any other letter is refused, never copied as text."""

JAVA_REFUSED = {
    "G": "era",
    "Y": "week year (Java counts weeks from Sunday, by locale)",
    "w": "week of year (Java counts weeks from Sunday, by locale; use weekofyear() for ISO weeks)",
    "W": "week of month",
    "F": "day of week in month",
    "k": "hour 1-24",
    "K": "hour 0-11",
    "L": "stand-alone month",
    "z": "time zone name",
    "Z": "time zone offset",
    "X": "ISO time zone",
}


def java_fields(pattern: str) -> list[tuple[str, bool]]:
    """A Java pattern as (text, is_field) pieces: letter runs are fields, quoted or other characters text."""
    pieces: list[tuple[str, bool]] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "'":
            if pattern[i + 1 : i + 2] == "'":
                pieces.append(("'", False))
                i += 2
                continue
            end = i + 1
            text = ""
            while end < len(pattern):
                if pattern[end] == "'" and pattern[end + 1 : end + 2] == "'":
                    text, end = text + "'", end + 2
                elif pattern[end] == "'":
                    break
                else:
                    text, end = text + pattern[end], end + 1
            pieces.append((text, False))
            i = end + 1
        elif c.isascii() and c.isalpha():
            end = i
            while end < len(pattern) and pattern[end] == c:
                end += 1
            pieces.append((pattern[i:end], True))
            i = end
        else:
            pieces.append((c, False))
            i += 1
    return pieces


@dataclass(frozen=True)
class Pattern:
    duckdb: str
    joda: str
    width: int | None


def translate_pattern(pattern: str, parse: bool = False) -> Pattern:
    """A Java SimpleDateFormat pattern as DuckDB strftime and Joda patterns; raises `ValueError` naming a field it cannot keep."""
    duck, joda, width = [], [], 0
    fixed = True
    for text, is_field in java_fields(pattern):
        if not is_field:
            duck.append(text.replace("%", "%%"))
            # Joda reads letters as fields: quote text holding any ('' is a quote, in or out of quotes)
            quoted = text.replace("'", "''")
            joda.append(f"'{quoted}'" if any(ch.isalpha() for ch in text) else quoted)
            width += len(text)
            continue
        letter = JAVA_FIELDS.get(text) or (JAVA_FIELDS["EEEE"] if set(text) == {"E"} else None) or (JAVA_FIELDS["MMMM"] if set(text) == {"M"} else None)
        if letter is None or (parse and not letter.parse):
            why = JAVA_REFUSED.get(text[0], "not translated")
            raise ValueError(f"pattern field '{text}' ({why})")
        duck.append(letter.duckdb if not parse else letter.duckdb.replace("%-", "%"))
        joda.append(letter.joda)
        if letter.width is None:
            fixed = False
        else:
            width += letter.width
    return Pattern("".join(duck), "".join(joda), width if fixed else None)


HIVE_TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"


class HiveSource(Hive):
    """Hive as the service reads it: date patterns kept as written (Java), for `translate_pattern`.

    sqlglot's Hive maps Java letters to strftime codes when it parses and copies unknown letters
    (`u`) through as text; the rules translate each field themselves or refuse it.
    """

    ORIGINAL_NAME_META_KEY = "hive_name"  # `variance` (Hive: population) and `var_samp` parse alike

    @classmethod
    def format_time(cls, expression: str | exp.Expr | None) -> exp.Expr | None:
        if isinstance(expression, str):
            return exp.Literal.string(expression[1:-1])
        return expression

    class Parser(HiveParser):
        def _parse_function_call(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
            # functions with their own parser (CAST, PERCENTILE_APPROX...) get no place: give them their name's
            name = self._curr
            result = super()._parse_function_call(*args, **kwargs)
            if isinstance(result, exp.Expression) and name is not None and "line" not in result.meta:
                result.update_positions(name)
            return result


HIVE_NAMES: dict[type, str] = {
    exp.TimeToStr: "date_format",
    exp.UnixToStr: "from_unixtime",
    exp.StrToUnix: "unix_timestamp",
    exp.RegexpLike: "rlike",
    exp.RegexpExtract: "regexp_extract",
    exp.RegexpReplace: "regexp_replace",
    exp.RegexpSplit: "split",
}


def hive_name(node: exp.Expression) -> str:
    """The name a Hive query gives the function of `node`."""
    return HIVE_NAMES.get(type(node)) or (node.name if isinstance(node, exp.Anonymous) else getattr(node, "sql_name", lambda: node.key)().lower())


def _pattern(node: exp.Expression, ctx: Context, rule: str, default: str, parse: bool = False) -> Pattern:
    fmt = node.args.get("format")
    text = default if fmt is None else _string(fmt)
    if text is None:
        ctx.refuse(node, rule, "a date pattern computed at run time cannot be translated", "write the pattern as a string literal")
        raise AssertionError  # refuse raises
    try:
        return translate_pattern(text, parse)
    except ValueError as exc:
        ctx.refuse(
            node, rule, f"{hive_name(node)}() {exc} has no equivalent on {ctx.write}", f"use only the fields {', '.join(sorted(JAVA_FIELDS))} and quoted text"
        )
        raise AssertionError from None


def _format(ts: exp.Expression, pattern: Pattern, ctx: Context) -> exp.Expression:
    if ctx.write == "duckdb":
        return _f("STRFTIME", ts, exp.Literal.string(pattern.duckdb))
    return _f("FORMAT_DATETIME", ts, exp.Literal.string(pattern.joda))


def _date_format(node: exp.Expression, ctx: Context) -> exp.Expression:
    pattern = _pattern(node, ctx, "date-patterns", HIVE_TIME_FORMAT)
    this = node.this.this if isinstance(node.this, exp.TimeStrToTime) else node.this
    return _format(as_timestamp(this), pattern, ctx)


def _from_unixtime(node: exp.Expression, ctx: Context) -> exp.Expression:
    pattern = _pattern(node, ctx, "date-patterns", HIVE_TIME_FORMAT)
    seconds = node.this
    if ctx.write == "duckdb":
        ts: exp.Expression = exp.cast(_f("TO_TIMESTAMP", seconds), "TIMESTAMP")  # the session zone is UTC
    else:
        ts = _f("FROM_UNIXTIME", seconds, exp.Literal.string("UTC"))
    return _format(ts, pattern, ctx)


def _epoch(ts: exp.Expression, ctx: Context) -> exp.Expression:
    if ctx.write == "duckdb":
        seconds = _f("EPOCH", ts)
    else:
        seconds = _f("TO_UNIXTIME", _f("WITH_TIMEZONE", ts, exp.Literal.string("UTC")))
    return exp.cast(_f("FLOOR", seconds), "BIGINT")


def _unix_timestamp(node: exp.Expression, ctx: Context) -> exp.Expression:
    this = node.this
    if isinstance(this, exp.CurrentTimestamp):
        return ctx.refuse(
            node,
            "unix-timestamp",
            "unix_timestamp() without an argument is the time the query runs",
            "use unix_timestamp('{from_date} 00:00:00') or a date placeholder",
        )
    if _type(this) in (exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME):
        return _epoch(as_timestamp(this), ctx)
    pattern = _pattern(node, ctx, "date-patterns", HIVE_TIME_FORMAT, parse=True)
    return _epoch(parse_time(this, pattern, ctx), ctx)


def parse_time(node: exp.Expression, pattern: Pattern, ctx: Context) -> exp.Expression:
    """A TIMESTAMP parsed from text as Java's SimpleDateFormat.parse does (a prefix; NULL when it does not parse)."""
    text: exp.Expression = exp.cast(node, "VARCHAR")
    if pattern.width is not None:  # SimpleDateFormat.parse reads a prefix and ignores what follows
        text = exp.Substring(this=text, start=_int(1), length=_int(pattern.width))
    if ctx.write == "duckdb":
        return _f("TRY_STRPTIME", text, exp.Literal.string(pattern.duckdb))
    return exp.cast(_f("TRY", _f("PARSE_DATETIME", text, exp.Literal.string(pattern.joda))), "TIMESTAMP")


# --- the rewrites --------------------------------------------------------------------------------


def _cast_integer(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    assert isinstance(node, exp.Cast)
    if not node.to.is_type(*INTEGER_TYPES):
        return None
    return to_integer(node.this, node.to, ctx)


def _cast_boolean(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    assert isinstance(node, exp.Cast)
    if not node.to.is_type(exp.DataType.Type.BOOLEAN) or not _is_text(node.this):
        return None
    return _sql("CASE WHEN _s IS NULL THEN NULL ELSE LENGTH(_s) > 0 END", s=node.this)


def _substr(node: exp.Expression, ctx: Context) -> exp.Expression:
    s, start, length = node.this, node.args.get("start"), node.args.get("length")
    p, n = _literal_int(start), _literal_int(length)
    if p is not None and p >= 0 and (length is None or (n is not None and n > 0)):
        # the common case stays readable: a start of 0 is read as 1
        return exp.Substring(this=s, start=_int(max(p, 1)), length=length)
    start = start if start is not None else _int(1)
    parts = {"s": s, "p": start, "l": length if length is not None else _int(2147483647)}
    return _sql(
        "CASE WHEN _s IS NULL OR _p IS NULL OR _l IS NULL THEN NULL"
        " WHEN ABS(_p) > LENGTH(_s) OR _l <= 0 THEN ''"
        " ELSE SUBSTRING(_s, CASE WHEN _p > 0 THEN _p WHEN _p < 0 THEN LENGTH(_s) + _p + 1 ELSE 1 END, _l) END",
        **parts,
    )


def _day_of_week(node: exp.Expression, ctx: Context) -> exp.Expression:
    return _sql("(_d % 7) + 1", d=exp.DayOfWeekIso(this=as_date(node.this)))


def _number_as_string(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    """An integer where a string function wants text: Hive converts it (`LPAD(month, 2, '0')`); the engines refuse."""
    if _type(node.this) in INTEGER_TYPES:
        node.set("this", exp.cast(node.this.copy(), exp.DataType.build("VARCHAR")))
        return node
    return None


def _date_part(node: exp.Expression, ctx: Context) -> exp.Expression:
    node.set("this", as_date(node.this.this if isinstance(node.this, exp.TsOrDsToDate) else node.this))
    return node


def _to_date(node: exp.Expression, ctx: Context) -> exp.Expression:
    if node.args.get("format") is not None:
        return ctx.refuse(node, "to-date", "to_date() with a pattern is not Hive", "write to_date(from_unixtime(unix_timestamp(s, 'pattern')))")
    return as_date(node.this)


def _date_add(node: exp.Expression, ctx: Context) -> exp.Expression:
    days = node.expression
    if ctx.write == "duckdb":
        return _sql("_d + CAST(_n AS INT)", d=as_date(node.this), n=days)  # DATE + INTEGER is a DATE
    return _f("DATE_ADD", exp.Literal.string("day"), days, as_date(node.this))


def _int_div(node: exp.Expression, ctx: Context) -> exp.Expression:
    a = to_integer(node.this, exp.DataType.build("BIGINT"), ctx)
    b = to_integer(node.expression, exp.DataType.build("BIGINT"), ctx)
    divisor = exp.Nullif(this=b, expression=_int(0))
    if ctx.write == "duckdb":
        return exp.IntDiv(this=a, expression=divisor)
    return exp.Div(this=a, expression=divisor, typed=True)  # Trino's BIGINT / BIGINT truncates toward zero


def _round(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    x, digits = node.this, node.args.get("decimals") or _int(0)
    t = _type(x)
    if t in INTEGER_TYPES or t == exp.DataType.Type.DECIMAL:
        return None  # integers and decimals round HALF_UP on every engine
    # Hive rounds a double as BigDecimal.valueOf(x) (its shortest decimal text) with HALF_UP: 2.675 -> 2.68
    exact = exp.TryCast(this=exp.cast(exp.cast(x, "DOUBLE"), "VARCHAR"), to=exp.DataType.build("DECIMAL(38, 18)"))
    return _sql(
        "CASE WHEN ABS(_x) >= 1e17 OR _exact IS NULL THEN ROUND(_x, _d) ELSE CAST(ROUND(_exact, _d) AS DOUBLE) END",
        x=exp.cast(x, "DOUBLE"),
        exact=exact,
        d=digits,
    )


def _size(node: exp.Expression, ctx: Context) -> exp.Expression:
    return exp.Coalesce(this=node.copy(), expressions=[_int(-1)])


def _percentile(node: exp.Expression, ctx: Context) -> exp.Expression:
    if ctx.write != "duckdb":
        return ctx.refuse(
            node,
            "percentile",
            "percentile() is an exact interpolated percentile, which Trino does not have (approx_percentile is an estimate)",
            "compute the report on DuckDB, or use approx_percentile() knowing it is an estimate",
        )
    return _f("QUANTILE_CONT", node.this, node.args["quantile"])


def _percentile_approx(node: exp.Expression, ctx: Context) -> exp.Expression:
    return ctx.refuse(
        node,
        "percentile-approx",
        "percentile_approx() estimates with Hive's histogram; the engines estimate differently and give other numbers",
        "use percentile(x, p), Hive's exact percentile of an integer column",
    )


def _population(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    """Hive's STDDEV, STD and VARIANCE are the population statistics (GenericUDAFStd, GenericUDAFVariance)."""
    name = str(node.meta.get("hive_name") or (node.name if isinstance(node, exp.Anonymous) else "")).lower()
    if isinstance(node, exp.Stddev):
        return exp.StddevPop(this=node.this)
    if isinstance(node, exp.Anonymous) and name == "std" and len(node.expressions) == 1:
        return exp.StddevPop(this=node.expressions[0])
    if isinstance(node, exp.Variance) and name == "variance":  # var_samp parses as the same node
        return exp.VariancePop(this=node.this)
    return None


def _greatest_null(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    # sqlglot reads Hive's GREATEST as skipping NULLs; since Hive 2.0 (HIVE-12082) a NULL argument gives NULL
    if node.args.get("ignore_nulls"):
        node.set("ignore_nulls", False)
        return node
    return None


def _floor_bigint(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    if node.args.get("decimals") is not None or _type(node.this) == exp.DataType.Type.DECIMAL:
        return None  # Hive's FLOOR of a DECIMAL is a DECIMAL
    return exp.cast(node.copy(), "BIGINT")


def _double_to_string(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    if isinstance(node, exp.Cast):
        if not node.to.is_type(*exp.DataType.TEXT_TYPES):
            return None
        doubles = [node.this]
    else:
        doubles = list(node.expressions)
    for arg in doubles:
        if _type(arg) in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
            return ctx.refuse(
                arg if isinstance(node, (exp.Concat, exp.ConcatWs)) else node,
                "double-to-string",
                f"a DOUBLE made text prints as Java's Double.toString in Hive (1.0E7, 7.0E-4), as {ctx.write} prints it otherwise",
                "keep the value a number, or make an integer of it first: CAST(CAST(ROUND(x) AS BIGINT) AS STRING), "
                "CAST(CAST(ROUND(x * 100) AS BIGINT) AS STRING) for hundredths",
            )
    return None


def _double_literal(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    """Hive 2.3 reads `2.50` as a DOUBLE (Hive 3 reads a DECIMAL, HIVE-13945): written `2.50e0`, a DOUBLE on both engines."""
    assert isinstance(node, exp.Literal)
    text = node.this
    if node.is_string or "." not in text or "e" in text.lower() or isinstance(node.parent, exp.DataTypeParam):
        return None
    text = ("0" if text.startswith(".") else "") + text + ("0" if text.endswith(".") else "")
    new = exp.Literal.number(f"{text}e0")
    new.type = exp.DataType.build("DOUBLE")
    return new


def _lateral_outer(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    """LATERAL VIEW OUTER explode(a): sqlglot drops OUTER; written `LEFT JOIN UNNEST(a) AS t(v) ON TRUE`."""
    assert isinstance(node, exp.Lateral)
    if not node.args.get("outer"):
        return None
    select = node.parent
    laterals = list(select.args.get("laterals") or []) if isinstance(select, exp.Select) else []
    upto = next((i for i, lateral in enumerate(laterals) if lateral is node), None)
    for lateral in laterals[: upto + 1] if upto is not None else [node]:
        alias = lateral.args.get("alias")
        if type(lateral.this) is not exp.Explode or alias is None or len(alias.columns) != 1:
            return ctx.refuse(
                lateral,
                "lateral-view-outer",
                f"LATERAL VIEW OUTER is translated for explode(array) AS one column only, not {hive_name(lateral.this)}() or a map",
                "explode one array per LATERAL VIEW OUTER, before any other LATERAL VIEW",
            )
    if select is None or upto is None:
        return None  # a copy (refusals), or already moved by a later OUTER view
    # the lateral views up to this one become joins, in order (a later view may use an earlier one's column)
    for lateral in laterals[: upto + 1]:
        unnest = exp.Unnest(expressions=[lateral.this.this], alias=lateral.args["alias"])
        if lateral.args.get("outer"):
            join = exp.Join(this=unnest, side="LEFT", on=exp.true())
        else:
            join = exp.Join(this=unnest, kind="CROSS")
        select.append("joins", join)
    select.set("laterals", laterals[upto + 1 :] or None)
    return None


def _time_part(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    this = node.this
    if _type(this) in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME):
        return None
    if _type(this) == exp.DataType.Type.DATE:
        node.set("this", exp.cast(this, "TIMESTAMP"))
        return node
    # Hive's UDFHour/UDFMinute/UDFSecond parse text as 'yyyy-MM-dd HH:mm:ss', else as 'HH:mm:ss' (NULL if neither)
    full = parse_time(this, translate_pattern(HIVE_TIME_FORMAT, parse=True), ctx)
    time = parse_time(this.copy(), translate_pattern("HH:mm:ss", parse=True), ctx)
    node.set("this", exp.Coalesce(this=full, expressions=[time]))
    return node


def _modulo(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    if isinstance(node, exp.Mod):
        node.set("expression", exp.Nullif(this=node.expression, expression=_int(0)))
        return node
    if isinstance(node, exp.Anonymous) and node.name.lower() == "pmod" and len(node.expressions) == 2:
        a, b = node.expressions
        # Hive's GenericUDFPosMod: ((a % b) + b) % b, NULL when b is 0
        return _sql("((_a % NULLIF(_b, 0)) + _b) % NULLIF(_b, 0)", a=a, b=b)
    return None


REGEX_REFUSED = [
    (re.compile(r"\(\?<?[=!]"), "lookaround (?= (?! (?<= (?<!"),
    (re.compile(r"\(\?>"), "atomic group (?>"),
    (re.compile(r"\\[1-9]|\\k<"), "backreference \\1 or \\k<name>"),
    (re.compile(r"(?<!\\)[*+?}]\+"), "possessive quantifier *+ ++ ?+ {n}+"),
    (re.compile(r"\\[GZ]"), "anchor \\G or \\Z"),
    (re.compile(r"\\p\{(java|Is|In)"), "Java character class \\p{javaX}, \\p{IsX} or \\p{InX}"),
    (re.compile(r"&&"), "character class intersection &&"),
    (re.compile(r"\(\?[a-z]*[xdu]"), "embedded flag x, d or u"),
]
"""Java regex constructs RE2 (DuckDB) lacks or reads otherwise; Trino's Joni follows RE2 here for one rule."""


def _without_escaped_backslashes(pattern: str) -> str:
    return pattern.replace("\\\\", "")


def check_regex(pattern: str) -> str | None:
    """Why a Java regex means something else on the engines (None when it means the same)."""
    text = _without_escaped_backslashes(pattern)
    for construct, name in REGEX_REFUSED:
        if construct.search(text):
            return name
    return None


def _regex(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    pattern_node = node.expression
    pattern = _string(pattern_node)
    name = hive_name(node)
    if pattern is None:
        return ctx.refuse(node, "regex", f"{name}(): a regular expression computed at run time cannot be checked", "write the pattern as a string literal")
    why = check_regex(pattern)
    if why is not None:
        return ctx.refuse(
            node, "regex", f"{name}(): the Java regex construct {why} is not supported by {ctx.write}'s regular expressions", "rewrite the pattern without it"
        )
    if isinstance(node, exp.RegexpExtract) and ctx.write == "trino":
        # Hive returns '' when nothing matches; Trino returns NULL
        return _sql("CASE WHEN _s IS NULL THEN NULL ELSE COALESCE(_e, '') END", s=node.this, e=node.copy())
    if isinstance(node, exp.RegexpReplace) and ctx.write == "duckdb":
        replacement = _string(node.args.get("replacement"))
        if replacement is None:
            return ctx.refuse(
                node, "regex", "regexp_replace(): a replacement computed at run time cannot be translated", "write the replacement as a string literal"
            )
        node.set("replacement", exp.Literal.string(_java_replacement_to_re2(replacement)))
    return None


def _java_replacement_to_re2(text: str) -> str:
    """Java's replacement ($1 a group, \\$ a dollar) as RE2's (\\1 a group, \\\\ a backslash)."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append("\\\\" if text[i + 1] == "\\" else text[i + 1])
            i += 2
        elif c == "$" and i + 1 < len(text) and text[i + 1].isdigit():
            out.append("\\" + text[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _json(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    path = node.expression
    if any(isinstance(p, (exp.JSONPathWildcard, exp.JSONPathRecursive, exp.JSONPathSlice, exp.JSONPathFilter)) for p in path.walk()):
        return ctx.refuse(
            node, "get-json-object", "get_json_object() with a wildcard path returns a JSON array built by Hive", "extract each element by its index"
        )
    if ctx.write == "duckdb":
        # Hive returns NULL for text that is not JSON; DuckDB's ->> raises an error
        return _sql("CASE WHEN JSON_VALID(_j) THEN _e END", j=node.this, e=node.copy())
    if ctx.write == "trino":
        # Hive returns an object or an array as JSON text; Trino's json_extract_scalar returns NULL for them
        json = exp.JSONExtract(this=node.this, expression=path.copy())
        return exp.Coalesce(this=node.copy(), expressions=[exp.Nullif(this=_f("JSON_FORMAT", json), expression=exp.Literal.string("null"))])
    return None


def _bracket(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    if ctx.write == "trino" and not node.args.get("safe") and isinstance(node.this, (exp.RegexpSplit, exp.Split, exp.Array)):
        node.set("safe", True)  # element_at: NULL out of range, as Hive, where a subscript fails
    return None


def _leftover_pattern(node: exp.Expression, ctx: Context) -> exp.Expression | None:
    if node.args.get("format") is not None and isinstance(node.args["format"], exp.Literal):
        return ctx.refuse(node, "date-patterns", f"{hive_name(node)}() with a date pattern is not translated", "use date_format() or from_unixtime()")
    return None


# --- the table -------------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    Rule(
        "cast-to-integer",
        "CAST(x AS TINYINT | SMALLINT | INT | BIGINT)",
        "A fraction is truncated toward zero (Java `(int)` cast): `CAST(3.5 AS INT)` = 3, `CAST(-3.7 AS INT)` = -3. "
        "A string is read as a number and its fraction dropped: `CAST('3.7' AS INT)` = 3; not a number: NULL.",
        "Rounds to the nearest: `CAST(3.5 AS INT)` = 4, `TRY_CAST('3.7' AS INT)` = 4.",
        "Rounds to the nearest: `CAST(3.5 AS INTEGER)` = 4; a string with a fraction is an error.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Fractions go through `TRUNC`/`TRUNCATE` before the cast; strings through `TRY_CAST(s AS DECIMAL(38, 18))` then `TRUNC`. "
        "Casts of numbers are strict, so a value out of the type's range fails the query (Hive wraps it).",
        (
            Example(scalar("CAST(d AS INT)")),
            Example(aggregate("CAST(SUM(i) / COUNT(*) AS INT)")),
            Example(scalar("CAST(d * 10 AS BIGINT)")),
            Example(scalar("CAST(CONCAT(CAST(i AS STRING), '.7') AS INT)")),
            Example(scalar("CAST(s AS INT)")),
            Example(scalar("CAST(i / 2 AS SMALLINT)")),
        ),
        rewrite=_cast_integer,
        nodes=(exp.Cast,),
    ),
    Rule(
        "substr",
        "SUBSTR(s, start[, length]) / SUBSTRING",
        "1-based; a start of 0 is read as 1; a negative start counts from the end; |start| beyond the length, or length <= 0, gives ''.",
        "A start of 0 is one position before the first character: `SUBSTRING(s, 0, 10)` has 9 characters.",
        "A start of 0 gives ''.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "A literal start of 0 is written 1; any other start that is not a positive literal becomes Hive's rule as a CASE expression.",
        (
            Example(scalar("SUBSTR(ts, 0, 10)")),
            Example(scalar("SUBSTR(s, 2)")),
            Example(scalar("SUBSTR(s, -3, 2)")),
            Example(scalar("SUBSTR(s, -9, 2)")),
            Example(scalar("SUBSTRING(s, i - 2, 3)")),
            Example(scalar("SUBSTR(s, 1, i)")),
        ),
        rewrite=_substr,
        nodes=(exp.Substring,),
    ),
    Rule(
        "number-as-string",
        "LPAD / RPAD / LENGTH / REVERSE / UPPER / LOWER of an integer",
        "The integer is converted to its decimal text first: `LPAD(month, 2, '0')` = '07', `LENGTH(-7)` = 2.",
        "No function matches an INTEGER argument: the query fails.",
        "No function matches a BIGINT argument: the query fails.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "An integer argument is cast to VARCHAR (its decimal text, as Hive's conversion gives).",
        (
            Example(scalar("LPAD(i, 3, '0')")),
            Example(scalar("RPAD(i, 3, 'x')")),
            Example(scalar("LENGTH(b)")),
            Example(scalar("REVERSE(i)")),
            Example(scalar("UPPER(i)")),
        ),
        rewrite=_number_as_string,
        nodes=(exp.Pad, exp.Length, exp.Reverse, exp.Upper, exp.Lower),
    ),
    Rule(
        "day-of-week",
        "DAYOFWEEK(d)",
        "Sunday is 1 ... Saturday is 7; a string argument is read as the date it starts with.",
        "`DAYOFWEEK` gives Sunday 0 ... Saturday 6.",
        "`DAY_OF_WEEK` is ISO: Monday 1 ... Sunday 7.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Written `(ISO day of week % 7) + 1` over the argument read as a date.",
        (Example(scalar("DAYOFWEEK(ts)")), Example(scalar("DAYOFWEEK(CAST('2026-11-01' AS DATE))")), Example(scalar("DAYOFWEEK(to_date(ts))"))),
        rewrite=_day_of_week,
        nodes=(exp.DayOfWeek,),
    ),
    Rule(
        "week-and-date-parts",
        "WEEKOFYEAR(d), YEAR(d), MONTH(d), DAY(d) / DAYOFMONTH(d)",
        "ISO week numbers (weeks start on Monday, week 1 holds January 4th); a string argument is read as the `yyyy-MM-dd` it starts with.",
        "The same numbers, but `CAST(s AS DATE)` fails on strings such as '2026-11-01T05:00:00Z'.",
        "The same numbers, but `CAST(s AS DATE)` fails on strings with a time.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "The argument is read as a date the way Hive does (the first 10 characters of a string, NULL when not a date).",
        (Example(scalar("WEEKOFYEAR(ts)")), Example(scalar("YEAR(ts)")), Example(scalar("MONTH(ts)")), Example(scalar("DAY(ts)"))),
        rewrite=_date_part,
        nodes=(exp.WeekOfYear, exp.Year, exp.Month, exp.Day, exp.DayOfMonth),
    ),
    Rule(
        "date-patterns",
        "DATE_FORMAT(x, pattern), FROM_UNIXTIME(n[, pattern])",
        "Java SimpleDateFormat letters (`yyyy-MM-dd`, `u` = day number, Monday 1, `EEEE` = day name, `SSS` = milliseconds...), in the server's time zone.",
        "sqlglot maps some letters to strftime codes and copies the others (`u`, `w`, `Y`...) into the output as literal text.",
        "sqlglot maps some letters to MySQL codes and copies the others into the output as literal text.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Each field is translated (to `strftime` on DuckDB, Joda `format_datetime` on Trino) from the table `JAVA_FIELDS`; a field not in it "
        "(week-based `Y`, `w`, `W`, `F`, `k`, `K`, `L`, zones `z` `Z` `X`, era `G`) is refused. Times are UTC, the service's zone.",
        (
            Example(scalar("DATE_FORMAT(ts, 'yyyy-MM-dd')")),
            Example(scalar("DATE_FORMAT(ts, 'u EEEE EEE MMM MMMM d M')")),
            Example(scalar("DATE_FORMAT(ts, \"yyyy-MM-dd'T'HH:mm:ss.SSS 'at' h a D DDD yy\")")),
            Example(scalar("FROM_UNIXTIME(b)")),
            Example(scalar("FROM_UNIXTIME(b, 'yyyy/MM/dd HH')")),
            Example(scalar("DATE_FORMAT(ts, 'YYYY-ww')"), refused_on=ENGINES),
            Example(scalar("FROM_UNIXTIME(b, 'yyyy-MM-dd z')"), refused_on=ENGINES),
        ),
        rewrite=_date_format,
        nodes=(exp.TimeToStr,),
    ),
    Rule(
        "from-unixtime",
        "FROM_UNIXTIME(n[, pattern])",
        "Seconds since 1970 as text, `yyyy-MM-dd HH:mm:ss` unless a Java pattern is given.",
        "`STRFTIME(TO_TIMESTAMP(n), ...)` with the pattern mistranslated as above.",
        "`DATE_FORMAT(FROM_UNIXTIME(n), ...)` in the session's zone, the pattern mistranslated as above.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "The pattern is translated as for `date_format`; the time is taken in UTC.",
        (Example(scalar("FROM_UNIXTIME(b, 'EEEE u')")), Example(scalar("FROM_UNIXTIME(i * 86400, 'D')"))),
        rewrite=_from_unixtime,
        nodes=(exp.UnixToStr,),
    ),
    Rule(
        "unix-timestamp",
        "UNIX_TIMESTAMP(s[, pattern])",
        "A BIGINT of seconds; the string is parsed with a Java pattern (`yyyy-MM-dd HH:mm:ss` by default) which reads a prefix and "
        "ignores what follows; NULL when it does not parse. Without an argument, the current time.",
        "`EPOCH(STRPTIME(...))`: a DOUBLE, an error when the text does not parse, and the whole text must match.",
        "A DOUBLE, in the session's zone.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Parsed with the translated pattern (`TRY_STRPTIME` / `TRY(PARSE_DATETIME)`), over the prefix the pattern covers when its width is fixed, "
        "floored to a BIGINT. `unix_timestamp()` without an argument is refused: a report must not depend on when it runs.",
        (
            Example(scalar("UNIX_TIMESTAMP(ts)")),
            Example(scalar("UNIX_TIMESTAMP(ts, 'yyyy-MM-dd')")),
            Example(scalar("UNIX_TIMESTAMP(ts, \"yyyy-MM-dd'T'HH:mm:ss\")")),
            Example(scalar("UNIX_TIMESTAMP(TO_DATE(ts))")),
            Example(aggregate("UNIX_TIMESTAMP()"), refused_on=ENGINES),
        ),
        rewrite=_unix_timestamp,
        nodes=(exp.StrToUnix,),
    ),
    Rule(
        "to-date-and-date-arithmetic",
        "TO_DATE(s), DATE_ADD(d, n), DATE_SUB(d, n), DATEDIFF(a, b)",
        "`to_date` reads the `yyyy-MM-dd` a string starts with and returns a DATE; `date_add`/`date_sub` return a DATE; `datediff` counts days, ignoring times.",
        "`CAST(d AS DATE) + INTERVAL n DAY` is a TIMESTAMP (printed with 00:00:00); casts of strings with a time or a `T` fail.",
        "`CAST(CAST(s AS TIMESTAMP) AS DATE)` fails on strings like '2026-11-01T05:00:00Z'.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Arguments are read as dates the Hive way; `date_add` is `DATE + INTEGER` on DuckDB, `DATE_ADD('day', n, d)` on Trino, both DATEs.",
        (
            Example(scalar("TO_DATE(ts)")),
            Example(scalar("DATE_ADD(ts, 1)")),
            Example(scalar("DATE_SUB(ts, CAST(i AS INT))")),
            Example(scalar("DATEDIFF(ts, '2026-01-01')")),
            Example(scalar("DATEDIFF('2026-11-02 00:00:01', ts)")),
        ),
        rewrite=_to_date,
        nodes=(exp.TsOrDsToDate,),
    ),
    Rule(
        "date-add-type",
        "DATE_ADD(d, n), DATE_SUB(d, n)",
        "A DATE (since Hive 2.1).",
        "A TIMESTAMP.",
        "A DATE.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Written so that the result is a DATE on both engines.",
        (Example(scalar("DATE_ADD(TO_DATE(ts), -1)")),),
        rewrite=_date_add,
        nodes=(exp.TsOrDsAdd,),
    ),
    Rule(
        "division",
        "a / b",
        "Always a DOUBLE, also for two integers: `7 / 2` = 3.5; division by zero gives NULL.",
        "A DOUBLE for integers; sqlglot adds `NULLIF(b, 0)`.",
        "Integer division for integers; sqlglot casts to DOUBLE and adds `NULLIF(b, 0)`.",
        {"duckdb": "kept", "trino": "kept"},
        "Nothing to do: sqlglot reads Hive's `/` as fractional division.",
        (Example(scalar("i / 2")), Example(scalar("b / i")), Example(scalar("i / 0")), Example(aggregate("SUM(i) / COUNT(*)"))),
    ),
    Rule(
        "integer-division",
        "a DIV b",
        "Both sides are cast to BIGINT (fractions truncated), then divided, truncating toward zero: `-7 DIV 2` = -3, `7.9 DIV 2` = 3; by zero: NULL.",
        "`//` of doubles is a fractional division (`-7.5 // 2` = -3.75).",
        "sqlglot writes `CAST(TRUNCATE(CAST(a AS DOUBLE) / b) AS BIGINT)`, which loses digits past 2^53 and fails on zero.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Each side cast to BIGINT the Hive way, then integer division with `NULLIF(b, 0)`.",
        (
            Example(scalar("i DIV 2")),
            Example(scalar("d DIV 2"), spark=scalar("CAST(d AS BIGINT) DIV 2")),
            Example(scalar("b DIV i")),
            Example(scalar("i DIV 0")),
        ),
        spark="Spark refuses `DIV` of a DOUBLE (Hive's UDFOPLongDivide takes BIGINTs and Hive converts the DOUBLE to one); the oracle casts to BIGINT first.",
        rewrite=_int_div,
        nodes=(exp.IntDiv,),
    ),
    Rule(
        "round",
        "ROUND(x[, d])",
        "HALF_UP (away from zero on a tie) on the decimal text of the double (`BigDecimal.valueOf`): `ROUND(2.675, 2)` = 2.68, `ROUND(-2.5)` = -3.0.",
        "Rounds the binary double: `ROUND(2.675::DOUBLE, 2)` = 2.67.",
        "Rounds the binary double.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "A double is rounded as a DECIMAL(38, 18) made from its text, then cast back to DOUBLE (values past 1e17 have no fraction to round). Integers and decimals stay as written.",
        (
            Example(scalar("ROUND(d, 2)")),
            Example(scalar("ROUND(d)")),
            Example(scalar("ROUND(d * 100, -1)")),
            Example(scalar("ROUND(CAST(2.675 AS DOUBLE), 2)")),
            Example(scalar("ROUND(i / 3, 3)")),
        ),
        spark="Spark reads a literal such as `2.5` as a DECIMAL where Hive reads a DOUBLE; the examples cast to DOUBLE so both round a double.",
        rewrite=_round,
        nodes=(exp.Round,),
    ),
    Rule(
        "null-ordering",
        "ORDER BY x [ASC | DESC]",
        "NULLs first in ascending order, last in descending order.",
        "NULLs last in both.",
        "NULLs last in both.",
        {"duckdb": "kept", "trino": "kept"},
        "Nothing to do: sqlglot writes `NULLS FIRST` for ascending keys.",
        (
            Example("SELECT i FROM oracle.vals ORDER BY i"),
            Example("SELECT s FROM oracle.vals ORDER BY s DESC"),
            Example("SELECT id FROM oracle.vals ORDER BY d, id"),
        ),
    ),
    Rule(
        "concat-null",
        "CONCAT(a, b, ...), CONCAT_WS(sep, ...)",
        "`concat` is NULL when any argument is; `concat_ws` skips NULL arguments.",
        "DuckDB's `CONCAT` skips NULLs.",
        "The same as Hive.",
        {"duckdb": "kept", "trino": "kept"},
        "Nothing to do: sqlglot writes `concat` as `||` on DuckDB.",
        (Example(scalar("CONCAT(s, '-', ts)")), Example(scalar("CONCAT_WS('/', s, ts)")), Example(scalar("CONCAT(s, CAST(i AS STRING))"))),
    ),
    Rule(
        "regex",
        "RLIKE / REGEXP, REGEXP_EXTRACT, REGEXP_REPLACE, SPLIT",
        "Java regular expressions; `regexp_extract` returns '' when nothing matches; `regexp_replace` replaces every match, `$1` in the replacement is a group.",
        "RE2: no lookaround, backreference, possessive or atomic groups; `$1` in a replacement is literal text (RE2 writes `\\1`).",
        "Joni: `regexp_extract` returns NULL when nothing matches.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Patterns must be literals; Java constructs RE2 lacks (lookaround, backreferences, possessive quantifiers, atomic groups, `\\G`, `\\Z`, "
        "`\\p{javaX}`, class intersection, flags x/d/u) are refused. `$n` replacements are written `\\n` on DuckDB; `regexp_extract` gives '' on Trino too.",
        (
            Example(scalar("s RLIKE '^[a-z]+$'")),
            Example(scalar("REGEXP_EXTRACT(ts, '([0-9]+)-([0-9]+)', 2)")),
            Example(scalar("REGEXP_EXTRACT(s, 'x(y)')")),
            Example(scalar("REGEXP_REPLACE(ts, '([0-9]{4})-([0-9]{2})', '$2/$1')")),
            Example(scalar("s REGEXP '(?=H)Hel'"), refused_on=ENGINES),
            Example(scalar("REGEXP_EXTRACT(s, '(l)\\\\1', 0)"), refused_on=ENGINES),
            Example(scalar("REGEXP_REPLACE(s, 'l++', 'L')"), refused_on=ENGINES),
        ),
        rewrite=_regex,
        nodes=(exp.RegexpLike, exp.RegexpExtract, exp.RegexpReplace, exp.RegexpSplit),
    ),
    Rule(
        "split",
        "SPLIT(s, regex), and an array index a[i]",
        "Splits on a regular expression and keeps empty strings (`split('a,b,,c', ',')` has 4 elements); `a[i]` is 0-based and NULL out of range.",
        "`STR_SPLIT_REGEX` (the same); lists are 1-based, sqlglot adds 1 to the index.",
        "`REGEXP_SPLIT`; `a[i]` fails out of range.",
        {"duckdb": "kept", "trino": "rewrite"},
        "On Trino an index into a split or an array literal is written `element_at`, NULL out of range. The pattern is checked as a regex.",
        (
            Example(scalar("SPLIT(s, ',')")),
            Example(scalar("SPLIT(s, ',')[1]")),
            Example(scalar("SPLIT(ts, '[-T: ]')[5]")),
            Example(scalar("SIZE(SPLIT(s, 'l'))")),
        ),
        rewrite=_bracket,
        nodes=(exp.Bracket,),
    ),
    Rule(
        "get-json-object",
        "GET_JSON_OBJECT(json, path)",
        "A string value unquoted; an object or array as JSON text; NULL for a missing key, JSON null or bad JSON.",
        "`json ->> path`: the same values, but an error for text that is not JSON.",
        "`JSON_EXTRACT_SCALAR` returns NULL for objects and arrays.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "DuckDB: `CASE WHEN JSON_VALID(j) THEN j ->> p END`. Trino: `COALESCE(JSON_EXTRACT_SCALAR(j, p), JSON_FORMAT(JSON_EXTRACT(j, p)))`. "
        "Paths with wildcards are refused.",
        (
            Example(scalar("GET_JSON_OBJECT(j, '$.c')")),
            Example(scalar("GET_JSON_OBJECT(j, '$.a')")),
            Example(scalar("GET_JSON_OBJECT(j, '$.a.b')")),
            Example(scalar("GET_JSON_OBJECT(j, '$.l[1]')")),
            Example(scalar("GET_JSON_OBJECT(j, '$.n')")),
            Example(scalar("GET_JSON_OBJECT(j, '$.a[*].b')"), refused_on=ENGINES),
        ),
        rewrite=_json,
        nodes=(exp.JSONExtractScalar,),
    ),
    Rule(
        "size-null",
        "SIZE(a)",
        "The number of elements; -1 for NULL.",
        "`ARRAY_LENGTH(NULL)` is NULL.",
        "`CARDINALITY(NULL)` is NULL.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Written `COALESCE(size, -1)`.",
        (Example(scalar("SIZE(SPLIT(s, ','))")), Example(aggregate("SIZE(CAST(NULL AS ARRAY<STRING>))"))),
        rewrite=_size,
        nodes=(exp.ArraySize,),
    ),
    Rule(
        "percentile",
        "PERCENTILE(x, p)",
        "The exact percentile of an integer column, interpolated between the two nearest values: {2, 5} at 0.5 is 3.5.",
        "`QUANTILE` is the discrete quantile (2).",
        "No exact percentile; sqlglot refuses to write it.",
        {"duckdb": "rewrite", "trino": "refuse"},
        "DuckDB: `QUANTILE_CONT(x, p)`. Trino: refused (compute the report on DuckDB).",
        (Example(aggregate("PERCENTILE(i, 0.5)"), refused_on=("trino",)), Example(aggregate("PERCENTILE(b, 0.9)"), refused_on=("trino",))),
        rewrite=_percentile,
        nodes=(exp.Quantile,),
    ),
    Rule(
        "percentile-approx",
        "PERCENTILE_APPROX(x, p[, B])",
        "An estimate from Hive's own histogram, a DOUBLE: {1, 2, 3, 4} at 0.6 is 2.4 (the exact value is 2.8).",
        "`APPROX_QUANTILE` (t-digest) gives another estimate.",
        "`APPROX_PERCENTILE` gives another estimate.",
        {"duckdb": "refuse", "trino": "refuse"},
        "Refused: no engine gives Hive's estimate. Use `percentile(x, p)` for the exact value.",
        (Example(aggregate("PERCENTILE_APPROX(i, 0.5)"), spark=aggregate("hive_percentile_approx(i, 0.5)"), refused_on=ENGINES),),
        spark="Spark's `percentile_approx` returns an element of the group, typed like the input (Spark 2 where Hive gives 2.0); the oracle calls Hive's own class.",
        rewrite=_percentile_approx,
        nodes=(exp.ApproxQuantile,),
    ),
    Rule(
        "string-to-boolean",
        "CAST(s AS BOOLEAN)",
        "TRUE for any non-empty string (also 'false' and '0'), FALSE for '', NULL for NULL (Hive 2.3's UDFToBoolean).",
        "TRUE/FALSE for 'true'/'false'/'t'/'1'..., NULL (TRY_CAST) otherwise.",
        "TRUE/FALSE for 'true'/'false'/'1'/'0', NULL (TRY_CAST) otherwise.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Written `CASE WHEN s IS NULL THEN NULL ELSE LENGTH(s) > 0 END`.",
        (
            Example(scalar("CAST(s AS BOOLEAN)"), spark=scalar("hive_to_boolean(s)")),
            Example(scalar("CAST(ts AS BOOLEAN)"), spark=scalar("hive_to_boolean(ts)")),
        ),
        spark="Spark reads 'false', 'no', '0' as FALSE and other strings as NULL; the oracle calls Hive's own UDFToBoolean.",
        rewrite=_cast_boolean,
        nodes=(exp.Cast,),
    ),
    Rule(
        "boolean-to-string",
        "CAST(flag AS STRING), booleans in results",
        "'true' / 'false'.",
        "'true' / 'false'.",
        "'true' / 'false'.",
        {"duckdb": "kept", "trino": "kept"},
        "Nothing to do (how result files print booleans is the TSV writer's job).",
        (Example(scalar("CAST(flag AS STRING)")), Example(scalar("CONCAT('is ', CAST(flag AS STRING))"))),
    ),
    Rule(
        "population-statistics",
        "STDDEV(x), STD(x), VARIANCE(x)",
        "The population statistics (Hive's GenericUDAFStd, GenericUDAFVariance), as `STDDEV_POP` and `VAR_POP`; `STDDEV_SAMP` and `VAR_SAMP` are the sample ones.",
        "`STDDEV` and `VARIANCE` are the sample statistics; `STD` does not exist.",
        "`STDDEV` and `VARIANCE` are the sample statistics; `STD` does not exist.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "`STDDEV` and `STD` are written `STDDEV_POP`, `VARIANCE` is written `VAR_POP`; the other four stay as written.",
        (
            Example(aggregate("STDDEV(d)"), spark=aggregate("hive_std(d)")),
            Example(aggregate("STD(i)"), spark=aggregate("hive_std(i)")),
            Example(aggregate("VARIANCE(d)"), spark=aggregate("hive_variance(d)")),
            Example(aggregate("VARIANCE(i)"), spark=aggregate("hive_variance(i)")),
            Example(aggregate("STDDEV_POP(d)")),
            Example(aggregate("VAR_POP(i)")),
            Example(aggregate("STDDEV_SAMP(d)")),
            Example(aggregate("VAR_SAMP(i)")),
        ),
        spark="Spark's `stddev` and `variance` are the sample statistics; the oracle calls Hive's own GenericUDAFStd and GenericUDAFVariance.",
        rewrite=_population,
        nodes=(exp.Stddev, exp.Variance, exp.Anonymous),
        typed=False,
    ),
    Rule(
        "greatest-least-null",
        "GREATEST(a, b, ...), LEAST(a, b, ...)",
        "NULL when any argument is NULL (since Hive 2.0, HIVE-12082): `greatest(1, NULL)` is NULL.",
        "Skips NULLs: `greatest(1, NULL)` = 1.",
        "NULL when any argument is NULL.",
        {"duckdb": "rewrite", "trino": "kept"},
        "DuckDB: `CASE WHEN a IS NULL OR b IS NULL ... THEN NULL ELSE GREATEST(a, b, ...) END`.",
        (
            Example(scalar("GREATEST(i, 1)"), spark=scalar("CASE WHEN i IS NULL THEN NULL ELSE GREATEST(i, 1) END")),
            Example(scalar("LEAST(i, d, 0)"), spark=scalar("CASE WHEN i IS NULL OR d IS NULL THEN NULL ELSE LEAST(i, d, 0) END")),
            Example(scalar("GREATEST(s, ts)"), spark=scalar("CASE WHEN s IS NULL OR ts IS NULL THEN NULL ELSE GREATEST(s, ts) END")),
        ),
        spark="Spark's `greatest` skips NULLs, and Hive's GenericUDFGreatest does not load in Spark (its FunctionRegistry needs Hive's LLAP jar); "
        "the oracle writes Hive's NULL rule as a CASE around Spark's `greatest`.",
        rewrite=_greatest_null,
        nodes=(exp.Greatest, exp.Least),
        typed=False,
    ),
    Rule(
        "floor-ceil-bigint",
        "FLOOR(x), CEIL(x), CEILING(x)",
        "A BIGINT for a DOUBLE or an integer: `floor(AVG(v))` prints 3; a DECIMAL for a DECIMAL.",
        "A DOUBLE for a DOUBLE (prints 3.0).",
        "A DOUBLE for a DOUBLE (prints 3.0).",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Written `CAST(FLOOR(x) AS BIGINT)` unless `x` is a DECIMAL; a value past the BIGINT range fails the query (Hive caps it).",
        (
            Example(scalar("FLOOR(d)")),
            Example(scalar("CEIL(d)")),
            Example(scalar("CEILING(i / 2)")),
            Example(aggregate("FLOOR(AVG(i))")),
            Example(scalar("FLOOR(i)")),
        ),
        rewrite=_floor_bigint,
        nodes=(exp.Floor, exp.Ceil),
    ),
    Rule(
        "double-to-string",
        "CAST(x AS STRING) and CONCAT(..., x, ...) of a DOUBLE",
        "Java's `Double.toString`: `1.0E7`, `2.675E7`, `5.35E-4`, `0.5`, `-2.5` (scientific below 0.001 and from 10^7).",
        "Plain decimals: `10000000.0`, `0.000535`.",
        "Scientific always: `5.0E-1`, `2.675E0`.",
        {"duckdb": "refuse", "trino": "refuse"},
        "Refused when the value is known to be a DOUBLE or FLOAT (neither engine writes Java's format, and older Javas do not always write the "
        "shortest digits). Integers made text stay allowed. Keep the value a number, or make an integer of it first.",
        (
            Example(scalar("CAST(d AS STRING)"), spark=scalar("hive_to_string(d)"), refused_on=ENGINES),
            Example(scalar("CAST(d * 1e7 AS STRING)"), spark=scalar("hive_to_string(d * 1e7)"), refused_on=ENGINES),
            Example(scalar("CONCAT('v=', d / 5000)"), spark=scalar("hive_concat('v=', d / 5000)"), refused_on=ENGINES),
            Example(scalar("CAST(i AS STRING)")),
            Example(scalar("CAST(CAST(ROUND(d) AS BIGINT) AS STRING)")),
            Example(scalar("CAST(CAST(ROUND(d * 100) AS BIGINT) AS STRING)")),
        ),
        spark="The oracle calls Hive's own UDFToString and GenericUDFConcat (Spark also writes Java's format, but through its own code).",
        rewrite=_double_to_string,
        nodes=(exp.Cast, exp.Concat, exp.ConcatWs),
    ),
    Rule(
        "decimal-literals",
        "Number literals with a fraction or an exponent: 2.50, 0.1, 1e3",
        "A DOUBLE in Hive 2.3 (Hive 3.0 reads a DECIMAL, HIVE-13945): `2.50` prints 2.5, `0.1 + 0.2 = 0.3` is false.",
        "`2.50` is a DECIMAL(3,2): it prints 2.50 and `0.1 + 0.2 = 0.3` is true.",
        "`2.50` is a DECIMAL(3,2), as on DuckDB.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Written with an exponent (`2.50e0`), which both engines read as a DOUBLE, as Java reads `2.50`. `2.5BD` stays a DECIMAL. "
        "`ROUND(2.675, 2)` then rounds a double the Hive way (2.68, see round).",
        (
            Example(aggregate("2.50"), spark=aggregate("2.50D")),
            Example(aggregate("0.1 + 0.2 = 0.3"), spark=aggregate("0.1D + 0.2D = 0.3D")),
            Example(aggregate("0.1 + 0.2"), spark=aggregate("0.1D + 0.2D")),
            Example(scalar("i * 1.5"), spark=scalar("i * 1.5D")),
            Example(aggregate("ROUND(2.675, 2)"), spark=aggregate("ROUND(2.675D, 2)")),
            Example(aggregate("1e3 + .5"), spark=aggregate("1e3 + 0.5D")),
        ),
        spark="Spark reads `2.50` as a DECIMAL; the oracle writes the DOUBLE literal `2.50D`.",
        rewrite=_double_literal,
        nodes=(exp.Literal,),
        typed=False,
    ),
    Rule(
        "lateral-view-outer",
        "LATERAL VIEW OUTER explode(a) t AS v",
        "A row whose array is NULL or empty is kept once, with v NULL.",
        "sqlglot drops OUTER (`CROSS JOIN UNNEST`): those rows vanish.",
        "sqlglot drops OUTER (`CROSS JOIN UNNEST`): those rows vanish.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "Written `LEFT JOIN UNNEST(a) AS t(v) ON TRUE` (the lateral views before it become joins too, in order). "
        "OUTER views of anything but `explode` of an array into one column are refused.",
        (
            Example("SELECT id, v FROM oracle.vals LATERAL VIEW OUTER explode(split(s, ',')) t AS v ORDER BY id, v"),
            Example("SELECT id, v FROM oracle.vals LATERAL VIEW OUTER explode(CASE WHEN i > 2 THEN split(s, ',') END) t AS v ORDER BY id, v"),
            Example(
                "SELECT id, v, w FROM oracle.vals LATERAL VIEW explode(split(ts, ' ')) t AS v LATERAL VIEW OUTER explode(split(s, ',')) u AS w "
                "ORDER BY id, v, w"
            ),
            Example("SELECT id, p, v FROM oracle.vals LATERAL VIEW OUTER posexplode(split(s, ',')) t AS p, v ORDER BY id, p", refused_on=ENGINES),
        ),
        rewrite=_lateral_outer,
        nodes=(exp.Lateral,),
        typed=False,
    ),
    Rule(
        "time-parts",
        "HOUR(x), MINUTE(x), SECOND(x)",
        "Of a string: parsed as `yyyy-MM-dd HH:mm:ss`, else as `HH:mm:ss` (a prefix; NULL when neither parses, also for '2026-01-01' "
        "and ISO text with a `T`): `hour('2026-11-01 05:06:07')` = 5, `minute('05:06:07')` = 6.",
        "No function takes a string: the query fails.",
        "No function takes a string: the query fails.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "A string argument is parsed with the two Java patterns as `unix_timestamp` parses (`TRY_STRPTIME` / `TRY(PARSE_DATETIME)` over the prefix).",
        (
            Example(scalar("HOUR(ts)"), spark=scalar("hive_hour(ts)")),
            Example(scalar("MINUTE(ts)"), spark=scalar("hive_minute(ts)")),
            Example(scalar("SECOND(ts)"), spark=scalar("hive_second(ts)")),
            Example(aggregate("HOUR('2026-11-01 05:06:07')"), spark=aggregate("hive_hour('2026-11-01 05:06:07')")),
            Example(aggregate("MINUTE('05:06:07')"), spark=aggregate("hive_minute('05:06:07')")),
            Example(scalar("HOUR(FROM_UNIXTIME(b))"), spark=scalar("hive_hour(FROM_UNIXTIME(b))")),
        ),
        spark="Spark reads any date text ('2026-01-01' is hour 0, ISO text with a `T` too); the oracle calls Hive's own UDFHour, UDFMinute and UDFSecond.",
        rewrite=_time_part,
        nodes=(exp.Hour, exp.Minute, exp.Second),
    ),
    Rule(
        "modulo",
        "a % b, PMOD(a, b)",
        "`%` has the sign of `a` (Java); by zero: NULL. `pmod` is `((a % b) + b) % b` (GenericUDFPosMod), NULL by zero: `pmod(-7, 3)` = 2, `pmod(7, -3)` = -2.",
        "`%` by zero is an error; there is no `PMOD`.",
        "`%` by zero is an error; there is no `PMOD`.",
        {"duckdb": "rewrite", "trino": "rewrite"},
        "`a % NULLIF(b, 0)`; `pmod(a, b)` is written `((a % NULLIF(b, 0)) + b) % NULLIF(b, 0)`.",
        (
            Example(scalar("i % 3")),
            Example(scalar("i % 0")),
            Example(scalar("d % 2")),
            Example(scalar("PMOD(i, 3)")),
            Example(scalar("PMOD(i, 0)")),
            Example(scalar("PMOD(d, 2)")),
            Example(scalar("PMOD(i, -3)"), spark=scalar("((i % -3) + -3) % -3")),
        ),
        spark="Spark's `pmod` differs for a negative divisor (`pmod(7, -3)` is 1), and Hive's GenericUDFPosMod needs a Hive session to load; "
        "that example's oracle is Hive's formula.",
        rewrite=_modulo,
        nodes=(exp.Mod, exp.Anonymous),
        typed=False,
    ),
    Rule(
        "integer-overflow",
        "INT and BIGINT arithmetic",
        "Wraps around as Java does: `CAST(2147483647 AS INT) + 1` = -2147483648.",
        "An 'Out of Range' error.",
        "An overflow error.",
        {"duckdb": "fails", "trino": "fails"},
        "Not rewritten: the query fails and the interval is retried, instead of a wrapped number. Cast to BIGINT before the arithmetic.",
        (Example(aggregate("CAST(2147483647 AS INT) + CAST(1 AS INT)"), fails_on=ENGINES),),
    ),
    Rule(
        "common-functions",
        "COUNT, SUM, COUNT(DISTINCT), IF, CASE, COALESCE, NVL, LOWER",
        "The usual meaning; `count(DISTINCT x)` ignores NULLs.",
        "The same.",
        "The same.",
        {"duckdb": "kept", "trino": "kept"},
        "Nothing to do; listed because the real Hive reports use them and the oracle tests check them.",
        (
            Example(aggregate("COUNT(*)")),
            Example(aggregate("COUNT(i)")),
            Example(aggregate("SUM(i)")),
            Example(aggregate("COUNT(DISTINCT flag)")),
            Example(scalar("IF(i > 2, 'big', 'small')")),
            Example(scalar("CASE WHEN i IS NULL THEN 'none' WHEN i < 0 THEN 'neg' ELSE 'pos' END")),
            Example(scalar("COALESCE(s, ts, 'x')")),
            Example(scalar("NVL(i, -1)")),
            Example(scalar("LOWER(s)")),
        ),
    ),
)
"""Every Hive construct whose meaning differs on DuckDB or Trino, and what the service does about it."""

_LEFTOVER = Rule(
    "date-patterns", "", "", "", "", {}, "", (), rewrite=_leftover_pattern, nodes=(exp.StrToTime, exp.StrToDate, exp.TimeToTimeStr, exp.UnixToTime)
)


def _handlers() -> dict[type[exp.Expression], list[Rule]]:
    table: dict[type[exp.Expression], list[Rule]] = {}
    for rule in (*RULES, _LEFTOVER):
        for cls in rule.nodes:
            table.setdefault(cls, []).append(rule)
    return table


HANDLERS = _handlers()

TYPED_NODES: tuple[type[exp.Expression], ...] = (*{cls for r in RULES if r.typed for cls in r.nodes}, exp.Concat, exp.ConcatWs)
"""Nodes whose Hive meaning depends on the types of their arguments (sqlglot writes concat for Trino by type too)."""


def rule(key: str) -> Rule:
    """The rule named `key`."""
    return next(r for r in RULES if r.key == key)


def position(node: exp.Expression) -> tuple[int, int]:
    """1-based line and column of a node: its own (a function's name), else the first of its parts the parser placed; 1:1 when unknown."""
    places = [_place(cast(exp.Expression, part)) for part in node.walk()]
    own = places[0] if places else None
    known = [p for p in places if p is not None]
    return own or (min(known) if known else (1, 1))


def _place(node: exp.Expression) -> tuple[int, int] | None:
    meta = node.meta if isinstance(node, exp.Expression) else {}
    if "line" not in meta or "col" not in meta:
        return None
    start, end = meta.get("start"), meta.get("end")
    width = (end - start + 1) if isinstance(start, int) and isinstance(end, int) else 1
    return int(meta["line"]), max(1, int(meta["col"]) - width + 1)


def _rules_for(node: exp.Expression) -> list[Rule]:
    """The rules of a node's own class, else of its nearest base (TRY_CAST is a CAST)."""
    own = HANDLERS.get(type(node))
    return own if own is not None else [r for cls, rules in HANDLERS.items() if isinstance(node, cls) for r in rules]


def _rewrites(tree: exp.Expression) -> Iterator[exp.Expression]:
    """The nodes a rule applies to, children before parents (a rewrite sees its arguments already rewritten)."""
    classes = tuple(HANDLERS)
    nodes = [n for n in tree.walk(bfs=False) if isinstance(n, classes)]
    return reversed(nodes)


def keep_meaning(tree: exp.Expression, write: str) -> exp.Expression:
    """`tree` (Hive SQL, typed where possible) rewritten so that `write` gives Hive's values; raises `SemanticsError`."""
    if write not in ENGINES:
        return tree
    ctx = Context(write)
    tree = tree.copy()
    for node in list(_rewrites(tree)):
        for r in _rules_for(node):
            assert r.rewrite is not None
            new = r.rewrite(node, ctx)
            if new is not None and new is not node:
                if new.type is None and node.type is not None:
                    new.type = node.type
                if node is tree:
                    tree = new
                else:
                    node.replace(new)
                break
    return tree


def refusals(tree: exp.Expression, write: str) -> list[SemanticsError]:
    """Every construct of `tree` that `write` refuses (all of them, for `metrics validate`)."""
    if write not in ENGINES:
        return []
    ctx = Context(write)
    found = []
    tree = tree.copy()
    if not any(column.type is not None for column in tree.find_all(exp.Column)):
        # untyped (no schema, as in `metrics validate`): the types literals and functions give (AVG is a DOUBLE)
        tree = annotate_types(tree, dialect=HiveSource)
    for node in list(_rewrites(tree)):
        for r in _rules_for(node):
            assert r.rewrite is not None
            try:
                r.rewrite(node.copy(), ctx)
            except SemanticsError as exc:
                found.append(exc)
                break
    return sorted(found, key=lambda e: (e.line, e.column))


def parse_hive(sql: str) -> exp.Expression:
    """One Hive statement, its date patterns kept as written (for the rules)."""
    return cast(exp.Expression, sqlglot.parse_one(sql, read=HiveSource))


# --- the docs page ---------------------------------------------------------------------------------


def markdown() -> str:
    """docs/hive-semantics.md, generated from `RULES`."""
    lines = [
        "# Hive semantics on DuckDB and Trino",
        "",
        "<!-- Generated from metrics/engines/hive_semantics.py: `python -m metrics.engines.hive_semantics > docs/hive-semantics.md` -->",
        "",
        "A report of `type: hive` (or a query with `dialect: hive`) is Hive SQL. sqlglot translates its syntax to the",
        "engine's; this table lists every Hive construct whose *meaning* differs on DuckDB or Trino, and what the service",
        "does: rewrite it so the engine gives Hive's value, or refuse it in `metrics validate` (and when the report runs)",
        "with the rewrite to use. A refusal reads",
        "",
        "```",
        "queries/x/report.hql:3:8: percentile_approx() estimates with Hive's histogram; ... [hive-semantics: percentile-approx] (use percentile(x, p), ...)",
        "```",
        "",
        "Each entry's examples run in the tests (`pytest -m spark`, `tests/metrics/test_hive_semantics_oracle.py`) on",
        "Spark SQL in Hive-compatible mode (ANSI off, legacy date patterns, UTC), the oracle of Hive's meaning, and through",
        "the service on DuckDB (and on Trino: `tests/metrics/test_hive_semantics_trino.py`, marked `spark` and `trino`); the values must be equal. Where Spark itself",
        "is not Hive, the entry says so and the oracle calls Hive 2.3's own UDF class instead.",
        "",
        "What the service does:",
        "",
    ]
    lines += [f"- **{name}**: {text}" for name, text in ACTIONS.items()]
    lines += ["", "| entry | construct | DuckDB | Trino |", "| --- | --- | --- | --- |"]
    for r in RULES:
        lines.append(f"| [{r.key}](#{r.key}) | `{r.construct}` | {r.action['duckdb']} | {r.action['trino']} |")
    for r in RULES:
        lines += [
            "",
            f"## {r.key}",
            "",
            f"`{r.construct}`",
            "",
            f"- **Hive:** {r.hive}",
            f"- **DuckDB by default:** {r.duckdb}",
            f"- **Trino by default:** {r.trino}",
            f"- **The service** (DuckDB: {r.action['duckdb']}, Trino: {r.action['trino']}): {r.service}",
        ]
        if r.spark:
            lines.append(f"- **Spark (the oracle):** {r.spark}")
        lines += ["", "Checked with:", ""]
        for e in r.examples:
            note = []
            if e.refused_on:
                note.append(f"refused on {', '.join(e.refused_on)}")
            if e.fails_on:
                note.append(f"fails on {', '.join(e.fails_on)}")
            if e.spark:
                note.append(f"oracle: `{e.spark}`")
            lines.append(f"- `{e.sql}`" + (f" ({'; '.join(note)})" if note else ""))
    lines += ["", "## Java date pattern fields", "", "| Java | DuckDB strftime | Trino (Joda) |", "| --- | --- | --- |"]
    for java, letter in JAVA_FIELDS.items():
        lines.append(f"| `{java}` | `{letter.duckdb}` | `{letter.joda}` |")
    lines += ["", "Refused: " + ", ".join(f"`{k}` ({v})" for k, v in JAVA_REFUSED.items()) + "; any other letter too.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
