"""`hive` and `beeline` for script reports: HiveQL on the service's engine, printed as the Hive CLI prints it.

Reportupdater's script reports call `hive -e "..."` (or `beeline`) and parse what it prints. While
the runner runs a script, `on_path` puts two small commands named `hive` and `beeline` first on
its PATH; they run here (`python -m metrics.hive_cli hive ...`) on the runner's engine and warehouse,
which reach them through `Engine.environment` (`METRICS_ENGINE`, `METRICS_WAREHOUSE`, ...).

What follows the Hive CLI (Hive 2.3, which Wikimedia ran; `cli/.../CliDriver.java`,
`OptionsProcessor.java`, `ql/.../Driver.java`, `VariableSubstitution`):

- options `-e SQL`, `-f FILE`, `-i FILE`, `--hiveconf k=v`, `--hivevar k=v` / `-d k=v` / `--define k=v`,
  `--database DB`, `-S` (silent: no `OK` / `Time taken` lines on stderr), `-v` (echo statements);
- statements split at `;` outside quotes, `--` comments dropped, `\\;` kept; each statement has
  `${hivevar:k}`, `${hiveconf:k}`, `${env:k}` and `${k}` (a hivevar, else a setting) replaced first;
- `set k=v;` (`set hivevar:k=v;`, `set k;` prints `k=v`), `use db;` (the database of unqualified
  tables, `default` at start), `add jar` (ignored), then queries; anything else is refused;
- output: one line per row, fields separated by tabs, the header line only when
  `hive.cli.print.header` is true, NULL as `NULL`, other values as `metrics.reports.printed.hive`;
  column names as Hive gives them (aliases lower-cased, `_c<i>` for an unnamed expression);
- errors: `FAILED: <Exception> [Error <code>]: <message>` on stderr; the exit status is Hive's
  error code modulo 256, as the JVM's `System.exit` leaves it: 64 for a parse error or another
  refused statement (code 40000), 17 for a missing table (10001); 1 for an unknown option, 2 for
  `-e` with `-f` (or `-H`), 3 for an unreadable `-f` file.

The settings start from Wikimedia's `hive-site.xml` (`SITE_CONF`), which real script reports relied
on: `hive.cli.print.header` is true there, so a script that never sets it still prints a header.

`beeline` takes `-e`/`-f`, `--hiveconf`, `--hivevar`, `--outputformat=tsv2` (the table format is
refused: a report needs TSV), `--showHeader`, `--silent`, `--nullemptystring`, `--force`, and
accepts and ignores the connection options (`-u URL`, `-n`, `-p`, `-d`, `-w`). It fails with
Beeline's `Error: ... (state=...,code=...)` line and exit status 2, as Beeline does.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Sequence, TextIO

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

    from metrics.engines import Engine

COMMANDS = ("hive", "beeline")

SITE_CONF = {
    "hive.cli.print.header": "true",
    "hive.resultset.use.unique.column.names": "false",
    "hive.variable.substitute.depth": "10000",
}
"""Settings before any `--hiveconf` or `set`: Wikimedia's (puppet-cdh `templates/hive/hive-site.xml.erb`)."""

DEFAULT_DATABASE = "default"

GENERIC_ERROR = (40000, "42000")
INVALID_TABLE = (10001, "42S02")
"""Hive's error codes and SQL states (`org.apache.hadoop.hive.ql.ErrorMsg`) of the errors raised here."""

BEELINE_ERROR = 2
"""Beeline's exit status for a failed statement (`BeeLine.ERRNO_OTHER`); 1 is for bad arguments."""

_VARIABLE = re.compile(r"\$\{[^}$ ]+\}")
_SET = re.compile(r"^\s*set(?:\s+(?P<rest>.*))?$", re.IGNORECASE | re.DOTALL)
_USE = re.compile(r"^\s*use\s+`?(?P<db>[A-Za-z0-9_]+)`?\s*$", re.IGNORECASE)
_RESOURCE = re.compile(r"^\s*(add|list|delete)\s+(jar|jars|file|files|archive|archives)\b", re.IGNORECASE)
_FUNCTION = re.compile(r"^\s*create\s+(temporary\s+)?function\s+(?P<name>\S+)", re.IGNORECASE)
_TOKEN = re.compile(r"<Token token_type: [^,]+, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, comments: \[.*?\]>")
_QUIT = re.compile(r"^\s*(quit|exit)\s*$", re.IGNORECASE)


