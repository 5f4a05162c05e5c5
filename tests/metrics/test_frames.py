"""Notebook access: a catalogue metric as a DataFrame, normalized against its denominator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from metrics import frames
from metrics.problems import InputError
from metrics.warehouse import Warehouse
from tests.conftest import CATALOGUE

D = dt.date


def test_metric_frame_and_normalization(tmp_path: Path) -> None:
    w = Warehouse(tmp_path)
    toggles = {
        D(2026, 11, 1): [("wikitext_2010", "true", "enwiki", 32), ("wikitext_2010", "false", "enwiki", 16), ("wikitext_2017", "true", "dewiki", 48)],
        D(2026, 11, 2): [("wikitext_2010", "true", "enwiki", 16)],
    }
    sessions = {D(2026, 11, 1): [("wikitext_2010", "enwiki", 160), ("wikitext_2017", "dewiki", 0)], D(2026, 11, 2): [("wikitext_2010", "enwiki", 64)]}
    for day, rows in toggles.items():
        w.replace_partition(
            "metrics", "codemirror_toggles", {"dt": day}, pa.table({k: [r[i] for r in rows] for i, k in enumerate(["editor", "enabled", "wiki", "toggles"])})
        )
    for day, rows in sessions.items():
        w.replace_partition(
            "metrics", "codemirror_sessions", {"dt": day}, pa.table({k: [r[i] for r in rows] for i, k in enumerate(["editor", "wiki", "sessions"])})
        )

    frame = frames.metric("toggles", catalogue=CATALOGUE, warehouse=tmp_path, start="2026-11-01", end="2026-11-02")
    assert list(frame.columns) == ["dt", "editor", "enabled", "wiki", "toggles"]
    assert sorted(frame["toggles"].tolist()) == [16, 32, 48]

    normal = frames.metric("toggles", normalized=True, catalogue=CATALOGUE, warehouse=tmp_path)
    assert list(normal.columns) == ["dt", "editor", "wiki", "toggles", "toggles_per_editing_sessions"]  # sessions have no `enabled`
    ratio = {(r.dt, r.wiki): r.toggles_per_editing_sessions for r in normal.itertuples()}
    assert ratio[(D(2026, 11, 1), "enwiki")] == (32 + 16) / 160
    assert ratio[(D(2026, 11, 2), "enwiki")] == 16 / 64
    assert ratio[(D(2026, 11, 1), "dewiki")] != ratio[(D(2026, 11, 1), "dewiki")]  # 48 / 0 is NaN, not inf
    whole = frames.metric("toggles", normalized=True, by=[], grain="all", catalogue=CATALOGUE, warehouse=tmp_path)
    assert whole["toggles_per_editing_sessions"].tolist() == [(32 + 16 + 48 + 16) / (160 + 0 + 64)]  # a ratio of sums, not a mean of ratios
    with pytest.raises(InputError, match="'editing_sessions' is not split by enabled"):
        frames.metric("toggles", normalized=True, by=["enabled"], catalogue=CATALOGUE, warehouse=tmp_path)
    with pytest.raises(InputError, match="grain is one of period, day, week, month, year, all"):
        frames.metric("toggles", grain="fortnight", catalogue=CATALOGUE, warehouse=tmp_path)
    with pytest.raises(InputError, match="by takes dimensions of 'toggles': editor, enabled, wiki"):
        frames.metric("toggles", by=["country"], catalogue=CATALOGUE, warehouse=tmp_path)
    for by in ("editor", ["editor", "editor"]):
        with pytest.raises(InputError, match="is not a list of distinct dimension names"):
            frames.metric("toggles", by=by, catalogue=CATALOGUE, warehouse=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="collected by StatsD"):
        frames.metric("codemirror_toggle_clicks", catalogue=CATALOGUE, warehouse=tmp_path)
    with pytest.raises(InputError, match="no metric named 'toggle'"):
        frames.metric("toggle", catalogue=CATALOGUE, warehouse=tmp_path)
