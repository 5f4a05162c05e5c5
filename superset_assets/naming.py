"""Stable names and ids: every UUID comes from uuid5 of a name, so the same catalogue builds the same bundle."""

from __future__ import annotations

import hashlib
import re
import uuid

from metrics.spec import Spec

NAMESPACE = uuid.UUID("0b3c7a52-1d2e-5f4a-9c61-6d7e2a8b4f10")
SCHEMA = "metrics"
"""The warehouse schema of report tables (`metrics.<folder>_<report>`, docs/warehouse.md)."""


def object_uuid(kind: str, *names: str) -> str:
    """The UUID of a bundle object, from its kind and identifying names."""
    return str(uuid.uuid5(NAMESPACE, ":".join((kind, *names))))


def spec_hash(spec: Spec) -> str:
    """A short hash of the spec's content: what `metrics build superset` compares with the index."""
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:12]


def slug(spec_name: str) -> str:
    """The dashboard slug (`/superset/dashboard/<slug>/`)."""
    return "metrics-" + spec_name.replace("_", "-")


def file_stem(text: str) -> str:
    """A file name made of `text`: letters, digits, `_` and `-` only."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:80] or "x"


def marker(spec: Spec) -> str:
    """The line every built object's description ends with: which spec, version and content."""
    return f"(metrics spec {spec.name} {spec.version}, content {spec_hash(spec)})"


MARKER = re.compile(r"\(metrics spec (?P<spec>[a-z0-9_]+) (?P<version>\S+), content (?P<hash>[0-9a-f]+)\)")