class HiveError(Exception):
    """A statement Hive would fail: `kind` is Hive's exception name, `code` and `state` its error code and SQL state."""

    def __init__(self, kind: str, message: str, error: tuple[int, str] = GENERIC_ERROR):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code, self.state = error

    def __str__(self) -> str:
        """The CLI's line: `FAILED: SemanticException [Error 10001]: Line 1:14 Table not found 't'`."""
        tag = "" if self.code == GENERIC_ERROR[0] else f" [Error {self.code}]:"
        return f"FAILED: {self.kind}{tag} {self.message}"

    @property
    def status(self) -> int:
        """The CLI's exit status: the error code as `System.exit` leaves it (modulo 256)."""
        return self.code % 256


@dataclass
class Rows:
    """A query's result: Hive's column names, and each row's values as the CLI prints them (None for NULL)."""

    header: list[str]
    rows: list[list[str | None]]


@dataclass
class Lines:
    """What a non-query statement prints on stdout (`set k;`)."""

    lines: list[str]


def statements(text: str) -> list[str]:
    """The statements of a HiveQL script as the Hive CLI splits them.

    Splits at `;` outside quotes (`'`, `"`, backticks; a backslash escapes inside a string), drops
    `--` comments to the end of the line (keeping the line break, so positions keep their line),
    reads `\\;` outside quotes as a `;` that does not split. Blank statements are dropped.
    """
    out: list[str] = []
    current: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            current.append(char)
            if char == "\\" and quote != "`" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
            current.append(char)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif text.startswith("\\;", i):
            current.append(";")
            i += 1
        elif char == ";":
            out.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    out.append("".join(current))
    return [s for s in out if s.strip()]


def substitute(text: str, hivevars: Mapping[str, str], conf: Mapping[str, str]) -> str:
    """`text` with `${hivevar:k}`, `${hiveconf:k}`, `${env:k}` and `${k}` replaced (Hive's `VariableSubstitution`).

    `${k}` is a hivevar, else a setting. An unknown variable stays as written. Replacement repeats
    on the result up to `hive.variable.substitute.depth` times; none when `hive.variable.substitute`
    is false.
    """
    if conf.get("hive.variable.substitute", "true").lower() == "false":
        return text

    def value(match: re.Match[str]) -> str:
        name = match.group()[2:-1]
        found: str | None
        if name.startswith("hivevar:"):
            found = hivevars.get(name[len("hivevar:") :])
        elif name.startswith("hiveconf:"):
            found = conf.get(name[len("hiveconf:") :])
        elif name.startswith("env:"):
            found = os.environ.get(name[len("env:") :])
        else:
            found = hivevars.get(name)
            found = conf.get(name) if found is None else found
        return match.group() if found is None else found

    depth = int(conf.get("hive.variable.substitute.depth", "40"))
    for _ in range(depth + 1):
        replaced = _VARIABLE.sub(value, text)
        if replaced == text:
            return text
        text = replaced
    raise HiveError("IllegalStateException", f"Variable substitution depth is deeper than {depth} for expression {text[:200]}")


