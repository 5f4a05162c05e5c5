"""`metrics new`: a spec and its query folder that validate as written."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from metrics.problems import InputError
from metrics.spec import IDENTIFIER_PATTERN

SPEC_TEMPLATE = """\
# {name}: describe what this spec measures. Check it with `metrics validate`.
name: {name}
title: {title}
description: >
  What is measured, for whom, and how the numbers are collected.
owner:
  team: {team}
  responsible: {responsible}
ticket: https://phabricator.wikimedia.org/T000000
research_questions:
  - Which question does this metric answer?
status: active
version: 0.1.0
history:
  - {{version: 0.1.0, date: {today}, change: First version.}}
dimensions:
  - name: wiki
    description: Wiki database name.
    values: open
    pattern: "[a-z0-9_]+"
    examples: [enwiki, dewiki]
    variable: true
metrics:
  - name: {name}_events
    description: Events per day and wiki.
    unit: events
    type: counter
    aggregation: additive
    source: {{type: report, report: {name}/daily_events, column: events}}
    graphite_path: {graphite_prefix}.events.{{wiki}}
    dimensions: [wiki]
graphs:
  - title: Events by wiki
    kind: line
    metrics: [{name}_events]
    split_by: wiki
"""

CONFIG_TEMPLATE = """\
# Reportupdater-style query folder of the '{name}' spec.
defaults:
  dialect: trino
reports:
  daily_events:
    granularity: days
    starts: {today}
    lag: 3600
"""

QUERY_TEMPLATE = """\
-- One row per day and wiki: the first column is the date.
SELECT
    DATE '{{from_date}}' AS date,
    wiki,
    count(*) AS events
FROM event.{name}
WHERE year = {{year}} AND month = {{month}} AND day = {{day}}
GROUP BY wiki
"""


def _yaml_text(text: str) -> str:
    """`text` as one double-quoted YAML scalar: a `:`, `#`, quote or line break in a name stays text, never YAML."""
    return yaml.safe_dump(text, default_style='"', allow_unicode=True, width=float("inf")).strip()


def new_spec(name: str, catalogue: Path, queries: Path, *, team: str = "Your team", responsible: str = "Your name", today: dt.date | None = None) -> list[Path]:
    """Write `<catalogue>/<name>.yaml` and `<queries>/<name>/`; returns the files written."""
    if not re.fullmatch(IDENTIFIER_PATTERN, name):
        raise InputError.at(name, f"'{name}' is not a valid spec name", "use lower-case letters, digits and _, starting with a letter")
    today = today or dt.date.today()
    spec_file = catalogue / f"{name}.yaml"
    folder = queries / name
    for path in (spec_file, folder):
        if path.exists():
            raise InputError.at(path, "already exists", "choose another name, or edit the existing spec")
    for option, text in (("--team", team), ("--responsible", responsible)):
        if not text.strip():
            raise InputError.at(option, "is empty", "name the owning team and the person responsible")
    values = {
        "name": name,
        "title": name.replace("_", " ").capitalize(),
        "team": _yaml_text(team),
        "responsible": _yaml_text(responsible),
        "today": today.isoformat(),
        "graphite_prefix": "".join(part.capitalize() for part in name.split("_")),
    }
    files = {
        spec_file: SPEC_TEMPLATE.format(**values),
        folder / "config.yaml": CONFIG_TEMPLATE.format(**values),
        folder / "daily_events.sql": QUERY_TEMPLATE.format(**values),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return list(files)
