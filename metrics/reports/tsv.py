"""The legacy output: Reportupdater's TSV files, byte for byte, for dashboards that read them.

Path `<output>/<report>.tsv`, or `<output>/<report>/<v1>/.../<vn>.tsv` with explode values in
placeholder-name order. Header line, rows sorted by date (query order within a date), empty field
for null, `\\r\\n` line ends, csv minimal quoting. When the header changes, the new order wins,
removed columns are kept at the end (sorted) and empty, and old rows are empty in new columns.
With `max_data_points`, rows at or before `latest - N periods` are dropped.

Values arrive as text, as the report's source printed them (`metrics.reports.printed`): the
file carries Hive's `true` and `1.0E7`, or a script's `007` and `1.50`, never a re-typed copy.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from metrics import atomic
from metrics.reports.intervals import shift

Row = list[Any]


@dataclass
class Step:
    """One interval's (or range's) rows to merge: its header, rows by date, and its first day."""

    header: Sequence[str]
    rows: Mapping[dt.date, list[Row]]
    interval_start: dt.date | None = None


def output_path(output: Path, report_key: str, explode: Mapping[str, str]) -> Path:
    """The TSV file of a report and explode combination under `output`.

    Raises ValueError for a report key or explode value that is not a plain name (`..`, `.`, a
    separator: `metrics.reports.config` refuses them first), or for a path a symbolic link inside
    `output` leads out of it, so nothing is read or written outside `output`.
    """
    names = [report_key, *(explode[k] for k in sorted(explode))]
    for name in names:
        if not name or name.startswith(".") or "/" in name or os.sep in name or "\0" in name:
            raise ValueError(f"{name!r} is not a plain name: its TSV file would not be inside {output}")
    path = output / f"{report_key}.tsv" if not explode else output.joinpath(report_key, *names[1:-1], f"{names[-1]}.tsv")
    if not path.resolve().is_relative_to(output.resolve()):  # a symbolic link in the output folder pointing out of it
        raise ValueError(f"{path} leads out of the output folder {output} (through a symbolic link): remove the link")
    return path


def sweep(output: Path, report_keys: Iterable[str]) -> int:
    """Remove the temporary files that killed runs left beside the TSV files of these reports
    (`atomic.sweep`: never a live writer's); returns how many."""
    removed = atomic.sweep(output) if output.is_dir() else 0
    for key in report_keys:
        for directory, _, _ in os.walk(output / key):
            removed += atomic.sweep(directory)
    return removed


def read(path: Path) -> tuple[list[str], dict[dt.date, list[Row]]]:
    """The header and the rows by date of an existing file (values as text)."""
    if not path.exists():
        return [], {}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if not rows:
        return [], {}
    by_date: dict[dt.date, list[Row]] = {}
    for number, row in enumerate(rows[1:], 2):
        try:
            day = dt.date.fromisoformat(row[0])
        except (ValueError, IndexError):
            raise ValueError(f"{path}:{number}: first column {row[:1]} is not a YYYY-MM-DD date (fix or remove the line)") from None
        by_date.setdefault(day, []).append(row[1:])
    return rows[0], by_date


def merge(
    previous_header: Sequence[str],
    previous: Mapping[dt.date, list[Row]],
    header: Sequence[str],
    current: Mapping[dt.date, list[Row]],
    *,
    max_data_points: int | None = None,
    granularity: str = "days",
    interval_start: dt.date | None = None,
) -> tuple[list[str], dict[dt.date, list[Row]]]:
    """Reportupdater's `update_results`: current dates replace previous ones; header evolution; trimming.

    Rows exclude the date (the header includes its name first).
    """
    header = list(header)
    current = {d: [list(r) for r in rows] for d, rows in current.items()}
    previous = {d: [list(r) for r in rows] for d, rows in previous.items()}
    previous_header = list(previous_header) or header
    if previous_header != header:
        removed = sorted(set(previous_header) - set(header))
        if removed:
            header.extend(removed)
            for rows in current.values():
                for row in rows:
                    row.extend([None] * len(removed))
        mapping = [(header.index(c), previous_header.index(c)) for c in set(header) & set(previous_header)]
        for day, rows in previous.items():
            rewritten = []
            for row in rows:
                full = [day.strftime("%Y-%m-%d"), *row]
                new: Row = [None] * len(header)
                for new_index, old_index in mapping:
                    if old_index < len(full):
                        new[new_index] = full[old_index]
                rewritten.append(new[1:])
            previous[day] = rewritten
    threshold = None
    if max_data_points:
        latest = max(list(previous) + ([interval_start] if interval_start else []), default=None)
        if latest is not None:
            threshold = shift(latest, granularity, -max_data_points)
    merged = {d: rows for d, rows in previous.items() if threshold is None or d > threshold}
    merged.update(current)
    return header, merged


def render(header: Sequence[str], by_date: Mapping[dt.date, list[Row]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t")  # csv's defaults: QUOTE_MINIMAL, "\r\n"
    writer.writerow(header)
    for day in sorted(by_date):
        for row in by_date[day]:
            writer.writerow([day.strftime("%Y-%m-%d"), *row])
    return buffer.getvalue()


def update(
    path: Path,
    header: Sequence[str],
    current: Mapping[dt.date, list[Row]],
    *,
    max_data_points: int | None = None,
    granularity: str = "days",
    interval_start: dt.date | None = None,
    group: str | None = None,
) -> Path:
    """Merge `current` into the file at `path` and replace it atomically."""
    return update_many(path, [Step(header, current, interval_start)], max_data_points=max_data_points, granularity=granularity, group=group)


def update_many(
    path: Path,
    steps: Sequence[Step],
    *,
    max_data_points: int | None = None,
    granularity: str = "days",
    group: str | None = None,
    swept: bool = False,
) -> Path:
    """Merge each step into the file at `path`, in order, as `update` one after another would; read and write it once.

    Consecutive steps with the same header and no `max_data_points` are one merge (a later
    date replaces an earlier one, which is what merging them one by one gives). `swept`: the
    caller removed the temporaries of gone writers from the folder already (`sweep`), so the
    write need not list it again.
    """
    merges: list[tuple[Sequence[str], dict[dt.date, list[Row]], dt.date | None]] = []
    for step in steps:
        if merges and not max_data_points and list(step.header) == list(merges[-1][0]):
            merges[-1][1].update(step.rows)
        else:
            merges.append((step.header, dict(step.rows), step.interval_start))
    header, merged = read(path)
    for step_header, rows, start in merges:
        header, merged = merge(header, merged, step_header, rows, max_data_points=max_data_points, granularity=granularity, interval_start=start)
    atomic.write_text(path, render(header, merged), sweep_first=not swept)
    if group:
        import shutil

        shutil.chown(path, group=group)
    return path
