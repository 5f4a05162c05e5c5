"""The top pages computed the plain way, as the tests' reference: every line parsed by
`ingestion.pageviews.parse_line`, views summed per page, the blacklist removed, each domain sorted
by views then title in Python, ranks counted one by one."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Iterable

from ingestion.pageviews import parse_line


def lines_of(path: Path) -> list[str]:
    """The dump's lines that are UTF-8 (others can be no page), empty ones left out."""
    data = path.read_bytes()
    text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    lines = []
    for raw in text.split(b"\n"):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            continue
    return [line for line in lines if line]


def sums(lines: Iterable[str]) -> dict[tuple[str, str], int]:
    """Views per (domain, title); lines that do not parse are skipped."""
    out: dict[tuple[str, str], int] = {}
    for line in lines:
        try:
            domain, title, views, _ = parse_line(line)
        except ValueError:
            continue
        out[(domain, title)] = out.get((domain, title), 0) + views
    return out


def top(views: dict[tuple[str, str], int], n: int, ties: str = "row_number", blacklist: Iterable[tuple[str, str]] = ()) -> list[dict]:
    """The ranked rows, sorted by domain, views descending, title: what `metrics.toppages` must give."""
    listed = set(blacklist)
    by_domain: dict[str, list[tuple[str, int]]] = {}
    for (domain, title), count in views.items():
        if (domain, title) not in listed:
            by_domain.setdefault(domain, []).append((title, count))
    rows = []
    for domain in sorted(by_domain):
        pages = sorted(by_domain[domain], key=lambda page: (-page[1], page[0]))
        distinct = 0
        for position, (title, count) in enumerate(pages):
            if position == 0 or count != pages[position - 1][1]:
                distinct += 1
                first_of_value = position
            rank = {"row_number": position + 1, "rank": first_of_value + 1, "dense_rank": distinct}[ties]
            if rank <= n:
                rows.append({"domain_code": domain, "page_title": title, "count_views": count, "rank": rank})
    return rows
