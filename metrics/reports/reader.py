"""Reader: the reports of a query folder, as `config.yaml` (or `--config-path`) declares them.

The first stage of a run. The keys, their defaults and their checks live in
`metrics.reports.config`; this module is the stage's name, so that the four stages of a run
(reader, selector, execute, writer) each have one.
"""

from __future__ import annotations

from metrics.reports.config import QueryFolder, Report, folder_name, read_folder

__all__ = ["QueryFolder", "Report", "folder_name", "read_folder"]