@dataclass
class Session:
    """One CLI session: settings, variables, the current database, and the engine opened at the first query.

    `run` takes one statement (see `statements`) and returns what it prints, or raises `HiveError`.
    """

    open_engine: Callable[[], Engine]
    conf: dict[str, str] = field(default_factory=lambda: dict(SITE_CONF))
    hivevars: dict[str, str] = field(default_factory=dict)
    database: str = DEFAULT_DATABASE
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self.open_engine()
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()

    def setting(self, name: str) -> bool:
        return self.conf.get(name, "false").strip().lower() == "true"

    def run(self, statement: str) -> Rows | Lines | None:
        """Run one statement: a query returns `Rows`, `set k;` returns `Lines`, other statements None."""
        statement = substitute(statement, self.hivevars, self.conf)
        if match := _SET.match(statement):
            return self._set((match.group("rest") or "").strip())
        if match := _USE.match(statement):
            self.database = match.group("db").lower()
            return None
        if _RESOURCE.match(statement):
            return None  # jars and files hold Java UDFs and SerDes, which never run here; the query says what is missing
        if match := _FUNCTION.match(statement):
            raise HiveError(
                "SemanticException",
                f"function {match.group('name')} is a Java class, which cannot run on this engine (rewrite the query with built-in functions)",
            )
        return self._query(statement)

    def _set(self, rest: str) -> Lines | None:
        if not rest or rest == "-v":
            return Lines([f"{k}={v}" for k, v in sorted(self.conf.items())] + [f"hivevar:{k}={v}" for k, v in sorted(self.hivevars.items())])
        key, eq, value = rest.partition("=")
        key, value = key.strip(), value.strip()
        if key.startswith("hivevar:"):
            if eq:
                self.hivevars[key[len("hivevar:") :]] = value
                return None
            found = self.hivevars.get(key[len("hivevar:") :])
        else:
            key = key.removeprefix("hiveconf:")
            if eq:
                self.conf[key] = value
                return None
            found = self.conf.get(key)
        return Lines([f"{key}={found}" if found is not None else f"{key} is undefined"])

    def _query(self, statement: str) -> Rows:
        from metrics.engines import QueryError
        from metrics.reports import printed

        tree = _parse(statement)
        text = self._qualified(statement, tree)
        try:
            table = self.engine.query(text, dialect="hive")
        except QueryError as exc:
            raise HiveError("SemanticException", str(exc)) from None
        return Rows(header(tree, table), printed.rows(table, "hive", skip=0))

    def _qualified(self, statement: str, tree: exp.Expr) -> str:
        """The statement with the current database before each unqualified table, once every table is known to exist."""
        from sqlglot import exp

        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        tables = [t for t in tree.find_all(exp.Table) if t.name and (t.db or t.name.lower() not in ctes)]
        named = [((t.db or self.database).lower(), t.name.lower()) for t in tables]
        engine = self.engine
        engine.prepare(named)
        known: dict[str, set[str]] = {}
        for node, (schema, name) in zip(tables, named):
            if name not in known.setdefault(schema, set(engine.tables(schema))):
                line, column = _position(statement, (node.args.get("db") or node.this).meta.get("start"))
                raise HiveError("SemanticException", f"Line {line}:{column} Table not found '{node.name}'", INVALID_TABLE)
        inserts = sorted((t.this.meta["start"] for t in tables if not t.db and "start" in t.this.meta), reverse=True)
        for start in inserts:
            statement = f"{statement[:start]}`{self.database}`.{statement[start:]}"
        return statement


def _parse(statement: str) -> exp.Expr:
    """The one query of a statement; `HiveError` (ParseException, or a refused statement) otherwise."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        trees = [t for t in sqlglot.parse(statement, read="hive") if t is not None]
    except ParseError as exc:
        error = exc.errors[0] if exc.errors else {}
        line, column = error.get("line", 1), max(0, error.get("col", 1) - len(error.get("highlight") or ""))
        description = _TOKEN.sub(lambda m: repr(m.group(1)), str(error.get("description") or exc))
        raise HiveError("ParseException", f"line {line}:{column} {description}") from None
    if len(trees) != 1 or not isinstance(trees[0], exp.Query):
        words = " ".join(statement.split()[:2]).upper()
        raise HiveError(
            "SemanticException",
            f"{words} cannot run here: this hive command runs queries, set, use and add jar (report tables are written by the runner)",
        )
    return trees[0]  # a select, a set operation or a subquery


def _position(text: str, offset: int | None) -> tuple[int, int]:
    """Hive's `line:column` of a character offset (line from 1, column from 0)."""
    if offset is None:
        return 1, 0
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1)


def header(tree: exp.Expr, table: pa.Table) -> list[str]:
    """The column names Hive gives a query's result: an alias or a column's name, lower-cased; `_c<i>` for another expression.

    With a `*` in the select list, the engine's names (lower-cased).
    """
    from sqlglot import exp

    query = tree
    while isinstance(query, (exp.SetOperation, exp.Subquery)):
        query = query.this
    selects = query.selects if isinstance(query, exp.Select) else []
    if len(selects) != table.num_columns or any(isinstance(s, exp.Star) or (isinstance(s, exp.Column) and isinstance(s.this, exp.Star)) for s in selects):
        return [name.lower() for name in table.column_names]
    names = []
    for i, select in enumerate(selects):
        if isinstance(select, exp.Alias) or isinstance(select, (exp.Column, exp.Dot)):
            names.append(select.output_name.lower())
        else:
            names.append(f"_c{i}")
    return names


