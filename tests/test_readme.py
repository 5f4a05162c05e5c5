"""The README's commands, run as written after `make demo`.

`make demo` (its script, scripts/demo.sh) runs in a scratch copy of the project's catalogue and
query folders, so commands that write (`metrics new`) touch nothing here. Then the README's own
`export METRICS_WAREHOUSE=...` line is applied, and every `.venv/bin/metrics` line of its `sh`
blocks and every `python` block runs there, in the README's order. A line that cannot run on this
machine as written (a placeholder, a remote host, a long-running scheduler) is listed in
`NOT_RUN` with the reason; a README line that is neither run nor listed fails the test, so a new
example gets a decision.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"

NOT_RUN = {
    "metrics update-reports reportupdater_queries/codemirror [OUTPUT_FOLDER]": "its arguments are placeholders; make demo runs update-reports on every folder",
    "metrics --engine trino": "a remote Trino cluster (tests/metrics/test_trino*.py run the same on a real Trino)",
    "metrics run --every": "a scheduler that runs until stopped (tests/metrics/test_schedule.py)",
    "metrics ingest events [--schemas DIR] FILE...|-": "its arguments are placeholders; make demo ingests events",
    "metrics ingest pageviews pageviews-20261101-050000.gz": "names a dump file the reader downloads; make demo ingests generated dumps",
    "metrics import grafana --url https://grafana.example.org": "a remote Grafana (tests/grafana/test_importer.py)",
    "metrics plan --superset-url https://superset.example.org": "a remote Superset and Grafana (tests/superset_assets/test_plan.py runs it on a real Superset)",
    "metrics toppages --from 2026-01-01T00": "names the reader's dump folder (tests/metrics/toppages run it on generated dumps)",
    "metrics toppages --daily --from 2026-01-01": "a month of wmf.pageview_hourly the demo does not hold (tests/metrics/toppages)",
}
"""README command prefixes (after `.venv/bin/`) not run here, and why."""

EXIT_CODES = {"metrics status": {0, 1}}
"""Commands whose documented exit status may be non-zero after the demo: `status` exits 1 when a
report is late, and the demo's data ends on fixed dates."""


def blocks(kind: str) -> list[str]:
    """The README's fenced code blocks of one language, in order."""
    return re.findall(rf"^```{kind}\n(.*?)^```", README.read_text("utf-8"), flags=re.S | re.M)


def commands() -> list[str]:
    """Every `.venv/bin/metrics` line of the `sh` blocks as written, continuation lines joined."""
    found = []
    for block in blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if not words or ".venv/bin/metrics" not in words:
                continue
            found.append(line.strip())
    return found


def not_run_reason(command: str) -> str | None:
    for prefix, reason in NOT_RUN.items():
        if prefix in " ".join(shlex.split(command, comments=True)):
            return reason
    return None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A scratch project after `make demo`, and the environment the README says to export."""
    home = tmp_path_factory.mktemp("readme")
    for folder in ("metrics/catalogue", "reportupdater_queries", "scripts"):
        shutil.copytree(ROOT / folder, home / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (home / ".venv").symlink_to(ROOT / ".venv")
    env = {**os.environ, "METRICS_STATE_DIR": str(home / "state")}
    for name in [n for n in env if n.startswith("METRICS_") and n != "METRICS_STATE_DIR"]:
        del env[name]
    done = subprocess.run(["bash", "scripts/demo.sh"], cwd=home, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    exports = re.findall(r"`export (METRICS_\w+)=(\S+?)`", README.read_text("utf-8"))
    assert exports, "the README no longer says which warehouse its examples read after make demo"
    env.update(exports)
    assert (home / env["METRICS_WAREHOUSE"]).is_dir(), f"make demo left no {env['METRICS_WAREHOUSE']}"
    return home, env


def test_every_readme_command_is_run_or_has_a_reason() -> None:
    found = commands()
    assert len(found) >= 20, found  # the README's examples were found at all
    used = {prefix for prefix, reason in NOT_RUN.items() if any(not_run_reason(c) == reason for c in found)}
    assert used == set(NOT_RUN), f"NOT_RUN lists lines the README no longer has: {set(NOT_RUN) - used}"


@pytest.mark.parametrize("command", [c for c in commands() if not not_run_reason(c)])
def test_readme_command_runs_after_make_demo(demo: tuple[Path, dict[str, str]], command: str) -> None:
    home, env = demo
    command = re.sub(r" \[[^]]*\]", "", command)  # optional parts, as `[--json]`, left out
    words = shlex.split(command, comments=True)
    done = subprocess.run(["bash", "-c", command], cwd=home, env=env, capture_output=True, text=True, timeout=600)
    allowed = next((codes for prefix, codes in EXIT_CODES.items() if prefix in command), {0})
    assert done.returncode in allowed, f"{command}\nexit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr
    if "query" in words[:3] and "SELECT" in command:
        assert len(done.stdout.strip().splitlines()) >= 2, f"{command} printed no rows:\n{done.stdout}"


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_readme_python_block_runs_after_make_demo(demo: tuple[Path, dict[str, str]], index: int) -> None:
    home, env = demo
    code = blocks("python")[index]
    lines = code.strip().splitlines()
    # Each expression line's value must be something: print it so an empty result shows.
    program = "\n".join(
        f"_ = {line.split('  #')[0]}\nprint(type(_).__name__, len(_) if hasattr(_, '__len__') else '')" if _is_expression(line) else line for line in lines
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=home, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"README python block {index}:\n{code}\n{done.stderr[-3000:]}"
    shown = [line for line in lines if _is_expression(line)]
    for line, printed in zip(shown, done.stdout.splitlines(), strict=True):
        kind, _, size = printed.partition(" ")
        assert size != "0" or "no rows when" in line, f"README python line gave an empty {kind}: {line}"


def _is_expression(line: str) -> bool:
    """A line that is a call whose value the README shows (not an import or an assignment)."""
    head = line.split("  #")[0]
    return bool(head) and not head.startswith(("from ", "import ")) and not re.match(r"^\w+\s*=[^=]", head)
