"""The generators are deterministic for a seed, and the sample command loads what it generated."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

from ingestion import generate
from ingestion.sample import generate_files
from tests.conftest import ROOT


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = generate_files(tmp_path / "a", 9, dt.date(2026, 11, 1), 1, pageview_lines=100, sessions_per_day=500, pageviews_per_day=100)
    generate_files(tmp_path / "b", 9, dt.date(2026, 11, 1), 1, pageview_lines=100, sessions_per_day=500, pageviews_per_day=100)
    generate_files(tmp_path / "c", 10, dt.date(2026, 11, 1), 1, pageview_lines=100, sessions_per_day=500, pageviews_per_day=100)
    assert len(a["pageviews"]) == 24 and generate.dump_name(dt.datetime(2026, 11, 1, 5)) == "pageviews-20261101-050000.gz"
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")
    assert generate.world_bank_records(1, country_count=5) == generate.world_bank_records(1, country_count=5)


def test_pageviews_are_heavy_tailed() -> None:
    lines = generate.pageview_lines(1, dt.datetime(2026, 11, 1, 5), 20000)
    ones = sum(1 for line in lines if line.rsplit(" ", 2)[1] == "1") / len(lines)
    assert 0.55 < ones < 0.75
    assert len({line.split(" ")[0] for line in lines}) > 500


def test_sample_command_generates_and_loads(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "metrics",
            "--warehouse",
            str(tmp_path / "wh"),
            "ingest",
            "sample",
            "--out",
            str(tmp_path / "raw"),
            "--seed",
            "1",
            "--start",
            "2026-11-01",
            "--days",
            "1",
            "--pageview-lines",
            "50",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for source in ("events:", "pageviews: 24 file(s)", "csv: 1 file(s)", "world_bank: 2 file(s)"):
        assert source in result.stderr
    assert "0 quarantined" in result.stderr
