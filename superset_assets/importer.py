"""Import built bundles into a running Superset (`POST /api/v1/assets/import/`), guarded and explained.

- Login (JWT), CSRF token with the session cookie, no redirect followed: `client.SupersetClient`.
- Version check: the server's version (`/static/version_info.json`) must accept the bundle's keys.
- Plan first (`superset_assets.plan`): every database, dataset, chart and dashboard of the bundles is
  new, changed (naming the fields), unchanged, edited in Superset since our last import, or not
  imported by us; assets we imported that no bundle builds any more are orphans, deleted only with
  `prune`. The import applies exactly that plan.
- UI-edit guard: an asset whose change time differs from what we recorded right after our last
  import was edited in Superset; it (and a dashboard we never imported) is not overwritten unless
  `force`. The records live in `$METRICS_STATE_DIR/superset-imports.json` (default
  `~/.local/state/metrics-service/`, beside Grafana's), keyed by Superset URL and UUID: the state
  belongs to the operator's machine and the server, not to the repository.
- Environments: a bundle built without `--engine-uri` is environment-neutral (database URI
  `database.ENVIRONMENT_URI`); its database file is made for the given `database_uri` (the selected
  environment's) in memory before it is posted. A bundle built for one database is imported as
  built, and refused when an environment is selected whose database is another.
- Dry run: the plan only; nothing is posted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from metrics import redact
from metrics.errors import MetricsError
from metrics.plan import AssetPlan, SystemPlan, stale
from metrics.state import StateFile
from superset_assets import plan as asset_plan, versions
from superset_assets.bundle import BundleError, database_uri_of, fill_database_uri, read_zip
from superset_assets.client import SupersetClient, SupersetError
from superset_assets.database import MASKED_PASSWORD, file_name as database_file, is_neutral, mask_password

STATE_NAME = "superset-imports"
PASSWORD_ENV = "SUPERSET_PASSWORD"
DB_PASSWORD_ENV = "SUPERSET_DB_PASSWORD"


class ImportProblem(MetricsError):
    """A failed import, in one line that says what to do."""


@dataclass(frozen=True)
class BundleFile:
    """A built bundle as the importer sees it: where it is, what it was built from, what it holds."""

    path: Path
    data: bytes
    info: dict[str, str]
    objects: list[tuple[str, str, str]]
    """(kind, uuid, name) of its database and each dataset, chart and dashboard."""
    masked_password: bool = False
    """Whether its database URI holds a masked password, which Superset needs given (SUPERSET_DB_PASSWORD) for a database it lacks."""

    @property
    def label(self) -> str:
        return f"{self.info.get('spec', self.path.stem)} {self.info.get('version', '?')}"


def read_bundle(path: Path) -> BundleFile:
    """Read a built bundle ZIP."""
    try:
        data = path.read_bytes()
        info, files = read_zip(data)
    except FileNotFoundError:
        raise ImportProblem(f"{path}: bundle not found (run `metrics build superset` first)") from None
    except Exception as exc:  # noqa: BLE001 - a broken ZIP or YAML: say which file
        raise ImportProblem(f"{path}: not a Superset bundle ({exc})") from None
    objects = []
    database = files.get(database_file())
    masked = isinstance(database, dict) and f":{MASKED_PASSWORD}@" in str(database.get("sqlalchemy_uri", ""))
    names = {"database": "database_name", "dataset": "table_name", "chart": "slice_name", "dashboard": "dashboard_title"}
    for inner, content in sorted(files.items()):
        kind = {"databases": "database", "datasets": "dataset", "charts": "chart", "dashboards": "dashboard"}.get(inner.split("/", 1)[0])
        if kind and isinstance(content, dict):
            objects.append((kind, str(content.get("uuid")), str(content.get(names[kind]))))
    return BundleFile(path, data, info, objects, masked)


def for_database(bundle: BundleFile, uri: str | None, environment: str | None = None) -> BundleFile:
    """The bundle as it is posted: a neutral one filled with `uri`; one built for a database, as built.

    Raises ImportProblem for a neutral bundle without `uri`, and for a bundle built for another
    database than `uri` when `environment` is selected (the masked URIs are compared, never shown
    with a password).
    """
    built = database_uri_of(bundle.data)
    if built is None:
        raise ImportProblem(f"{bundle.path}: the bundle has no {database_file()}: rebuild it with `metrics build superset`")
    if not is_neutral(built):
        if environment is not None and uri is not None and mask_password(uri)[0] != built:
            raise ImportProblem(
                f"{bundle.path}: built for the database {redact.mask_url(built)}, not environment {environment}'s "
                f"{redact.mask_url(mask_password(uri)[0])}: build it without --engine-uri (environment-neutral) and import again"
            )
        return bundle
    if uri is None:
        raise ImportProblem(f"{bundle.path}: the bundle is environment-neutral and no database URI was given: select an environment (--env)")
    try:
        data = fill_database_uri(bundle.data, uri)
    except BundleError as exc:
        raise ImportProblem(f"{bundle.path}: {exc}") from None
    return replace(bundle, data=data, masked_password=mask_password(uri)[1])


@dataclass
class ImportResult:
    bundles: list[BundleFile] = field(default_factory=list)
    plan: SystemPlan = field(default_factory=lambda: SystemPlan("superset", ""))
    """What the import does (or, in a dry run, would do), asset by asset."""
    deleted: list[AssetPlan] = field(default_factory=list)
    """Orphans deleted with `prune`."""
    dashboards: dict[str, int] = field(default_factory=dict)
    """dashboard UUID -> id on the server, after the import."""


def _connect(url: str, user: str, password: str) -> SupersetClient:
    client = SupersetClient(url, user, password, timeout=120)
    try:
        client.login()
    except httpx.ConnectError as exc:
        client.close()
        reason = "connection refused" if "refused" in str(exc).lower() else str(exc)
        raise ImportProblem(f"cannot connect to Superset at {url} ({reason}): is it running, and is --url right?") from None
    except httpx.HTTPError as exc:
        client.close()
        raise ImportProblem(f"cannot reach Superset at {url} ({type(exc).__name__}: {exc})") from None
    except SupersetError as exc:
        client.close()
        status = exc.response.status_code if exc.response is not None else None
        if status == 401:
            raise ImportProblem(f"Superset at {url} rejected user {user!r} (401): check --user and the {PASSWORD_ENV} environment variable") from None
        if exc.response is not None and 300 <= exc.response.status_code < 400:
            raise ImportProblem(
                f"Superset at {url} redirected the login to {exc.response.headers.get('location')!r}: pass the final Superset URL as --url"
            ) from None
        raise ImportProblem(f"login to Superset at {url} failed (HTTP {status}): is --url a Superset server?") from None
    return client


def server_version(client: SupersetClient) -> str | None:
    """The server's release, e.g. '6.1.0' (None when it does not say)."""
    try:
        answer = client.request("GET", "/static/version_info.json")
        return str(answer.json().get("version")) or None
    except (SupersetError, ValueError, AttributeError):
        return None


