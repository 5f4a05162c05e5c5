"""Read a YAML file into plain data plus the line and column of every key and value.

Everything that can go wrong with the file itself (too big, binary, not UTF-8, empty, tabs,
bad indentation, duplicate keys) becomes an `InputError` with one line per problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from metrics.problems import InputError, Problem

MAX_BYTES = 1_000_000
"""A spec or config is a few kilobytes; anything over this is not what the user meant to load."""

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


class _Walker:
    """Builds Python data from a composed node tree, recording marks and refusing duplicate keys."""

    def __init__(self, loader: yaml.SafeLoader, located: Located):
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
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
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
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError:
            # A date-shaped scalar that is no date (2024-13-01): kept as its text, so that the
            # schema reports it at its place along with every other problem of the file.
            return node.value


def _syntax_problem(file: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "not valid YAML"
    if "'\\t'" in problem or "tab" in problem.lower():
        return Problem(file, line, column, "tab character in indentation", "YAML is indented with spaces only: replace the tab with spaces")
    hint = "check the indentation of this line and the one before it"
    if exc.context:
        problem = f"{exc.context}, {problem}"
    return Problem(file, line, column, f"YAML syntax error: {problem}", hint)


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, refusing what cannot be a hand-written YAML file."""
    file = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError.at(file, f"cannot read file: {exc.strerror}", "check the path") from None
    if size > max_bytes:
        raise InputError.at(file, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit", "a spec is a few KB: is this the right file?")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise InputError.at(file, "binary file, not YAML text", "a spec is a UTF-8 YAML text file")
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
    text = read_text(path, max_bytes=max_bytes)
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise InputError.at(file, "empty file", "write the YAML content, or delete the file")
    loader = yaml.SafeLoader(text)
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
        raise InputError.at(file, f"YAML error: {exc}", "fix the YAML syntax") from None
    finally:
        loader.dispose()
    if walker.problems:
        raise InputError(walker.problems)
    return located
