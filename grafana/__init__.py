"""grafana part of the metrics service (see DESIGN.md)."""
