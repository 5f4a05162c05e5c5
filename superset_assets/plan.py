"""What importing built bundles would do in a live Superset, asset by asset (`metrics.plan` statuses).

Three inputs, compared by UUID:
- the bundles: every database, dataset, chart and dashboard file, fingerprinted field by field;
- the live server: `GET /api/v1/<kind>/?q=(columns:!(id,uuid,<name>,changed_on_utc))`, one listing
  per kind (no object is fetched one by one);
- our record of the last import into that server (`$METRICS_STATE_DIR/superset-imports.json`): per
  UUID its kind, spec, version, field fingerprints and the server's change time right after our
  import.

An asset whose live change time differs from the recorded one was edited in Superset; one with no
record is not ours ("unknown"), whatever it looks like; "changed" names the bundle fields that differ
from what we imported last. Orphans are recorded assets (datasets, charts, dashboards; never the
shared database) still on the server that no bundle builds any more: `prune` deletes them through
`DELETE /api/v1/<kind>/<id>`, dashboards first, then charts, then datasets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from metrics.plan import AssetPlan, SystemPlan, changed_fields, field_prints
from superset_assets.bundle import read_zip
from superset_assets.client import SupersetClient

KINDS = ("database", "dataset", "chart", "dashboard")
NAME_FIELD = {"database": "database_name", "dataset": "table_name", "chart": "slice_name", "dashboard": "dashboard_title"}
FOLDERS = {"databases": "database", "datasets": "dataset", "charts": "chart", "dashboards": "dashboard"}
PRUNED = ("dashboard", "chart", "dataset")
"""Kinds an orphan may be of, in the order they are deleted (a chart before its dataset)."""
SKIPPED_FIELDS = ("uuid", "version")
"""Bundle fields that never differ between builds: the UUID is the key, `version` the file format."""
PAGE = 100


@dataclass(frozen=True)
class Built:
    """One object of a bundle: what importing would put on the server."""

    kind: str
    uuid: str
    name: str
    spec: str
    version: str
    content_hash: str
    fields: dict[str, str]
    """field -> fingerprint (metrics.plan.field_prints)."""


@dataclass(frozen=True)
class Live:
    """One object on the server, as its listing shows it."""

    kind: str
    uuid: str
    id: int
    name: str
    changed_on: str


def built_objects(bundles: Iterable[tuple[bytes, dict[str, str]]]) -> list[Built]:
    """The objects of bundles given as (ZIP bytes, bundle info); a database shared by bundles counts once."""
    found: dict[str, Built] = {}
    for data, info in bundles:
        _, files = read_zip(data)
        for inner, content in sorted(files.items()):
            kind = FOLDERS.get(inner.split("/", 1)[0])
            if kind is None or not isinstance(content, dict):
                continue
            uuid = str(content.get("uuid"))
            found.setdefault(
                uuid,
                Built(
                    kind,
                    uuid,
                    str(content.get(NAME_FIELD[kind])),
                    info.get("spec", "") if kind != "database" else "",
                    info.get("version", "") if kind != "database" else "",
                    info.get("content_hash", "") if kind != "database" else "",
                    field_prints(content, SKIPPED_FIELDS),
                ),
            )
    return list(found.values())


def inventory(client: SupersetClient) -> dict[str, Live]:
    """Every database, dataset, chart and dashboard on the server, by UUID."""
    found: dict[str, Live] = {}
    for kind in KINDS:
        changed = "changed_on" if kind == "database" else "changed_on_utc"
        page = 0
        while True:
            query = f"(columns:!(id,uuid,{NAME_FIELD[kind]},{changed}),page:{page},page_size:{PAGE})"
            rows = client.get_json(f"/api/v1/{kind}/", params={"q": query}).get("result") or []
            for row in rows:
                uuid = str(row.get("uuid"))
                found[uuid] = Live(kind, uuid, int(row["id"]), str(row.get(NAME_FIELD[kind])), _moment(row.get(changed)))
            if len(rows) < PAGE:
                break
            page += 1
    return found


def _moment(value: Any) -> str:
    """A change time in one spelling: the listing's `...+0000` and the detail view's naive UTC are the same moment."""
    text = str(value or "")
    for suffix in ("+0000", "+00:00", "Z"):
        text = text.removesuffix(suffix)
    return text


def plan(url: str, built: list[Built], live: dict[str, Live], recorded: dict[str, Any], *, complete: bool, prune: bool = False) -> SystemPlan:
    """The plan of importing `built` into the server whose inventory is `live`, given our `recorded` imports.

    complete: `built` is every spec of the catalogue, so any recorded asset it lacks is an orphan;
    otherwise only recorded assets of the specs in `built` can be.
    """
    assets = [_status(b, live.get(b.uuid), _record(recorded.get(b.uuid))) for b in built]
    specs = {b.spec for b in built if b.spec}
    wanted = {b.uuid for b in built}
    for uuid, raw in sorted(recorded.items()):
        record = _record(raw)
        found = live.get(uuid)
        if uuid in wanted or record is None or found is None or found.kind not in PRUNED or record.get("kind") != found.kind:
            continue
        if complete or record.get("spec") in specs:
            detail = f"imported from {record.get('spec')} {record.get('version')}".strip()
            assets.append(AssetPlan("superset", found.kind, uuid, found.name, "orphan", detail=detail, live=found.changed_on, spec=str(record.get("spec", ""))))
    return SystemPlan("superset", url, assets, prune)


def _record(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    return {"kind": "dashboard", **raw}  # records written before kinds were recorded are of dashboards


def _status(b: Built, found: Live | None, record: dict[str, Any] | None) -> AssetPlan:
    def asset(status: str, fields: list[str] | None = None, detail: str = "") -> AssetPlan:
        return AssetPlan("superset", b.kind, b.uuid, found.name if found else b.name, status, fields or [], detail, found.changed_on if found else None, b.spec)

    version = f"version {record.get('version')} -> {b.version}" if record and record.get("version") and record.get("version") != b.version else ""
    if found is None:
        return asset("new", detail="deleted in Superset since our import" if record else "")
    if record is None:
        return asset("unknown", detail="no record of our import into this server")
    if "fields" in record:
        fields = changed_fields(record["fields"], b.fields)
    else:  # a record from before fields were recorded: the content hash tells changed from unchanged
        fields = [] if record.get("content_hash") == b.content_hash else ["content"]
    if _moment(record.get("changed_on")) != found.changed_on:
        when = f"changed in Superset at {found.changed_on}, after our import of {record.get('spec', '')} {record.get('version', '')} ({_moment(record.get('changed_on'))})"
        return asset("edited", fields, when.replace("  ", " "))
    if fields:
        return asset("changed", fields, version)
    return asset("unchanged", detail=b.version)


def record(b: Built, found: Live) -> dict[str, Any]:
    """What the state file keeps of an asset right after we imported it."""
    return {"kind": b.kind, "spec": b.spec, "version": b.version, "content_hash": b.content_hash, "changed_on": found.changed_on, "fields": b.fields}


def delete(client: SupersetClient, orphans: list[AssetPlan], live: dict[str, Live]) -> list[AssetPlan]:
    """Delete the orphans (dashboards, then charts, then datasets); return those deleted."""
    done = []
    for kind in PRUNED:
        for asset in orphans:
            found = live.get(asset.key)
            if asset.kind == kind and found is not None:
                client.request("DELETE", f"/api/v1/{kind}/{found.id}")
                done.append(asset)
    return done
