"""The keys each Superset release accepts in an import bundle, per file kind.

Superset validates every bundle file with marshmallow `unknown=RAISE`: one key it does not know
anywhere rejects the whole bundle (and /api/v1/assets/import/ then only says "Import failed for
an unknown reason"). The sets below are the import schemas of 4.1.x and 6.1.0, read from their
sources and checked against a real 6.1.0 (scripts/superset/NOTES.md). 5.0 is built with the 4.1
set: releases only add keys, so the older set is the one every supported release accepts.
"""

from __future__ import annotations

from typing import Any

SUPERSET_VERSIONS = ("6.1", "5.0", "4.1")
DEFAULT_VERSION = "6.1"

_BASE: dict[str, frozenset[str]] = {
    "metadata": frozenset({"version", "type", "timestamp"}),
    "database": frozenset(
        {
            "database_name",
            "sqlalchemy_uri",
            "uuid",
            "version",
            "extra",
            "password",
            "cache_timeout",
            "expose_in_sqllab",
            "allow_run_async",
            "allow_ctas",
            "allow_cvas",
            "allow_dml",
            "allow_csv_upload",
            "allow_file_upload",
            "is_managed_externally",
            "external_url",
            "ssh_tunnel",
        }
    ),
    "database_extra": frozenset(
        {
            "metadata_params",
            "engine_params",
            "metadata_cache_timeout",
            "schemas_allowed_for_csv_upload",
            "schemas_allowed_for_file_upload",
            "cost_estimate_enabled",
            "allows_virtual_table_explore",
            "cancel_query_on_windows_unload",
            "disable_data_preview",
            "disable_drill_to_detail",
            "allow_multi_catalog",
            "version",
        }
    ),
    "dataset": frozenset(
        {
            "table_name",
            "uuid",
            "database_uuid",
            "version",
            "main_dttm_col",
            "description",
            "default_endpoint",
            "offset",
            "cache_timeout",
            "schema",
            "catalog",
            "sql",
            "params",
            "template_params",
            "filter_select_enabled",
            "fetch_values_predicate",
            "extra",
            "columns",
            "metrics",
            "data",
            "is_managed_externally",
            "external_url",
            "normalize_columns",
            "always_filter_main_dttm",
        }
    ),
    "column": frozenset(
        {
            "column_name",
            "verbose_name",
            "is_dttm",
            "is_active",
            "type",
            "advanced_data_type",
            "expression",
            "description",
            "python_date_format",
            "extra",
            "groupby",
            "filterable",
        }
    ),
    "metric": frozenset(
        {
            "metric_name",
            "expression",
            "verbose_name",
            "metric_type",
            "description",
            "d3format",
            "extra",
            "warning_text",
            "currency",
        }
    ),
    "chart": frozenset(
        {
            "slice_name",
            "viz_type",
            "uuid",
            "version",
            "dataset_uuid",
            "params",
            "description",
            "certified_by",
            "certification_details",
            "query_context",
            "cache_timeout",
            "is_managed_externally",
            "external_url",
        }
    ),
    "dashboard": frozenset(
        {
            "dashboard_title",
            "uuid",
            "version",
            "position",
            "description",
            "css",
            "slug",
            "metadata",
            "is_managed_externally",
            "external_url",
            "certified_by",
            "certification_details",
            "published",
        }
    ),
    # Not validated at import, but a later PUT of the dashboard is (DashboardJSONMetadataSchema).
    "dashboard_metadata": frozenset(
        {
            "native_filter_configuration",
            "chart_configuration",
            "global_chart_configuration",
            "timed_refresh_immune_slices",
            "filter_scopes",
            "expanded_slices",
            "refresh_frequency",
            "default_filters",
            "stagger_refresh",
            "stagger_time",
            "color_scheme",
            "color_namespace",
            "positions",
            "label_colors",
            "shared_label_colors",
            "map_label_colors",
            "color_scheme_domain",
            "cross_filters_enabled",
            "import_time",
            "remote_id",
            "filter_bar_orientation",
            "native_filter_migration",
        }
    ),
}

_ADDED_IN_6_1: dict[str, frozenset[str]] = {
    "database": frozenset({"encrypted_extra", "masked_encrypted_extra", "impersonate_user", "configuration_method"}),
    "database_extra": frozenset({"per_user_caching", "schema_options"}),
    "dataset": frozenset({"currency_code_column", "source_db_engine", "folders", "data_file"}),
    "column": frozenset({"datetime_format"}),
    "chart": frozenset({"tags"}),
    "dashboard": frozenset({"tags", "theme_uuid", "theme_id"}),
    "dashboard_metadata": frozenset({"chart_customization_config", "show_chart_timestamps"}),
}


def check_version(version: str) -> str:
    """`version` if it is a supported target, else ValueError naming the supported ones."""
    if version not in SUPERSET_VERSIONS:
        raise ValueError(f"unsupported Superset version {version!r} (supported: {', '.join(SUPERSET_VERSIONS)})")
    return version


def allowed_keys(version: str, kind: str) -> frozenset[str]:
    """The keys Superset `version` accepts in a file (or nested mapping) of `kind`."""
    check_version(version)
    keys = _BASE[kind]
    if version == "6.1":
        keys = keys | _ADDED_IN_6_1.get(kind, frozenset())
    return keys


def restrict(version: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` without the keys `version` does not know (order kept): how one builder serves every release."""
    allowed = allowed_keys(version, kind)
    return {key: value for key, value in data.items() if key in allowed}


def unknown_keys(version: str, kind: str, data: dict[str, Any]) -> list[str]:
    """Keys of `data` that Superset `version` would reject."""
    return sorted(set(data) - allowed_keys(version, kind))


def parse_server_version(text: str) -> tuple[int, int] | None:
    """(major, minor) of a Superset version string such as '6.1.0' or '4.1.2rc1'."""
    parts = text.strip().split(".")
    try:
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)
    except (IndexError, ValueError):
        return None


def best_target(server: tuple[int, int]) -> str | None:
    """The newest supported bundle target a server of this version accepts (None: older than 4.1)."""
    for target in SUPERSET_VERSIONS:
        major, minor = (int(p) for p in target.split("."))
        if server >= (major, minor):
            return target
    return None
