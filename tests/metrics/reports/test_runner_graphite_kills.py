"""The Graphite outbox under SIGKILL, against a real carbon: runs of `metrics update-reports` that
queue and send report values are killed at seeded random moments, then run to completion; what
carbon stored (read back through graphite-web's /render) equals the metric table, point for point.

Uses scripts/graphite/ (carbon-cache and graphite-web on 127.0.0.1). Each chain of kills sends
under its own path prefix, so one chain's points never hide another's.
"""

from __future__ import annotations

import calendar
import random
import shutil
from pathlib import Path
from typing import Callable

import pytest

from tests.kills import table_rows
from tests.metrics.reports.test_runner_kills import Setup
from tests.reliability import record, scale
from tests.services.graphite import Datapoints, GraphiteError, known, running_graphite, wait_for_series

pytestmark = [pytest.mark.graphite, pytest.mark.reliability]

START = calendar.timegm((2026, 11, 1, 0, 0, 0))


def has(count: int) -> Callable[[Datapoints], bool]:
    """A `wait_for_series` predicate: at least `count` points with a value."""
    return lambda points: len(known(points)) >= count


def test_points_carbon_received_after_kills_equal_the_table(tmp_path: Path) -> None:
    kills = scale(2, 8)
    per_chain = kills if kills <= 3 else 4
    setup = Setup(tmp_path)
    whole = setup.fresh("whole")
    assert setup.run(whole, None, "--no-graphite").returncode == 0
    expected: dict[str, list[tuple[float, int]]] = {}
    for row in table_rows(whole / "wh", "metrics", "toy_clicks"):
        values = dict(row)
        stamp = calendar.timegm(tuple(map(int, values["dt"].split("-"))) + (0, 0, 0))
        for metric, column in (("clicks", "clicks"), ("half", "half_n")):
            if values[column] is not None:
                expected.setdefault(f"{metric}.{values['wiki']}", []).append((float(values[column]), stamp))
    rng = random.Random(22)
    done = chains = tracebacks = losses = 0
    notes: list[str] = []
    with running_graphite() as graphite:
        address = ("--graphite", f"127.0.0.1:{graphite.carbon_port}")
        prefixes = []
        while done < kills:
            chains += 1
            place = setup.fresh(f"chain-{chains}")
            prefix = f"chain{chains}"
            config = place / "toy" / "config.yaml"
            config.write_text(config.read_text().replace("path: 'toy.{_metric}.{wiki}'", f"path: '{prefix}.{{_metric}}.{{wiki}}'"))
            for _ in range(per_chain):
                outcome = setup.run(place, rng.uniform(0, 4.0), *address)
                tracebacks += outcome.traceback
                if not outcome.killed:
                    break
                done += 1
            final = setup.run(place, None, *address)
            tracebacks += final.traceback
            assert final.returncode == 0, final.stderr
            prefixes.append(prefix)
            shutil.rmtree(place)
        for prefix in prefixes:
            for series, points in sorted(expected.items()):
                want = sorted(points, key=lambda p: p[1])
                try:
                    got = known(wait_for_series(graphite.web_url, f"{prefix}.{series}", has(len(want)), from_=START, until=START + 40 * 86400))
                except GraphiteError as error:
                    got = []
                    notes.append(f"{prefix}.{series}: {error}")
                if got != want:
                    losses += 1
                    notes.append(f"{prefix}.{series}: {got[:3]}... instead of {want[:3]}...")
    record(
        "kills",
        "graphite-carbon",
        trials=done,
        losses=losses,
        tracebacks=tracebacks,
        detail=f"SIGKILL of update-reports sending {sum(map(len, expected.values()))} points to a real carbon-cache, {chains} chain(s) each ended by "
        "a run to completion; every series read back through graphite-web equals the metric table",
    )
    assert notes == [] and (losses, tracebacks) == (0, 0)
