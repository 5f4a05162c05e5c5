"""Property: whatever bytes a spec file holds, loading it succeeds or fails with located one-line problems.

Inputs are mutations of the shipped specs, edits of their text, costly YAML constructs and raw
bytes (`tests.hostile_yaml`); each must load within TIME_LIMIT seconds and MEMORY_LIMIT bytes.
A spec that loads must also build: its Grafana dashboard and its Superset bundle.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings

from grafana.builder import build_dashboard
from metrics import catalogue
from metrics.problems import InputError
from superset_assets.bundle import BundleError, build_bundle
from superset_assets.datasets import PlanError
from tests.conftest import SHIPPED_CATALOGUE
from tests.hostile_yaml import FUZZ, Tally, inputs, today
from tests.reliability import record, scale

pytestmark = pytest.mark.reliability

SPECS = sorted(SHIPPED_CATALOGUE.glob("*.yaml"))


def test_the_spec_loader_gives_a_spec_or_located_lines(tmp_path: Path) -> None:
    texts = [p.read_text("utf-8") for p in SPECS]
    documents = [yaml.safe_load(t) for t in texts]
    target = tmp_path / f"{SPECS[0].stem}.yaml"  # named as one real spec, so that a near-valid mutation can load
    tally = Tally()

    def check() -> None:
        spec = catalogue.load_spec(target, today=today())
        spec.about(today())
        build_dashboard(spec, today=today())
        try:
            build_bundle([spec], spec, engine_uri="duckdb:////srv/catalog.duckdb", today=today())
        except (PlanError, BundleError) as exc:  # what `metrics build superset` reports as an input error
            raise InputError.at(target, str(exc)) from None

    @settings(FUZZ, max_examples=scale(300, 10_000))
    @given(inputs(documents, texts))
    def trial(data: bytes) -> None:
        target.write_bytes(data)
        tally.run(data, check, lambda problem: problem.file == str(target))

    trial()
    record(
        "fuzz",
        "spec loader",
        trials=tally.trials,
        tracebacks=tally.failures,
        detail=tally.detail("mutated shipped specs, edited text, YAML attacks, raw bytes"),
    )
    assert tally.trials >= scale(300, 10_000)
    assert tally.failures == 0, tally.first_failure
    assert tally.refused and tally.successes, "the inputs should reach both outcomes"
