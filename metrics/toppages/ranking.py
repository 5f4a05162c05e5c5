"""Ranker: the top N pages of each domain, fed batch by batch, under one of three tie policies.

A row whose views are below the N-th best views already kept in its domain (the N-th best
*distinct* value, for `dense_rank`) can never rank N or better, whatever comes later: it is
dropped at once, before its title is even decoded. On heavy-tailed hours (most lines have one
view) a few percent of the rows are ever looked at. The floors are recomputed from the kept rows
now and then; a floor that lags behind only keeps more rows, never fewer, so the result is exact.

It is exact when each (domain, title) comes once in what is fed: the lines of an hourly dump
(which lists each page once, checked by `dumps`), or per-page sums (a day, or the warehouse table)
made before.
Blacklisted pages are removed before they count towards any floor.
"""

from __future__ import annotations

import threading
from typing import Literal, get_args

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metrics.errors import MetricsError
from metrics.toppages.blacklist import Blacklist

Ties = Literal["row_number", "rank", "dense_rank"]
TIES: tuple[str, ...] = get_args(Ties)
"""The tie policies, as SQL names them: `row_number` gives exactly N rows (ties broken by title),
`rank` and `dense_rank` keep every row tied at the last place."""

RESULT = pa.schema([("domain_code", pa.string()), ("page_title", pa.string()), ("count_views", pa.int64()), ("rank", pa.int64())])
"""The columns of a result, in order: one row per (domain, page) that made the top."""

BIGINT_MAX = 2**63 - 1
"""The most views a page may have in a period: results and the warehouse store views as BIGINT."""
SUMMED_PAST = -1
"""What the summing queries give, instead of failing, for a page whose views sum past `BIGINT_MAX`
(counts are never negative, so it cannot be a real sum)."""


def summed_past(domain: str, title: str) -> MetricsError:
    """The error of a period in which a page's views sum past `BIGINT_MAX` (the period fails alone)."""
    return MetricsError(
        f"views of {domain}/{title} sum past 2^63-1", "a count in the input is wrong: correct or leave out the lines of that page, then run again"
    )


REFLOOR_ROWS = 16_384
"""Floors are recomputed when this many rows (or as many as are kept, if more) were added since the last time."""


