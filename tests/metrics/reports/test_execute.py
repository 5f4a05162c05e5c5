"""The executor's typed copy of a script's text: its fast path types exactly as Arrow's CSV inference does."""

from __future__ import annotations

import datetime as dt
import math
import random

import pyarrow as pa
import pytest

from metrics.reports import execute

TOKENS = [
    "0", "1", "-0", "01", "42", "-7", "2025", "123456789012345678", "9223372036854775807", "9223372036854775808",
    "+1", " 1", "0x10", "1_0", "1.5", "1e5", "-2.0", "inf", "Inf", "-inf", "nan", "NaN", "infinity",
    "true", "True", "FALSE", "t", "yes", "null", "None", "NULL", "", "-", "a b", "e5", "wiki000", "enwiki",
    "zh_yue", "be-tarask", "a.b", "_x", "2025-01-01", "2025-01-01 00:00:00", "12:30", "١٢", "é",
]  # fmt: skip


def _same(left: pa.Table, right: pa.Table) -> bool:
    if left.schema != right.schema:
        return False
    for a, b in zip(left.to_pylist(), right.to_pylist()):
        for key in a:
            x, y = a[key], b[key]
            if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
                continue
            if x != y:
                return False
    return True


def test_the_fast_path_types_as_arrow_does() -> None:
    rng = random.Random(20261129)
    fast = 0
    for _ in range(3000):
        width = rng.randint(1, 4)
        pools = [rng.sample(TOKENS, rng.randint(1, 4)) for _ in range(width)]
        rows = [[rng.choice(["2025-01-01", "2025-01-02"])] + [rng.choice(pool) for pool in pools] for _ in range(rng.randint(1, 5))]
        header = ["date"] + [f"v{i}" for i in range(width)]
        names = [f"c{i}" for i in range(width + 1)]
        typed = execute._typed(header, rows)
        arrow = execute._inferred(names, rows)
        arrow = arrow.set_column(0, "c0", execute._iso_dates(arrow.column(0).to_pylist()))  # the fast path reads the dates as `_normalise` does
        assert _same(typed, arrow), (rows, typed.schema, arrow.schema, typed.to_pylist(), arrow.to_pylist())
        fast += all(execute._plain(tuple(r[i] for r in rows)) is not None for i in range(1, width + 1))
    assert fast > 200  # the fast path was taken often enough for the comparison to mean something


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2025-01-01", "2025-12-31T10:00:00"], [dt.date(2025, 1, 1), dt.date(2025, 12, 31)]),
        (["2025-02-30"], None),  # not a date: Arrow's strptime gives the error
        (["2025-1-01"], None),
        ([None], None),
    ],
)
def test_iso_dates(values: list, expected: list | None) -> None:
    got = execute._iso_dates(values)
    assert (got.to_pylist() if got is not None else None) == expected
