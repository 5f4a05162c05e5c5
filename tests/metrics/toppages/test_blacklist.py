"""Blacklist files: the dumps' quoting, comments, and every bad line reported at once with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.problems import InputError
from metrics.toppages import blacklist


def test_pairs_are_read_with_the_dumps_quoting(tmp_path: Path) -> None:
    path = tmp_path / "blacklist.txt"
    path.write_text('# pages nobody reads on purpose\nen Special:Search\n\n"" Main_Page\nen "\\"Weird_Al\\"_Yankovic"\nen NaN\nen a\\b\r\nde.m ""\n', "utf-8")
    listed = blacklist.read(path)
    assert listed.pairs == {("en", "Special:Search"), ("", "Main_Page"), ("en", '"Weird_Al"_Yankovic'), ("en", "NaN"), ("en", "a\\b"), ("de.m", "")}
    assert len(listed.digest) == 16 and listed.digest == blacklist.Blacklist(set(listed.pairs)).digest
    assert blacklist.Blacklist().digest == "" and not blacklist.Blacklist()


def test_every_bad_line_is_reported_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "blacklist.txt"
    path.write_bytes(b'en Main_Page\nen Two words here\nen "unclosed\nen\n\xff\xfe x\n')
    with pytest.raises(InputError) as caught:
        blacklist.read(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:2:1: expected 2 space-separated fields, found 4: 'en Two words here' (write one 'domain_code page_title' pair a line,"
        ' quoted as in the dumps ("" for the empty domain))',
        f"{path}:3:4: badly quoted field '\"unclosed' (write one 'domain_code page_title' pair a line, quoted as in the dumps (\"\" for the empty domain))",
        f"{path}:4:1: expected 2 space-separated fields, found 1: 'en' (write one 'domain_code page_title' pair a line,"
        ' quoted as in the dumps ("" for the empty domain))',
        f"{path}:5:1: line is not UTF-8 (save the file as UTF-8)",
    ]


def test_a_missing_file_is_said_as_such(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"blacklist.txt:1:1: cannot read the blacklist: No such file or directory"):
        blacklist.read(tmp_path / "blacklist.txt")
