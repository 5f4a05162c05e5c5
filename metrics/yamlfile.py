"""Read a YAML file into plain data plus the line and column of every key and value.

This is the one reader of every YAML file the project reads (specs, query folder configs,
Graphite lookups, section maps, the files of a Superset bundle). Everything that can go wrong
with the file itself (too big, not a regular file, unreadable, binary, not UTF-8, empty, tabs,
bad indentation, duplicate keys) becomes an `InputError` with one line per problem, and so does
a file that would cost more than it can hold: the limits below are checked while PyYAML scans
and composes the document (`_Limited`), before anything is built from it, so a hostile file is
refused in time and memory proportional to the limits, not to what it would expand to.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from metrics.problems import InputError, Problem

MAX_BYTES = 1_000_000
"""A spec or config is a few kilobytes; anything over this is not what the user meant to load."""
MAX_NODES = 50_000
"""Values (scalars, lists, mappings) in one document, each alias counted as the values it stands for.

The shipped specs hold about 300 and a config with an inline list of 1,000 wikis about 1,000.
Aliases are allowed (`<<: *defaults` is common in configs), but a "billion laughs" of nested
anchors, which stands for hundreds of millions of values in a few hundred bytes, stops at the
alias that crosses this count.
"""
MAX_DEPTH = 64
"""Lists and mappings nested in one another; a spec nests 5 deep. Deeper input would exhaust
Python's recursion before any error could name its line."""
MAX_INT = 2**63 - 1
"""Integers are 64-bit, as every engine stores them; a wider one is refused where it is written."""
_MAX_INT_TEXT = 40
"""Longer integer text is refused before Python converts it (conversion is quadratic in its length)."""
_INT_TAG = "tag:yaml.org,2002:int"

PathKey = tuple[str | int, ...]


@dataclass
class Located:
    """Parsed YAML data and where each part of it stands in the file."""

    file: str
    data: Any
    value_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: PathKey, *, key: bool = False) -> tuple[int, int]:
        """Line and column of the deepest known part of `path` (the key itself when `key`)."""
        path = tuple(path)
        while path:
            marks = self.key_marks if key else self.value_marks
            if path in marks:
                return marks[path]
            if path in self.value_marks:
                return self.value_marks[path]
            path = path[:-1]
            key = False
        return self.value_marks.get((), (1, 1))

    def problem(self, path: PathKey, message: str, hint: str = "", *, key: bool = False, severity: str = "error") -> Problem:
        line, column = self.position(path, key=key)
        return Problem(self.file, line, column, message, hint, severity)  # type: ignore[arg-type]


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class LimitError(yaml.MarkedYAMLError):
    """A document over one of the limits (MAX_NODES, MAX_DEPTH), at the event that crossed it."""

    def __init__(self, problem: str, hint: str, mark: yaml.Mark):
        super().__init__(problem=problem, problem_mark=mark)
        self.hint = hint


