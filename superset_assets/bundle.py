"""One spec -> one Superset import bundle (v1 ZIP), checked before it is written.

Layout: `<spec>-<version>/metadata.yaml`, `databases/`, `datasets/<database>/`, `charts/`,
`dashboards/`, and `_bundle.json` (spec, version, content hash, target Superset version; Superset
skips files starting with `_`). Entries are sorted and carry a fixed timestamp, YAML is written
in a fixed key order, every UUID is a uuid5 of a name: the same catalogue builds the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import yaml

from metrics import yamlfile
from metrics.catalogue import Catalogue
from metrics.errors import MetricsError
from metrics.freshness import Freshness
from metrics.spec import Spec
from superset_assets import versions
from superset_assets.charts import ChartPlan, chart_yaml, plan_charts
from superset_assets.dashboard import dashboard_yaml
from superset_assets.database import DATABASE_NAME, database_uuid, database_yaml, file_name as database_file
from superset_assets.datasets import Planner, dataset_yaml
from superset_assets.naming import file_stem

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
INFO_FILE = "_bundle.json"


class BundleError(MetricsError, ValueError):
    """The built bundle would not import as intended (a dangling reference, a key Superset rejects)."""


@dataclass(frozen=True)
class Bundle:
    """The files of one bundle (path inside the top folder -> content) and what it was built from."""

    spec: str
    version: str
    content_hash: str
    superset_version: str
    files: dict[str, Any]
    charts: tuple[ChartPlan, ...]

    @property
    def top(self) -> str:
        return f"{self.spec}-{self.version}"

    def info(self) -> dict[str, str]:
        return {"spec": self.spec, "version": self.version, "content_hash": self.content_hash, "superset_version": self.superset_version}

    def zip_bytes(self) -> bytes:
        """The ZIP: sorted entries, fixed timestamps and permissions."""
        entries = {path: dump_yaml(data) for path, data in self.files.items()}
        entries[INFO_FILE] = json.dumps(self.info(), indent=2, sort_keys=True) + "\n"
        return _zip(self.top, entries)


def _zip(top: str, entries: dict[str, str]) -> bytes:
    """`entries` (path inside `top` -> text) as a ZIP of sorted entries with fixed timestamps and permissions."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(entries):
            info = zipfile.ZipInfo(f"{top}/{path}", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, entries[path].encode("utf-8"), compresslevel=9)
    return out.getvalue()


def database_uri_of(data: bytes) -> str | None:
    """The `sqlalchemy_uri` of a built bundle's database file (None when it has none)."""
    database = read_zip(data)[1].get(database_file())
    uri = database.get("sqlalchemy_uri") if isinstance(database, dict) else None
    return uri if isinstance(uri, str) else None


def fill_database_uri(data: bytes, uri: str) -> bytes:
    """A built bundle (ZIP bytes) with its database file made for `uri`, every other entry unchanged.

    How an environment-neutral bundle (database URI `ENVIRONMENT_URI`) becomes one for an
    environment at import: the database file is built again by `database_yaml` (read-only for
    DuckDB, the password masked) with the keys of the bundle's target Superset. Rebuilding with
    `ENVIRONMENT_URI` gives the neutral bytes back. Raises BundleError for a ZIP this builder did not make.
    """
    read_zip(data)  # the size check before inflating
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        tops = {name.split("/", 1)[0] for name in names}
        if len(tops) != 1 or any("/" not in name for name in names):
            raise BundleError("not a bundle of one top folder")
        top = tops.pop()
        entries = {name.split("/", 1)[1]: archive.read(name).decode("utf-8") for name in names}
    if INFO_FILE not in entries or database_file() not in entries:
        raise BundleError(f"has no {INFO_FILE} or no {database_file()}: not built by `metrics build superset`")
    target = json.loads(entries[INFO_FILE]).get("superset_version", versions.DEFAULT_VERSION)
    entries[database_file()] = dump_yaml(restrict_file(database_file(), database_yaml(uri), target))
    return _zip(top, entries)


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)


