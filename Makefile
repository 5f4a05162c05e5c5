# Set-up, demo and tests. Every target installs what it needs: run them on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
METRICS := $(VENV)/bin/metrics
DEMO_DIR ?= build/demo

.PHONY: setup browser demo lint test test-fast reliability bench clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --compile-bytecode
	@touch $@

setup: $(VENV)/.synced  ## create .venv with the project and the `metrics` command (from uv.lock)

browser:  ## Debian's chromium and chromium-driver, for the browser tests (a no-op when installed)
	bash scripts/superset/install-chromium.sh

demo: setup  ## the main job end to end on the embedded default (DuckDB, generated sample data)
	bash scripts/demo.sh $(DEMO_DIR)

lint: setup  ## ruff (lint and format check) and mypy (the dev group of uv.lock)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: setup browser lint  ## lint, then every test, including those that start real Superset, StatsD/Graphite, Trino and MariaDB
	$(VENV)/bin/python -m pytest

test-fast: setup browser lint  ## lint, then the tests that need no external service
	$(VENV)/bin/python -m pytest -m "not superset and not graphite and not trino and not spark and not mariadb"

reliability: setup  ## the reliability tests in their long version (kills, concurrent runs, fuzzing, injections, secrets); writes docs/RELIABILITY.md
	$(VENV)/bin/python scripts/reliability.py

bench: setup  ## the benchmark suite, one run, figures side by side in benchmarks/RESULTS.md (BENCH_ARGS=--trino adds Trino)
	$(VENV)/bin/python benchmarks/run_all.py $(BENCH_ARGS)

clean:  ## remove environments, services and built files (not the catalogue or the queries)
	rm -rf $(VENV) $(TOOLS) .services build warehouse