class _Limited(yaml.SafeLoader):
    """PyYAML's safe loader that counts, while composing, the values the document stands for.

    Composing keeps one node per anchor, so the node graph stays as small as the text; what
    grows without bound is its expansion, which the walker (and any consumer) would build. Each
    composed node records its expanded size (itself plus its children, an alias counting as the
    size of its anchor's node), so the expansion is known exactly without being built. An alias
    to a node still being composed (`&a [*a]`) would expand forever and is refused.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._count = 0
        self._sizes: dict[int, int] = {}

    def _add(self, size: int, mark: yaml.Mark, alias: str | None) -> None:
        self._count += size
        if self._count > MAX_NODES:
            if alias is not None:
                problem = f"alias *{alias} makes the document stand for more than {MAX_NODES:,} values"
                hint = "write the repeated part out, or nest fewer aliases: a YAML 'billion laughs' attack looks like this"
            else:
                problem = f"the document holds more than {MAX_NODES:,} values"
                hint = "a spec or config is a few hundred values: is this the right file?"
            raise LimitError(problem, hint, mark)

    def fetch_flow_collection_start(self, TokenClass: type) -> None:  # noqa: N803 - PyYAML's name
        # Refused while scanning too: the scanner runs ahead of the composer and costs the square
        # of the flow depth in its search for simple keys ([[[... a thousand deep takes a second).
        if self.flow_level >= MAX_DEPTH:
            raise LimitError(f"lists and mappings nested more than {MAX_DEPTH} deep", "a spec or config nests a few levels: flatten it", self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(id(target))
                if size is None:
                    raise LimitError(
                        f"alias *{event.anchor} refers to the node that contains it, which would repeat without end",
                        "refer only to a node that is complete before the alias",
                        event.start_mark,
                    )
                self._add(size, event.start_mark, event.anchor)
            return super().compose_node(parent, index)
        event = self.peek_event()
        collection = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        self._depth += collection
        if self._depth > MAX_DEPTH:
            raise LimitError(f"lists and mappings nested more than {MAX_DEPTH} deep", "a spec or config nests a few levels: flatten it", event.start_mark)
        before = self._count
        node = super().compose_node(parent, index)
        self._depth -= collection
        self._add(1, event.start_mark, None)
        self._sizes[id(node)] = self._count - before
        return node


class _Walker:
    """Builds Python data from a composed node tree, recording marks and refusing duplicate keys."""

    def __init__(self, loader: _Limited, located: Located):
        self.loader = loader
        self.located = located
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.located.value_marks[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            result: dict[Any, Any] = {}
            first_seen: dict[Any, yaml.Node] = {}
            for key_node, value_node in node.value:
                key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, (str, int, float, bool)) and (key is not None or not isinstance(key_node, yaml.ScalarNode)):
                    self.problems.append(Problem(self.located.file, *_mark(key_node), "a mapping key must be a plain value", "write the key as text"))
                    continue
                key = str(key) if not isinstance(key, str) else key
                if key in first_seen:
                    line, _ = _mark(first_seen[key])
                    self.problems.append(Problem(self.located.file, *_mark(key_node), f"duplicate key '{key}' (first at line {line})", "keep one of them"))
                    continue
                first_seen[key] = key_node
                self.located.key_marks[path + (key,)] = _mark(key_node)
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        """The value of a scalar node; its text when it is not what its tag says (`2024-13-01`, `!!bool maybe`)."""
        if node.tag == _INT_TAG and len(node.value) > _MAX_INT_TEXT:
            return self._too_big(node, f"of {len(node.value):,} characters")
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError:
            raise
        except Exception:  # noqa: BLE001 - PyYAML's scalar constructors raise ValueError, KeyError, ...
            # Kept as its text, so that the schema reports it at its place along with every
            # other problem of the file.
            return node.value
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            return self._too_big(node, node.value)
        return value

    def _too_big(self, node: yaml.Node, what: str) -> None:
        self.problems.append(
            Problem(self.located.file, *_mark(node), f"integer {what} is beyond 64 bits", f"write a number of at most {MAX_INT:,}, or quote it to make it text")
        )
        return None


def _syntax_problem(file: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "not valid YAML"
    if "'\\t'" in problem or "tab" in problem.lower():
        return Problem(file, line, column, "tab character in indentation", "YAML is indented with spaces only: replace the tab with spaces")
    hint = exc.hint if isinstance(exc, LimitError) else "check the indentation of this line and the one before it"
    if isinstance(exc, LimitError):
        return Problem(file, line, column, problem, hint)
    if exc.context:
        problem = f"{exc.context}, {problem}"
    return Problem(file, line, column, f"YAML syntax error: {problem}", hint)


def read_text(path: Path, *, max_bytes: int = MAX_BYTES, kind: str = "YAML") -> str:
    """The file's text, refusing what cannot be a hand-written `kind` (YAML, TOML) file.

    Raises `InputError` for a missing, unreadable or non-regular file (a folder, a pipe), one
    over `max_bytes`, a binary file and text that is not UTF-8 (at the line and column of the
    first bad byte).
    """
    file = str(path)
    too_big = "a spec or config is a few KB: is this the right file?"
    try:
        status = path.stat()
    except OSError as exc:
        raise InputError.at(file, f"cannot read file: {exc.strerror}", "check the path") from None
    except ValueError:  # a NUL in the name
        raise InputError.at(file, "not a possible file name", "check the path") from None
    if stat.S_ISDIR(status.st_mode):
        raise InputError.at(file, "is a folder, not a file", f"name the {kind} file itself, or remove the folder that has its name")
    if not stat.S_ISREG(status.st_mode):
        raise InputError.at(file, "not a regular file (a pipe, socket or device)", f"name a {kind} text file")
    if status.st_size > max_bytes:
        raise InputError.at(file, f"file is {status.st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit", too_big)
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError.at(file, f"cannot read file: {exc.strerror}", "check the file's permissions") from None
    if len(raw) > max_bytes:  # it grew since stat
        raise InputError.at(file, f"file is over the {max_bytes / 1e6:.0f} MB limit", too_big)
    if b"\x00" in raw:
        raise InputError.at(file, f"binary file, not {kind} text", f"a spec or config is a UTF-8 {kind} text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError.at(file, "not UTF-8 text", "save the file as UTF-8", line, column) from None
    return text.removeprefix("\ufeff")


def load(path: Path | str, *, max_bytes: int = MAX_BYTES) -> Located:
    """Parse one YAML document; raises `InputError` naming the file, line and column."""
    path = Path(path)
    file = str(path)
    return parse(read_text(path, max_bytes=max_bytes), file)


def parse(text: str, file: str) -> Located:
    """Parse one YAML document read from elsewhere (a member of a ZIP), named `file` in problems.

    The same limits as `load` apply, except the file size, which the caller checks.
    """
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise InputError.at(file, "empty file", "write the YAML content, or delete the file")
    try:
        loader = _Limited(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, found before parsing
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise InputError.at(
            file, f"character U+{exc.character:04X} is not allowed in YAML", "remove it, or write it as an escape in a double-quoted string", line, column
        ) from None
    located = Located(file, None)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError.at(file, "empty file", "write the YAML content, or delete the file")
        walker = _Walker(loader, located)
        located.data = walker.build(node, ())
    except yaml.MarkedYAMLError as exc:
        raise InputError([_syntax_problem(file, exc)]) from None
    except yaml.YAMLError as exc:
        raise InputError.at(file, f"YAML error: {' '.join(str(exc).split())}", "fix the YAML syntax") from None
    finally:
        loader.dispose()
    if walker.problems:
        raise InputError(walker.problems)
    return located
