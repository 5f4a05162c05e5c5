"""Names of the warehouse tables the runner writes and every reader queries."""

from __future__ import annotations

import re

SCHEMA = "metrics"
"""The warehouse schema of report tables (docs/warehouse.md)."""

TIME_COLUMN = "dt"
"""The DATE partition column of every report table: the first day of the reporting period."""


def report_table(folder: str, report: str) -> str:
    """`<folder>_<report>` made a safe lower-case identifier: the table of one report."""
    name = re.sub(r"[^a-z0-9_]", "_", f"{folder}_{report}".lower())
    return name if name[0].isalpha() else "r_" + name
