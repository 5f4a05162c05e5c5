"""A real-style Hive report over events the service loaded, against an independent computation.

EventGate-style events of a nested stream (TemplateWizard: `event` and `performer` structs, an array
of template names, the parsed user agent) are loaded with `metrics ingest events`; a Hive query
written as Wikimedia teams write them (struct access, `size()` of an array, a boolean dimension,
a `useragent.is_bot` filter, partition predicates, a trailing `;`) runs unchanged through the runner
on DuckDB. Its TSV file must equal, byte for byte, what Hive would print for the same events,
computed here in plain Python from the raw JSON: booleans `true`/`false`, NULL empty, NULLs first
in an ascending ORDER BY, `size(NULL)` = -1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from collections import defaultdict
from pathlib import Path

from click.testing import CliRunner

from metrics.cli import main
from metrics.engines import open_engine
from metrics.reports.runner import update_reports

DAYS = [dt.date(2026, 11, 1), dt.date(2026, 11, 2)]
NOW = dt.datetime(2026, 11, 3, 6)
ACTIONS = ["launch", "insert-template", "cancel-dialog", "save-page"]

CONFIG = """\
defaults:
  type: hive
  granularity: days
  starts: 2026-11-01
reports:
  template_wizard_actions:
    execute: hive/template_wizard_actions
"""

QUERY = """\
-- TemplateWizard actions by wiki and whether the user was logged in, with the templates involved.
with all_events as (
    select
        wiki,
        event.action,
        performer.is_logged_in as logged_in,
        size(event.template_names) as templates
    from event.TemplateWizard
    where
        useragent.is_bot = false
        and year = {year}
        and month = {month}
        and day = {day}
)

select
    '{from_date}' as `date`,
    wiki,
    action,
    logged_in,
    count(1) as events,
    sum(templates) as templates
from all_events
group by
    wiki,
    action,
    logged_in
order by
    wiki,
    action,
    logged_in;
"""


def eventgate_events(seed: int) -> list[dict]:
    """Events as EventGate would have stored them: some without a performer or template names, some from bots,
    `meta.dt` in several RFC 3339 spellings (offsets, lowercase `t`/`z`), a few near midnight UTC."""
    rng = random.Random(seed)
    out = []
    for day in DAYS:
        for i in range(400):
            moment = dt.datetime.combine(day, dt.time(), dt.timezone.utc) + dt.timedelta(seconds=rng.randrange(86400))
            style = rng.random()
            if style < 0.1:
                text = moment.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()  # same instant, another offset
            elif style < 0.2:
                text = moment.strftime("%Y-%m-%dt%H:%M:%Sz")
            else:
                text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(1000):03d}Z"
            action = rng.choice(ACTIONS)
            body: dict = {"action": action}
            if action != "launch" and rng.random() < 0.8:
                body["template_names"] = [f"Template:T{rng.randrange(50)}" for _ in range(rng.choice([0, 1, 1, 2, 3]))]
            if rng.random() < 0.5:
                body["has_template_data"] = rng.random() < 0.6
            event = {
                "$schema": "/analytics/legacy/templatewizard/1.0.0",
                "meta": {"stream": "templatewizard", "id": f"{day}-{i}", "domain": "x.wikipedia.org", "dt": text},
                "wiki": rng.choice(["dewiki", "enwiki", "cawiki"]),
                "event": body,
            }
            if rng.random() < 0.9:  # events sent without the user agent parsed: NULL struct, left out by the filter
                event["useragent"] = {"browser_family": "Chrome", "is_bot": rng.random() < 0.1}
            if rng.random() < 0.85:
                user_id = rng.choice([0, 0, 5, 123])
                event["performer"] = {"user_id": user_id, "is_logged_in": user_id != 0}
            out.append(event)
    return out


def hive_output(events: list[dict]) -> bytes:
    """What Hive prints for QUERY, day by day, as Reportupdater writes it to the TSV file."""
    groups: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for event in events:
        agent = event.get("useragent")
        if agent is None or agent["is_bot"] is not False:  # NULL = false is NULL: not kept
            continue
        day = dt.datetime.fromisoformat(event["meta"]["dt"].upper()).astimezone(dt.timezone.utc).date()
        performer = event.get("performer")
        logged_in = None if performer is None else performer["is_logged_in"]
        names = event["event"].get("template_names")
        group = groups[(day, event["wiki"], event["event"]["action"], logged_in)]
        group[0] += 1
        group[1] += -1 if names is None else len(names)  # Hive: size(NULL) = -1

    def order(key: tuple) -> tuple:
        day, wiki, action, logged_in = key
        return (day, wiki, action, logged_in is not None, logged_in)  # ascending: NULL first in Hive

    def text(value: object) -> str:
        return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)

    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t")
    writer.writerow(["date", "wiki", "action", "logged_in", "events", "templates"])
    for key in sorted(groups, key=order):
        day, wiki, action, logged_in = key
        writer.writerow([day.isoformat(), wiki, action, text(logged_in), *groups[key]])
    return out.getvalue().encode("utf-8")


def test_real_style_hive_report_over_ingested_events(tmp_path: Path) -> None:
    events = eventgate_events(12)
    source = tmp_path / "templatewizard.json"
    source.write_text("".join(json.dumps(e) + "\n" for e in events), "utf-8")
    warehouse = tmp_path / "warehouse"
    loaded = CliRunner().invoke(main, ["--warehouse", str(warehouse), "ingest", "events", str(source)])
    assert loaded.exit_code == 0, loaded.output
    assert f"{len(events):,} row(s) read, {len(events):,} stored into event.templatewizard, 0 quarantined" in loaded.output

    folder = tmp_path / "queries" / "templatewizard"
    (folder / "hive").mkdir(parents=True)
    (folder / "config.yaml").write_text(CONFIG, "utf-8")
    (folder / "hive" / "template_wizard_actions.hql").write_text(QUERY, "utf-8")
    with open_engine(warehouse) as engine:
        summary = update_reports(folder, engine, tmp_path / "out", now=NOW, graphite=False)
    assert summary.ok, summary.lines()

    expected = hive_output(events)
    assert expected.count(b"\r\n") > 40 and b"\ttrue\t" in expected and b"\t\t" in expected and b"\t-" in expected  # the cases that matter are there
    assert (tmp_path / "out" / "template_wizard_actions.tsv").read_bytes() == expected
