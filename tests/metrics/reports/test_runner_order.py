"""The runner's pool: results in the selector's order whatever order workers finish in, script units
handed out a few at a time, and a worker's crash raised in the run instead of a run that waits forever.

The executions here are stand-ins (`batches` functions): a worker that raises outside an execution
is a failure no real report can be made to produce (the executor keeps every report's failure with
its intervals), and order under random finishing times needs control of those times.
"""

from __future__ import annotations

import random
import threading
import time
from types import SimpleNamespace

import pytest

from metrics.reports import runner


def _units(types: list[str]) -> list[SimpleNamespace]:
    reports = {kind: SimpleNamespace(type=kind) for kind in set(types)}
    return [SimpleNamespace(report=reports[kind], number=n) for n, kind in enumerate(types)]


def test_results_come_in_work_order() -> None:
    rng = random.Random(7)
    work = _units([rng.choice(["script", "script", "hive"]) for _ in range(600)])
    lock = threading.Lock()

    def batches(units):
        with lock:
            pause = rng.random() / 500
        time.sleep(pause)
        size = 1 + int(pause * 3000)  # lists of several sizes, as `Executor.batches` gives them
        for start in range(0, len(units), size):
            yield [SimpleNamespace(unit=unit) for unit in units[start : start + size]]

    got = [computed.unit.number for computed in runner._in_order(batches, work, workers=3)]  # type: ignore[arg-type]
    assert got == list(range(600))


def test_script_units_go_out_a_few_at_a_time() -> None:
    work = _units(["script"] * 1000 + ["hive"] * 3 + ["script"] * 5)
    chunks = list(runner._chunks(work, workers=2))  # type: ignore[arg-type]
    assert [u.number for chunk in chunks for u in chunk] == list(range(1008))
    assert max(len(c) for c in chunks) == runner.CHUNK
    assert all(len(c) == 1 for c in chunks if c[0].report.type == "hive")
    assert all(len({id(u.report) for u in c}) == 1 for c in chunks)  # a chunk never mixes reports
    few = list(runner._chunks(_units(["script"] * 12), workers=2))  # type: ignore[arg-type]
    assert len(few) == 12  # a short run: every worker gets units


def test_a_worker_that_crashes_stops_the_run() -> None:
    work = _units(["script"] * 400)

    def batches(units):
        if any(unit.number == 200 for unit in units):
            raise RuntimeError("worker crashed")
        yield [SimpleNamespace(unit=unit) for unit in units]

    started = time.monotonic()
    seen = []
    with pytest.raises(RuntimeError, match="worker crashed"):
        for computed in runner._in_order(batches, work, workers=2):  # type: ignore[arg-type]
            seen.append(computed.unit.number)
    assert seen == list(range(len(seen))) and 200 - runner.CHUNK <= len(seen) <= 200  # in order, up to the crashed chunk
    assert time.monotonic() - started < 30
