"""What a change of the catalogue and the query folders since a git revision does to data.

    diff = catalogue_diff.since("HEAD", Path("metrics/catalogue"), Path("reportupdater_queries"))
    diff.reports    # reports whose results would change (their query or its settings changed)
    diff.tables     # tables whose columns change (added, removed, retyped)
    diff.graphite   # Graphite series that would be renamed or dropped (their stored history orphaned)

The old version is read with `git show REV:path` into a temporary folder and loaded with the same
loaders as the new one (`metrics.catalogue.load`, `metrics.reports.config.read_folder`): specs are
compared as models, never as YAML text, so a comment or a reordered key changes nothing.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metrics import catalogue as catalogue_mod
from metrics.graphite_paths import prefixed
from metrics.problems import InputError
from metrics.reports.config import Report, read_folder

REPORT_SETTINGS = ("type", "granularity", "starts", "lag", "db", "explode_by", "dialect", "snapshot", "ends", "depends_on")
"""The settings of a report that change which rows it computes (besides its query)."""


@dataclass(frozen=True)
class ReportChange:
    """A report whose results would change: `folder/report`, its table and why."""

    report: str
    table: str
    why: str


@dataclass(frozen=True)
class TableChange:
    """A metric table whose columns change; a column's type is `dimension` or `<metric type> metric`."""

    table: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retyped: list[tuple[str, str, str]] = field(default_factory=list)
    """(column, old type, new type)."""


@dataclass(frozen=True)
class PathChange:
    """A Graphite series template that moves (`new` None: no longer written), orphaning its stored history."""

    metric: str
    old: str
    new: str | None


@dataclass
class CatalogueDiff:
    """The data consequences of the catalogue and query folders changed since `rev`."""

    rev: str
    reports: list[ReportChange] = field(default_factory=list)
    tables: list[TableChange] = field(default_factory=list)
    graphite: list[PathChange] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The diff as `metrics plan` prints it."""
        out = [f"catalogue and query folders against git {self.rev}:"]
        if not (self.reports or self.tables or self.graphite):
            return out + ["  no change to any report, table or Graphite path"]
        for r in self.reports:
            out.append(f"  report {r.report} (table metrics.{r.table}): results would change: {r.why}")
        for t in self.tables:
            parts = [f"+{c}" for c in t.added] + [f"-{c}" for c in t.removed] + [f"{c}: {a} -> {b}" for c, a, b in t.retyped]
            out.append(f"  table metrics.{t.table}: schema changes: {', '.join(parts)}")
        for g in self.graphite:
            where = f"renamed to {g.new}" if g.new else "no longer written"
            out.append(f"  graphite {g.old} (metric {g.metric}): {where}; its stored history stays under the old path")
        return out


class OutsideWorkTree(InputError):
    """The query folders are not in the catalogue's git work tree: no revision holds both to compare."""


def since(rev: str, catalogue: Path, queries: Path, graphite_prefix: str | None = None) -> CatalogueDiff:
    """Compare the catalogue and query folders in the work tree with their versions at git `rev`.

    Graphite paths are listed as the environment stores them: under `graphite_prefix` when it has one.

    Raises `InputError` (exit 2) when the folders are not in a git work tree (`OutsideWorkTree` when the
    query folders are outside the catalogue's), `rev` is not a
    revision, or the old version does not load (naming `rev:path`).
    """
    catalogue, queries = Path(catalogue).resolve(), Path(queries).resolve()
    top = Path(_git(catalogue, "rev-parse", "--show-toplevel").strip())
    commit = _git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", hint_rev=rev).strip()
    with tempfile.TemporaryDirectory(prefix="metrics-plan-") as tmp:
        old_catalogue = _checkout(top, commit, catalogue, Path(tmp) / "catalogue")
        old_queries = _checkout(top, commit, queries, Path(tmp) / "queries")
        try:
            old_specs = list(catalogue_mod.load(old_catalogue)) if any(old_catalogue.iterdir()) else []
        except InputError as exc:
            raise InputError.at(
                f"{rev}:{catalogue.relative_to(top)}",
                f"the catalogue at {rev} does not load ({exc.problems[0].message})",
                "compare with a revision whose catalogue validates (--since REV)",
            ) from None
        new_specs = list(catalogue_mod.load(catalogue))
        old_reports = _reports(old_queries)
        new_reports = _reports(queries)
        diff = CatalogueDiff(rev)
        diff.reports = _report_changes(old_reports, new_reports)
    diff.tables = _table_changes(_tables(old_specs), _tables(new_specs))
    diff.graphite = _path_changes(old_specs, new_specs, graphite_prefix)
    return diff


