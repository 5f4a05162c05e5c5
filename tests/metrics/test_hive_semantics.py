"""The Hive semantics table: its docs page, its date patterns, and the refusals `metrics validate` prints.

The values are checked against Spark in test_hive_semantics_oracle.py (marked `spark`); these
tests need no Java.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from metrics.engines import hive_semantics as hs, sql as engine_sql
from metrics.engines.hive_semantics import ENGINES, JAVA_FIELDS, JAVA_REFUSED, RULES, SemanticsError, translate_pattern
from metrics.reports.validate import check_folder
from tests.conftest import QUERIES, ROOT, edit, pos

DOC = ROOT / "docs" / "hive-semantics.md"
SQL_TYPES = {"STRING": "VARCHAR"}
SCHEMA = {"oracle": {"vals": {c: SQL_TYPES.get(t, t) for c, t in hs.ORACLE_COLUMNS.items()}}}


def test_the_docs_page_is_the_table() -> None:
    text = DOC.read_text("utf-8")
    assert text == hs.markdown(), "docs/hive-semantics.md is out of date: python -m metrics.engines.hive_semantics > docs/hive-semantics.md"
    for rule in RULES:
        assert f"\n## {rule.key}\n" in text
        assert rule.hive in text and rule.service in text
        for example in rule.examples:
            assert f"`{example.sql}`" in text


def test_every_rule_says_what_happens_on_every_engine() -> None:
    assert len({r.key for r in RULES}) == len(RULES)
    for rule in RULES:
        assert set(rule.action) == set(ENGINES), rule.key
        assert set(rule.action.values()) <= set(hs.ACTIONS), rule.key
        assert rule.examples, rule.key
        if any(a in ("rewrite", "refuse") for a in rule.action.values()):
            assert rule.rewrite is not None and rule.nodes, rule.key


@pytest.mark.parametrize("engine", ENGINES)
def test_refused_examples_are_refused_and_only_they(engine: str) -> None:
    for rule in RULES:
        for example in rule.examples:
            found = hs.refusals(engine_sql.typed(engine_sql.parse(example.sql, "hive"), "hive", SCHEMA), engine)  # typed, as when it runs
            if engine in example.refused_on:
                assert [f"hive-semantics: {rule.key}" in e.message for e in found] == [True], example.sql
            else:
                assert found == [], example.sql
                engine_sql.render(engine_sql.parse(example.sql, "hive"), "hive", engine, SCHEMA)  # and it renders


@pytest.mark.parametrize("field", sorted(JAVA_FIELDS))
def test_every_java_field_is_translated_never_copied(field: str) -> None:
    pattern = translate_pattern(f"{field}'x'-")
    assert re.fullmatch(r"(%-?[a-zA-Z])+x-", pattern.duckdb), pattern.duckdb
    assert pattern.joda.endswith("'x'-") and not re.search(r"[a-zA-Z]", pattern.joda[: -len("'x'-")].replace(JAVA_FIELDS[field].joda, ""))


@pytest.mark.parametrize("letter", sorted(JAVA_REFUSED) + ["q", "B"])
def test_other_letters_are_refused(letter: str) -> None:
    with pytest.raises(ValueError, match=f"'{letter}"):
        translate_pattern(f"yyyy-{letter}")


def test_quoted_text_and_quotes() -> None:
    p = translate_pattern("yyyy-MM-dd'T'HH 'o''clock' '' %")
    assert p.duckdb == "%Y-%m-%dT%H o'clock ' %%"
    assert p.joda == "yyyy-MM-dd'T'HH 'o''clock' '' %"
    assert p.width == len("2026-11-01T05 o'clock ' %")
    assert translate_pattern("d/M/yyyy").width is None  # unpadded fields: no prefix to cut


def test_java_regex_constructs_the_engines_lack() -> None:
    for pattern in ["a(?=b)", "(?<!x)y", "(a)\\1", "a*+", "(?>ab)", "\\Gx", "[a-z&&[^b]]", "(?x) a b", "\\p{javaLowerCase}"]:
        assert hs.check_regex(pattern), pattern
    for pattern in ["^[a-z]+$", "a\\\\1", "(?i)abc", "[0-9]{2}", "a+?", "\\d+\\.\\d*"]:
        assert hs.check_regex(pattern) is None, pattern


def test_validate_lists_every_refusal_with_its_place_and_rewrite(tmp_path: Path) -> None:
    q = shutil.copytree(QUERIES / "codemirror", tmp_path / "codemirror")
    hql = edit(q / "hive" / "toggles.hql", "COUNT(*) * 16 AS toggles", "percentile_approx(event.n, 0.5) AS toggles")
    edit(hql, "AND event.toggled = true", "AND event.toggled = true AND event.editor RLIKE '^(?!wikitext)'")
    _, problems = check_folder(q)
    lines = [str(p) for p in problems]
    pattern_at = pos(hql, "event.editor RLIKE")
    assert lines == [
        f"{hql}:{pos(hql, 'percentile_approx(event.n')}: percentile_approx() estimates with Hive's histogram; the engines estimate differently and give other numbers"
        " [hive-semantics: percentile-approx] (use percentile(x, p), Hive's exact percentile of an integer column)",
        f"{hql}:{pattern_at}: rlike(): the Java regex construct lookaround (?= (?! (?<= (?<! is not supported by duckdb's regular expressions"
        " [hive-semantics: regex] (rewrite the pattern without it)",
    ]


def test_a_refused_query_fails_when_it_runs() -> None:
    with pytest.raises(SemanticsError, match="date_format\\(\\) pattern field 'w'"):
        engine_sql.transpile("SELECT date_format(ts, 'yyyy-w') FROM t", read="hive", write="duckdb")


def test_rewrites_apply_without_types() -> None:
    """Without a schema (validation, ad-hoc SQL) the rewrites still keep Hive's meaning, conservatively."""
    sql = engine_sql.transpile("SELECT CAST(x AS INT), SUBSTR(s, 0, 3), DAYOFWEEK(d) FROM t", read="hive", write="duckdb")
    assert "TRUNC(TRY_CAST(x AS DECIMAL(38, 18)))" in sql and "SUBSTRING(s, 1, 3)" in sql and "ISODOW(" in sql


def test_hive_2_3_literals_are_doubles_and_round_stays_half_up() -> None:
    import duckdb

    sql = engine_sql.transpile("SELECT ROUND(2.675, 2), 0.1 + 0.2 = 0.3, 2.50, 2.5BD, FLOOR(7 / 2)", read="hive", write="duckdb")
    assert duckdb.sql(sql).fetchall() == [(2.68, False, 2.5, 2.5, 3)]
    assert "2.50e0" in sql


def test_population_statistics_by_the_name_hive_reads() -> None:
    sql = engine_sql.transpile("SELECT STDDEV(x), STD(x), VARIANCE(x), VAR_SAMP(x), STDDEV_SAMP(x) FROM t", read="hive", write="trino")
    assert sql == "SELECT STDDEV_POP(x), STDDEV_POP(x), VAR_POP(x), VARIANCE(x), STDDEV_SAMP(x) FROM t"


def test_a_double_made_text_is_refused_without_a_schema_when_its_type_shows() -> None:
    """`metrics validate` has no types for columns: a literal or an AVG is still known to be a DOUBLE."""
    tree = engine_sql.parse("SELECT CAST(AVG(n) AS STRING), CONCAT('x', 0.5), CAST(n AS STRING), CAST(COUNT(*) AS STRING) FROM t", "hive")
    found = hs.refusals(tree, "duckdb")
    assert [(e.column, "double-to-string" in e.message) for e in found] == [(8, True), (44, True)]