def build_bundle(
    catalogue: Catalogue | Iterable[Spec],
    spec: Spec,
    *,
    engine_uri: str,
    superset_version: str = versions.DEFAULT_VERSION,
    today: dt.date | None = None,
    data_as_of: Sequence[Freshness] = (),
) -> Bundle:
    """The bundle of `spec`: database, datasets, charts and dashboard, restricted to the keys of `superset_version`.

    `data_as_of` (from the run log, `metrics.status.spec_freshness`) is shown in the dashboard's header.
    """
    versions.check_version(superset_version)
    today = today or dt.date.today()
    planner = Planner(catalogue, spec, DATABASE_NAME)
    planner.plan_spec()
    charts = plan_charts(spec, planner)
    datasets = list(planner.datasets.values())
    files: dict[str, Any] = {"metadata.yaml": {"version": "1.0.0"}, database_file(): database_yaml(engine_uri)}
    for dataset in sorted(datasets, key=lambda d: d.name):
        files[f"datasets/{DATABASE_NAME}/{file_stem(dataset.name)}.yaml"] = dataset_yaml(dataset, database_uuid())
    for chart in charts:
        files[f"charts/{file_stem(chart.title)}_{chart.uuid[:8]}.yaml"] = chart_yaml(chart, spec)
    files[f"dashboards/{file_stem(spec.name)}.yaml"] = dashboard_yaml(spec, charts, sorted(datasets, key=lambda d: d.name), today, data_as_of)
    files = {path: restrict_file(path, data, superset_version) for path, data in files.items()}
    bundle = Bundle(spec.name, spec.version, spec.content_hash(), superset_version, files, tuple(charts))
    problems = check_files(files, superset_version)
    if problems:
        raise BundleError(f"bundle of spec {spec.name} is inconsistent: " + "; ".join(problems))
    return bundle


def kind_of(path: str) -> str:
    """The file kind of a bundle path: metadata, database, dataset, chart or dashboard."""
    if path == "metadata.yaml":
        return "metadata"
    return {"databases": "database", "datasets": "dataset", "charts": "chart", "dashboards": "dashboard"}[path.split("/", 1)[0]]


def restrict_file(path: str, data: dict[str, Any], version: str) -> dict[str, Any]:
    """Drop every key (also nested) that Superset `version` does not accept."""
    kind = kind_of(path)
    data = versions.restrict(version, kind, data)
    if kind == "database":
        data["extra"] = versions.restrict(version, "database_extra", data["extra"])
    elif kind == "dataset":
        data["columns"] = [versions.restrict(version, "column", c) for c in data.get("columns", [])]
        data["metrics"] = [versions.restrict(version, "metric", m) for m in data.get("metrics", [])]
    elif kind == "dashboard":
        data["metadata"] = versions.restrict(version, "dashboard_metadata", data.get("metadata", {}))
    return data


def check_files(files: dict[str, Any], version: str) -> list[str]:
    """Every problem Superset would reject (unknown keys) or silently skip (dangling UUIDs, unknown columns)."""
    problems: list[str] = []
    by_kind: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in ("database", "dataset", "chart", "dashboard")}
    for path, data in sorted(files.items()):
        kind = kind_of(path)
        problems += [f"{path}: key {k!r} is unknown to Superset {version}" for k in versions.unknown_keys(version, kind, data)]
        if kind == "metadata":
            if data.get("version") != "1.0.0" or "type" in data:
                problems.append(f"{path}: must be {{version: 1.0.0}} without a type")
            continue
        nested = {
            "database": [("database_extra", data.get("extra") or {})],
            "dataset": [("column", c) for c in data.get("columns", [])] + [("metric", m) for m in data.get("metrics", [])],
            "dashboard": [("dashboard_metadata", data.get("metadata") or {})],
        }.get(kind, [])
        for sub, value in nested:
            problems += [f"{path}: {sub} key {k!r} is unknown to Superset {version}" for k in versions.unknown_keys(version, sub, value)]
        uuid = str(data.get("uuid"))
        for other in by_kind.values():
            if uuid in other:
                problems.append(f"{path}: uuid {uuid} is used twice")
        by_kind[kind][uuid] = data
        for required in {"database": ("extra",), "chart": ("params",), "dashboard": ("position",)}.get(kind, ()):
            if required not in data:
                problems.append(f"{path}: {required!r} is missing (Superset's import crashes without it)")
    for dataset in by_kind["dataset"].values():
        if dataset.get("database_uuid") not in by_kind["database"]:
            problems.append(f"dataset {dataset.get('table_name')}: database {dataset.get('database_uuid')} is not in the bundle")
    for chart in by_kind["chart"].values():
        linked = by_kind["dataset"].get(chart.get("dataset_uuid", ""))
        if linked is None:
            problems.append(f"chart {chart.get('slice_name')!r}: dataset {chart.get('dataset_uuid')} is not in the bundle (Superset would skip the chart)")
            continue
        problems += [f"chart {chart.get('slice_name')!r}: {p}" for p in _chart_references(chart, linked)]
    for dashboard in by_kind["dashboard"].values():
        problems += [f"dashboard {dashboard.get('dashboard_title')!r}: {p}" for p in _dashboard_references(dashboard, by_kind)]
    return problems