def in_git(path: Path) -> bool:
    """Whether `path` is inside a git work tree."""
    done = subprocess.run(["git", "-C", str(path), "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True, check=False)
    return done.returncode == 0 and done.stdout.strip() == "true"


def _git(where: Path, *args: str, hint_rev: str | None = None) -> str:
    done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        if hint_rev is not None:
            raise InputError.at(where, f"{hint_rev!r} is not a git revision here", "give --since a commit, tag or branch (default HEAD)")
        raise InputError.at(where, f"not in a git work tree ({done.stderr.strip() or 'git failed'})", "run metrics plan inside the project's git checkout")
    return done.stdout


def _checkout(top: Path, commit: str, folder: Path, into: Path) -> Path:
    """The files under `folder` at `commit`, written under `into` (empty when the folder did not exist)."""
    into.mkdir(parents=True)
    if not folder.is_relative_to(top):
        if not folder.exists():
            return into  # no query folders then, none now
        raise OutsideWorkTree.at(folder, f"not in the git work tree of the catalogue ({top})", "keep the catalogue and the query folders in one checkout")
    relative = folder.relative_to(top).as_posix() if folder != top else "."
    listing = subprocess.run(["git", "-C", str(top), "ls-tree", "-r", "-z", "--name-only", commit, "--", relative], capture_output=True, check=True).stdout
    for name in filter(None, listing.decode().split("\0")):
        data = subprocess.run(["git", "-C", str(top), "show", f"{commit}:{name}"], capture_output=True, check=True).stdout
        target = into / Path(name).relative_to(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return into


def _reports(root: Path) -> dict[str, tuple[Report, bytes]]:
    """`folder/report` -> (report, its query file's bytes) for every query folder under `root`."""
    found: dict[str, tuple[Report, bytes]] = {}
    for config in sorted(root.glob("*/config.yaml")):
        try:
            folder = read_folder(config.parent)
        except InputError:
            continue  # a folder whose config does not load has no reports to compare; validate says why
        for report in folder.reports:
            try:
                text = report.query_file.read_bytes()
            except OSError:
                text = b""
            found[f"{config.parent.name}/{report.key}"] = (report, text)
    return found


def _report_changes(old: dict[str, tuple[Report, bytes]], new: dict[str, tuple[Report, bytes]]) -> list[ReportChange]:
    changes = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            changes.append(ReportChange(key, new[key][0].table, "new report"))
            continue
        if key not in new:
            changes.append(ReportChange(key, old[key][0].table, "report removed (its table is no longer updated)"))
            continue
        (before, old_query), (after, new_query) = old[key], new[key]
        why = [f"its query {after.query_file.name} changed"] if old_query != new_query or before.execute != after.execute else []
        why += [f"{name}: {getattr(before, name)!r} -> {getattr(after, name)!r}" for name in REPORT_SETTINGS if getattr(before, name) != getattr(after, name)]
        if why:
            changes.append(ReportChange(key, after.table, "; ".join(why)))
    return changes


def _tables(specs: list[Any]) -> dict[str, dict[str, str]]:
    """table -> column -> type, as the specs name them."""
    tables: dict[str, dict[str, str]] = {}
    for spec in specs:
        for metric in spec.metrics:
            if metric.table is None or metric.column is None:
                continue
            columns = tables.setdefault(metric.table, {})
            for dimension in metric.dimensions:
                columns[dimension] = "dimension"
            columns[metric.column] = f"{metric.type} metric"
    return tables


def _table_changes(old: dict[str, dict[str, str]], new: dict[str, dict[str, str]]) -> list[TableChange]:
    changes = []
    for table in sorted(set(old) | set(new)):
        before, after = old.get(table, {}), new.get(table, {})
        added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        retyped = [(c, before[c], after[c]) for c in sorted(set(before) & set(after)) if before[c] != after[c]]
        if added or removed or retyped:
            changes.append(TableChange(table, added, removed, retyped))
    return changes


def _series(specs: list[Any], prefix: str | None) -> dict[str, str]:
    return {m.name: m.graphite_series() for s in specs for m in prefixed(s, prefix).metrics if m.graphite_path is not None}


def _path_changes(old_specs: list[Any], new_specs: list[Any], prefix: str | None = None) -> list[PathChange]:
    old, new = _series(old_specs, prefix), _series(new_specs, prefix)
    return [PathChange(name, path, new.get(name)) for name, path in sorted(old.items()) if new.get(name) != path]
