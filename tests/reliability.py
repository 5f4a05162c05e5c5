"""Figures the reliability tests publish, and how long they try.

`make test` runs every reliability test in its short version; `make reliability` sets
`METRICS_RELIABILITY_LONG=1` (the long version) and `METRICS_RELIABILITY_OUT=DIR`, runs them,
and renders the records written here into docs/RELIABILITY.md.

A record is one check: how many trials it made (kills, concurrent runs, generated inputs,
injections, planted secrets) and how many of them ended in each kind of failure. The tests
assert the failure counts are zero; the record is what the document shows.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

SECTIONS = ("kills", "concurrency", "fuzz", "injection", "secrets")


def long_run() -> bool:
    """True under `make reliability` (METRICS_RELIABILITY_LONG=1)."""
    return os.environ.get("METRICS_RELIABILITY_LONG") == "1"


def scale(short: int, long: int) -> int:
    """The number of trials: `short` in `make test`, `long` under `make reliability`."""
    return long if long_run() else short


def record(
    section: str,
    check: str,
    *,
    trials: int,
    losses: int = 0,
    duplicates: int = 0,
    escapes: int = 0,
    tracebacks: int = 0,
    detail: str = "",
) -> None:
    """Write one check's figures to $METRICS_RELIABILITY_OUT/<section>--<check>.json (nothing when unset).

    `section` is one of SECTIONS; `check` a short name that is unique within it; `trials` how
    many inputs, kills or runs the check made; the four counters how many of them lost data,
    duplicated it, escaped their folder or refusal (a path, a secret, an injected statement),
    or ended in a traceback instead of a located error; `detail` one line on what was tried.
    """
    if section not in SECTIONS:
        raise ValueError(f"section {section!r} is not one of {SECTIONS}")
    out = os.environ.get("METRICS_RELIABILITY_OUT")
    if not out:
        return
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{section}--{check}")
    figures = {
        "section": section,
        "check": check,
        "trials": trials,
        "losses": losses,
        "duplicates": duplicates,
        "escapes": escapes,
        "tracebacks": tracebacks,
        "detail": detail,
    }
    (folder / f"{name}.json").write_text(json.dumps(figures, indent=1) + "\n", "utf-8")