# --- the two commands ----------------------------------------------------------------------------


class UsageError(Exception):
    """A bad command line: the message, and the exit status the real command gives."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


HIVE_USAGE = """usage: hive
 -d,--define <key=value>          Variable substitution to apply to Hive commands. e.g. -d A=B or --define A=B
    --database <databasename>     Specify the database to use
 -e <quoted-query-string>         SQL from command line
 -f <filename>                    SQL from files
 -H,--help                        Print help information
    --hiveconf <property=value>   Use value for given property
    --hivevar <key=value>         Variable substitution to apply to Hive commands. e.g. --hivevar A=B
 -i <filename>                    Initialization SQL file
 -S,--silent                      Silent mode in interactive shell
 -v,--verbose                     Verbose mode (echo executed SQL to the console)"""


@dataclass
class Options:
    """What a command line asks for (both commands)."""

    scripts: list[tuple[str, str]] = field(default_factory=list)  # ("e", text) or ("f", path), in order
    init: list[str] = field(default_factory=list)
    conf: dict[str, str] = field(default_factory=dict)
    hivevars: dict[str, str] = field(default_factory=dict)
    database: str | None = None
    silent: bool = False
    verbose: bool = False
    help: bool = False
    # beeline only
    outputformat: str = "table"
    show_header: bool = True
    null_empty: bool = False
    force: bool = False


def _pair(option: str, value: str) -> tuple[str, str]:
    key, eq, val = value.partition("=")
    if not eq or not key:
        raise UsageError(f"{option} needs key=value, got {value!r}", 1)
    return key, val


def hive_options(argv: Sequence[str]) -> Options:
    """`hive`'s command line (commons-cli GnuParser style: `--hiveconf` or `-hiveconf`, `-eSQL` or `-e SQL`)."""
    opts = Options()
    args = list(argv)
    i = 0

    def value(option: str) -> str:
        nonlocal i
        if i + 1 >= len(args):
            raise UsageError(f"Missing argument for option: {option.lstrip('-')}", 1)
        i += 1
        return args[i]

    while i < len(args):
        arg = args[i]
        name = "--" + arg.lstrip("-") if arg.startswith("-") and len(arg) > 2 else arg
        if arg in ("-e", "-f") or (arg[:2] in ("-e", "-f") and len(arg) > 2 and not arg.startswith("--")):
            text = arg[2:] if len(arg) > 2 else value(arg)
            opts.scripts.append((arg[1], text))
        elif arg == "-i":
            opts.init.append(value(arg))
        elif name == "--hiveconf":
            key, val = _pair(arg, value(arg))
            opts.conf[key] = val
        elif arg == "-d" or name in ("--define", "--hivevar"):
            key, val = _pair(arg, value(arg))
            opts.hivevars[key] = val
        elif name == "--database":
            opts.database = value(arg)
        elif arg in ("-S", "--silent"):
            opts.silent = True
        elif arg in ("-v", "--verbose"):
            opts.verbose = True
        elif arg in ("-H", "--help"):
            opts.help = True
        elif arg in ("-h", "-p", "--service", "--config", "--auxpath"):
            if arg == "--service" and args[i + 1 : i + 2] != ["cli"]:
                raise UsageError(f"hive --service {' '.join(args[i + 1 : i + 2])}: only the cli service runs here", 1)
            value(arg)  # a remote server, the service or a config folder: the engine is the service's
        else:
            raise UsageError(f"Unrecognized option: {arg}", 1)
        i += 1
    kinds = {kind for kind, _ in opts.scripts}
    if kinds == {"e", "f"}:
        raise UsageError("The '-e' and '-f' options cannot be specified simultaneously", 2)
    opts.scripts = opts.scripts[:1]  # commons-cli's getOptionValue: the first -e (or -f) wins
    if opts.help:
        raise UsageError("", 2)
    return opts


BEELINE_IGNORED = {
    "color",
    "headerInterval",
    "fastConnect",
    "autoCommit",
    "showWarnings",
    "showNestedErrs",
    "numberFormat",
    "maxWidth",
    "maxColumnWidth",
    "autosave",
    "incremental",
    "truncateTable",
    "isolation",
    "showDbInPrompt",
    "verbose",
    "delimiterForDSV",
}


