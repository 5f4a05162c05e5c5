"""superset_assets part of the metrics service (see DESIGN.md)."""