class Ranker:
    """Top `top` pages per domain under `ties`, excluding `blacklist`.

    Feed it with `domain_ids` (domain text -> a small integer), `could_rank` (which rows of a
    batch may still rank) and `add` (those rows, titles decoded); or with `feed` for a batch of
    plain (domain, title, views) columns. `result()` gives the ranked table (`RESULT`), sorted by
    domain, then views descending, then title.
    """

    def __init__(self, top: int, ties: str = "row_number", blacklist: Blacklist | None = None):
        if top < 1:
            raise ValueError(f"top must be at least 1, not {top}")
        if ties not in TIES:
            raise ValueError(f"unknown tie policy {ties!r} (one of {', '.join(TIES)})")
        self.top = top
        self.ties = ties
        self.blacklist = blacklist or Blacklist()
        self.ids: dict[str, int] = {}
        self._lock = threading.Lock()
        self.names: list[str] = []
        self.floors = np.zeros(0, np.int64)
        self._domains: list[np.ndarray] = []
        self._views: list[np.ndarray] = []
        self._titles: list[pa.Array] = []
        self._kept = 0
        self._since = 0
        self.rows_seen = 0
        """Rows offered to `could_rank` or `feed` (blacklisted and dropped rows included)."""

    # --- feeding ----------------------------------------------------------------------------

    def domain_ids(self, names: list[str]) -> np.ndarray:
        """The id of each domain name (int32), new names getting new ids; readers in several threads may ask."""
        with self._lock:
            ids = self.ids
            out = np.fromiter((ids.setdefault(name, len(ids)) for name in names), np.int32, len(names))
            if len(ids) > len(self.names):
                self.names.extend(list(ids)[len(self.names) :])
                self.floors = np.concatenate([self.floors, np.zeros(len(ids) - len(self.floors), np.int64)])
            return out

    def could_rank(self, domains: np.ndarray, views: np.ndarray) -> np.ndarray:
        """Indices of the rows (domain ids, views) that are not below their domain's floor."""
        self.rows_seen += len(views)
        return np.flatnonzero(views >= self.floors[domains])

    def add(self, domains: np.ndarray, titles: pa.Array, views: np.ndarray) -> None:
        """Keep rows that `could_rank` chose, titles decoded (string); blacklisted pages are dropped here."""
        if self.blacklist:
            listed = self.blacklist.listed(titles, domains, self.names)
            if listed is not None:
                keep = np.flatnonzero(~listed)
                domains, views, titles = domains[keep], views[keep], titles.take(pa.array(keep))
        if not len(views):
            return
        self._domains.append(np.asarray(domains, np.int32))
        self._views.append(np.asarray(views, np.int64))
        self._titles.append(titles)
        self._kept += len(views)
        self._since += len(views)
        if self._since >= max(REFLOOR_ROWS, self._kept - self._since):
            self._refloor()

    def feed(self, table: pa.Table | pa.RecordBatch) -> None:
        """Rank a batch of plain columns: domain text, title text, views (in that order, any names)."""
        domains, titles, views = table.column(0), table.column(1), table.column(2)
        if isinstance(domains, pa.ChunkedArray):
            domains = domains.combine_chunks()
            titles = titles.combine_chunks()
            views = views.combine_chunks()
        encoded = domains if pa.types.is_dictionary(domains.type) else pc.dictionary_encode(domains)
        ids = self.domain_ids(encoded.dictionary.to_pylist())[encoded.indices.to_numpy(zero_copy_only=False)]
        counts = views.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        if len(counts) and counts.min() < 0:  # a sum past BIGINT_MAX (SUMMED_PAST)
            first = int(np.argmax(counts < 0))
            raise summed_past(domains[first].as_py(), titles[first].as_py())
        keep = self.could_rank(ids, counts)
        self.add(ids[keep], titles.take(pa.array(keep)), counts[keep])

    # --- floors -----------------------------------------------------------------------------

    def _refloor(self) -> None:
        """Recompute each domain's floor from the kept rows, then drop the kept rows below it."""
        domains, views = np.concatenate(self._domains), np.concatenate(self._views)
        floors = self._nth_best(domains, views)
        keep = np.flatnonzero(views >= floors[domains])
        titles = pa.chunked_array(self._titles, pa.string())
        self._domains, self._views = [domains[keep]], [views[keep]]
        self._titles = [titles.take(pa.array(keep)).combine_chunks()] if len(keep) else []
        self._kept, self._since = len(keep), 0
        self.floors = floors

    def _nth_best(self, domains: np.ndarray, views: np.ndarray) -> np.ndarray:
        """Per domain id: the N-th best views (the N-th best distinct value for dense_rank), 0 if fewer."""
        floors = np.zeros(len(self.names), np.int64)
        if not len(views):
            return floors
        order = np.lexsort((-views, domains))
        d, v = domains[order], views[order]
        if self.ties == "dense_rank":  # one row per (domain, views): the N-th is then the N-th distinct
            first = np.ones(len(v), bool)
            first[1:] = (d[1:] != d[:-1]) | (v[1:] != v[:-1])
            d, v = d[first], v[first]
        counts = np.bincount(d, minlength=len(self.names))
        starts = np.cumsum(counts) - counts
        full = np.flatnonzero(counts >= self.top)
        floors[full] = v[starts[full] + self.top - 1]
        return np.maximum(floors, self.floors)

    # --- result -----------------------------------------------------------------------------

    def result(self) -> pa.Table:
        """The ranked rows (`RESULT`), sorted by domain, views descending, title; ranks from 1."""
        if not self._kept:
            return RESULT.empty_table()
        self._refloor()
        names = pa.array(self.names, pa.string())
        table = pa.table(
            {
                "domain_code": names.take(pa.array(self._domains[0])),
                "page_title": self._titles[0],
                "count_views": pa.array(self._views[0], pa.int64()),
            }
        ).sort_by([("domain_code", "ascending"), ("count_views", "descending"), ("page_title", "ascending")])
        ranks = rank_sorted(table.column("domain_code"), table.column("count_views").to_numpy(), self.ties)
        keep = np.flatnonzero(ranks <= self.top)
        table = table.take(pa.array(keep)).append_column("rank", pa.array(ranks[keep], pa.int64()))
        return table.cast(RESULT)


def rank_sorted(domains: pa.ChunkedArray | pa.Array, views: np.ndarray, ties: str) -> np.ndarray:
    """Ranks from 1 within each domain, for rows sorted by domain then views descending (then title)."""
    n = len(views)
    if not n:
        return np.zeros(0, np.int64)
    codes = (
        pc.dictionary_encode(domains).combine_chunks().indices.to_numpy()
        if isinstance(domains, pa.ChunkedArray)
        else pc.dictionary_encode(domains).indices.to_numpy()
    )
    position = np.arange(n)
    new_domain = np.ones(n, bool)
    new_domain[1:] = codes[1:] != codes[:-1]
    domain_start = np.maximum.accumulate(np.where(new_domain, position, 0))
    if ties == "row_number":
        return position - domain_start + 1
    new_value = new_domain.copy()
    new_value[1:] |= views[1:] != views[:-1]
    if ties == "rank":  # 1 + the rows before it with more views: the position of the first of its value
        value_start = np.maximum.accumulate(np.where(new_value, position, 0))
        return value_start - domain_start + 1
    distinct = np.cumsum(new_value)  # dense_rank: how many values so far, counted from the domain's first
    return distinct - distinct[domain_start] + 1
