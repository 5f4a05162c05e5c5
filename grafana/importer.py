"""Import built dashboards into a running Grafana through its HTTP API.

`POST /api/dashboards/db` with `overwrite: true`, into a folder looked up (or created) by title,
with a version message naming the spec version. Every failure becomes one `GrafanaError` line.

A dashboard changed in Grafana since our last import is not overwritten unless forced: the
version Grafana gave each dashboard at our import is recorded per Grafana URL in a state file
(`$METRICS_STATE_DIR/grafana-imports.json`, default `~/.local/state/metrics-service/`), and a
live version that differs means someone saved an edit.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from grafana.prefix import PrefixError, prefix_dashboard
from metrics import redact
from metrics.errors import MetricsError
from metrics.plan import AssetPlan, SystemPlan, changed_fields, field_prints, stale
from metrics.state import StateFile

TOKEN_ENV = "GRAFANA_TOKEN"
STATE_NAME = "grafana-imports"


class GrafanaError(MetricsError):
    """Grafana refused a request or could not be reached; the message says what to do."""


@dataclass(frozen=True)
class Imported:
    """The result of one dashboard import (or, with dry_run, what would be posted)."""

    path: Path
    uid: str
    body: dict[str, Any]
    url: str | None = None
    version: int | None = None
    deleted: bool = False
    """An orphan deleted with `prune` (then `uid` is all that is set)."""


def folder_uid(title: str) -> str:
    """The uid given to a folder this importer creates (stable, from its title)."""
    return ("metrics-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"))[:40]


def import_message(dashboard: dict[str, Any]) -> str:
    """The version message: which spec and spec version the dashboard was built from."""
    tags = dict(t.split(":", 1) for t in dashboard.get("tags", []) if ":" in t)
    spec, version = tags.get("spec", dashboard.get("uid", "?")), tags.get("version", "?")
    return f"metrics spec {spec} version {version} (metrics build grafana)"


def post_body(dashboard: dict[str, Any], folder: str | None) -> dict[str, Any]:
    """The body of `POST /api/dashboards/db` for one dashboard."""
    body: dict[str, Any] = {"dashboard": {**dashboard, "id": None}, "overwrite": True, "message": import_message(dashboard)}
    if folder is not None:
        body["folderUid"] = folder
    return body


def import_dashboards(
    url: str,
    paths: list[Path],
    *,
    folder: str | None = None,
    token: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    timeout: float = 30.0,
    prune: bool = False,
    complete: bool = False,
    expected: SystemPlan | None = None,
    on_plan: Callable[[SystemPlan], None] | None = None,
    graphite_prefix: str | None = None,
) -> list[Imported]:
    """Post each dashboard file to Grafana at `url`; with `dry_run`, only return the bodies (no server contacted).

    `folder` is a folder title: looked up, and created when missing (not in a dry run).
    The token defaults to the GRAFANA_TOKEN environment variable; a `url` holding a secret
    (`http://admin:S@host`, `?token=`) is refused, naming it masked. The plan (`plan_dashboards`)
    is handed to `on_plan` first and applied exactly: a dashboard edited in Grafana since our last
    import (or one this tool never imported) is refused unless `force`; with `prune` the orphans
    are deleted (`DELETE /api/dashboards/uid/<uid>`); with `expected` (a saved plan), a live state
    that moved since is refused with `StalePlan` (exit 2). `graphite_prefix` (the environment's)
    is put into every target and variable query of the neutral files first (`grafana.prefix`).
    """
    if redact.url_secrets(url):
        raise GrafanaError(f"the Grafana URL {redact.mask_url(url)} holds a secret: give the URL without it and the token in {TOKEN_ENV}")
    dashboards = [(path, _read(path, graphite_prefix)) for path in paths]
    if dry_run:
        uid = folder_uid(folder) if folder else None
        return [Imported(path, d.get("uid", ""), post_body(d, uid)) for path, d in dashboards]
    results = []
    with _client(url, token, timeout) as client:
        store = StateFile(STATE_NAME)
        ours = store.read().get(url.rstrip("/"), {})
        plan, live = _plan(client, url, dashboards, ours, complete=complete, prune=prune)
        if on_plan is not None:
            on_plan(plan)
        if expected is not None and (moved := stale(expected, plan)):
            raise StalePlan(
                f"the live Grafana no longer matches the saved plan: {moved[0]}"
                + (f" ({len(moved) - 1} more difference(s))" if len(moved) > 1 else "")
                + "; nothing was imported: run `metrics plan -o FILE` again, review it, then import with it"
            )
        for asset in plan.assets:
            if asset.status in ("edited", "unknown") and not force:
                path = next(p for p, d in dashboards if str(d.get("uid", "")) == asset.key)
                recorded = _recorded(ours.get(asset.key))
                before = f"version {recorded['version']} at our last import" if recorded else "never imported by this tool"
                raise GrafanaError(
                    f"dashboard {asset.key} ({path.name}) was changed in Grafana: live version {live[asset.key]}, {before}; "
                    "look at the edits in its version history, then import with --force to overwrite them"
                )
        uid = _ensure_folder(client, folder) if folder else None
        for path, dashboard in dashboards:
            body = post_body(dashboard, uid)
            answer = _request(client, "POST", "/api/dashboards/db", body, what=f"dashboard {dashboard.get('uid')} ({path.name})")
            results.append(Imported(path, answer.get("uid", dashboard.get("uid", "")), body, answer.get("url"), answer.get("version")))
            if isinstance(answer.get("version"), int):
                ours[str(dashboard.get("uid", ""))] = {
                    "version": answer["version"],
                    "spec": _spec(dashboard),
                    "fields": field_prints(dashboard, SKIPPED_FIELDS),
                }
                store.update(url.rstrip("/"), ours)
        if prune:
            for asset in plan.of("orphan"):
                _request(client, "DELETE", f"/api/dashboards/uid/{asset.key}", None, what=f"dashboard {asset.key}", missing_ok=True)
                ours.pop(asset.key, None)
                store.update(url.rstrip("/"), ours)
                results.append(Imported(Path(""), asset.key, {}, None, None, deleted=True))
    return results


def plan_dashboards(
    url: str,
    paths: list[Path],
    *,
    token: str | None = None,
    timeout: float = 30.0,
    complete: bool = False,
    prune: bool = False,
    graphite_prefix: str | None = None,
) -> SystemPlan:
    """What importing the dashboard files at `paths` into Grafana at `url` would do (`metrics.plan` statuses).

    Each built dashboard is new, changed (naming its top-level fields that differ from our last
    import), unchanged, edited (its live version is not the one our import got) or unknown (no
    record of our import); recorded dashboards no file builds any more and still in Grafana are
    orphans (`complete`: of any spec; else only of the specs being planned). Reads only. The
    dashboards are compared as `import_dashboards` would post them (under `graphite_prefix`).
    """
    if redact.url_secrets(url):
        raise GrafanaError(f"the Grafana URL {redact.mask_url(url)} holds a secret: give the URL without it and the token in {TOKEN_ENV}")
    dashboards = [(path, _read(path, graphite_prefix)) for path in paths]
    with _client(url, token, timeout) as client:
        ours = StateFile(STATE_NAME).read().get(url.rstrip("/"), {})
        return _plan(client, url, dashboards, ours, complete=complete, prune=prune)[0]


SKIPPED_FIELDS = ("id", "uid", "version")
"""Dashboard fields Grafana sets, or that key it."""


class StalePlan(GrafanaError):
    """The live Grafana changed since the plan the operator approved: bad input to `--plan`, exit 2."""

    exit_code = 2


def _client(url: str, token: str | None, timeout: float) -> httpx.Client:
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        from metrics.problems import InputError

        raise InputError.at(TOKEN_ENV, "no Grafana token in the environment", f"export {TOKEN_ENV}, a service-account token with the Editor role")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, follow_redirects=False, timeout=timeout)


def _spec(dashboard: dict[str, Any]) -> str:
    tags = dict(t.split(":", 1) for t in dashboard.get("tags", []) if isinstance(t, str) and ":" in t)
    return tags.get("spec", "")


def _recorded(raw: Any) -> dict[str, Any] | None:
    """A state record: `{"version", "spec", "fields"}`, or the bare version older imports wrote."""
    if isinstance(raw, int):
        return {"version": raw}
    return raw if isinstance(raw, dict) else None


def _plan(
    client: httpx.Client, url: str, dashboards: list[tuple[Path, dict[str, Any]]], ours: dict[str, Any], *, complete: bool, prune: bool
) -> tuple[SystemPlan, dict[str, int | None]]:
    live: dict[str, int | None] = {}
    assets = []
    for _, dashboard in dashboards:
        uid, title = str(dashboard.get("uid", "")), str(dashboard.get("title", ""))
        live[uid] = version = _live_version(client, uid)
        recorded = _recorded(ours.get(uid))
        fields = field_prints(dashboard, SKIPPED_FIELDS)
        changed = changed_fields(recorded["fields"], fields) if recorded and "fields" in recorded else []

        def asset(status: str, fields: list[str] | None = None, detail: str = "") -> AssetPlan:
            return AssetPlan("grafana", "dashboard", uid, title, status, fields or [], detail, None if version is None else str(version), _spec(dashboard))  # noqa: B023

        if version is None:
            assets.append(asset("new", detail="deleted in Grafana since our import" if recorded else ""))
        elif recorded is None:
            assets.append(asset("unknown", detail=f"live version {version}; no record of our import into this server"))
        elif recorded.get("version") != version:
            assets.append(asset("edited", changed, f"live version {version}, version {recorded.get('version')} at our last import"))
        elif changed or "fields" not in recorded:
            assets.append(asset("changed", changed, "" if changed else "no field record from earlier imports"))
        else:
            assets.append(asset("unchanged"))
    specs = {_spec(d) for _, d in dashboards}
    for uid, raw in sorted(ours.items()):
        recorded = _recorded(raw)
        if uid in live or recorded is None or not (complete or recorded.get("spec") in specs):
            continue
        found = _live(client, uid)
        if found is not None:
            version = found.get("version")
            assets.append(
                AssetPlan(
                    "grafana",
                    "dashboard",
                    uid,
                    str(found.get("title") or uid),
                    "orphan",
                    detail=f"imported from spec {recorded.get('spec') or '?'}",
                    live=str(version),
                    spec=str(recorded.get("spec", "")),
                )
            )
    return SystemPlan("grafana", url.rstrip("/"), assets, prune), live


def _live(client: httpx.Client, uid: str) -> dict[str, Any] | None:
    """The dashboard model in Grafana, or None when it does not exist."""
    answer = _request(client, "GET", f"/api/dashboards/uid/{uid}", None, what=f"dashboard {uid}", missing_ok=True)
    if not isinstance(answer, dict):
        return None
    dashboard = answer.get("dashboard")
    return dashboard if isinstance(dashboard, dict) else {}


def _live_version(client: httpx.Client, uid: str) -> int | None:
    """The version of the dashboard in Grafana, or None when it does not exist."""
    dashboard = _live(client, uid)
    version = dashboard.get("version") if dashboard is not None else None
    return version if isinstance(version, int) else None


def _ensure_folder(client: httpx.Client, title: str) -> str:
    for found in _request(client, "GET", "/api/folders", None, what="the folder list"):
        if found.get("title") == title:
            return found["uid"]
    created = _request(client, "POST", "/api/folders", {"uid": folder_uid(title), "title": title}, what=f"folder {title!r}")
    return created["uid"]


def _request(client: httpx.Client, method: str, path: str, body: Any, *, what: str, missing_ok: bool = False) -> Any:
    target = f"{client.base_url}{path}"
    try:
        response = client.request(method, path, json=body)
    except httpx.ConnectError as exc:
        raise GrafanaError(f"cannot connect to Grafana at {client.base_url} ({_reason(exc)}): is it running, and is --url right?") from None
    except httpx.TimeoutException:
        raise GrafanaError(f"Grafana at {client.base_url} did not answer in time ({method} {path})") from None
    except httpx.HTTPError as exc:
        raise GrafanaError(f"{method} {target} failed: {exc}") from None
    status = response.status_code
    if 300 <= status < 400:
        raise GrafanaError(
            f"{method} {target} was redirected to {response.headers.get('location', '?')} ({status}): pass the final Grafana URL as --url (redirects are not followed, so the token is never sent elsewhere)"
        )
    if status == 401:
        raise GrafanaError(f"Grafana rejected the token (401 Unauthorized) for {what}: set {TOKEN_ENV} to a valid service-account token")
    if status == 403:
        raise GrafanaError(f"the token may not write {what} (403 Forbidden: {_message(response)}): give the service account the Editor role on the folder")
    if status == 412:
        raise GrafanaError(
            f"Grafana refused {what} (412 {_message(response)}): it was changed by someone else or another dashboard has its name; check it in Grafana, then import again"
        )
    if status == 404 and missing_ok:
        return None
    if status >= 400:
        raise GrafanaError(f"Grafana refused {what} ({status}: {_message(response)})")
    try:
        return response.json()
    except ValueError:
        raise GrafanaError(f"{method} {target} answered {status} with something that is not JSON: is --url a Grafana server?") from None


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(data, dict):
        return "; ".join(str(data[k]) for k in ("message", "status") if data.get(k)) or response.reason_phrase
    return response.reason_phrase


def _reason(exc: Exception) -> str:
    text = str(exc)
    return "connection refused" if "refused" in text.lower() else text or type(exc).__name__


def _read(path: Path, graphite_prefix: str | None = None) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise GrafanaError(f"{path}: dashboard file not found (run `metrics build grafana` first)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise GrafanaError(f"{path}: not a dashboard JSON file ({exc})") from None
    if not isinstance(data, dict) or "panels" not in data:
        raise GrafanaError(f"{path}: not a Grafana dashboard (no 'panels')")
    try:
        return prefix_dashboard(data, graphite_prefix)
    except PrefixError as exc:
        raise PrefixError(
            f"{path}: {exc.message}", "rebuild it with `metrics build grafana`; the import puts the environment's graphite_prefix into built dashboards only"
        ) from None
