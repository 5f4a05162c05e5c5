"""Section map: the MariaDB host and port of a wiki database, for `auto_find_db_shard: true`.

Reportupdater found a wiki's section (s1..s8, x1) in the dblists of mediawiki-config and the
section's host by a DNS SRV lookup of `_<section>-analytics._tcp.eqiad.wmnet`, which only works
inside Wikimedia. Here one YAML file says both:

    sections:                        # section -> host:port, or {host: ..., port: ...}
      s1: db-s1.example.org:3311
      s5: {host: 127.0.0.1, port: 3315}
      x1: db-x1.example.org:3320
    wikis:                           # wiki database -> section (what the dblists said)
      enwiki: s1
      dewiki: s5

As in Reportupdater, a database entry with `use_x1: true` is on section `x1`, and `staging` and
`centralauth` (not in any dblist) are on `staging` and `s7` unless `wikis:` lists them.
The file is named by a database entry's `section_map:` (relative to the query folder), else by
the environment variable METRICS_SECTION_MAP.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from metrics import yamlfile
from metrics.problems import InputError, Problem

ENV = "METRICS_SECTION_MAP"
UNLISTED = {"staging": "staging", "centralauth": "s7"}
"""Reportupdater's hard-coded sections of databases that no dblist names."""
HOST = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class SectionMap:
    file: Path
    sections: dict[str, tuple[str, int]]
    wikis: dict[str, str]

    def address(self, database: str, use_x1: bool = False) -> tuple[str, int]:
        """Host and port of the section that holds `database`; InputError naming the file when unknown."""
        if use_x1:
            section = "x1"
        elif database in self.wikis:
            section = self.wikis[database]
        elif database in UNLISTED:
            section = UNLISTED[database]
        else:
            raise InputError.at(self.file, f"wiki database '{database}' is not listed under `wikis:`", f"add `{database}: <section>` under `wikis:`")
        if section not in self.sections:
            raise InputError.at(
                self.file, f"section '{section}' (of database '{database}') is not listed under `sections:`", f"add `{section}: host:port` under `sections:`"
            )
        return self.sections[section]


_cache: dict[tuple[Path, int, int], SectionMap] = {}
_lock = threading.Lock()


def find(section_map: Path | None) -> Path | None:
    """The section map file of a database entry (its `section_map:`, else $METRICS_SECTION_MAP), if any."""
    if section_map is not None:
        return section_map
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    return None


def load(path: Path) -> SectionMap:
    """The section map in `path`, read once per version of the file; InputError lists every problem."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise InputError.at(path, f"cannot read the section map: {exc.strerror}", "check the path (`section_map:` or METRICS_SECTION_MAP)") from None
    key = (path.absolute(), stat.st_mtime_ns, stat.st_size)
    with _lock:
        if key not in _cache:
            _cache[key] = _parse(path)
        return _cache[key]


def _parse(path: Path) -> SectionMap:
    located = yamlfile.load(path)
    data = located.data
    p = located.problem
    if not isinstance(data, dict) or not isinstance(data.get("sections"), dict) or not isinstance(data.get("wikis"), dict):
        raise InputError(
            [p((), "a section map is a mapping with `sections:` (section -> host:port) and `wikis:` (wiki database -> section)", "see docs/runner.md")]
        )
    problems: list[Problem] = []
    for key in data:
        if key not in ("sections", "wikis"):
            problems.append(p((key,), f"unknown key '{key}' in the section map", "only `sections:` and `wikis:`", key=True))
    sections: dict[str, tuple[str, int]] = {}
    for name, value in data["sections"].items():
        address = _address(value)
        if address is None:
            problems.append(p(("sections", name), f"section '{name}': {value!r} is not host:port", "write e.g. `s1: db1.example.org:3306`"))
        else:
            sections[str(name)] = address
    wikis = {}
    for wiki, section in data["wikis"].items():
        if not isinstance(section, str) or not section:
            problems.append(p(("wikis", wiki), f"wiki '{wiki}': {section!r} is not a section name", "write e.g. `enwiki: s1`"))
        elif section not in sections:
            problems.append(p(("wikis", wiki), f"wiki '{wiki}' is on section '{section}', which `sections:` does not list", f"add `{section}: host:port`"))
        else:
            wikis[str(wiki)] = section
    if problems:
        raise InputError(problems)
    return SectionMap(path, sections, wikis)


def _address(value: object) -> tuple[str, int] | None:
    if isinstance(value, dict) and set(value) == {"host", "port"}:
        host, port = value["host"], value["port"]
    elif isinstance(value, str) and value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        return None
    if not isinstance(host, str) or not HOST.fullmatch(host):
        return None
    try:
        number = int(port) if not isinstance(port, bool) else 0
    except (TypeError, ValueError):
        return None
    return (host, number) if 0 < number < 65536 else None
