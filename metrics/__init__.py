"""Metrics service: the catalogue of metric specs, the engines, the Reportupdater-style runner, the CLI.

Notebook use: `from metrics import catalogue; cat = catalogue.load("metrics/catalogue")`.
"""

__version__ = "0.1.0"
