"""The blacklist: (domain, page) pairs left out of every ranking, read from a file.

One pair a line, `domain_code page_title`, written as the dumps write fields (Spark's CSV
quoting: `""` is the empty domain, `"a\\"b"` is `a"b`, escapes count only inside quotes), so a
line can be copied from a dump. Empty lines and lines starting with `#` are skipped (a domain
code never starts with `#`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.pageviews import unquote
from metrics.problems import InputError, Problem


class Blacklist:
    """A set of (domain, title) pairs; false when empty."""

    def __init__(self, pairs: set[tuple[str, str]] | None = None, source: str = ""):
        self.pairs = frozenset(pairs or ())
        self.source = source
        self._titles = pa.array(sorted({title for _, title in self.pairs}), pa.string())

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def digest(self) -> str:
        """A short hash of the pairs (not of the file's layout): what a result records it was computed without."""
        if not self.pairs:
            return ""
        text = "\n".join(f"{d}\t{t}" for d, t in sorted(self.pairs))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def listed(self, titles: pa.Array, domains: np.ndarray, names: list[str]) -> np.ndarray | None:
        """Which rows (title text, domain id into `names`) are blacklisted; None when none is."""
        hits = np.flatnonzero(pc.is_in(titles, value_set=self._titles).to_numpy(zero_copy_only=False))
        if not len(hits):
            return None
        found = np.zeros(len(titles), bool)
        for i in hits:
            found[i] = (names[domains[i]], titles[int(i)].as_py()) in self.pairs
        return found if found.any() else None


def read(path: Path | str) -> Blacklist:
    """Read a blacklist file; `InputError` lists every bad line (file:line: what, and the fix)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError.at(path, f"cannot read the blacklist: {exc.strerror or exc}", "give the path of a file of 'domain_code page_title' lines") from None
    pairs: set[tuple[str, str]] = set()
    problems: list[Problem] = []
    hint = "write one 'domain_code page_title' pair a line, quoted as in the dumps (\"\" for the empty domain)"
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark, as some editors write
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(str(path), number, 1, "line is not UTF-8", "save the file as UTF-8"))
            continue
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(" ")
        if len(fields) != 2:
            problems.append(Problem(str(path), number, 1, f"expected 2 space-separated fields, found {len(fields)}: {line!r}", hint))
            continue
        try:
            pairs.add((unquote(fields[0]), unquote(fields[1])))
        except ValueError as exc:
            column = 1 if fields[0].startswith('"') and not _well_quoted(fields[0]) else len(fields[0]) + 2
            problems.append(Problem(str(path), number, column, str(exc), hint))
    if problems:
        raise InputError(problems)
    return Blacklist(pairs, str(path))


def _well_quoted(field: str) -> bool:
    try:
        unquote(field)
    except ValueError:
        return False
    return True
