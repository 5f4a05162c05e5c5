"""SQL text between dialects: parse one statement, keep its meaning, render it for an engine.

Library callers write SQL in one declared dialect (Trino's by default) and bind values by
name with `:name` placeholders, which sqlglot parses as placeholders in Trino and Hive SQL.
(SQL written in DuckDB's dialect uses DuckDB's own `$name`: there `SELECT :a` reads as a
prefix alias.) Each engine renders placeholders in its driver's style (`$name` for DuckDB, `?`
in text order for Trino's client); values travel beside the SQL text, never inside it.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.tokens import TokenType

from metrics.engines import hive_semantics
from metrics.engines.base import Engine, QueryError
from metrics.engines.hive_semantics import HiveSource

DEFAULT_DIALECT = "trino"
"""The dialect of SQL that library functions accept unless told otherwise (DESIGN.md)."""

DIALECTS = ("trino", "hive", "duckdb")
"""The dialects a query may be written in."""

SqlSchema = Mapping[str, Mapping[str, Mapping[str, str]]]
"""schema -> table -> column -> SQL type, as sqlglot wants it for type annotation."""


def parse(sql: str, read: str) -> exp.Expression:
    """The one statement of `sql`, read as dialect `read`; raises `QueryError` saying why not.

    Hive SQL keeps its Java date patterns as written, for `hive_semantics` to translate.
    """
    dialect: Any = HiveSource if read == "hive" else read
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE) if isinstance(s, exp.Expression)]
    except SqlglotError as exc:
        raise QueryError(f"cannot parse the query as {read} SQL: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryError(f"a query is one statement, found {len(statements)} (remove the extra ones)")
    return statements[0]


def typed(tree: exp.Expression, read: str, schema: SqlSchema | Callable[[], SqlSchema] | None) -> exp.Expression:
    """The statement with column types annotated from `schema` when it needs them to keep its meaning.

    Trino's `a / b` of integers is integer division; DuckDB's is a float. Typed, the statement
    renders as integer division on DuckDB. Hive SQL is typed when a rule of `hive_semantics`
    applies (its rewrites depend on types). `schema` may be a function, called only when needed.
    """
    needs: tuple[type[exp.Expression], ...] = (exp.Div, *hive_semantics.TYPED_NODES) if read == "hive" else (exp.Div,)
    if schema is None or not any(isinstance(node, needs) for node in tree.walk()):
        return tree
    tables: dict[str, object] = dict(schema() if callable(schema) else schema)  # sqlglot annotates a dict
    try:
        return annotate_types(qualify(tree.copy(), schema=tables, dialect=read, validate_qualify_columns=False), schema=tables)
    except SqlglotError:
        return tree  # unknown tables or columns: the engine names them when the query runs


def generate(tree: exp.Expression, write: str) -> str:
    """A parsed statement as SQL of dialect `write`; raises `QueryError` for what `write` cannot say."""
    try:
        return tree.sql(dialect=write, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise QueryError(f"cannot write the query as {write} SQL: {_first_line(exc)}") from None


def keep_meaning(tree: exp.Expression, read: str, write: str, schema: SqlSchema | Callable[[], SqlSchema] | None = None) -> exp.Expression:
    """A parsed statement of dialect `read`, typed and rewritten so that `write` gives it the same meaning.

    Raises `QueryError` (a `SemanticsError`) for a Hive construct no rewrite keeps (see `hive_semantics`).
    """
    tree = typed(tree, read, schema)
    if read == "hive":
        tree = hive_semantics.keep_meaning(tree, write)
    return tree


def render(tree: exp.Expression, read: str, write: str, schema: SqlSchema | Callable[[], SqlSchema] | None = None) -> str:
    """A parsed statement of dialect `read` as SQL of dialect `write`, with the same meaning (see `keep_meaning`)."""
    if read == write:
        return tree.sql(dialect=write)
    return generate(keep_meaning(tree, read, write, schema), write)


def transpile(
    sql: str, read: str = DEFAULT_DIALECT, write: str | Engine | type[Engine] = "duckdb", schema: SqlSchema | Callable[[], SqlSchema] | None = None
) -> str:
    """One statement of dialect `read` as SQL for `write` (a dialect name, or an engine).

    Given an engine instance and no `schema`, the engine's own tables type the statement.
    `:name` placeholders are kept (rendered in the target dialect's named style).
    """
    dialect = write if isinstance(write, str) else write.dialect
    if schema is None and not isinstance(write, (str, type)):
        schema = write.sql_schema
    return render(parse(sql, read), read, dialect, schema)


def placeholder_names(tree: exp.Expression) -> list[str]:
    """The names of the `:name` placeholders of a statement; refuses unnamed (`?`) and numbered (`$1`) ones."""
    names = []
    for node in tree.find_all(exp.Placeholder):
        name = node.this
        if not isinstance(name, str) or not name.isidentifier():
            raise QueryError("unnamed or numbered placeholder (? or $1) in the query (bind values by name: write :name and pass {'name': value})")
        names.append(name)
    return names


def check_params(tree: exp.Expression, params: Mapping[str, Any]) -> list[str]:
    """The placeholder names of `tree`, each with a value in `params`; raises `QueryError` otherwise."""
    names = placeholder_names(tree)
    missing = sorted({n for n in names if n not in params})
    if missing:
        raise QueryError(
            f"no value given for placeholder(s) {', '.join(':' + n for n in missing)} (give each a value: params={{'name': value}} in Python, -p name=VALUE on the command line)"
        )
    unused = sorted(set(params) - set(names))
    if unused:
        raise QueryError(f"value(s) given for {', '.join(unused)}, which the query does not use (write :name where each goes)")
    return names


def positional(tree: exp.Expression, dialect: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """SQL of `dialect` with `?` for each `:name` placeholder, and the values in the order of the text.

    For drivers that bind positionally (qmark style, e.g. Trino's client). The order is read from
    the rendered text's tokens, so it holds whatever order the dialect renders clauses in.
    """
    check_params(tree, params)
    text = generate(tree, dialect)
    tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(text)
    out, values, last = [], [], 0
    for colon, name in zip(tokens, tokens[1:]):
        if colon.token_type == TokenType.COLON and name.text in params and name.start == colon.end + 1:
            out.append(text[last : colon.start] + "?")
            values.append(params[name.text])
            last = name.end + 1
    out.append(text[last:])
    return "".join(out), values


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
