"""The importers' state files: missing, corrupt, updated by key."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from metrics.problems import InputError
from metrics.state import StateFile


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("METRICS_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_the_file_lives_in_the_state_dir_and_a_missing_one_is_empty(state_dir: Path) -> None:
    state = StateFile("grafana-imports")
    assert state.path == state_dir / "grafana-imports.json"
    assert state.read() == {}


def test_update_round_trips_and_keeps_other_keys(state_dir: Path) -> None:
    state = StateFile("superset-imports")
    state.update("http://a", {"uid-1": {"changed_on": "2026-01-01"}})
    state.update("http://b", {"uid-2": 3})
    state.update("http://a", {"uid-1": {"changed_on": "2026-02-01"}})
    assert StateFile("superset-imports").read() == {"http://a": {"uid-1": {"changed_on": "2026-02-01"}}, "http://b": {"uid-2": 3}}
    assert sorted(p.name for p in state_dir.iterdir() if not p.name.endswith(".lock")) == ["superset-imports.json"]


def test_an_explicit_path_overrides_the_state_dir(tmp_path: Path) -> None:
    state = StateFile("superset-imports", tmp_path / "elsewhere.json")
    state.update("k", 1)
    assert (tmp_path / "elsewhere.json").is_file() and state.read() == {"k": 1}


def test_a_corrupt_file_is_an_error_naming_the_file_and_the_place(state_dir: Path) -> None:
    state_dir.mkdir()
    path = state_dir / "grafana-imports.json"
    path.write_text('{\n  "http://a": {"x": 1,}\n}\n')
    with pytest.raises(InputError) as exc:
        StateFile("grafana-imports").read()
    [problem] = exc.value.problems
    assert (problem.file, problem.line, problem.column) == (str(path), 2, 23)
    assert "not JSON" in problem.message and "delete" in problem.hint
    with pytest.raises(InputError, match="holds a list"):
        path.write_text("[]")
        StateFile("grafana-imports").update("k", 1)
    assert path.read_text() == "[]"


def test_concurrent_updates_of_different_keys_all_land() -> None:
    threads = [threading.Thread(target=StateFile("grafana-imports").update, args=(f"http://{i}", i)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert StateFile("grafana-imports").read() == {f"http://{i}": i for i in range(20)}
