"""`python -m metrics`: the same as the `metrics` command."""

from metrics.cli import main

main()
