"""Run every reliability test in its long version and publish their figures in docs/RELIABILITY.md.

    .venv/bin/python scripts/reliability.py [--short] [--doc PATH] [-- PYTEST_ARGS...]

Runs `pytest -m reliability` with METRICS_RELIABILITY_LONG=1 (unless --short) and
METRICS_RELIABILITY_OUT set to a fresh temporary folder, where each test writes one JSON record
per check (tests/reliability.py `record`). Then renders every record it finds, whatever its
section: per section a table of checks (trials, losses, duplicates, escapes, tracebacks, detail)
with its totals, the totals of all sections, the date, the commit and the machine.

Exit status: 1 when a test failed, a counter is not zero, or no test wrote a record; 0 otherwise.
The document is written in every case, so that a failure can be read there too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.reliability import SECTIONS  # noqa: E402  the checkout's own list, whatever the working folder

COUNTERS = ("losses", "duplicates", "escapes", "tracebacks")
TITLES = {
    "kills": "Kills: processes SIGKILLed at seeded random moments, then run again",
    "concurrency": "Concurrent runs",
    "fuzz": "Generated inputs",
    "injection": "Injections refused",
    "secrets": "Secrets planted, found nowhere",
}
COLUMNS = "| check | trials | losses | duplicates | escapes | tracebacks | detail |\n|---|--:|--:|--:|--:|--:|---|\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="the short versions (as in `make test`), for a quick look")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "RELIABILITY.md", help="where to write the document")
    parser.add_argument("pytest_args", nargs="*", help="more arguments for pytest (after --)")
    args = parser.parse_args()

    out = Path(tempfile.mkdtemp(prefix="metrics-reliability-"))
    env = {**os.environ, "METRICS_RELIABILITY_OUT": str(out)}
    env.pop("METRICS_RELIABILITY_LONG", None)
    if not args.short:
        env["METRICS_RELIABILITY_LONG"] = "1"
    junit = out / "junit.xml"
    command = [sys.executable, "-m", "pytest", "-m", "reliability", "-p", "no:cacheprovider", "-q", f"--junitxml={junit}", *args.pytest_args]
    print("$ " + " ".join(command), flush=True)
    started = time.monotonic()
    code = subprocess.run(command, cwd=ROOT, env=env).returncode
    seconds = time.monotonic() - started

    records = [json.loads(path.read_text("utf-8")) for path in sorted(out.glob("*.json"))]
    tests = _tests(junit)
    args.doc.write_text(render(records, tests, seconds, long=not args.short), "utf-8")
    bad = [r for r in records if any(r.get(c, 0) for c in COUNTERS)]
    print(f"{len(records)} check(s) written to {args.doc}: {len(bad)} with a non-zero counter; pytest exit status {code}")
    for r in bad:
        print(f"  {r['section']}/{r['check']}: " + ", ".join(f"{c} {r[c]}" for c in COUNTERS if r.get(c)))
    return 1 if code != 0 or bad or not records else 0


def _tests(junit: Path) -> dict[str, object]:
    """Counts of pytest's outcomes and the failed tests' names, from its JUnit XML."""
    if not junit.is_file():
        return {"tests": 0, "failed": [], "skipped": 0}
    failed, skipped, total = [], 0, 0
    for case in ET.parse(junit).getroot().iter("testcase"):
        total += 1
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname')}::{case.get('name')}")
        elif case.find("skipped") is not None:
            skipped += 1
    return {"tests": total, "failed": failed, "skipped": skipped}


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _machine() -> str:
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        size = f"{memory:.1f} GiB of memory"
    except (ValueError, OSError, AttributeError):
        size = "memory unknown"
    return f"{os.cpu_count()} cores, {size} ({platform.system()} {platform.machine()}, Python {platform.python_version()})"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(records: list[dict], tests: dict, seconds: float, *, long: bool = True) -> str:
    """The Markdown document of the records: totals, then one table per section (known sections first, in order)."""
    commit = _git("rev-parse", "HEAD") or "unknown"
    dirty = [line for line in _git("status", "--porcelain").splitlines() if not line.endswith("docs/RELIABILITY.md")]
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections = [s for s in SECTIONS if any(r["section"] == s for r in records)]
    sections += sorted({r["section"] for r in records} - set(sections))
    failed = tests["failed"]
    lines = [
        "# Reliability",
        "",
        "What was tried against the service, and how often it lost, duplicated or leaked something. Written by",
        "`make reliability` (`scripts/reliability.py`), which runs every test marked `reliability` in its",
        "long version; `make test` runs the same tests in their short version. Do not edit by hand.",
        "",
        f"- date: {now}; {'long' if long else 'short'} versions, {seconds / 60:.1f} min",
        f"- commit: `{commit}`" + (" (with uncommitted changes)" if dirty else ""),
        f"- machine: {_machine()}",
        f"- tests: {tests['tests']} run, {len(failed)} failed, {tests['skipped']} skipped" + (": " + ", ".join(f"`{f}`" for f in failed) if failed else ""),
        "",
        "A row is one check: its trials (kills, concurrent runs, generated inputs, injections, planted",
        "secrets) and how many of them lost data (losses), stored something twice or left a temporary",
        "file behind (duplicates), let something out (escapes: a path out of its folder, a secret in",
        "output, an injected statement, a malformed line sent), or ended in a traceback instead of a",
        "located error (tracebacks). Every counter must be zero.",
        "",
        "## Totals",
        "",
        "| section | checks | trials | losses | duplicates | escapes | tracebacks |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    grand = dict.fromkeys(("checks", "trials", *COUNTERS), 0)
    for section in sections:
        mine = [r for r in records if r["section"] == section]
        sums = {"checks": len(mine), "trials": sum(r.get("trials", 0) for r in mine), **{c: sum(r.get(c, 0) for r in mine) for c in COUNTERS}}
        grand = {k: grand[k] + sums[k] for k in grand}
        lines.append(f"| {section} | " + " | ".join(str(sums[k]) for k in ("checks", "trials", *COUNTERS)) + " |")
    lines.append("| **all** | " + " | ".join(f"**{grand[k]}**" for k in ("checks", "trials", *COUNTERS)) + " |")
    for section in sections:
        lines += ["", f"## {TITLES.get(section, section)}", "", COLUMNS.rstrip("\n")]
        for r in sorted((r for r in records if r["section"] == section), key=lambda r: r["check"]):
            counts = " | ".join(str(r.get(c, 0)) for c in ("trials", *COUNTERS))
            lines.append(f"| {_cell(r['check'])} | {counts} | {_cell(r.get('detail', ''))} |")
    if not records:
        lines += ["", "No test wrote a record."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
