"""`metrics new` beside the shipped specs: the catalogue still validates and every surface still builds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import SHIPPED_CATALOGUE, SHIPPED_QUERIES


def metrics(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "metrics", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_new_spec_beside_the_shipped_ones_validates_and_builds(tmp_path: Path) -> None:
    # a copy laid out as the repository is, so the commands run on their defaults
    shutil.copytree(SHIPPED_CATALOGUE, tmp_path / "metrics" / "catalogue")
    shutil.copytree(SHIPPED_QUERIES, tmp_path / "reportupdater_queries")
    specs = len(list(SHIPPED_CATALOGUE.glob("*.yaml")))
    taken = {p.stem for p in SHIPPED_CATALOGUE.glob("*.yaml")} | {p.name for p in SHIPPED_QUERIES.iterdir()}
    name = next(f"scaffolded_{n}" for n in range(len(taken) + 1) if f"scaffolded_{n}" not in taken)

    new = metrics("new", name, cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    assert (tmp_path / "metrics" / "catalogue" / f"{name}.yaml").is_file()
    assert (tmp_path / "reportupdater_queries" / name / "config.yaml").is_file()

    check = metrics("validate", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"{specs + 1} spec file(s) and " in check.stderr and "checked: 0 error(s)" in check.stderr

    grafana = metrics("build", "grafana", "--out", str(tmp_path / "grafana"), cwd=tmp_path)
    assert grafana.returncode == 0, grafana.stderr
    assert (tmp_path / "grafana" / "dashboards" / f"{name}.json").is_file()
    superset = metrics(
        "--warehouse",
        str(tmp_path / "wh"),
        "build",
        "superset",
        "--out",
        str(tmp_path / "bundles"),
        "--engine-uri",
        "duckdb:////srv/warehouse/catalog.duckdb",
        cwd=tmp_path,
    )
    assert superset.returncode == 0, superset.stderr
    assert (tmp_path / "bundles" / name / f"{name}-0.1.0.zip").is_file()
