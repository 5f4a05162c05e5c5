"""One report of what an import would change, shared by the Superset and Grafana importers.

Each asset the catalogue builds (or that we imported and the catalogue no longer builds) gets one
`AssetPlan` with a status:

| status | meaning | what import does |
| --- | --- | --- |
| new | not on the server | creates it |
| changed | ours, and the built asset differs in `fields` from what we imported last | overwrites it |
| unchanged | ours, and built as we imported it last | overwrites it with the same content |
| edited | ours, but changed on the server since our last import | refuses without --force |
| unknown | on the server, but not imported by us from here (no record in the state file) | refuses dashboards without --force |
| orphan | imported by us, still on the server, no longer built from the catalogue | deletes it with --prune, else keeps it |

"Ours" means recorded in the importer's state file (`metrics.state`) for that server: a plan never
offers to delete an asset someone else made. A saved plan (`save`) lets `import --plan FILE` refuse
to apply when the live state moved since the plan was shown (`stale`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metrics import atomic
from metrics.problems import InputError

STATUSES = ("new", "changed", "unchanged", "edited", "unknown", "orphan")
PLAN_FORMAT = 1


def fingerprint(value: Any) -> str:
    """A short stable hash of a JSON-like value (key order does not matter)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def field_prints(document: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, str]:
    """field -> fingerprint of each top-level field of a built asset: what `changed` names."""
    return {key: fingerprint(value) for key, value in sorted(document.items()) if key not in skip}


def changed_fields(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The fields whose fingerprints differ, or that one side lacks."""
    return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


@dataclass(frozen=True)
class AssetPlan:
    """What an import would do to one asset."""

    system: str
    """superset or grafana."""
    kind: str
    """database, dataset, chart, dashboard."""
    key: str
    """The asset's UUID (Superset) or uid (Grafana)."""
    name: str
    status: str
    fields: list[str] = field(default_factory=list)
    """For changed (and edited): the fields of the built asset that differ from our last import."""
    detail: str = ""
    live: str | None = None
    """What the server showed of the asset (its change time or version); None: absent."""
    spec: str = ""

    def line(self, prune: bool = False) -> str:
        status = self.status
        if self.status == "changed":
            status = f"changed ({', '.join(self.fields) or 'content'})"
        elif self.status == "edited":
            status = "EDITED IN THE UI" + (f", and the catalogue changed {', '.join(self.fields)}" if self.fields else "")
        elif self.status == "unknown":
            status = "not imported by us / unknown"
        elif self.status == "orphan":
            status = "orphan: no longer in the catalogue, " + ("would be DELETED (--prune)" if prune else "kept (import with --prune to delete it)")
        text = f"{self.kind:<9} {self.key}  {self.name}: {status}"
        return text + (f" [{self.detail}]" if self.detail else "")


@dataclass
class SystemPlan:
    """The plan for one server: its URL, the assets, and whether orphans are deleted."""

    system: str
    url: str
    assets: list[AssetPlan] = field(default_factory=list)
    prune: bool = False

    def of(self, status: str) -> list[AssetPlan]:
        return [a for a in self.assets if a.status == status]

    def lines(self) -> list[str]:
        counts = ", ".join(f"{len(self.of(s))} {s}" for s in STATUSES if self.of(s))
        out = [f"{self.system} at {self.url}: {counts or 'nothing to import'}"]
        order = {s: i for i, s in enumerate(STATUSES)}
        kinds = {"database": 0, "dataset": 1, "chart": 2, "dashboard": 3}
        for asset in sorted(self.assets, key=lambda a: (kinds.get(a.kind, 9), order[a.status], a.name, a.key)):
            out.append("  " + asset.line(self.prune))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "url": self.url, "prune": self.prune, "assets": [asdict(a) for a in self.assets]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SystemPlan:
        return cls(data["system"], data["url"], [AssetPlan(**a) for a in data["assets"]], bool(data.get("prune")))


def save(path: Path, plans: list[SystemPlan], extra: dict[str, Any] | None = None) -> None:
    """Write the plans as JSON (what `metrics plan -o FILE` writes and `import --plan FILE` reads)."""
    atomic.write_json(Path(path), {"format": PLAN_FORMAT, "plans": [p.as_dict() for p in plans], **(extra or {})})


def load(path: Path, system: str) -> SystemPlan:
    """The plan for `system` saved in `path`; `InputError` (exit 2) naming the file when it is missing or not a plan."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        plans = [SystemPlan.from_dict(p) for p in data["plans"]] if data.get("format") == PLAN_FORMAT else None
    except FileNotFoundError:
        raise InputError.at(path, "plan file not found", "write one with `metrics plan -o FILE`") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError.at(
            path, f"not a plan written by `metrics plan -o` ({type(exc).__name__}: {exc})", "write it again with `metrics plan -o FILE`"
        ) from None
    if plans is None:
        raise InputError.at(path, "not a plan written by `metrics plan -o` (no format 1)", "write it again with `metrics plan -o FILE`")
    for plan in plans:
        if plan.system == system:
            return plan
    raise InputError.at(path, f"the plan holds nothing for {system}", f"run `metrics plan` with the {system} URL and -o FILE")


def stale(saved: SystemPlan, now: SystemPlan) -> list[str]:
    """How the plan `now` differs from the `saved` one (empty: the saved plan is what import would apply)."""
    if saved.url.rstrip("/") != now.url.rstrip("/"):
        return [f"the plan is for {saved.url}, not {now.url}"]
    if saved.prune != now.prune:
        return [f"the plan was made {'with' if saved.prune else 'without'} --prune"]
    before = {(a.kind, a.key): a for a in saved.assets}
    after = {(a.kind, a.key): a for a in now.assets}
    out = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old is None and new is not None:
            out.append(f"{new.kind} {new.name} ({new.key}) is new in the plan: {new.status}")
        elif new is None and old is not None:
            out.append(f"{old.kind} {old.name} ({old.key}) is no longer in the plan")
        elif old is not None and new is not None and (old.status, old.fields, old.live) != (new.status, new.fields, new.live):
            was = f"{old.status} (live {old.live})"
            out.append(f"{new.kind} {new.name} ({new.key}) was {was}, is now {new.status} (live {new.live})")
    return out
