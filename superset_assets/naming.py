"""Stable names and ids: every UUID comes from uuid5 of a name, so the same catalogue builds the same bundle."""

from __future__ import annotations

import re
import uuid

NAMESPACE = uuid.UUID("0b3c7a52-1d2e-5f4a-9c61-6d7e2a8b4f10")


def object_uuid(kind: str, *names: str) -> str:
    """The UUID of a bundle object, from its kind and identifying names."""
    return str(uuid.uuid5(NAMESPACE, ":".join((kind, *names))))


def slug(spec_name: str) -> str:
    """The dashboard slug (`/superset/dashboard/<slug>/`)."""
    return "metrics-" + spec_name.replace("_", "-")


def file_stem(text: str) -> str:
    """A file name made of `text`: letters, digits, `_` and `-` only."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:80] or "x"
