"""Hostile YAML documents for the property-based tests of the spec loader and the config reader.

Three kinds, each drawn by hypothesis:

- `mutated(documents)`: a real shipped spec or config, parsed, with a few of its values replaced
  by values of the wrong type or range (huge and negative integers, NaN, dates from year 1 to
  9999, unicode look-alikes, lists where text goes), keys deleted, renamed or added, then
  written back as YAML: valid YAML, wrong content.
- `edited(texts)`: the same files edited as text, characters inserted, deleted or replaced:
  mostly syntax errors, sometimes a subtly different document.
- `attacks()`: the constructs that cost the most: nested anchors ("billion laughs"), recursive
  aliases, deep nesting, long integers, odd tags, bytes that are not UTF-8.
- plus raw bytes (`st.binary()`) and YAML-ish text.

`Tally` runs one input, times it, measures its peak allocation, and sorts its outcome: a success,
a located problem (allowed), or anything else (a traceback: counted as a failure).
"""

from __future__ import annotations

import datetime as dt
import resource
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml
from hypothesis import HealthCheck, settings, strategies as st

from metrics.problems import InputError, Problem

TIME_LIMIT = 3.0
"""Seconds one input may take (a valid spec loads in milliseconds; a hostile one must be refused as fast)."""
MEMORY_LIMIT = 200_000_000
"""Bytes by which one input may raise the process's peak resident memory (the reader refuses files
over 1 MB; the "billion laughs" it refuses used 1.8 GB)."""
MESSAGE_LIMIT = 600
"""Characters one problem line may have: a message names a value, it does not repeat it."""

