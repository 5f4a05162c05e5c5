"""The section map that replaces Wikimedia's dblists and DNS for `auto_find_db_shard`."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.problems import InputError
from metrics.reports import sections
from tests.conftest import pos

MAP = """\
sections:
  s1: db-s1.example.org:3311
  s5: {host: 127.0.0.1, port: 3315}
  s7: db-s7.example.org:3317
  x1: db-x1.example.org:3320
  staging: db-staging.example.org:3350
wikis:
  enwiki: s1
  dewiki: s5
"""


def test_a_wiki_is_on_its_section_and_reportupdater_special_cases_hold(tmp_path: Path) -> None:
    path = tmp_path / "sections.yaml"
    path.write_text(MAP)
    found = sections.load(path)
    assert found.address("enwiki") == ("db-s1.example.org", 3311)
    assert found.address("dewiki") == ("127.0.0.1", 3315)
    assert found.address("wikishared", use_x1=True) == ("db-x1.example.org", 3320)
    assert found.address("centralauth") == ("db-s7.example.org", 3317)
    assert found.address("staging") == ("db-staging.example.org", 3350)
    with pytest.raises(InputError) as err:
        found.address("frwiki")
    assert str(err.value) == f"{path}:1:1: wiki database 'frwiki' is not listed under `wikis:` (add `frwiki: <section>` under `wikis:`)"


def test_every_problem_of_a_map_is_reported_at_its_place(tmp_path: Path) -> None:
    path = tmp_path / "sections.yaml"
    path.write_text("sections:\n  s1: db1:notaport\n  s2: [db2, 3306]\n  s3: db3:3306\nwikis:\n  enwiki: s1\n  dewiki: s9\n  frwiki: s3\nsectoins: {}\n")
    with pytest.raises(InputError) as err:
        sections.load(path)
    assert err.value.lines() == [
        f"{path}:{pos(path, 'db1:notaport')}: section 's1': 'db1:notaport' is not host:port (write e.g. `s1: db1.example.org:3306`)",
        f"{path}:{pos(path, '[db2')}: section 's2': ['db2', 3306] is not host:port (write e.g. `s1: db1.example.org:3306`)",
        f"{path}:{pos(path, 'enwiki: s1', 8)}: wiki 'enwiki' is on section 's1', which `sections:` does not list (add `s1: host:port`)",
        f"{path}:{pos(path, 's9')}: wiki 'dewiki' is on section 's9', which `sections:` does not list (add `s9: host:port`)",
        f"{path}:{pos(path, 'sectoins')}: unknown key 'sectoins' in the section map (only `sections:` and `wikis:`)",
    ]


def test_the_map_is_the_entry_s_file_else_the_environment_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sections.ENV, raising=False)
    assert sections.find(None) is None
    monkeypatch.setenv(sections.ENV, str(tmp_path / "env.yaml"))
    assert sections.find(None) == tmp_path / "env.yaml"
    assert sections.find(tmp_path / "own.yaml") == tmp_path / "own.yaml"
    with pytest.raises(InputError, match="cannot read the section map"):
        sections.load(tmp_path / "env.yaml")
