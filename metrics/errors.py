"""The one base of every error a user can act on, and where in the input it is."""

from __future__ import annotations

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
        return [str(self) if self.where else f"error: {self}"]
