"""Reportupdater's TSV files, byte for byte: paths, header evolution, trimming, null rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from metrics.reports import tsv

D = dt.date


def test_output_paths_follow_placeholder_name_order(tmp_path: Path) -> None:
    assert tsv.output_path(tmp_path, "r", {}) == tmp_path / "r.tsv"
    assert tsv.output_path(tmp_path, "visualeditor", {"wiki": "wiki1", "editor": "ve"}) == tmp_path / "visualeditor" / "ve" / "wiki1.tsv"


def test_bytes_crlf_minimal_quoting_and_sorting(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    tsv.update(path, ["date", "name", "value"], {D(2024, 1, 2): [["b", 2], ["a\tb", None]], D(2024, 1, 1): [['say "hi"', 1.5]]})
    assert path.read_bytes() == b'date\tname\tvalue\r\n2024-01-01\t"say ""hi"""\t1.5\r\n2024-01-02\tb\t2\r\n2024-01-02\t"a\tb"\t\r\n'


def test_header_evolution_keeps_removed_columns_sorted_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_bytes(b"date\tzeta\talpha\tkept\r\n2024-01-01\tz1\ta1\tk1\r\n")
    tsv.update(path, ["date", "kept", "new"], {D(2024, 1, 2): [["k2", "n2"]]})
    assert path.read_bytes() == (b"date\tkept\tnew\talpha\tzeta\r\n2024-01-01\tk1\t\ta1\tz1\r\n2024-01-02\tk2\tn2\t\t\r\n")


def test_rerun_date_replaces_all_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_bytes(b"date\tv\r\n2024-01-01\t1\r\n2024-01-01\t2\r\n2024-01-02\t3\r\n")
    tsv.update(path, ["date", "v"], {D(2024, 1, 1): [[9]]})
    assert path.read_bytes() == b"date\tv\r\n2024-01-01\t9\r\n2024-01-02\t3\r\n"


def test_max_data_points_trims_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_bytes(b"date\tv\r\n" + b"".join(b"2024-01-0%d\t%d\r\n" % (d, d) for d in range(1, 6)))
    tsv.update(path, ["date", "v"], {D(2024, 1, 6): [[6]]}, max_data_points=3, granularity="days", interval_start=D(2024, 1, 6))
    # threshold = max(previous dates + [start]) - 3 days = Jan 3; rows after it stay, then the new one
    assert path.read_bytes() == b"date\tv\r\n2024-01-04\t4\r\n2024-01-05\t5\r\n2024-01-06\t6\r\n"
