"""Concurrent `metrics update-reports` processes, as cron and a person at a terminal start them.

- Two runs of one folder spelled differently (`q/toy`, `q/../q/toy`, `q/toy/.`, a link to it): one
  runs, the other says the folder is locked and exits 0; in the end every interval is computed
  once, and no wiki-day is missing yet logged ok.
- Two runs of two folders that share the warehouse's tables (both named `toy`, different explode
  values) at once: both finish, and the tables, the run log, the TSV files and the points carbon
  receives are those of the two runs one after the other.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from metrics.reports.lock import lock_path
from tests.kills import environment, files, leftovers, metrics_command, table_rows
from tests.metrics.reports.test_runner import CLICKS_SQL, make_events, query_folder
from tests.metrics.reports.test_runner_kills import Carbon, last_values, run_log
from tests.reliability import record, scale

pytestmark = pytest.mark.reliability

SLOW = "#!/bin/sh\nsleep 0.05\nprintf 'date\\twiki\\tday\\n%s\\t%s\\t%s\\n' $1 $3 $(echo $1 | cut -c9-10)\n"
CONFIG = """
reports:
  clicks:
    granularity: days
    starts: 2026-11-10
    explode_by: {{wiki: "{wikis}"}}
    graphite:
      path: 'toy.{{_metric}}.{{wiki}}'
      metrics: {{clicks: clicks}}
  slow:
    type: script
    granularity: days
    starts: 2026-11-14
    explode_by: {{wiki: "{wikis}"}}
