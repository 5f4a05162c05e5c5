"""The one base of every error a user can act on, and where in the input it is."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A place in the input: a file (or an option, a URL), and when known its 1-based line and column."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column is not None else "")


class MetricsError(Exception):
    """What is wrong, what to do, and where: the `metrics` command prints it as one line and exits
    with `exit_code` (1: something failed while running; `metrics.problems.InputError`, bad input, 2).

    Every exception the user is meant to read derives from this class; any other exception
    reaching the command is a bug, reported as such (exit 2).
    """

    exit_code = 1

    def __init__(self, message: str, hint: str = "", where: Location | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where

    def __str__(self) -> str:
        place = f"{self.where}: " if self.where else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{place}{self.message}{hint}"

    def lines(self) -> list[str]:
        """The lines the command prints: `file:line:column: message (hint)`, or `error: message (hint)` with no location."""
        return [printable(str(self) if self.where else f"error: {self}")]


class UsageError(MetricsError):
    """A bad command-line argument (an empty range, an option that does not fit another): exit 2, as for all bad input."""

    exit_code = 2


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Control characters, line and paragraph separators, and the bidirectional controls that can make
a line display other than it reads (an RTL override in a file name turns `txt.exe` around)."""


def printable(text: str) -> str:
    """`text` with each control or bidirectional-control character written as its escape (`\\x00`,
    `\\u202e`): a problem line stays one line on the terminal and reads as it is."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
