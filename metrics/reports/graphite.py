"""Report results to Graphite: carbon's plaintext protocol, each point with its row's own timestamp.

Points are appended to an outbox file only after the table write committed, and the outbox is
sent at the end of the run; what could not be sent stays for the next run, so a carbon outage
loses nothing, and recomputed (rerun) dates are sent again. StatsD is never used here: it has no
timestamps, so backfilled values would land at the time they were sent.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import logging
import math
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Mapping

from metrics.graphite_paths import sanitize_path
from metrics.locks import file_lock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Point:
    path: str
    value: float
    timestamp: int

    def line(self) -> str:
        return f"{self.path} {self.value!r} {self.timestamp}\n"


def day_timestamp(day: dt.date) -> int:
    """Midnight UTC of `day`, as carbon wants it."""
    return calendar.timegm(day.timetuple())


BOOLEAN_TEXT = {"true": 1.0, "false": 0.0}
"""A boolean value, typed or as Hive prints it, is sent as 1 or 0."""


def number(value: object) -> float | None:
    """The value as a float, or None when it is empty or not a number (then it is not sent)."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    if isinstance(value, str) and value.lower() in BOOLEAN_TEXT:
        return BOOLEAN_TEXT[value.lower()]
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


class Outbox:
    """An append-only file of carbon lines, per query folder, under the warehouse's `_outbox/`.

    Adding and sending hold the outbox's lock file (`.<name>.lock`), so processes that share an
    outbox (runs of two folders of one name) neither tear each other's lines nor send a batch
    twice. A line cut short by a killed process is dropped by the next `add`: its interval was
    not logged, so it is computed and queued again.
    """

    def __init__(self, directory: Path, name: str):
        self.directory = directory
        self.path = directory / f"{name}.txt"
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _held(self) -> Iterator[None]:
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            with file_lock(self.directory / f".{self.path.stem}.lock"):
                yield

    def add(self, points: Iterable[Point]) -> int:
        lines = [p.line() for p in points]
        if not lines:
            return 0
        with self._held(), self.path.open("a+b") as handle:
            _drop_partial_line(handle)
            handle.write("".join(lines).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        return len(lines)

    def pending(self) -> int:
        return sum(1 for f in self._files() for _ in f.open(encoding="utf-8"))

    def _files(self) -> list[Path]:
        return sorted(self.directory.glob(f"{self.path.stem}.sending-*.txt")) + ([self.path] if self.path.exists() else [])

    def send(self, host: str, port: int, timeout: float = 10.0, *, prefix: str | None = None) -> int:
        """Send everything pending over one connection; returns the number of points sent.

        A batch is first renamed aside, so points added meanwhile are never lost or sent twice
        by this call; a batch that fails stays for the next call. `prefix` (the environment's
        `graphite_prefix`, checked by `metrics.graphite_paths.prefix_problem`) goes before every
        path as it is sent: the outbox keeps the catalogue's paths.
        """
        sent = 0
        with self._held():
            if self.path.exists():
                os.replace(self.path, self.directory / f"{self.path.stem}.sending-{time.time_ns()}.txt")
            for batch in sorted(self.directory.glob(f"{self.path.stem}.sending-*.txt")):
                data = batch.read_bytes()
                data = data[: data.rfind(b"\n") + 1]  # never a line cut short
                if prefix and data:
                    data = b"".join(prefix.encode() + b"." + line for line in data.splitlines(keepends=True))
                if data:
                    with socket.create_connection((host, port), timeout=timeout) as sock:
                        sock.sendall(data)
                    sent += data.count(b"\n")
                batch.unlink()
        return sent


def _drop_partial_line(handle: BinaryIO) -> None:
    """Cut the file open in `handle` after its last complete line: a line a killed writer left unfinished goes."""
    size = handle.seek(0, os.SEEK_END)
    if not size:
        return
    handle.seek(size - 1)
    if handle.read(1) == b"\n":
        return
    end = size
    while end > 0:
        start = max(0, end - 65536)
        handle.seek(start)
        block = handle.read(end - start)
        cut = block.rfind(b"\n")
        if cut >= 0:
            handle.truncate(start + cut + 1)
            return
        end = start
    handle.truncate(0)


def report_points(
    path_template: str, metrics: Mapping[str, str], rows: Iterable[Mapping[str, object]], explode: Mapping[str, str], lookups: Mapping[str, Mapping[str, str]]
) -> list[Point]:
    """Points of a config.yaml `graphite:` section, expanded as Reportupdater did.

    The path is filled from the explode values (after lookups), then the row's columns by header
    name (overriding them), then `_metric`; the result is made safe for the protocol. Row values
    are the text the TSV shows (`metrics.reports.printed`); NULL fills a placeholder as the empty
    text it is in the TSV.
    """
    base = {k: lookups.get(k, {}).get(v, v) for k, v in explode.items()}
    points = []
    for row in rows:
        day = row["__date__"]
        data = {**base, **{k: "" if v is None else v for k, v in row.items() if k != "__date__"}}
        for metric, column in metrics.items():
            value = number(row.get(column))
            if value is None:
                continue
            try:
                path = path_template.format(**{**data, "_metric": metric})
            except (KeyError, IndexError) as exc:
                raise ValueError(f"graphite path {path_template!r} uses {exc} which is neither an explode key nor a result column") from None
            points.append(Point(sanitize_path(path), value, day_timestamp(day)))  # type: ignore[arg-type]
    return points
