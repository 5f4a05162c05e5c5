"""Generated dumps full of what real ones hold and what breaks parsers, ranked by the fast path, and
the result compared with the plain reference: hours (with random N, tie policy and blacklist) and days.

A trial is one generated dump (or day of three); a loss is a ranking that differs from the
reference, or a bad line (one Arrow cannot split or count) missing from what was rejected.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import random
from pathlib import Path

from ingestion import generate
from metrics.toppages import dumps
from metrics.toppages.blacklist import Blacklist
from metrics.toppages.ranking import TIES, Ranker
from tests.metrics.toppages import oracle
from tests.reliability import record, scale

HOUR = dt.datetime(2026, 11, 3, 7, tzinfo=dt.timezone.utc)
DOMAINS = ["", "en", "en.m", "de", "zh-min-nan.m", "commons.m", "tiny"]
WORDS = ["NaN", "null", "-", "None", "NA", "", "Main_Page", '"', '"Weird_Al"', "a\\b", "\\", 'x"y\\"z', "Äpfel", "日本", "a,b", "Zipf"]
BROKEN = ["en Only_three 1", "en Negative -2 0", 'en "unclosed 3 0', "en Five fields 1 0 0", "", "en NaN x 0", '"en Bad_domain 4 0']


def field(text: str) -> str:
    """As Spark's CSV writer writes a field: quoted with backslash escapes when empty or holding a quote."""
    return text if text and '"' not in text else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dump(rng: random.Random, pages: int) -> tuple[list[bytes], int]:
    """Lines of one hour (each page once), some broken ones, some not UTF-8; and how many are broken."""
    seen: set[tuple[str, str]] = set()
    lines: list[bytes] = []
    for _ in range(pages):
        domain = rng.choice(DOMAINS)
        title = rng.choice(WORDS) + (str(rng.randrange(40)) if rng.random() < 0.7 else "")
        if (domain, title) in seen:
            continue
        seen.add((domain, title))
        views = 1 if rng.random() < 0.6 else int(rng.paretovariate(1.1))
        lines.append(f"{field(domain)} {field(title)} {views} 0".encode())
    broken = 0
    for _ in range(rng.randrange(3)):
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(BROKEN).encode())
        broken += 1
    if rng.random() < 0.3:  # a title that is not UTF-8
        lines.insert(rng.randrange(len(lines) + 1), b"en Caf\xe9" + str(rng.randrange(10**6)).encode() + b" 7 0")
    return lines, broken


def test_generated_dumps_rank_as_the_reference(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    trials = scale(30, 600)
    losses = tracebacks = 0
    for trial in range(trials):
        top, ties = rng.randint(1, 8), rng.choice(TIES)
        listed = Blacklist({(rng.choice(DOMAINS), rng.choice(WORDS)) for _ in range(rng.randrange(4))})
        hours = 3 if trial % 5 == 0 else 1
        paths, every = [], []
        broken = 0
        for h in range(hours):
            lines, bad = dump(rng, rng.randrange(0, 3000))
            broken += bad
            path = tmp_path / f"{trial}" / generate.dump_name(HOUR + dt.timedelta(hours=h))
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(gzip.compress(b"\n".join(lines) + (b"\n" if lines else b"")))
            paths.append(path)
            every += oracle.lines_of(path)
        make = functools.partial(Ranker, top, ties, listed)
        try:
            if hours == 1:
                table, read = dumps.rank_hour(paths[0], make)
                reads = [read]
            else:
                table, reads = dumps.rank_day(paths, make, workers=2, memory_limit="500MB", spill=tmp_path / "spill")
        except Exception:  # counted: every input here must rank, bad lines or not
            tracebacks += 1
            continue
        want = oracle.top(oracle.sums(every), top, ties, listed.pairs)
        rejected = sum(len(r.rejected) for r in reads)
        if table.to_pylist() != want or rejected < broken:
            losses += 1
    record(
        "fuzz",
        "toppages-dumps",
        trials=trials,
        losses=losses,
        tracebacks=tracebacks,
        detail="generated hours and days with odd and broken lines, random N, ties and blacklist",
    )
    assert (losses, tracebacks) == (0, 0)
