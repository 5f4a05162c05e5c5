"""Rerun requests: `<query folder>/.reruns/<epoch ms>` files, in Reportupdater's format.

A file holds the start date (inclusive), the end date (exclusive), then one report key a line
(all reports when none). Dates in a pending rerun count as not done. Unlike Reportupdater, a
file is deleted only once every interval it covers ran successfully.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from metrics import atomic, bounds
from metrics.problems import InputError
from metrics.reports.config import read_folder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rerun:
    path: Path
    start: dt.date
    end: dt.date
    reports: tuple[str, ...]

    def covers(self, report: str, day: dt.date) -> bool:
        return (not self.reports or report in self.reports) and self.start <= day < self.end


def request(
    folder: Path | str, start: str, end: str, reports: list[str] | None = None, config_path: Path | str | None = None, today: dt.date | None = None
) -> Path:
    """Validate and write a rerun file; returns its path."""
    folder = Path(folder)
    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    except ValueError as exc:
        raise InputError.at(folder, f"invalid date: {exc}", "write dates as YYYY-MM-DD") from None
    for name, day in (("START", first), ("END", last)):
        if bounds.day_problem(day):
            raise InputError.at(name, f"{bounds.day_problem(day)}", f"give dates from {bounds.FIRST_DAY} to 2099-12-31")
    if first >= last:
        raise InputError.at(folder, f"start {first} is not before end {last}", "the end date is exclusive: use the day after the last one to rerun")
    today = today or dt.date.today()
    if last > today:
        raise InputError.at(folder, f"end {last} is after today ({today})", "rerun only dates that are done")
    config = read_folder(folder, config_path)
    if config.errors:  # a report with errors is not in `config.reports`: "all reports" would silently skip it
        raise InputError(config.errors)
    known = {r.key: r for r in config.reports}
    for name in reports or []:
        if name not in known:
            raise InputError.at(config.config_file, f"report '{name}' is not in the config (or has errors)", f"known reports: {', '.join(known)}")
    for name in reports or list(known):
        if known[name].starts >= last:
            raise InputError.at(config.config_file, f"report '{name}' starts on {known[name].starts}, after the range", "pick a range after the report's start")
    directory = folder / ".reruns"
    path = directory / str(int(time.time() * 1000))
    atomic.write_text(path, "".join(f"{line}\n" for line in [first.isoformat(), last.isoformat(), *(reports or [])]))
    return path


def pending(folder: Path) -> list[Rerun]:
    """Every readable rerun file of the folder (unreadable ones are skipped with a warning)."""
    directory = folder / ".reruns"
    if not directory.is_dir():
        return []
    atomic.sweep(directory)  # what a killed `rerun-reports` left half-written
    out = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            lines = [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]
            out.append(Rerun(path, dt.date.fromisoformat(lines[0]), dt.date.fromisoformat(lines[1]), tuple(lines[2:])))
        except (OSError, ValueError, IndexError) as exc:
            log.warning("rerun file %s cannot be read and is ignored (%s); fix or delete it", path, exc)
    return out