def beeline_options(argv: Sequence[str]) -> Options:
    """`beeline`'s command line: `-e`/`-f` (repeatable), `--hiveconf`/`--hivevar`, `--name=value` options."""
    opts = Options(silent=False)
    args = list(argv)
    i = 0

    def value(option: str) -> str:
        nonlocal i
        if i + 1 >= len(args):
            raise UsageError(f"beeline: option {option} needs a value", 1)
        i += 1
        return args[i]

    def flag(name: str, text: str) -> bool:
        if text.lower() not in ("true", "false"):
            raise UsageError(f"beeline: --{name} takes true or false, got {text!r}", 1)
        return text.lower() == "true"

    while i < len(args):
        arg = args[i]
        if arg in ("-e", "-f"):
            opts.scripts.append((arg[1], value(arg)))
        elif arg == "-i":
            opts.init.append(value(arg))
        elif arg in ("-u", "-n", "-p", "-d", "-w", "-a", "--property-file"):
            value(arg)  # the connection: the engine is the service's
        elif arg == "--hiveconf":
            key, val = _pair(arg, value(arg))
            opts.conf[key] = val
        elif arg == "--hivevar":
            key, val = _pair(arg, value(arg))
            opts.hivevars[key] = val
        elif arg in ("-h", "--help"):
            opts.help = True
        elif arg.startswith("--") and "=" in arg:
            name, _, text = arg[2:].partition("=")
            if name == "outputformat":
                opts.outputformat = text
            elif name == "showHeader":
                opts.show_header = flag(name, text)
            elif name == "silent":
                opts.silent = flag(name, text)
            elif name == "nullemptystring":
                opts.null_empty = flag(name, text)
            elif name == "force":
                opts.force = flag(name, text)
            elif name not in BEELINE_IGNORED:
                raise UsageError(f"beeline: unknown option --{name}", 1)
        else:
            raise UsageError(f"beeline: unknown option {arg}", 1)
        i += 1
    if opts.help:
        raise UsageError("usage: beeline -u URL [-e SQL | -f FILE] --outputformat=tsv2 [--showHeader=false] [--silent=true] [--hivevar k=v]", 0)
    if opts.outputformat != "tsv2":
        raise UsageError(
            f"beeline: output format {opts.outputformat!r} is not supported here (script reports print TSV: pass --outputformat=tsv2)",
            1,
        )
    return opts


def _open_engine() -> Engine:
    """The engine the environment names (the runner's, through `Engine.environment`), opened lazily."""
    from metrics.config import load_settings
    from metrics.engines import open_configured

    return open_configured(load_settings(), lazy=True)


class _Printer:
    """Writes results and messages as one of the two commands does."""

    def __init__(self, session: Session, out: TextIO, err: TextIO, opts: Options, beeline: bool):
        self.session, self.out, self.err, self.opts, self.beeline = session, out, err, opts, beeline

    def script(self, text: str, quiet: bool = False) -> int:
        """Run every statement; the status of the first failure, else 0.

        With `hive.cli.errors.ignore` the hive status is the last statement's (Hive's `processLine`);
        with `--force` beeline runs on and fails if any statement failed.
        """
        status = 0
        for statement in statements(text):
            if _QUIT.match(statement):
                break
            started = time.perf_counter()
            if self.opts.verbose and not self.beeline:
                self.out.write(statement.strip() + "\n")
            try:
                result = self.session.run(statement)
            except HiveError as exc:
                if self.beeline:
                    self.err.write(f"Error: Error while compiling statement: {exc} (state={exc.state},code={exc.code})\n")
                    status = BEELINE_ERROR
                    if not self.opts.force:
                        return status
                else:
                    self.err.write(f"{exc}\n")
                    status = exc.status
                    if not self.session.setting("hive.cli.errors.ignore"):
                        return status
                continue
            status = status if self.beeline else 0  # beeline --force still fails in the end
            self.result(result, time.perf_counter() - started, quiet)
        return status

    def result(self, result: Rows | Lines | None, seconds: float, quiet: bool) -> None:
        quiet = quiet or self.opts.silent
        if isinstance(result, Lines):
            self.out.writelines(line + "\n" for line in result.lines)
            return
        if result is None:
            if self.beeline and not quiet:
                self.err.write(f"No rows affected ({seconds:.3f} seconds)\n")
            return
        null = "" if self.beeline and self.opts.null_empty else "NULL"
        show = self.opts.show_header if self.beeline else self.session.setting("hive.cli.print.header")
        if show:
            self.out.write("\t".join(result.header) + "\n")
        self.out.writelines("\t".join(null if v is None else v for v in row) + "\n" for row in result.rows)
        if not quiet:
            n = len(result.rows)
            if self.beeline:
                self.err.write(f"{n} row{'s' if n != 1 else ''} selected ({seconds:.3f} seconds)\n")
            else:
                self.err.write(f"OK\nTime taken: {seconds:.3f} seconds" + (f", Fetched: {n} row(s)\n" if n else "\n"))


