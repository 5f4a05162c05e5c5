"""Property: whatever bytes a query folder's config.yaml holds, reading it gives reports and
located one-line problems, or one `InputError` of located lines; never a traceback.

Inputs are mutations of the shipped configs, edits of their text, costly YAML constructs and raw
bytes (`tests.hostile_yaml`), each read in a copy of its shipped folder (so that its query files
exist), within TIME_LIMIT seconds and MEMORY_LIMIT bytes. The reports it reads are then planned
as the runner plans them, and every interval's date must survive the TSV round trip
(`YYYY-MM-DD` and back): a date that does not was how a `starts` in year 999 broke every later run.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from metrics.problems import Problem
from metrics.reports.config import read_folder
from metrics.reports.intervals import due_intervals
from tests.conftest import SHIPPED_QUERIES
from tests.hostile_yaml import FUZZ, Tally, inputs
from tests.reliability import record, scale

pytestmark = pytest.mark.reliability

FOLDERS = sorted(p.parent for p in SHIPPED_QUERIES.glob("*/config.yaml"))
NOW = dt.datetime(2026, 11, 29, 12, 0)


def test_the_config_reader_gives_reports_or_located_lines(tmp_path: Path) -> None:
    copies = [shutil.copytree(folder, tmp_path / folder.name) for folder in FOLDERS]
    texts = [(folder / "config.yaml").read_text("utf-8") for folder in FOLDERS]
    documents = [yaml.safe_load(t) for t in texts]
    tally = Tally()
    planned = 0

    def located(problem: Problem) -> bool:
        return Path(problem.file).resolve().is_relative_to(tmp_path.resolve())

    def check(folder: Path) -> list[Problem]:
        nonlocal planned
        config = read_folder(folder)
        for report in config.reports:
            intervals = due_intervals(report.starts, report.granularity, NOW, lag=report.lag, max_data_points=report.max_data_points, ends=report.ends)
            for interval in intervals:
                written = interval.start.strftime("%Y-%m-%d")
                assert dt.date.fromisoformat(written) == interval.start, f"{written} does not read back"
            planned += len(intervals)
        return config.problems

    def one_folder(index: int) -> st.SearchStrategy[tuple[int, bytes]]:
        return st.tuples(st.just(index), inputs([documents[index]], [texts[index]]))

    @settings(FUZZ, max_examples=scale(300, 10_000))
    @given(st.integers(0, len(copies) - 1).flatmap(one_folder))
    def trial(case: tuple[int, bytes]) -> None:
        index, data = case
        (copies[index] / "config.yaml").write_bytes(data)
        tally.run(data, lambda: check(copies[index]), located)

    trial()
    detail = tally.detail("mutated shipped configs, edited text, YAML attacks, raw bytes") + f"; {planned:,} intervals planned"
    record("fuzz", "config reader", trials=tally.trials, tracebacks=tally.failures, detail=detail)
    assert tally.trials >= scale(300, 10_000)
    assert tally.failures == 0, tally.first_failure
    assert tally.refused and tally.successes, "the inputs should reach both outcomes"