FUZZ = settings(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
"""Hypothesis settings for the fuzz tests: seeded (the same inputs on every run), no example database."""

LOOK_ALIKES = ["\uff0e", "\u2024", "\u200f", "\u202e", "\u0430", "\u037e", "\uff07", "\u2215", "\u00a0", "\ufeff", "\x00", "\x85", "\u2028"]
"""Fullwidth full stop, one dot leader, RTL mark, RTL override, Cyrillic a, Greek question mark,
fullwidth apostrophe, division slash, no-break space, BOM, NUL, NEL, line separator."""

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just(10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(),
    st.text(max_size=30),
    st.lists(st.sampled_from(["a", "_", "1", ".", "/", "..", "{", "}", ":", "'", '"', ";", "--", "#", " ", *LOOK_ALIKES]), max_size=12).map("".join),
    st.sampled_from(["", "open", "report", "statsd", "days", "weeks", "months", "hive", "sql", "script", "1.0.0", "2026-02-30", "0999-12-30", "9999-12-31"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value of `data` (the root included)."""
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _paths(value, prefix + (index,))
    return out


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def mutated(draw: st.DrawFn, documents: list[Any]) -> bytes:
    """A document of `documents`, with 1-4 of its values, keys or items changed, as YAML bytes."""
    data = yaml.safe_load(yaml.safe_dump(documents[draw(st.integers(0, len(documents) - 1))]))  # a deep copy
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "rename"]))
        if not path:
            if action == "replace":
                data = draw(values)
            continue
        parent, last = _get(data, path[:-1]), path[-1]
        if action == "replace":
            parent[last] = draw(values)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(values)
        elif action == "add" and isinstance(parent, list):
            parent.insert(last, draw(values))
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = parent.pop(last)
    return yaml.safe_dump(data, allow_unicode=draw(st.booleans()), sort_keys=False).encode("utf-8")


@st.composite
def edited(draw: st.DrawFn, texts: list[str]) -> bytes:
    """A file of `texts` with 1-6 characters or runs of characters inserted, deleted or replaced."""
    text = texts[draw(st.integers(0, len(texts) - 1))]
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 8))
        insert = draw(st.text(alphabet=st.sampled_from(list("\n -:#&*!|>'\"{}[],.0123456789\t") + LOOK_ALIKES), max_size=6))
        text = text[:at] + insert + text[at + cut :]
    return text.encode("utf-8", "surrogatepass")


@st.composite
def attacks(draw: st.DrawFn) -> bytes:
    """One of the constructs that cost the most to read, at a drawn size."""
    kind = draw(st.sampled_from(["laughs", "recursive", "deep", "integer", "tag", "bytes", "merge", "key"]))
    if kind == "laughs":
        width, depth = draw(st.integers(2, 12)), draw(st.integers(2, 12))
        lines = ['l0: &l0 ["lol"]']
        lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, depth)]
        return ("\n".join(lines) + "\n").encode()
    if kind == "recursive":
        return draw(st.sampled_from([b"a: &a [*a]\n", b"a: &a {b: *a}\n", b"&a [1, *a]\n", b"a: &a\n  b: *a\n"]))
    if kind == "deep":
        depth, opener = draw(st.integers(1, 3000)), draw(st.sampled_from(["[", "{a: ", "- "]))
        if opener == "- ":
            return "".join("  " * i + "-\n" for i in range(min(depth, 400))).encode()
        closer = {"[": "]", "{a: ": "}"}[opener]
        return f"name: {opener * depth}1{closer * depth}\n".encode()
    if kind == "integer":
        digits = draw(st.integers(1, 6000))
        sign = draw(st.sampled_from(["", "-", "+", "0x", "0o", "0b", "1_"]))
        key = draw(st.sampled_from(["lag", "version", "max_data_points", "port", "name", "sample_rate"]))
        return f"{key}: {sign}{'1' * digits}\n".encode()
    if kind == "tag":
        tag = draw(
            st.sampled_from(["!!python/object:os.system", "!!binary", "!!timestamp", "!!int", "!!float", "!!bool", "!!set", "!!omap", "!custom", "!!null"])
        )
        return f"starts: {tag} {draw(st.sampled_from(['x', '2026-02-30', '1', 'AAAA', '[1]', '{a: 1}']))}\n".encode()
    if kind == "merge":
        return draw(st.sampled_from([b"a: &a {x: 1}\nb:\n  <<: *a\n  <<: *a\n", b"b:\n  <<: 1\n", b"b:\n  <<: [1, 2]\n", b"b: {<<: {<<: {<<: {}}}}\n"]))
    if kind == "key":
        return draw(st.sampled_from([b"? [a, b]\n: 1\n", b"? {a: 1}\n: 2\n", b"2026-13-01: x\n", b"!!bool maybe: 1\n", b"~: 1\n", b"? !!binary AAAA\n: 1\n"]))
    return draw(st.binary(max_size=300)) + b"\xff\xfe"


def inputs(documents: list[Any], texts: list[str]) -> st.SearchStrategy[bytes]:
    """Every kind of hostile input, drawn in turn: mutated documents, edited texts, attacks, raw bytes, YAML-ish text."""
    yamlish = st.text(alphabet=st.sampled_from(list("\n -:#&*!|>'\"{}[],.?%@`abc019") + LOOK_ALIKES), max_size=200)
    return st.one_of(
        mutated(documents),
        edited(texts),
        attacks(),
        st.binary(max_size=500),
        yamlish.map(lambda t: t.encode("utf-8", "surrogatepass")),
    )


@dataclass
class Tally:
    """Counts the outcomes of the inputs run so far, and keeps the first of each kind of failure."""

    trials: int = 0
    successes: int = 0
    refused: int = 0
    tracebacks: int = 0
    unlocated: int = 0
    slow: int = 0
    heavy: int = 0
    slowest: float = 0.0
    heaviest: int = 0
    first_failure: str = ""
    kinds: dict[str, int] = field(default_factory=dict)
    baseline: int = field(default_factory=lambda: _peak_rss())
    failures_seen: set[str] = field(default_factory=set)

    def run(self, data: bytes, check: Callable[[], object], located: Callable[[Problem], bool]) -> None:
        """Run `check` on one input: success (the problems it returns, if any, each `located`), or an
        `InputError` each of whose problems is `located`.

        Its time is measured, and the process's peak resident memory after it: no input may raise
        that peak more than MEMORY_LIMIT above where the run started, so no input took more.
        """
        self.trials += 1
        started = time.perf_counter()
        try:
            found = check()
            self.successes += 1
            for problem in found if isinstance(found, list) else []:
                line = str(problem)
                if not located(problem) or problem.line < 1 or "\n" in line or len(line) > MESSAGE_LIMIT:
                    self.unlocated += 1
                    self._fail(data, f"not one located line: {line[:300]!r}")
                    break
        except InputError as exc:
            self.refused += 1
            for problem in exc.problems:
                line = str(problem)
                if not located(problem) or problem.line < 1 or "\n" in line or len(line) > MESSAGE_LIMIT:
                    self.unlocated += 1
                    self._fail(data, f"not one located line: {line[:300]!r}")
                    break
            self.kinds[exc.problems[0].message[:40]] = self.kinds.get(exc.problems[0].message[:40], 0) + 1
        except Exception:  # noqa: BLE001 - anything else is what the test counts
            self.tracebacks += 1
            self._fail(data, traceback.format_exc(limit=-6))
        seconds = time.perf_counter() - started
        peak = _peak_rss() - self.baseline
        self.slowest, self.heaviest = max(self.slowest, seconds), max(self.heaviest, peak)
        if seconds > TIME_LIMIT:
            self.slow += 1
            self._fail(data, f"took {seconds:.1f} s")
        if peak > MEMORY_LIMIT:
            self.heavy += 1
            self._fail(data, f"raised the peak memory to {peak / 1e6:.0f} MB over the start")

    def _fail(self, data: bytes, why: str) -> None:
        kind = why.split(":")[0].split(" ")[0]
        if kind not in self.failures_seen:
            self.failures_seen.add(kind)
            self.first_failure += f"\n--- input {data[:400]!r}{'...' if len(data) > 400 else ''} ({len(data)} bytes): {why}"

    @property
    def failures(self) -> int:
        return self.tracebacks + self.unlocated + self.slow + self.heavy

    def detail(self, what: str) -> str:
        return (
            f"{what}: {self.successes} loaded, {self.refused} refused with a located line; "
            f"slowest input {self.slowest * 1000:.0f} ms, peak memory {self.heaviest / 1e6:.0f} MB over the start"
        )


def today() -> dt.date:
    """A fixed day for the checks that depend on the date (sunset warnings)."""
    return dt.date(2026, 11, 15)


def _peak_rss() -> int:
    """The process's peak resident memory so far, in bytes (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
