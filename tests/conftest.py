"""Shared fixtures: the tests' own catalogue and query folders, and the paths of the repository.

Tests read `CATALOGUE` and `QUERIES` (tests/fixtures/), never the shipped `metrics/catalogue/` or
`reportupdater_queries/`: adding or editing a shipped spec must not change what a test expects.
Only tests about the shipped files themselves use the `SHIPPED_*` paths, and those loop over
whatever is there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CATALOGUE = FIXTURES / "catalogue"
QUERIES = FIXTURES / "queries"
SHIPPED_CATALOGUE = ROOT / "metrics" / "catalogue"
SHIPPED_QUERIES = ROOT / "reportupdater_queries"
SHIPPED_GRAFANA = ROOT / "grafana"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    """A writable copy of the test catalogue."""
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    return target


def edit(path: Path, old: str, new: str) -> Path:
    """Replace `old` (which must occur exactly once) by `new` in the file."""
    text = path.read_text("utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), "utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based number of the first line containing `needle`."""
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def pos(path: Path, needle: str, offset: int = 0) -> str:
    """`line:column` of the first occurrence of `needle` (plus `offset` columns), 1-based."""
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if needle in line:
            return f"{number}:{line.index(needle) + 1 + offset}"
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory):
    """One Spark SQL session in Hive-compatible mode for the whole run (tests marked `spark`): the oracle of Hive's meaning."""
    from tests.services.spark import spark_session

    with spark_session(tmp_path_factory.mktemp("spark")) as session:
        yield session
