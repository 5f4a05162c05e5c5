"""The Reportupdater-style runner: Reader -> Selector -> Executor -> Writer, one module a stage.

`update_reports(folder, ...)` is the Python entry point; `metrics update-reports` the command.
"""
