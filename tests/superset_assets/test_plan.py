"""`metrics plan` and `import superset --prune / --plan` against a real Superset 6.1.

One Superset for the module (scripts/superset/). The bundles point at a warehouse that is never
queried: planning and importing read and write Superset's metadata only. The tests run in file
order on one server, each starting from an import of the catalogue as it stands.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from metrics import catalogue as catalogue_mod
from metrics.cli import main
from metrics.plan import AssetPlan
from superset_assets.database import default_uri
from superset_assets.importer import ImportProblem, import_bundles
from superset_assets.naming import object_uuid
from superset_assets.writer import build_all, latest, read_index
from tests.conftest import CATALOGUE
from tests.services.superset import SupersetClient, SupersetError, running_superset
from tests.superset_assets.pipeline import TODAY, bump_version

pytestmark = pytest.mark.superset


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("superset-plan")
    catalogue = tmp / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    with running_superset() as superset:
        yield {"superset": superset, "catalogue": catalogue, "out": tmp / "bundles", "state": tmp / "state" / "superset-imports.json", "tmp": tmp}


def build(env: dict) -> list[Path]:
    out = env["out"]
    build_all(catalogue_mod.load(env["catalogue"], today=TODAY), out, engine_uri=default_uri(env["tmp"] / "warehouse"), today=TODAY)
    return [out / e["file"] for _, e in sorted(latest(read_index(out)).items())]


def run(env: dict, state: Path | None = None, **kwargs: Any):
    s = env["superset"]
    kwargs.setdefault("complete", True)
    return import_bundles(s.url, build(env), user=s.user, password=s.password, state_path=state or env["state"], **kwargs)


def plan(env: dict, state: Path | None = None, **kwargs: Any) -> dict[str, AssetPlan]:
    return {a.key: a for a in run(env, state, dry_run=True, **kwargs).plan.assets}


def api(env: dict) -> SupersetClient:
    s = env["superset"]
    return SupersetClient(s.url, s.user, s.password)


def edit_spec(env: dict, old: str, new: str, version: tuple[str, str]) -> None:
    spec = env["catalogue"] / "codemirror.yaml"
    text = spec.read_text("utf-8")
    assert text.count(old) == 1, old
    spec.write_text(text.replace(old, new), "utf-8")
    bump_version(spec, *version)


def test_an_unchanged_catalogue_plans_every_asset_unchanged(env) -> None:
    first = plan(env)
    assert first and {a.status for a in first.values()} == {"new"}
    imported = run(env)
    assert {a.status for a in imported.plan.assets} == {"new"}  # the plan it applied
    again = plan(env)
    assert again.keys() == first.keys()
    assert {a.status for a in again.values()} == {"unchanged"}, [a.line() for a in again.values() if a.status != "unchanged"]
    dashboards = [a for a in again.values() if a.kind == "dashboard"]
    assert len(dashboards) == 4 and all(a.status == "unchanged" for a in dashboards)
    assert {a.kind for a in again.values()} == {"database", "dataset", "chart", "dashboard"}


def test_another_state_folder_sees_assets_it_did_not_import_as_unknown_not_edited(env) -> None:
    run(env)
    other = plan(env, state=env["tmp"] / "elsewhere" / "superset-imports.json")
    assert {a.status for a in other.values()} == {"unknown"}
    # and the import from there refuses the dashboards it never imported, saying why
    with pytest.raises(ImportProblem, match="never imported by this tool.*--force"):
        run(env, state=env["tmp"] / "elsewhere" / "superset-imports.json")


def test_a_ui_edit_is_planned_as_edited_and_refused_without_force(env) -> None:
    run(env)
    board = next(a for a in plan(env).values() if a.kind == "dashboard")
    chart = next(a for a in plan(env).values() if a.kind == "chart")
    with api(env) as client:
        board_id = client.get_json(f"/api/v1/dashboard/{board.key}")["result"]["id"]
        client.request("PUT", f"/api/v1/dashboard/{board_id}", json={"dashboard_title": "Edited by hand"})
        client.request("PUT", f"/api/v1/chart/{client.chart_id(chart.key)}", json={"slice_name": "Chart edited by hand"})
    now = plan(env)
    assert now[board.key].status == "edited" and now[board.key].name == "Edited by hand"
    assert now[chart.key].status == "edited" and now[chart.key].name == "Chart edited by hand"
    assert "EDITED IN THE UI" in now[chart.key].line()
    assert sum(a.status == "edited" for a in now.values()) == 2, [a.line() for a in now.values() if a.status != "unchanged"]
    with pytest.raises(ImportProblem, match="refusing to overwrite .*--force"):
        run(env)
    with api(env) as client:
        assert client.get_json(f"/api/v1/dashboard/{board.key}")["result"]["dashboard_title"] == "Edited by hand"
    run(env, force=True)
    assert {a.status for a in plan(env).values()} == {"unchanged"}


def test_a_renamed_graph_is_a_new_chart_and_an_orphan_and_a_removed_chart_is_pruned(env) -> None:
    run(env)
    old = [object_uuid("chart", "codemirror", "Switched on vs off", item) for item in ("total", "percentage")]
    renamed = [object_uuid("chart", "codemirror", "On vs off", item) for item in ("total", "percentage")]
    removed = object_uuid("chart", "codemirror", "Toggles in the 2017 editor by wiki", "table")
    spec = env["catalogue"] / "codemirror.yaml"
    text = spec.read_text("utf-8")
    graph = re.search(r"  - title: Toggles in the 2017 editor by wiki\n(    .*\n)+", text)
    assert graph is not None and text.count("  - title: Switched on vs off\n") == 1
    spec.write_text(text.replace(graph.group(0), "").replace("  - title: Switched on vs off\n", "  - title: On vs off\n"), "utf-8")
    bump_version(spec, "1.2.0", "1.3.0")
    with api(env) as client:
        assert client.chart_id(removed) and all(client.chart_id(u) for u in old)
    now = plan(env)
    assert [now[u].status for u in renamed] == ["new", "new"], [now[u].line() for u in renamed]
    assert [now[u].status for u in old] == ["orphan", "orphan"] and now[removed].status == "orphan"
    assert "import with --prune to delete it" in now[removed].line()
    boards = [a for a in now.values() if a.kind == "dashboard"]
    mine = [a for a in boards if a.spec == "codemirror"]
    assert len(mine) == 1 and mine[0].status == "changed" and "position" in mine[0].fields and "version 1.2.0 -> 1.3.0" in mine[0].detail
    assert len(boards) == 4 and all(a.status == "unchanged" for a in boards if a.spec != "codemirror")
    # without --prune the orphans stay
    run(env)
    with api(env) as client:
        assert client.chart_id(removed)
    pruned = run(env, dry_run=True, prune=True).plan
    assert any(removed in line and "would be DELETED (--prune)" in line for line in pruned.lines()), pruned.lines()
    orphans = {a.key for a in pruned.of("orphan")}
    result = run(env, prune=True)
    assert {a.key for a in result.deleted} == orphans and orphans >= {removed, *old}
    with api(env) as client:
        for uuid in (removed, *old):
            with pytest.raises(SupersetError, match="404"):
                client.chart_id(uuid)
        assert all(client.chart_id(u) for u in renamed)
    after = plan(env)
    assert not orphans & set(after)
    assert {a.status for a in after.values()} == {"unchanged"}


def test_someone_elses_chart_is_never_an_orphan(env) -> None:
    run(env)
    with api(env) as client:
        dataset = client.get_json("/api/v1/dataset/", params={"q": "(page_size:1)"})["result"][0]["id"]
        mine = client.request(
            "POST", "/api/v1/chart/", json={"slice_name": "Made by hand", "viz_type": "table", "datasource_id": dataset, "datasource_type": "table"}
        ).json()
    assert all(a.name != "Made by hand" for a in plan(env, prune=True).values())
    run(env, prune=True)
    with api(env) as client:
        assert client.get_json(f"/api/v1/chart/{mine['id']}")["result"]["slice_name"] == "Made by hand"


def test_import_with_a_saved_plan_refuses_when_the_live_state_moved(env) -> None:
    run(env)
    s = env["superset"]
    saved = env["tmp"] / "plan.json"
    environ = {"SUPERSET_PASSWORD": s.password, "METRICS_STATE_DIR": str(env["state"].parent)}
    common = ["--catalogue", str(env["catalogue"])]
    shown = CliRunner().invoke(main, [*common, "plan", "--superset-url", s.url, "--bundles-dir", str(env["out"]), "-o", str(saved)], env=environ)
    assert shown.exit_code == 0, shown.output
    assert re.search(r"superset at .*: \d+ unchanged", shown.output)
    machine = CliRunner().invoke(main, [*common, "plan", "--superset-url", s.url, "--bundles-dir", str(env["out"]), "--json"], env=environ)
    document = json.loads(machine.output)
    assert {a["status"] for a in document["plans"][0]["assets"]} == {"unchanged"}
    # the saved plan still holds: import applies it, printing it first
    applied = CliRunner().invoke(main, [*common, "import", "superset", "--url", s.url, "--bundles-dir", str(env["out"]), "--plan", str(saved)], env=environ)
    assert applied.exit_code == 0, applied.output
    assert applied.output.index("unchanged") < applied.output.index("imported ")
    # our own import moved the change times: plan again, then someone edits a dashboard
    assert CliRunner().invoke(main, [*common, "plan", "--superset-url", s.url, "--bundles-dir", str(env["out"]), "-o", str(saved)], env=environ).exit_code == 0
    board = next(a for a in plan(env).values() if a.kind == "dashboard")
    with api(env) as client:
        number = client.get_json(f"/api/v1/dashboard/{board.key}")["result"]["id"]
        client.request("PUT", f"/api/v1/dashboard/{number}", json={"dashboard_title": "Edited after the plan"})
    refused = CliRunner().invoke(
        main, [*common, "import", "superset", "--url", s.url, "--bundles-dir", str(env["out"]), "--plan", str(saved), "--force"], env=environ
    )
    assert refused.exit_code == 2, refused.output
    assert "no longer matches the saved plan" in refused.output and board.key in refused.output and "Traceback" not in refused.output
    with api(env) as client:
        assert client.get_json(f"/api/v1/dashboard/{board.key}")["result"]["dashboard_title"] == "Edited after the plan"


def test_a_spec_removed_from_the_catalogue_leaves_orphans_that_prune_deletes(env) -> None:
    run(env, force=True)
    s = env["superset"]
    environ = {"SUPERSET_PASSWORD": s.password, "METRICS_STATE_DIR": str(env["state"].parent)}
    common = ["--catalogue", str(env["catalogue"])]
    board = next(a for a in plan(env).values() if a.kind == "dashboard" and a.spec == "top_pageviews")
    (env["catalogue"] / "top_pageviews.yaml").unlink()  # its built bundles stay in the folder, for rollbacks
    shown = CliRunner().invoke(main, [*common, "plan", "--superset-url", s.url, "--bundles-dir", str(env["out"]), "--prune", "--json"], env=environ)
    assert shown.exit_code == 0, shown.output
    assets = json.loads(shown.output)["plans"][0]["assets"]
    orphans = {a["key"] for a in assets if a["status"] == "orphan"}
    assert board.key in orphans and all(a["spec"] == "top_pageviews" for a in assets if a["status"] == "orphan")
    assert {a["status"] for a in assets if a["status"] != "orphan"} == {"unchanged"}
    pruned = CliRunner().invoke(main, [*common, "import", "superset", "--url", s.url, "--bundles-dir", str(env["out"]), "--prune"], env=environ)
    assert pruned.exit_code == 0, pruned.output
    assert f"deleted dashboard {board.name} ({board.key})" in pruned.output
    with api(env) as client:
        with pytest.raises(SupersetError, match="404"):
            client.get_json(f"/api/v1/dashboard/{board.key}")
    again = CliRunner().invoke(main, [*common, "plan", "--superset-url", s.url, "--bundles-dir", str(env["out"]), "--json"], env=environ)
    left = json.loads(again.output)["plans"][0]["assets"]
    assert not orphans & {a["key"] for a in left} and {a["status"] for a in left} == {"unchanged"}
