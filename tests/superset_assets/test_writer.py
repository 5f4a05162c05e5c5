"""Version rules of `metrics build superset`: index, rebuilds that change nothing, the unbumped-version warning."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metrics import catalogue as catalogue_mod
from metrics.problems import InputError
from superset_assets.writer import build_all, latest, read_index
from tests.conftest import CATALOGUE, ROOT, edit
from tests.superset_assets.pipeline import bump_version

URI = "duckdb:////srv/warehouse/catalog.duckdb"
TODAY = dt.date(2026, 11, 18)


def test_rebuild_changes_nothing_and_old_versions_stay(tmp_path: Path) -> None:
    root = tmp_path / "cat"
    shutil.copytree(CATALOGUE, root)
    out = tmp_path / "bundles"
    first = build_all(catalogue_mod.load(root, today=TODAY), out, engine_uri=URI, today=TODAY)
    assert len(first.written) == 4 and not first.problems
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    second = build_all(catalogue_mod.load(root, today=TODAY), out, engine_uri=URI, today=TODAY)
    assert second.written == [] and len(second.unchanged) == 4
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps

    bump_version(root / "codemirror.yaml", "1.2.0", "1.3.0")
    third = build_all(catalogue_mod.load(root, today=TODAY), out, engine_uri=URI, today=TODAY)
    assert [p.name for p in third.written] == ["codemirror-1.3.0.zip"]
    assert (out / "codemirror" / "codemirror-1.2.0.zip").exists()
    entries = read_index(out)
    assert [e["version"] for e in entries if e["spec"] == "codemirror"] == ["1.2.0", "1.3.0"]
    assert latest(entries)["codemirror"]["version"] == "1.3.0"


def test_change_without_version_bump_warns_and_keeps_the_released_bundle(tmp_path: Path) -> None:
    root = tmp_path / "cat"
    shutil.copytree(CATALOGUE, root)
    out = tmp_path / "bundles"
    build_all(catalogue_mod.load(root, today=TODAY), out, engine_uri=URI, today=TODAY)
    released = (out / "codemirror" / "codemirror-1.2.0.zip").read_bytes()
    edit(root / "codemirror.yaml", "  - title: Toggles by editor\n", "  - title: Toggles by editor (all wikis)\n")
    report = build_all(catalogue_mod.load(root, today=TODAY), out, engine_uri=URI, today=TODAY)
    [problem] = report.problems
    assert problem.severity == "warning" and problem.file.endswith("codemirror.yaml")
    assert problem.line == next(n for n, line in enumerate((root / "codemirror.yaml").read_text().splitlines(), 1) if line.startswith("version:"))
    assert "changed since its bundle 1.2.0 was built" in problem.message and "bump `version`" in problem.hint
    assert (out / "codemirror" / "codemirror-1.2.0.zip").read_bytes() == released

    cli = [
        sys.executable,
        "-m",
        "metrics",
        "--catalogue",
        str(root),
        "--warehouse",
        str(tmp_path / "wh"),
        "build",
        "superset",
        "--out",
        str(out),
        "--engine-uri",
        URI,
    ]
    warned = subprocess.run(cli, capture_output=True, text=True, cwd=ROOT)
    assert warned.returncode == 0 and "warning: spec codemirror changed" in warned.stderr
    strict = subprocess.run(cli + ["--strict"], capture_output=True, text=True, cwd=ROOT)
    assert strict.returncode == 2 and "codemirror.yaml:" in strict.stderr and "Traceback" not in strict.stderr


def test_index_records_version_hash_and_file(tmp_path: Path) -> None:
    out = tmp_path / "bundles"
    build_all(catalogue_mod.load(CATALOGUE, today=TODAY), out, engine_uri=URI, superset_version="4.1", today=TODAY)
    index = json.loads((out / "index.json").read_text())
    entry = next(e for e in index["bundles"] if e["spec"] == "reference_previews")
    assert entry["file"] == "reference_previews/reference_previews-2.0.1.zip" and entry["superset_version"] == "4.1"
    assert set(entry) == {"spec", "version", "content_hash", "file", "sha256", "superset_version"}


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"bundles": [', "not JSON: Expecting value"),
        ("[1, 2]", "not a bundle index"),
        ('{"bundles": [{"spec": "x"}]}', "not a bundle index"),
    ],
)
def test_a_broken_index_is_a_located_error(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "index.json").write_text(content)
    with pytest.raises(InputError) as info:
        read_index(tmp_path)
    [line] = info.value.lines()
    assert line.startswith(f"{tmp_path / 'index.json'}:1:") and message in line