def check_versions(bundles: list[BundleFile], version: str | None) -> None:
    """Refuse a bundle built for a newer Superset than the server (it would be rejected as a whole)."""
    parsed = versions.parse_server_version(version) if version else None
    if parsed is None:
        return
    for bundle in bundles:
        target = bundle.info.get("superset_version")
        if not target:
            continue
        wanted = tuple(int(p) for p in target.split("."))
        if parsed < wanted:
            best = versions.best_target(parsed)
            hint = f"rebuild with `metrics build superset --superset-version {best}`" if best else "Superset older than 4.1 is not supported"
            raise ImportProblem(f"{bundle.path}: built for Superset {target}, but the server runs {version}: {hint}")


class StalePlan(ImportProblem):
    """The live Superset changed since the plan the operator approved: bad input to `--plan`, exit 2."""

    exit_code = 2


def import_bundles(
    url: str,
    paths: list[Path],
    *,
    user: str = "admin",
    password: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    state_path: Path | None = None,
    database_uri: str | None = None,
    environment: str | None = None,
    prune: bool = False,
    complete: bool = False,
    expected: SystemPlan | None = None,
    on_plan: Callable[[SystemPlan], None] | None = None,
) -> ImportResult:
    """Plan, then import (with `dry_run`: only plan) the bundles at `paths` into the Superset at `url`.

    The plan (`superset_assets.plan`) is handed to `on_plan` before anything is posted; the import
    applies exactly it: dashboards edited in Superset, or not imported by us, and any edited asset are
    refused unless `force`; with `prune`, the orphans it lists are deleted after the import. With
    `expected` (a plan saved by `metrics plan -o`), a live state that differs from it is refused
    (`StalePlan`, exit 2). `complete`: the bundles are the whole catalogue (orphans of any spec).

    Environment-neutral bundles get `database_uri` (the selected environment's database, see
    `for_database`); its password, if any, is masked in the bundle and given from SUPERSET_DB_PASSWORD.

    A `url` holding a secret (`http://admin:S@host`, `?token=`) is refused, naming it masked: the
    password comes from SUPERSET_PASSWORD only, so it never sits in a command line or a state file.
    """
    url = url.rstrip("/")
    if redact.url_secrets(url):
        raise ImportProblem(
            f"the Superset URL {redact.mask_url(url)} holds a secret: give the URL without it, the user with --user and the password in {PASSWORD_ENV}"
        )
    password = password if password is not None else os.environ.get(PASSWORD_ENV)
    if not password:
        from metrics.problems import InputError

        raise InputError.at(PASSWORD_ENV, "no Superset password in the environment", f"export {PASSWORD_ENV}, the password of --user {user}")
    if database_uri is not None:
        redact.remember_url(database_uri)
        mask_password(database_uri)  # refuses a secret that cannot travel in a bundle, before anything is posted
    bundles = [for_database(read_bundle(p), database_uri, environment) for p in paths]
    store = StateFile(STATE_NAME, state_path)
    ours = store.read().get(url, {})
    ours = ours if isinstance(ours, dict) else {}
    result = ImportResult(bundles)
    client = _connect(url, user, password)
    with client:
        try:
            check_versions(bundles, server_version(client))
            built = {b.uuid: b for b in asset_plan.built_objects((bundle.data, bundle.info) for bundle in bundles)}
            live = asset_plan.inventory(client)
            result.plan = asset_plan.plan(url, list(built.values()), live, ours, complete=complete, prune=prune)
            if on_plan is not None:
                on_plan(result.plan)
            if dry_run:
                return result
            if expected is not None:
                moved = stale(expected, result.plan)
                if moved:
                    raise StalePlan(
                        f"the live Superset no longer matches the saved plan: {moved[0]}"
                        + (f" ({len(moved) - 1} more difference(s))" if len(moved) > 1 else "")
                        + "; nothing was imported: run `metrics plan -o FILE` again, review it, then import with it"
                    )
            refused = [a for a in result.plan.assets if a.status == "edited" or (a.status == "unknown" and a.kind == "dashboard")]
            if refused and not force:
                first = refused[0]
                owner = next((b.path.name for b in bundles if (first.kind, first.key) in {(k, u) for k, u, _ in b.objects}), "?")
                reason = (
                    first.detail
                    if first.status == "edited"
                    else "it exists on the server but was never imported by this tool from here (no record in the import state)"
                )
                raise ImportProblem(
                    f"refusing to overwrite {first.kind} {first.name!r} ({first.key}, to be replaced by {owner}): {reason}; "
                    "look at the edits, then import with --force to overwrite them" + (f" ({len(refused) - 1} more asset(s) too)" if len(refused) > 1 else "")
                )
            db_password = os.environ.get(DB_PASSWORD_ENV)
            for bundle in bundles:
                _post(client, bundle, {database_file(): db_password} if db_password else None)
                live = asset_plan.inventory(client)
                for kind, uuid, _ in bundle.objects:
                    if uuid in live and uuid in built:
                        ours[uuid] = asset_plan.record(built[uuid], live[uuid])
                    if kind == "dashboard" and uuid in live:
                        result.dashboards[uuid] = live[uuid].id
                store.update(url, ours)
            if prune:
                result.deleted = asset_plan.delete(client, result.plan.of("orphan"), live)
            gone = {a.key for a in result.deleted} | {uuid for uuid in ours if uuid not in live and uuid not in built}
            if gone:  # deleted by us or by someone else: nothing left to guard or to prune
                for uuid in gone:
                    ours.pop(uuid, None)
                store.update(url, ours)
        except SupersetError as exc:
            raise ImportProblem(_one_line(exc)) from None
        except httpx.HTTPError as exc:
            raise ImportProblem(f"Superset at {url} stopped answering ({type(exc).__name__}: {exc})") from None
    return result


def _post(client: SupersetClient, bundle: BundleFile, passwords: dict[str, str] | None) -> None:
    try:
        client.import_bundle(bundle.data, passwords)
    except SupersetError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status == 500 and bundle.masked_password and not passwords:
            raise ImportProblem(
                f"{bundle.path}: Superset refused the bundle (HTTP 500); its database URI has a masked password and "
                f"{DB_PASSWORD_ENV} is not set, and Superset needs the password for a database it does not have yet: "
                f"set {DB_PASSWORD_ENV} and import again (the server log says 'Must provide a password for the database' if that is the cause)"
            ) from None
        if status == 500:
            target = bundle.info.get("superset_version", "?")
            raise ImportProblem(
                f"{bundle.path}: Superset refused the bundle (HTTP 500 'Import failed for an unknown reason', which is how its "
                f"assets import reports any key it does not accept, among other causes); the bundle was built for Superset {target}: "
                f"rebuild it with --superset-version matching the server (4.1, 5.0 or 6.1), and see the server log for the cause"
            ) from None
        raise ImportProblem(f"{bundle.path}: {_one_line(exc)}") from None


def _one_line(exc: SupersetError) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) < 400 else text[:400] + "..."
