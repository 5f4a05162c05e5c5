"""Metrics service: the catalogue of metric specs, the engines, the Reportupdater-style runner, the CLI.

Notebook use: `from metrics import query, plot` (`metrics.notebook.query`, `metrics.figures.plot`),
or `from metrics import catalogue; cat = catalogue.load("metrics/catalogue")`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from metrics.figures import plot
    from metrics.notebook import query

_LAZY = {"query": "metrics.notebook", "plot": "metrics.figures"}


def __getattr__(name: str) -> Any:
    # pandas and matplotlib load on first use, so `metrics --help` and the runner stay quick to start.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'metrics' has no attribute {name!r}")


__all__ = ["plot", "query", "__version__"]