def _names(items: Iterable[Any]) -> set[str]:
    return {i for i in items if isinstance(i, str)}


def _chart_references(chart: dict[str, Any], dataset: dict[str, Any]) -> list[str]:
    columns = {c["column_name"] for c in dataset.get("columns", [])}
    metrics = {m["metric_name"] for m in dataset.get("metrics", [])}
    params = chart.get("params") or {}
    try:
        context = json.loads(chart.get("query_context") or "null")
    except ValueError:
        return ["query_context is not JSON"]
    if not context:
        return ["has no query_context (GET /api/v1/chart/<id>/data/ would answer 400)"]
    used_metrics = _names(params.get("metrics", [])) | _names([params.get("metric")]) | _names(params.get("percent_metrics", []))
    used_columns = _names(params.get("groupby", [])) | _names([params.get("x_axis")]) | {f["subject"] for f in params.get("adhoc_filters", [])}
    for query in context.get("queries", []):
        used_metrics |= _names(query.get("metrics", []))
        used_columns |= _names(query.get("columns", [])) | {c["sqlExpression"] for c in query.get("columns", []) if isinstance(c, dict)}
        used_columns |= {f["col"] for f in query.get("filters", [])}
    problems = [f"metric {m!r} is not a metric of dataset {dataset['table_name']}" for m in sorted(used_metrics - metrics)]
    problems += [f"column {c!r} is not a column of dataset {dataset['table_name']}" for c in sorted(used_columns - columns)]
    return problems


def _dashboard_references(dashboard: dict[str, Any], by_kind: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    problems = []
    chart_nodes = [n for n in dashboard["position"].values() if isinstance(n, dict) and n.get("type") == "CHART"]
    local_ids = {n["meta"]["chartId"] for n in chart_nodes}
    for node in chart_nodes:
        if node["meta"].get("uuid") not in by_kind["chart"]:
            problems.append(f"layout node {node['id']} shows chart {node['meta'].get('uuid')}, which is not in the bundle")
    missing = set(by_kind["chart"]) - {n["meta"].get("uuid") for n in chart_nodes}
    problems += [f"chart {by_kind['chart'][u]['slice_name']!r} is in the bundle but not on the dashboard" for u in sorted(missing)]
    nodes = {k: v for k, v in dashboard["position"].items() if isinstance(v, dict)}
    for node in nodes.values():
        problems += [f"layout node {node['id']} has child {c}, which does not exist" for c in node.get("children", []) if c not in nodes]
    for native in (dashboard.get("metadata") or {}).get("native_filter_configuration", []):
        for target in native.get("targets", []):
            dataset = by_kind["dataset"].get(target.get("datasetUuid")) if target else None
            if target and dataset is None:
                problems.append(f"filter {native['name']!r} targets dataset {target.get('datasetUuid')}, which is not in the bundle")
            elif dataset is not None and target["column"]["name"] not in {c["column_name"] for c in dataset.get("columns", [])}:
                problems.append(f"filter {native['name']!r} targets column {target['column']['name']!r}, which dataset {dataset['table_name']} lacks")
        problems += [
            f"filter {native['name']!r} excludes chart id {i}, which is not on the dashboard" for i in native["scope"]["excluded"] if i not in local_ids
        ]
    return problems


def read_zip(data: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    """A built bundle's `_bundle.json` info and its YAML files (path inside the top folder -> parsed)."""
    files: dict[str, Any] = {}
    info: dict[str, str] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            inner = name.split("/", 1)[1] if "/" in name else name
            size = archive.getinfo(name).file_size
            if size > yamlfile.MAX_BYTES:  # checked before inflating: a small ZIP can hold gigabytes
                raise BundleError(f"{name} is {size:,} bytes once unpacked, over the {yamlfile.MAX_BYTES:,} a bundle file may have")
            if inner == INFO_FILE:
                info = json.loads(archive.read(name))
            elif inner.endswith((".yaml", ".yml")):
                files[inner] = yamlfile.parse(archive.read(name).decode("utf-8"), name).data
    return info, files