"""
TABLES = ["toy_clicks", "toy_slow"]
NOW = "2026-11-23T10:00"


def command(place: Path, folder: str, out: str, *extra: str) -> list[str]:
    return metrics_command(place / "wh", "update-reports", folder, out, "--now", NOW, "--flush-seconds", "0", "--workers", "2", *extra)


def start(place: Path, folder: str, out: str, *extra: str) -> subprocess.Popen:
    env = environment(place / "locks")
    return subprocess.Popen(command(place, folder, out, *extra), cwd=place, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def state(place: Path, outs: list[str]) -> tuple:
    return ({t: table_rows(place / "wh", "metrics", t) for t in TABLES}, run_log(place / "wh")[0], {o: files(place / o) for o in outs})


def fresh(root: Path, name: str) -> Path:
    place = root / name
    shutil.copytree(root / "input", place, symlinks=True)
    (place / "locks").mkdir()
    return place


def test_two_runs_of_one_folder_by_different_spellings(tmp_path: Path) -> None:
    trials = scale(2, 6)
    make_events(tmp_path / "input" / "wh")
    query_folder(tmp_path / "input" / "q", CONFIG.format(wikis="enwiki, dewiki, cawiki"), {"clicks.sql": CLICKS_SQL, "slow": SLOW})
    (tmp_path / "input" / "link").symlink_to("q/toy")
    spellings = ["q/toy", "q/../q/toy", "q/toy/.", "link"]
    whole = fresh(tmp_path, "whole")
    proc = start(whole, "q/toy", "out", "--no-graphite")
    assert proc.wait(timeout=300) == 0, proc.communicate()[1]
    reference = state(whole, ["out"])
    assert all(reference[0].values()) and len(reference[1]) == 13 * 3 + 9 * 3
    rng = random.Random(20)
    refused = tracebacks = losses = 0
    notes: list[str] = []
    for trial in range(trials):
        place = fresh(tmp_path, f"trial-{trial}")
        # the first two as in the report of the problem, then a link; then any two
        first, second = [("q/toy", "q/../q/toy"), ("link", "q/toy/.")][trial] if trial < 2 else rng.sample(spellings, 2)
        a = start(place, first, "out", "--no-graphite")
        if trial == 0:  # at least once, the second starts while the first surely holds the lock
            lock = place / "locks" / lock_path(place / "q" / "toy").name
            while a.poll() is None and not (lock.exists() and lock.read_text().strip() == str(a.pid)):
                time.sleep(0.01)
        else:
            time.sleep(rng.uniform(0, 1.5))
        b = start(place, second, "out", "--no-graphite")
        errors = [p.communicate(timeout=300)[1] for p in (a, b)]
        for p, err in zip((a, b), errors):
            tracebacks += "Traceback" in err or "FileNotFoundError" in err or "error:" in err
            assert p.returncode == 0, err
        said = [err for err in errors if "another run" in err]
        refused += len(said)
        for err in said:
            assert f"is updating {(place / 'q' / 'toy').resolve()}; exiting" in err, err
        if trial == 0:
            assert len(said) == 1 and "another run" in errors[1]
        got = state(place, ["out"])
        if got != reference:
            losses += 1
            notes.append(f"trial {trial} ({first} then {second}): the end state differs from one run's")
        logged = got[1]
        rows = {(dict(r)["wiki"], dict(r)["dt"]) for t in TABLES for r in got[0][t]}
        missing = [k for k, (status, _) in logged.items() if status == "ok" and (k[1].split('"')[3], k[2].isoformat()) not in rows]
        losses += len(missing)
        notes += [f"trial {trial}: {k} logged ok, no rows" for k in missing[:3]]
        assert leftovers(place / "wh") == []
        shutil.rmtree(place)
    record(
        "concurrency",
        "one-folder-two-spellings",
        trials=trials,
        losses=losses,
        tracebacks=tracebacks,
        detail=f"two update-reports of one folder spelled two of {', '.join(spellings)}, the second started 0-1.5 s after the first; {refused} "
        "said the folder is locked and exited 0; the end state equals one run's, and every wiki-day logged ok has its rows",
    )
    assert notes == [] and (losses, tracebacks) == (0, 0) and refused >= 1


def test_two_folders_sharing_tables_run_at_once(tmp_path: Path) -> None:
    trials = scale(2, 6)
    make_events(tmp_path / "input" / "wh")
    query_folder(tmp_path / "input" / "a", CONFIG.format(wikis="enwiki, dewiki"), {"clicks.sql": CLICKS_SQL, "slow": SLOW})
    query_folder(tmp_path / "input" / "b", CONFIG.format(wikis="cawiki"), {"clicks.sql": CLICKS_SQL, "slow": SLOW})
    carbon = Carbon()
    address = ("--graphite", f"127.0.0.1:{carbon.port}")
    try:
        whole = fresh(tmp_path, "whole")
        for name in ("a", "b"):  # one after the other
            proc = start(whole, f"{name}/toy", f"out-{name}", *address)
            assert proc.wait(timeout=300) == 0, proc.communicate()[1]
        reference = state(whole, ["out-a", "out-b"])
        points, _ = last_values(carbon.lines())
        assert {dict(r)["wiki"] for r in reference[0]["toy_clicks"]} == {"enwiki", "dewiki", "cawiki"} and len(points) == 39
        rng = random.Random(21)
        losses = duplicates = tracebacks = malformed = 0
        notes: list[str] = []
        for trial in range(trials):
            place = fresh(tmp_path, f"trial-{trial}")
            seen = len(carbon.lines())
            a = start(place, "a/toy", "out-a", *address)
            time.sleep(rng.uniform(0, 0.5))
            b = start(place, "b/toy", "out-b", *address)
            for p in (a, b):
                err = p.communicate(timeout=300)[1]
                tracebacks += "Traceback" in err or "FileNotFoundError" in err or "error:" in err
                assert p.returncode == 0, err
            tables, log, tsv = state(place, ["out-a", "out-b"])
            for table in TABLES:
                lost, extra = sum((reference[0][table] - tables[table]).values()), sum((tables[table] - reference[0][table]).values())
                losses, duplicates = losses + lost, duplicates + extra
                if lost or extra:
                    notes.append(f"trial {trial}: {table}: {lost} row(s) lost, {extra} extra")
            if log != reference[1] or tsv != reference[2]:
                losses += 1
                notes.append(f"trial {trial}: run log or TSV files differ")
            values, bad = last_values(carbon.lines()[seen:])
            malformed += bad
            wrong = [k for k in points if values.get(k) != points[k]]
            losses += len(wrong)
            notes += [f"trial {trial}: point {k} is {values.get(k)}, not {points[k]}" for k in wrong[:3]]
            assert leftovers(place / "wh") == []
            shutil.rmtree(place)
    finally:
        carbon.close()
    record(
        "concurrency",
        "two-folders-one-table",
        trials=trials,
        losses=losses,
        duplicates=duplicates,
        escapes=malformed,
        tracebacks=tracebacks,
        detail="update-reports of two folders named toy (explode values enwiki, dewiki and cawiki) started 0-0.5 s apart, writing the same "
        "tables, run log and Graphite outbox; tables, run log, TSV files and every point's last value equal the two runs one after the other",
    )
    assert notes == [] and (losses, duplicates, malformed, tracebacks) == (0, 0, 0, 0)
