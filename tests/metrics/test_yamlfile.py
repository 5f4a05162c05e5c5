"""Malformed YAML files get one `file:line:column` problem each, never a traceback."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from metrics import yamlfile
from metrics.problems import InputError


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        yamlfile.load(path)
    return [str(p) for p in info.value.problems]


def test_positions_of_keys_and_values(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("name: x\nlist:\n  - a\n  - {k: v}\n")
    located = yamlfile.load(f)
    assert located.data == {"name": "x", "list": ["a", {"k": "v"}]}
    assert located.position(("list", 1, "k")) == (4, 9)
    assert located.position(("list", 1, "k"), key=True) == (4, 6)
    assert located.position(("name",), key=True) == (1, 1)
    # A path deeper than the data falls back to its deepest known part.
    assert located.position(("list", 0, "missing")) == (3, 5)


def test_tab_indentation(tmp_path: Path) -> None:
    f = tmp_path / "tabs.yaml"
    f.write_text("name: x\nowner:\n\tteam: y\n")
    [line] = problems_of(f)
    assert line.startswith(f"{f}:3:1: tab character in indentation")
    assert "spaces" in line


def test_bad_indentation(tmp_path: Path) -> None:
    f = tmp_path / "indent.yaml"
    f.write_text("name: x\nowner:\n  team: y\n responsible: z\n")
    [line] = problems_of(f)
    assert line.startswith(f"{f}:4:")
    assert "YAML syntax error" in line and "indentation" in line


def test_duplicate_keys_are_all_reported(tmp_path: Path) -> None:
    f = tmp_path / "dup.yaml"
    f.write_text("name: x\ntitle: a\nowner:\n  team: t\n  team: u\ntitle: b\n")
    lines = problems_of(f)
    assert lines == [
        f"{f}:5:3: duplicate key 'team' (first at line 4) (keep one of them)",
        f"{f}:6:1: duplicate key 'title' (first at line 2) (keep one of them)",
    ]


def test_binary_file(tmp_path: Path) -> None:
    f = tmp_path / "bin.yaml"
    f.write_bytes(gzip.compress(b"name: x\n"))
    [line] = problems_of(f)
    assert line.startswith(f"{f}:1:1:") and ("binary" in line or "UTF-8" in line)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "latin1.yaml"
    f.write_bytes("name: x\ntitle: caf\xe9\n".encode("latin-1"))
    [line] = problems_of(f)
    assert line == f"{f}:2:11: not UTF-8 text (save the file as UTF-8)"


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    f = tmp_path / "empty.yaml"
    f.write_text(content)
    [line] = problems_of(f)
    assert line.startswith(f"{f}:1:1: empty file")


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    f = tmp_path / "huge.yaml"
    with f.open("wb") as out:
        out.truncate(50 * 1024 * 1024)
    [line] = problems_of(f)
    assert line.startswith(f"{f}:1:1: file is 52.4 MB, over the 1 MB limit")


def test_two_documents(tmp_path: Path) -> None:
    f = tmp_path / "two.yaml"
    f.write_text("name: a\n---\nname: b\n")
    [line] = problems_of(f)
    assert line.startswith(f"{f}:") and "single document" in line
