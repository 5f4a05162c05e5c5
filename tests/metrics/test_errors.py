"""The one base of user-facing errors: how it prints, and that every such error derives from it."""

from __future__ import annotations

import pytest

from grafana.importer import GrafanaError
from metrics.engines.base import QueryError
from metrics.errors import Location, MetricsError
from metrics.problems import InputError, Problem
from metrics.reports.execute import ExecutionError
from metrics.reports.lock import Locked
from metrics.reports.templates import TemplateError
from metrics.statsd_client import StatsdUsageError
from superset_assets.bundle import BundleError
from superset_assets.client import SupersetError
from superset_assets.datasets import PlanError
from superset_assets.importer import ImportProblem


def test_prints_the_place_it_knows_then_what_then_what_to_do() -> None:
    assert MetricsError("bad value", "write a number", Location("spec.yaml", 3, 7)).lines() == ["spec.yaml:3:7: bad value (write a number)"]
    assert MetricsError("bad value", where=Location("spec.yaml", 3)).lines() == ["spec.yaml:3: bad value"]
    assert MetricsError("not a date", "write YYYY-MM-DD", Location("--start")).lines() == ["--start: not a date (write YYYY-MM-DD)"]
    assert MetricsError("no token", "set GRAFANA_TOKEN").lines() == ["error: no token (set GRAFANA_TOKEN)"]


def test_str_is_the_message_for_errors_raised_with_one() -> None:
    error = QueryError("Catalog Error: Table with name nope does not exist!")
    assert str(error) == error.message == "Catalog Error: Table with name nope does not exist!"
    assert error.hint == "" and error.where is None


def test_input_error_keeps_its_problems_one_line_each() -> None:
    warning = Problem("b.yaml", 2, 1, "sunset date is past", severity="warning")
    error = InputError([warning, Problem("a.yaml", 4, 2, "unknown key ownr", "did you mean owner?")])
    assert isinstance(error, MetricsError)
    assert error.lines() == ["a.yaml:4:2: unknown key ownr (did you mean owner?)", "b.yaml:2:1: warning: sunset date is past"]
    assert str(error) == "\n".join(error.lines())
    assert [p.message for p in error.errors] == ["unknown key ownr"]
    assert InputError.at("c.yaml", "empty file").lines() == ["c.yaml:1:1: empty file"]


USER_FACING = [StatsdUsageError, QueryError, Locked, ExecutionError, TemplateError, SupersetError, ImportProblem, BundleError, GrafanaError, InputError]


@pytest.mark.parametrize("error", USER_FACING, ids=lambda e: e.__name__)
def test_every_user_facing_error_is_a_metrics_error(error: type[Exception]) -> None:
    assert issubclass(error, MetricsError)


def test_plan_error_is_a_metrics_error() -> None:
    assert issubclass(PlanError, MetricsError)


@pytest.mark.parametrize("error", [StatsdUsageError, TemplateError, BundleError], ids=lambda e: e.__name__)
def test_former_value_errors_still_are(error: type[Exception]) -> None:
    assert issubclass(error, ValueError)


def test_control_and_bidirectional_characters_print_escaped() -> None:
    problem = Problem("wikis\u202etxt.yaml", 2, 3, "value 'a\x00b\nc' is not allowed", "remove the \u200f mark")
    assert str(problem) == "wikis\\u202etxt.yaml:2:3: value 'a\\x00b\\nc' is not allowed (remove the \\u200f mark)"
    assert MetricsError("bad\ttab", where=Location("f\x1b[31m.yaml")).lines() == ["f\\x1b[31m.yaml: bad\\ttab"]
    assert str(Problem("café.yaml", 1, 1, "naïve ok")) == "café.yaml:1:1: naïve ok"  # letters stay as they are


def test_input_errors_exit_2_and_other_errors_1() -> None:
    assert InputError.exit_code == 2 and MetricsError.exit_code == 1 and TemplateError.exit_code == 1
