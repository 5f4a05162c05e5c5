"""Problems found in user input, reported as `file:line:column: message (hint)` lines, many at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

from metrics.errors import MetricsError, printable

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one place of one file; line and column are 1-based."""

    file: str
    line: int
    column: int
    message: str
    hint: str = ""
    severity: Severity = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        hint = f" ({self.hint})" if self.hint else ""
        return printable(f"{self.file}:{self.line}:{self.column}: {prefix}{self.message}{hint}")

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class InputError(MetricsError):
    """Bad user input: carries every problem found (all at once), each printable as one line.

    The `metrics` command exits 2 on it, as on a usage error: the input must change, a rerun alone will not help.
    """

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, file: str | Path, message: str, hint: str = "", line: int = 1, column: int = 1) -> "InputError":
        """An error with a single problem."""
        return cls([Problem(str(file), line, column, message, hint)])

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


SHOWN_CHARACTERS = 60
"""How much of a value a message quotes: enough to find it, never a line that floods the terminal."""


def shown(value: object, limit: int = SHOWN_CHARACTERS) -> str:
    """`repr(value)` for a one-line message, cut to about `limit` characters with its length said.

    A value from a hostile file may be megabytes of text or a number of thousands of digits; the
    message names it, it does not repeat it.
    """
    text = repr(value) if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 3]}... ({len(str(value)):,} characters)"
