from __future__ import annotations

import pytest

from metrics import graphite_paths as gp

T = "MediaWiki.CodeMirror.toggles.{editor}.{enabled}.{wiki}"


def test_expand_sanitizes_each_value() -> None:
    assert gp.expand(T, {"editor": "wikitext_2010", "enabled": True, "wiki": "en.wiki x"}) == "MediaWiki.CodeMirror.toggles.wikitext_2010.true.en_wiki_x"
    assert gp.expand(T, {"editor": "e", "enabled": False, "wiki": None}) == "MediaWiki.CodeMirror.toggles.e.false._"  # as Hive prints them; NULL is empty
    assert gp.expand("pageviews.by_domain.{d}", {"d": ""}) == "pageviews.by_domain._"
    assert gp.sanitize_path("a..b.c d") == "a._.b.c_d"
    with pytest.raises(KeyError, match="no value for wiki"):
        gp.expand(T, {"editor": "a", "enabled": "b"})


def test_pattern_and_node_index() -> None:
    assert gp.pattern(T, {"wiki": "$wiki"}) == "MediaWiki.CodeMirror.toggles.*.*.$wiki"
    assert gp.node_index(T, "editor") == 3
    assert gp.node_index("a.rank_{rank}.b", "rank") == 1
    assert gp.placeholders(T) == ["editor", "enabled", "wiki"]
