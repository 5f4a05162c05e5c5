"""Validation of specs: schema, cross-references, all problems at once, with file:line:column."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from metrics import catalogue
from metrics.problems import InputError
from metrics.spec import Spec
from tests.conftest import CATALOGUE, SHIPPED_CATALOGUE, edit, line_of, pos

TODAY = dt.date(2026, 11, 23)


def lines(paths, today=TODAY) -> list[str]:
    return [str(p) for p in catalogue.validate(paths, today=today)]


def test_shipped_catalogue_has_no_errors() -> None:
    """Whatever specs are shipped load; warnings (a sunset falling due) are for `validate --strict`."""
    errors = [p for p in catalogue.validate([SHIPPED_CATALOGUE]) if p.severity == "error"]
    assert errors == [], [str(p) for p in errors]
    assert len(catalogue.load(SHIPPED_CATALOGUE)) == len(list(SHIPPED_CATALOGUE.glob("*.yaml")))


def test_test_catalogue_is_clean() -> None:
    assert lines([CATALOGUE]) == []
    cat = catalogue.load(CATALOGUE, today=TODAY)
    assert [s.name for s in cat] == ["codemirror", "country_indicators", "reference_previews", "top_pageviews"]
    toggles = cat.spec("codemirror").metric("toggles")
    assert toggles.path_placeholders() == ["editor", "enabled", "wiki"]
    assert toggles.normalization and toggles.normalization.by == "editing_sessions"
    kinds = {m.type for s in cat for m in s.metrics}
    assert kinds == {"counter", "gauge", "timer", "ratio"}
    assert {m.source.type for s in cat for m in s.metrics if m.source} == {"report", "statsd"}


def test_unknown_key_suggests_the_right_one(catalogue_copy: Path) -> None:
    f = edit(catalogue_copy / "codemirror.yaml", "owner:\n", "ownr:\n")
    line = line_of(f, "ownr:")
    out = lines([f])
    assert f"{f}:{line}:1: unknown key 'ownr' in the spec (did you mean 'owner'?)" in out
    assert f"{f}:{pos(f, 'name: codemirror')}: missing required key 'owner' in the top level (add `owner:`)" in out


def test_unknown_nested_key_and_missing_key(catalogue_copy: Path) -> None:
    f = catalogue_copy / "reference_previews.yaml"
    edit(f, "    unit: clicks\n", "    units: clicks\n")
    line = line_of(f, "units: clicks")
    out = lines([f])
    assert f"{f}:{line}:5: unknown key 'units' in metrics[0] (did you mean 'unit'?)" in out
    assert any(o.startswith(f"{f}:") and "missing required key 'unit' in metrics[0]" in o for o in out)


def test_wrong_types_and_enum_values(catalogue_copy: Path) -> None:
    f = catalogue_copy / "top_pageviews.yaml"
    edit(f, "status: active", "status: retired")
    edit(f, "    kind: table\n", "    kind: donut\n")
    edit(f, "research_questions:\n", "research_questions: 3\nx_old:\n")
    out = "\n".join(lines([f]))
    assert f"{f}:{line_of(f, 'status: retired')}:9: status: 'retired' is not allowed (use one of 'active' or 'deprecated')" in out
    assert f"{f}:{line_of(f, 'kind: donut')}:11: graphs[1].kind: 'donut' is not allowed" in out
    assert "research_questions: input should be a valid list" in out


def test_graph_names_a_missing_metric(catalogue_copy: Path) -> None:
    f = edit(catalogue_copy / "codemirror.yaml", "    metrics: [toggles]\n    split_by: editor\n", "    metrics: [toggle]\n    split_by: editor\n")
    line = line_of(f, "metrics: [toggle]")
    assert lines([f]) == [f"{f}:{line}:15: graph 'Toggles by editor' names metric 'toggle', which the spec does not define (did you mean 'toggles'?)"]


def test_path_placeholder_that_is_not_a_dimension(catalogue_copy: Path) -> None:
    f = edit(catalogue_copy / "reference_previews.yaml", "footnote_clicks.{wiki}", "footnote_clicks.{wki}")
    out = lines([f])
    assert (
        f"{f}:{pos(f, 'reference_previews.baseline.footnote_clicks')}: placeholder '{{wki}}' in the Graphite path is not a dimension (did you mean 'wiki'?)"
        in out
    )
    # and the metric's dimension `wiki` is now missing from its path
    assert any("dimension 'wiki' of metric 'footnote_clicks' is missing from its Graphite path" in o for o in out)


def test_dimension_value_outside_allowed_values(catalogue_copy: Path) -> None:
    f = edit(catalogue_copy / "codemirror.yaml", "filters: {editor: wikitext_2017}", "filters: {editor: visualeditor}")
    assert lines([f]) == [f"{f}:{pos(f, 'visualeditor')}: value 'visualeditor' is not allowed for dimension 'editor' (allowed: wikitext_2010, wikitext_2017)"]


def test_open_dimension_values_follow_the_pattern(catalogue_copy: Path) -> None:
    f = edit(catalogue_copy / "reference_previews.yaml", "default: dewiki", "default: de.wikipedia")
    edit(f, "examples: [enwiki, dewiki, frwiki, eswiki]", "examples: [enwiki, De-Wiki]")
    out = lines([f])
    assert (
        f"{f}:{line_of(f, 'default: de.wikipedia')}:14: default 'de.wikipedia' is not an allowed value of dimension 'wiki' (values must match '[a-z0-9_]+')"
        in out
    )
    assert f"{f}:{line_of(f, 'De-Wiki')}:24: value 'De-Wiki' of dimension 'wiki' does not match its pattern '[a-z0-9_]+' (fix the value or the pattern)" in out


def test_duplicates_across_specs(catalogue_copy: Path) -> None:
    f = catalogue_copy / "top_pageviews.yaml"
    edit(f, "  - name: domain_views\n", "  - name: pageviews\n")
    edit(f, "graphite_path: pageviews.by_domain.{domain_code}", "graphite_path: reference_previews.baseline.pageviews.{domain_code}")
    edit(f, "metrics: [domain_views]\n    split_by", "metrics: [pageviews]\n    split_by")
    edit(f, "metrics: [domain_views]\n    show: [total, mean]", "metrics: [pageviews]\n    show: [total, mean]")
    other = catalogue_copy / "reference_previews.yaml"
    out = lines([catalogue_copy])
    assert (
        f"{f}:{line_of(f, '- name: pageviews')}:11: metric name 'pageviews' is also defined at {other}:{line_of(other, '- name: pageviews')} (metric names are unique across the catalogue: rename one)"
        in out
    )
    assert (
        f"{f}:{line_of(f, 'reference_previews.baseline.pageviews')}:20: Graphite path 'reference_previews.baseline.pageviews.{{domain_code}}' is also used at {other}:{line_of(other, 'graphite_path: reference_previews.baseline.pageviews')} (each metric needs its own Graphite path)"
        in out
    )
    assert len(out) == 2


def test_sunset_in_the_past_is_a_warning(catalogue_copy: Path) -> None:
    f = catalogue_copy / "codemirror.yaml"
    problems = catalogue.validate([f], today=dt.date(2028, 1, 1))
    assert [(p.severity, p.line) for p in problems] == [("warning", line_of(f, "date: 2027-12-31"))]
    assert "warning: sunset date 2027-12-31 is past" in str(problems[0])
    catalogue.load(catalogue_copy, today=dt.date(2028, 1, 1))  # warnings do not stop loading


def test_version_must_be_semver(catalogue_copy: Path) -> None:
    f = edit(catalogue_copy / "country_indicators.yaml", "version: 0.4.0\n", "version: 0.4\n")
    assert lines([f]) == [
        f"{f}:{pos(f, '0.4')}: version: 0.4 is a number, not text (use a semantic version such as 1.0.0, in quotes if YAML reads it as a number)"
    ]
    edit(f, "version: 0.4\n", "version: v1.0\n")
    assert lines([f]) == [f"{f}:{pos(f, 'v1.0')}: version: 'v1.0' has the wrong form (use a semantic version such as 1.0.0)"]


def test_all_problems_of_all_files_at_once(catalogue_copy: Path) -> None:
    edit(catalogue_copy / "codemirror.yaml", "split_by: editor\n    show: [total, normalized]", "split_by: editr\n    show: [total, normalized]")
    edit(catalogue_copy / "codemirror.yaml", "normalization: {by: editing_sessions", "normalization: {by: sessions")
    (catalogue_copy / "broken.yaml").write_text("name: broken\n\ttitle: x\n")
    (catalogue_copy / "empty.yaml").write_text("")
    out = lines([catalogue_copy])
    assert len(out) == 4, out
    assert sorted(o.split(":")[0].rsplit("/", 1)[1] for o in out) == ["broken.yaml", "codemirror.yaml", "codemirror.yaml", "empty.yaml"]
    with pytest.raises(InputError) as info:
        catalogue.load(catalogue_copy, today=TODAY)
    assert len(info.value.errors) == 4


def test_cross_reference_checks_inside_a_spec(catalogue_copy: Path) -> None:
    f = catalogue_copy / "codemirror.yaml"
    edit(f, "    dimensions: [editor, wiki]\n    sample_rate: 0.0625", "    dimensions: [editor, enabled, wiki]\n    sample_rate: 0.0625")
    edit(f, "    split_by: enabled\n    show: [total, percentage]", "    show: [total, percentage]")
    edit(f, "  - name: codemirror_render_time", "  - name: codemirror_toggle_clicks")
    out = "\n".join(lines([f]))
    assert "dimension 'enabled' of metric 'editing_sessions' is missing from its Graphite path" in out
    assert "denominator 'editing_sessions' is split by enabled, which 'toggles' is not" not in out  # toggles has enabled
    assert "graph 'Switched on vs off' shows 'percentage' without split_by" in out
    assert "duplicate metric 'codemirror_toggle_clicks' (also metrics[2])" in out


def test_file_name_must_match_spec_name(catalogue_copy: Path) -> None:
    f = catalogue_copy / "codemirror.yaml"
    moved = f.rename(catalogue_copy / "code_mirror.yaml")
    assert lines([moved]) == [
        f"{moved}:{line_of(moved, 'name: codemirror')}:7: spec name 'codemirror' differs from the file name 'code_mirror.yaml' (rename the file to codemirror.yaml or the spec to 'code_mirror')"
    ]


def test_json_schema_agrees_with_the_validator(catalogue_copy: Path) -> None:
    schema = Spec.model_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(CATALOGUE.glob("*.yaml")):
        data = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        assert list(validator.iter_errors(data)) == [], path
    f = edit(catalogue_copy / "codemirror.yaml", "    unit: ms\n", "    unit: ms\n    colour: red\n")
    data = json.loads(json.dumps(yaml.safe_load(f.read_text()), default=str))
    assert any("colour" in e.message for e in validator.iter_errors(data))
    assert any("unknown key 'colour'" in o for o in lines([f]))


def test_parts_of_the_same_rows_need_graphite_paths_of_the_same_shape(catalogue_copy: Path) -> None:
    # footnote clicks per pageview pairs the two columns of each row, in Graphite series by series
    f = edit(
        catalogue_copy / "reference_previews.yaml",
        "graphite_path: reference_previews.baseline.pageviews.{wiki}",
        "graphite_path: reference_previews.baseline.{wiki}.pageviews",
    )
    assert lines([f]) == [
        f"{f}:{pos(f, '{by: pageviews')}: 'footnote_clicks' and 'pageviews' come from the same rows, but their Graphite paths "
        "put the dimensions at different nodes (give both paths the same shape, e.g. prefix.<name>.{dimension}, so panels can pair their points)"
    ]


def test_a_backtracking_pattern_is_matched_in_linear_time(catalogue_copy: Path) -> None:
    import time

    spec = catalogue_copy / "codemirror.yaml"
    edit(spec, 'pattern: "[a-z0-9_]+"', 'pattern: "(a+)+b"')
    edit(spec, "examples: [enwiki, dewiki, cawiki, trwiki, fawiki]", f"examples: [{'a' * 40_000}c]")
    started = time.perf_counter()
    problems = catalogue.validate([spec])
    assert time.perf_counter() - started < 5  # Python's re takes longer than the age of the universe
    assert any(p.line == line_of(spec, "examples: [aaa") and "does not match its pattern '(a+)+b'" in p.message for p in problems)


def test_a_pattern_the_linear_engine_cannot_read_is_refused(catalogue_copy: Path) -> None:
    spec = catalogue_copy / "codemirror.yaml"
    edit(spec, 'pattern: "[a-z0-9_]+"', 'pattern: "(a)\\\\1"')
    [problem] = [p for p in catalogue.validate([spec]) if p.is_error]
    assert str(problem).startswith(f"{spec}:{pos(spec, '(a)')[:-2]}")
    assert "invalid regular expression (backreferences are not supported)" in problem.message
