"""Malformed YAML files get one `file:line:column` problem each, never a traceback."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import time
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


def billion_laughs(levels: int = 9) -> str:
    """The classic: each level a list of nine aliases of the one before, 9**levels strings in a few hundred bytes."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghijklmnop"
    for before, name in zip(names, names[1:levels]):
        lines.append(f"{name}: &{name} [{', '.join([f'*{before}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_is_refused_at_the_alias_that_crosses_the_limit(tmp_path: Path) -> None:
    f = tmp_path / "laughs.yaml"
    f.write_text(billion_laughs())
    assert f.stat().st_size < 600
    started = time.perf_counter()
    [line] = problems_of(f)
    assert time.perf_counter() - started < 1.0
    # a, b, c, d: 10 + 9*11 ... values; the alias *d on line 5 is where 50,000 is passed.
    assert line.startswith(f"{f}:5:") and "alias *d makes the document stand for more than 50,000 values" in line
    assert "billion laughs" in line


def test_aliases_within_the_limit_still_work(tmp_path: Path) -> None:
    f = tmp_path / "merge.yaml"
    f.write_text("defaults: &d {granularity: days, lag: 3600}\nreports:\n  a: {<<: *d, starts: 2026-01-01}\n  b: *d\n")
    data = yamlfile.load(f).data
    assert data["reports"]["a"] == {"granularity": "days", "lag": 3600, "starts": dt.date(2026, 1, 1)}
    assert data["reports"]["b"] == {"granularity": "days", "lag": 3600}


def test_the_values_limit_counts_plain_values_too(tmp_path: Path) -> None:
    f = tmp_path / "wide.yaml"
    f.write_text("wikis: [" + ", ".join(["enwiki"] * (yamlfile.MAX_NODES + 1)) + "]\n")
    [line] = problems_of(f)
    assert line.startswith(f"{f}:1:") and "holds more than 50,000 values" in line


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: *a}\n", "&r [1, [2, *r]]\n"])
def test_a_recursive_alias_is_refused(tmp_path: Path, text: str) -> None:
    f = tmp_path / "recursive.yaml"
    f.write_text(text)
    [line] = problems_of(f)
    assert "refers to the node that contains it" in line and line.startswith(f"{f}:1:")


@pytest.mark.parametrize("opener, closer", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_is_refused_at_the_level_that_crosses_the_limit(tmp_path: Path, opener: str, closer: str) -> None:
    f = tmp_path / "deep.yaml"
    f.write_text(f"name: {opener * 5000}1{closer * 5000}\n")
    [line] = problems_of(f)
    # The 64th opener (the 65th collection with the top-level mapping) or, for lists, which the
    # scanner refuses as it reads them, the 65th.
    columns = [len("name: ") + len(opener) * (yamlfile.MAX_DEPTH - 1 + extra) + 1 for extra in (0, 1)]
    assert any(line.startswith(f"{f}:1:{column}: lists and mappings nested more than 64 deep") for column in columns), line


def test_deep_block_nesting_is_refused_too(tmp_path: Path) -> None:
    f = tmp_path / "deep.yaml"
    f.write_text("".join("  " * i + f"k{i}:\n" for i in range(100)))
    [line] = problems_of(f)
    assert line.startswith(f"{f}:65:129: lists and mappings nested more than 64 deep")  # the value of k63, the 65th mapping
    f.write_text("".join("  " * i + f"k{i}:\n" for i in range(63)) + "  " * 63 + "k63: 1\n")
    assert yamlfile.load(f).position(("k0",) * 0 + tuple(f"k{i}" for i in range(64))) == (64, 132)


@pytest.mark.parametrize(
    "value, shown",
    [("1" * 5000, "integer of 5,000 characters"), ("1" * 31, "integer 1111111111111111111111111111111"), ("0x" + "f" * 17, "integer 0xfffffffffffffffff")],
)
def test_an_integer_beyond_64_bits_is_refused_where_it_is(tmp_path: Path, value: str, shown: str) -> None:
    f = tmp_path / "big.yaml"
    f.write_text(f"name: x\nlag: {value}\n")
    [line] = problems_of(f)
    assert line.startswith(f"{f}:2:6: {shown} is beyond 64 bits") and len(line) < 260


def test_a_quoted_long_number_is_text(tmp_path: Path) -> None:
    f = tmp_path / "text.yaml"
    f.write_text(f"id: '{'1' * 5000}'\nbig: {2**63 - 1}\n")
    assert yamlfile.load(f).data == {"id": "1" * 5000, "big": 2**63 - 1}


def test_keys_that_are_no_plain_value_or_no_valid_scalar(tmp_path: Path) -> None:
    f = tmp_path / "keys.yaml"
    f.write_text("? [a, b]\n: 1\n2024-13-01: x\n!!bool maybe: y\n")
    data_or_lines = problems_of(f)
    assert data_or_lines == [f"{f}:1:3: a mapping key must be a plain value (write the key as text)"]


def test_a_folder_named_like_the_file(tmp_path: Path) -> None:
    f = tmp_path / "config.yaml"
    f.mkdir()
    [line] = problems_of(f)
    assert line == f"{f}:1:1: is a folder, not a file (name the YAML file itself, or remove the folder that has its name)"


def test_a_pipe_is_not_read(tmp_path: Path) -> None:
    f = tmp_path / "config.yaml"
    os.mkfifo(f)
    [line] = problems_of(f)  # returns at once: a pipe is never opened, so nothing blocks
    assert line.startswith(f"{f}:1:1: not a regular file")


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    # /proc/self/mem is a regular file that fails to read at offset 0: an unreadable file even for root (CI runs as root,
    # so a file without read permission would be read).
    [line] = problems_of(Path("/proc/self/mem"))
    assert line == "/proc/self/mem:1:1: cannot read file: Input/output error (check the file's permissions)"
