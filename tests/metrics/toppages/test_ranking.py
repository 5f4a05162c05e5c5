"""The ranker against the plain reference (tests/metrics/toppages/oracle.py): tie policies, small domains, blacklists, any batching."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from metrics.toppages import ranking
from metrics.toppages.blacklist import Blacklist
from metrics.toppages.ranking import RESULT, TIES, Ranker
from tests.metrics.toppages import oracle

REFLOOR_ROWS = ranking.REFLOOR_ROWS
# A small wiki: one page ahead, three tied at 4 views, one at 1 view (the example of docs/toppages.md).
SMALL = {("xx", "Main_Page"): 9, ("xx", "Foo"): 4, ("xx", "Bar"): 4, ("xx", "Baz"): 4, ("xx", "Qux"): 1}


def ranked(views: dict[tuple[str, str], int], top: int, ties: str, blacklist: Blacklist | None = None, batch: int = 1000) -> list[dict]:
    ranker = Ranker(top, ties, blacklist)
    items = list(views.items())
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        ranker.feed(
            pa.table(
                {
                    "domain_code": [d for (d, _), _ in chunk],
                    "page_title": [t for (_, t), _ in chunk],
                    "count_views": pa.array([v for _, v in chunk], pa.int64()),
                }
            )
        )
    table = ranker.result()
    assert table.schema == RESULT
    return table.to_pylist()


def test_tie_policies_on_a_small_wiki() -> None:
    as_tuples = {ties: [(r["page_title"], r["count_views"], r["rank"]) for r in ranked(SMALL, 2, ties)] for ties in TIES}
    assert as_tuples["row_number"] == [("Main_Page", 9, 1), ("Bar", 4, 2)]  # exactly 2 rows: Bar wins the tie by title
    assert as_tuples["rank"] == [("Main_Page", 9, 1), ("Bar", 4, 2), ("Baz", 4, 2), ("Foo", 4, 2)]
    assert as_tuples["dense_rank"] == as_tuples["rank"]
    # one place further, the policies part: rank skips to 5 (Qux is out), dense_rank gives Qux 3
    assert [r["rank"] for r in ranked(SMALL, 3, "rank")] == [1, 2, 2, 2]
    assert [(r["page_title"], r["rank"]) for r in ranked(SMALL, 3, "dense_rank")][-1] == ("Qux", 3)
    assert len(ranked(SMALL, 3, "row_number")) == 3


def test_a_domain_with_fewer_pages_than_n_keeps_them_all() -> None:
    views = {("big", f"P{i}"): 100 - i for i in range(50)} | {("tiny", "Only"): 1, ("tiny", "Other"): 1}
    for ties in TIES:
        rows = ranked(views, 25, ties)
        assert [(r["page_title"], r["rank"]) for r in rows if r["domain_code"] == "tiny"] == [("Only", 1), ("Other", 1 if ties != "row_number" else 2)]
        assert sum(r["domain_code"] == "big" for r in rows) == 25


def test_a_page_tied_at_the_floor_and_met_later_still_wins_by_title(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranking, "REFLOOR_ROWS", 1)
    assert [r["page_title"] for r in ranked({("xx", "B"): 5, ("xx", "A"): 5}, 1, "row_number", batch=1)] == ["A"]
    assert [r["page_title"] for r in ranked({("xx", "C"): 5, ("xx", "B"): 4, ("xx", "A"): 4}, 2, "rank", batch=1)] == ["C", "A", "B"]


def test_nothing_fed_gives_an_empty_table() -> None:
    assert Ranker(25).result() == RESULT.empty_table()
    assert ranked({}, 25, "rank") == []


def test_a_blacklisted_page_does_not_raise_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranking, "REFLOOR_ROWS", 1)  # floors after every batch
    views = {("en", "Special:Search"): 10_000, ("en", "-"): 9_000} | {("en", f"Page_{i}"): 10 + i for i in range(10)}
    blacklist = Blacklist({("en", "Special:Search"), ("en", "-"), ("de", "Page_9")})
    rows = ranked(views, 3, "row_number", blacklist, batch=2)
    assert [r["page_title"] for r in rows] == ["Page_9", "Page_8", "Page_7"]
    assert rows == oracle.top(views, 3, "row_number", blacklist.pairs)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Ranker(0)
    with pytest.raises(ValueError, match="unknown tie policy"):
        Ranker(5, "first")


titles = st.one_of(st.sampled_from(["", "NaN", "null", "-", "None", "NA", '"Weird_Al"', "a\\b", "Main_Page"]), st.text(min_size=0, max_size=6))
pages = st.dictionaries(
    st.tuples(st.sampled_from(["", "en", "de.m", "zh-min-nan"]), titles),
    st.one_of(st.integers(1, 3), st.integers(1, 3), st.integers(1, 10**6)),  # mostly ties at small counts, as small wikis have
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(views=pages, top=st.integers(1, 6), ties=st.sampled_from(TIES), batch=st.integers(1, 6), listed=st.sets(st.tuples(st.just("en"), titles), max_size=4))
def test_any_batching_gives_the_plain_ranking(views: dict, top: int, ties: str, batch: int, listed: set) -> None:
    ranking.REFLOOR_ROWS = 1  # floors after every batch; restored below (a fixture would be shared by all examples)
    try:
        assert ranked(views, top, ties, Blacklist(listed), batch) == oracle.top(views, top, ties, listed)
    finally:
        ranking.REFLOOR_ROWS = REFLOOR_ROWS
