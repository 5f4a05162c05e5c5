"""`metrics build superset`: every spec's bundle into `<out>/<spec>/<spec>-<version>.zip`, plus `<out>/index.json`.

Version rules (the index holds spec, version, content hash and file of every bundle built):
- a spec version not in the index: its bundle is written and added (older versions stay, for rollback);
- the same version and content hash: rebuilt; unchanged bytes are not rewritten; bytes that differ
  for the same spec content (another --engine-uri or --superset-version, a newer builder, a sunset
  warning that now applies) replace that version's file;
- the same version but another content hash: the spec changed without a version bump. That is
  reported (a warning, an error with --strict) and the released bundle of that version is kept:
  bump the version (and add a history entry) to build the change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from metrics import atomic
from metrics.catalogue import Catalogue
from metrics.freshness import Freshness
from metrics.problems import InputError, Problem
from superset_assets import versions
from superset_assets.bundle import build_bundle

DEFAULT_OUT = Path(__file__).resolve().parent / "bundles"
INDEX = "index.json"


@dataclass
class BuildReport:
    """What a build did, per spec, and the problems to show."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"wrote {p}" for p in self.written] + [f"unchanged {p}" for p in self.unchanged]


def read_index(out: Path) -> list[dict[str, Any]]:
    """The index entries (empty when there is no index yet)."""
    path = out / INDEX
    hint = "restore it from git, or delete it and run `metrics build superset`"
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return []
    except json.JSONDecodeError as exc:
        raise InputError.at(path, f"not JSON: {exc.msg}", hint, exc.lineno, exc.colno) from None
    except (OSError, ValueError) as exc:
        raise InputError.at(path, f"cannot read the index: {getattr(exc, 'strerror', None) or exc}", hint) from None
    entries = data.get("bundles", []) if isinstance(data, dict) else None
    keys = ("spec", "version", "file")
    if not isinstance(entries, list) or not all(isinstance(e, dict) and all(isinstance(e.get(k), str) for k in keys) for e in entries):
        raise InputError.at(path, 'not a bundle index: {"bundles": [{"spec": ..., "version": ..., "file": ...}, ...]}', hint)
    return list(entries)


def version_key(version: str) -> tuple:
    """Semantic-version order (a pre-release sorts before its release)."""
    core, _, pre = version.partition("+")[0].partition("-")
    numbers = tuple(int(p) for p in core.split("."))
    return numbers + ((1,) if not pre else (0, pre))


def latest(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest entry of each spec."""
    best: dict[str, dict[str, Any]] = {}
    for entry in entries:
        current = best.get(entry["spec"])
        if current is None or version_key(entry["version"]) > version_key(current["version"]):
            best[entry["spec"]] = entry
    return best


def _write_index(out: Path, entries: list[dict[str, Any]]) -> None:
    entries = sorted(entries, key=lambda e: (e["spec"], version_key(e["version"])))
    text = json.dumps({"bundles": entries}, indent=2, sort_keys=True) + "\n"
    _write_if_changed(out / INDEX, text.encode("utf-8"))


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    atomic.write_bytes(path, data)
    return True


def _version_position(spec_file: Path | None) -> tuple[int, int]:
    try:
        for number, line in enumerate(spec_file.read_text("utf-8").splitlines(), 1):  # type: ignore[union-attr]
            if re.match(r"^version\s*:", line):
                return number, 1
    except (OSError, AttributeError):
        pass
    return 1, 1


def build_all(
    catalogue: Catalogue,
    out: Path = DEFAULT_OUT,
    *,
    engine_uri: str,
    superset_version: str = versions.DEFAULT_VERSION,
    today: dt.date | None = None,
    data_as_of: Mapping[str, Sequence[Freshness]] | None = None,
) -> BuildReport:
    """Build every spec's bundle under `out` following the version rules; never raises for an unbumped spec (see the report).

    `data_as_of` maps a spec name to the freshness of its reports (`metrics.status.spec_freshness`),
    shown in its dashboard's header; a bundle whose only change is that text replaces its version's file.
    """
    out = Path(out)
    report = BuildReport()
    entries = read_index(out)
    by_key = {(e["spec"], e["version"]): e for e in entries}
    for spec in catalogue:
        bundle = build_bundle(
            catalogue, spec, engine_uri=engine_uri, superset_version=superset_version, today=today, data_as_of=(data_as_of or {}).get(spec.name, ())
        )
        relative = f"{spec.name}/{spec.name}-{spec.version}.zip"
        path = out / relative
        known = by_key.get((spec.name, spec.version))
        spec_file = catalogue.files.get(spec.name) if hasattr(catalogue, "files") else None
        if known is not None and known["content_hash"] != bundle.content_hash:
            line, column = _version_position(spec_file)
            report.problems.append(
                Problem(
                    str(spec_file or spec.name),
                    line,
                    column,
                    f"spec {spec.name} changed since its bundle {spec.version} was built (content {known['content_hash']} -> {bundle.content_hash}) but its version was not bumped; kept {relative}",
                    "bump `version` and add a `history` entry, then build again",
                    severity="warning",
                )
            )
            continue
        data = bundle.zip_bytes()
        entry = {
            "spec": spec.name,
            "version": spec.version,
            "content_hash": bundle.content_hash,
            "file": relative,
            "sha256": hashlib.sha256(data).hexdigest(),
            "superset_version": superset_version,
        }
        (report.written if _write_if_changed(path, data) else report.unchanged).append(path)
        by_key[(spec.name, spec.version)] = entry
    _write_index(out, list(by_key.values()))
    return report