def run(command: str, argv: Sequence[str], out: TextIO, err: TextIO, open_engine: Callable[[], Engine] = _open_engine, stdin: TextIO | None = None) -> int:
    """Run `hive` or `beeline` with `argv`, writing to `out` and `err`; returns the exit status."""
    beeline = command == "beeline"
    try:
        opts = beeline_options(argv) if beeline else hive_options(argv)
    except UsageError as exc:
        if str(exc):
            err.write(f"{exc}\n")
        if not beeline and exc.status in (1, 2):
            err.write(HIVE_USAGE + "\n")
        return exc.status
    session = Session(open_engine)
    session.conf.update(opts.conf)
    session.hivevars.update(opts.hivevars)
    printer = _Printer(session, out, err, opts, beeline)
    try:
        if opts.database:
            status = printer.script(f"use {opts.database}", quiet=True)
            if status:
                return status
        scripts = [("i", path) for path in opts.init] + (opts.scripts or [("e", (stdin or sys.stdin).read())])
        status = 0
        for kind, text in scripts:
            if kind in "fi":
                try:
                    text = Path(text).read_text("utf-8")
                except OSError as exc:
                    err.write(f"Could not open input file for reading. ({text} ({exc.strerror}))\n")
                    return 3 if not beeline else BEELINE_ERROR
            status = printer.script(text, quiet=kind == "i")  # init files run silently
            if status and not (beeline and opts.force):
                return status
        return status
    except BrokenPipeError:
        return 0  # the reader stopped reading (`| head`): Hive stops printing and succeeds
    finally:
        session.close()


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m metrics.hive_cli hive|beeline ARGS...`: what the commands on a script report's PATH run."""
    import logging

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to parsing as a Command" is no news here
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        sys.stderr.write(f"usage: python -m metrics.hive_cli {{{'|'.join(COMMANDS)}}} ARGS...\n")
        return 64
    out, err = sys.stdout, sys.stderr
    for stream in (out, err):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", newline="\n")
    from metrics import redact
    from metrics.errors import MetricsError

    try:
        return run(args[0], args[1:], out, err)
    except MetricsError as exc:  # settings or engine that cannot open
        redact.remember_environment()
        err.write(f"FAILED: {redact.mask_text(str(exc))}\n")
        return 1


_WRAPPER = '#!/bin/sh\nPYTHONPATH={path}${{PYTHONPATH:+:$PYTHONPATH}} exec {python} -P -m metrics.hive_cli {command} "$@"\n'


@contextlib.contextmanager
def on_path(engine: Engine, base: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """The environment for a script report's process: `hive` and `beeline` first on its PATH, running on `engine`.

    The commands are small shell wrappers in a temporary folder (removed on exit) that start this
    Python with this copy of `metrics`; `Engine.environment` tells them the engine and warehouse.
    """
    source = Path(__file__).resolve().parent.parent
    env = dict(os.environ if base is None else base)
    with tempfile.TemporaryDirectory(prefix="metrics-hive-") as folder:
        for command in COMMANDS:
            wrapper = Path(folder) / command
            wrapper.write_text(_WRAPPER.format(path=shlex.quote(str(source)), python=shlex.quote(sys.executable), command=command), "utf-8")
            wrapper.chmod(0o755)
        yield {**env, **engine.environment(), "PATH": folder + os.pathsep + env.get("PATH", os.defpath)}


if __name__ == "__main__":
    sys.exit(main())
