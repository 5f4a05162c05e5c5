"""Deterministic sample data for every raw source: the demo, the tests and the benchmarks use it.

Every generator takes a seed and returns (or writes) the same bytes for the same arguments. Each
file is seeded from (seed, what, day), so one day's file does not depend on the others.

- EventGate events: codemirror editing sessions sampled per session as EventLogging does (a session
  is in the 1-in-16 sample when the first 8 hex digits of its token are divisible by 16; only
  sampled sessions emit: a first, non-toggle event with the editor and enabled state, then 0..n
  toggles), schema versions 1.0.0 and 1.1.0 mixed (1.1.0 rolling out); reference previews
  pageview and clickedFootnote actions per wiki. Every event carries what EventGate and Refine add:
  the parsed `useragent` (3% bots, `is_bot`), `http.request_headers` and `webHost`.
- Hourly pageview dumps with the real file names: Zipf-like over ~1,000 domain codes, heavy-tailed
  views per line (most lines have 1 view), with the `""` domain, quoted titles holding `"`, and
  the titles `NaN`, `null`, `-`, `None`, `NA`.
- World Bank style indicator records for a few hundred countries x years, and a CSV of active
  editors by country and year.
- Bad inputs of each kind the loaders quarantine.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

UTC = dt.timezone.utc
WIKIS = ("enwiki", "dewiki", "cawiki", "trwiki", "fawiki", "frwiki", "eswiki", "jawiki", "itwiki", "plwiki", "nlwiki", "hewiki")
WIKI_WEIGHTS = (1.0, 0.45, 0.08, 0.12, 0.15, 0.35, 0.3, 0.3, 0.2, 0.15, 0.12, 0.08)
SAMPLING = 16
"""Sessions are sampled 1 in 16 (6.25%), as the CodeMirror instrumentation does."""

LANGUAGES = (
    "en ja de es ru fr it zh pt pl nl ar fa tr sv uk he ko id vi cs hu fi no ca ro el da th bn hi sr bg ms "
    "uz az et sk lt sl hr kk eu hy lv ur gl ta ml ka be simple eo la mr te af sq mk bs cy is nn ast sh tl "
    "ceb war arz min jv su zh-min-nan zh-yue azb ckb ga sw bar lb ne pa als an kn my oc br ky tt ba"
).split()
PROJECTS = ("", ".m", ".d", ".m.d", ".b", ".m.b", ".q", ".m.q", ".s", ".m.s", ".voy", ".m.voy")
ISO3 = (
    "ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD BGR BHR BHS "
    "BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR COD COG COK COL COM CPV "
    "CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM "
    "GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN "
    "IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE "
    "LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS "
    "MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK "
    "PRT PRY PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR "
    "SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY "
    "USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE"
).split()
INDICATORS = {"SP.POP.TOTL": "Population, total", "IT.NET.USER.ZS": "Individuals using the Internet (% of population)"}
EDIT_BUCKETS = ("0 edits", "1-4 edits", "5-99 edits", "100-999 edits", "1000+ edits")
SPECIAL_TITLES = {1: "Special:Search", 2: "-", 3: "NaN", 5: "null", 7: '"Weird_Al"_Yankovic', 11: "None", 13: "NA", 17: 'The_"Best"_of'}
WORDS = ("Berlin", "Istanbul", "Barcelona", "Tehran", "Python", "Zipf", "Ada_Lovelace", "Photosynthesis", "Jazz", "Volcano")


def _rng(seed: int, *what: object) -> np.random.Generator:
    """A generator for one piece of the sample, independent of the others."""
    key = [seed] + [int.from_bytes(str(w).encode()[:16].ljust(16, b"\0"), "little") % (1 << 63) for w in what]
    return np.random.default_rng(key)


def days(start: dt.date, count: int) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range(count)]


def _domain(wiki: str) -> str:
    return f"{wiki.removesuffix('wiki')}.wikipedia.org"


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _token(rng: np.random.Generator, sampled: bool) -> str:
    """A 20-hex-digit session token; `sampled` ones are in EventLogging's 1-in-16 sample."""
    head = int(rng.integers(0, 1 << 32))
    head = head - head % SAMPLING if sampled else head
    if not sampled and head % SAMPLING == 0:
        head += 1
    return f"{head:08x}{int(rng.integers(0, 1 << 48)):012x}"


def in_sample(token: str) -> bool:
    """EventLogging's per-session sampling rule (`mw.eventLog.randomTokenMatch(16, token)`)."""
    return int(token[:8], 16) % SAMPLING == 0


def _moments(rng: np.random.Generator, day: dt.date, n: int) -> np.ndarray:
    """`n` sorted seconds-of-day, more in the (UTC) afternoon as real traffic."""
    hours = rng.choice(24, size=n, p=_DIURNAL)
    return np.sort(hours * 3600 + rng.integers(0, 3600, size=n))


_DIURNAL = np.array([0.6 + 0.4 * math.sin((h - 8) / 24 * 2 * math.pi) for h in range(24)])
_DIURNAL = _DIURNAL / _DIURNAL.sum()


def codemirror_events(seed: int, day: dt.date, *, sessions_per_day: int = 12000, rollout: float = 0.5) -> list[dict]:
    """One day of `codemirrorusage` events over WIKIS; `rollout` is the share of clients on schema 1.1.0."""
    rng = _rng(seed, "codemirrorusage", day)
    midnight = dt.datetime.combine(day, dt.time(), UTC)
    events = []
    for wiki, weight in zip(WIKIS, WIKI_WEIGHTS):
        total = int(rng.poisson(sessions_per_day * weight))
        sampled = int(rng.binomial(total, 1 / SAMPLING))  # the others emit nothing
        for second in _moments(rng, day, sampled):
            token = _token(rng, sampled=True)
            editor = "wikitext_2010" if rng.random() < 0.7 else "wikitext_2017"
            enabled = bool(rng.random() < 0.4)
            version = "1.1.0" if rng.random() < rollout else "1.0.0"
            bucket = EDIT_BUCKETS[min(4, int(rng.geometric(0.45)) - 1)] if version == "1.1.0" and rng.random() < 0.9 else None
            moment = midnight + dt.timedelta(seconds=int(second), milliseconds=int(rng.integers(0, 1000)))
            for toggle in range(int(rng.geometric(0.6))):  # the first event, then 0..n toggles
                if toggle:
                    enabled = not enabled
                    moment = min(moment + dt.timedelta(seconds=int(rng.integers(2, 600))), midnight + dt.timedelta(hours=23, minutes=59, seconds=59))
                event = {"session_token": token, "editor": editor, "enabled": enabled, "toggled": bool(toggle)}
                if bucket is not None:
                    event["edit_count_bucket"] = bucket
                events.append(_envelope("codemirrorusage", "/analytics/legacy/codemirrorusage/" + version, wiki, moment, rng, event))
    events.sort(key=lambda e: e["meta"]["dt"])
    return events


def reference_previews_events(seed: int, day: dt.date, *, pageviews_per_day: int = 3000) -> list[dict]:
    """One day of `referencepreviewsbaseline` events: pageview and clickedFootnote actions per wiki."""
    rng = _rng(seed, "referencepreviewsbaseline", day)
    midnight = dt.datetime.combine(day, dt.time(), UTC)
    events = []
    for index, (wiki, weight) in enumerate(zip(WIKIS, WIKI_WEIGHTS)):
        click_rate = 0.02 + 0.005 * (index % 7)
        views = int(rng.poisson(pageviews_per_day * weight))
        for second in _moments(rng, day, views):
            token = _token(rng, sampled=bool(rng.random() < 0.5))
            moment = midnight + dt.timedelta(seconds=int(second), milliseconds=int(rng.integers(0, 1000)))
            events.append(
                _envelope(
                    "referencepreviewsbaseline",
                    "/analytics/legacy/referencepreviewsbaseline/1.0.0",
                    wiki,
                    moment,
                    rng,
                    {"action": "pageview", "session_token": token},
                )
            )
            for _ in range(int(rng.binomial(3, click_rate))):
                moment = min(moment + dt.timedelta(seconds=int(rng.integers(5, 300))), midnight + dt.timedelta(hours=23, minutes=59, seconds=59))
                events.append(
                    _envelope(
                        "referencepreviewsbaseline",
                        "/analytics/legacy/referencepreviewsbaseline/1.0.0",
                        wiki,
                        moment,
                        rng,
                        {"action": "clickedFootnote", "session_token": token},
                    )
                )
    events.sort(key=lambda e: e["meta"]["dt"])
    return events


BROWSERS = (
    ("Chrome", "Windows", "Other", 0.5),
    ("Firefox", "Linux", "Other", 0.2),
    ("Mobile Safari", "iOS", "iPhone", 0.27),
    ("Googlebot", "Other", "Spider", 0.03),
)
"""(browser, OS, device, share) of the user agents in the sample; the last is a bot, as the Hive tables' `useragent.is_bot` says."""
_AGENT_SHARES = np.array([b[3] for b in BROWSERS])


def _envelope(stream: str, schema: str, wiki: str, moment: dt.datetime, rng: np.random.Generator, event: dict) -> dict:
    """An event as EventGate stores it: meta, the wiki, the parsed user agent and request headers, and the instrument's `event`."""
    uid = f"{int(rng.integers(0, 1 << 62)):016x}{int(rng.integers(0, 1 << 62)):016x}"
    meta = {"stream": stream, "id": f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:32]}", "domain": _domain(wiki), "dt": _iso(moment)}
    browser, os_family, device, _ = BROWSERS[int(rng.choice(len(BROWSERS), p=_AGENT_SHARES))]
    useragent = {"browser_family": browser, "os_family": os_family, "device_family": device, "is_bot": browser.endswith("bot"), "is_mediawiki": False}
    http = {"request_headers": {"user-agent": f"Mozilla/5.0 ({os_family}) {browser}"}}
    return {"$schema": schema, "meta": meta, "wiki": wiki, "http": http, "useragent": useragent, "webHost": _domain(wiki), "event": event}


def write_events(path: Path, events: Iterable[dict]) -> Path:
    """Write events as newline-delimited JSON (one compact object a line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for event in events:
            out.write(json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n")
    return path


def bad_event_lines(now: dt.datetime | None = None) -> dict[str, str]:
    """One invalid event line of each kind the events loader quarantines, by kind."""
    now = now or dt.datetime.now(UTC)
    good = {
        "$schema": "/analytics/legacy/codemirrorusage/1.1.0",
        "meta": {"stream": "codemirrorusage", "id": "b0caf18d-6c7f-4403-947d-2712bbe28610", "domain": "en.wikipedia.org", "dt": "2026-11-03T07:00:00.000Z"},
        "wiki": "enwiki",
        "event": {"session_token": "0000000012345abcdef0", "editor": "wikitext_2010", "enabled": True, "toggled": True},
    }

    def variant(**changes: object) -> str:
        event = json.loads(json.dumps(good))
        for dotted, value in changes.items():
            *parents, leaf = dotted.split("__")
            target = event
            for parent in parents:
                target = target[parent]
            if value is _DROP:
                del target[leaf]
            else:
                target[leaf] = value
        return json.dumps(event)

    return {
        "bad_json": '{"$schema": "/analytics/legacy/codemirrorusage/1.1.0", "meta": {',
        "not_an_object": "[1, 2, 3]",
        "unknown_schema": variant(**{"$schema": "/analytics/legacy/codemirrorusage/9.9.9"}),
        "schema_violation": variant(event__enabled="yes"),
        "missing_dt": variant(meta__dt=_DROP),
        "future_dt": variant(meta__dt=_iso(now + dt.timedelta(days=3))),
        "wrong_stream": variant(meta__stream="referencepreviewsbaseline"),
        "bad_date_time": variant(meta__dt="2026-11-03T07Z"),  # ISO 8601, not RFC 3339: no minutes or seconds
        "nested_too_deep": variant(wiki="DEEP").replace('"DEEP"', "[" * 1100 + "]" * 1100),  # deeper than the decoder follows
    }


_DROP = object()


# --- pageview dumps -----------------------------------------------------------------------


def domain_codes() -> list[str]:
    """~1,000 domain codes, most viewed first (the empty code sits in the long tail)."""
    ranked = sorted((i + 8 * j, lang + project) for j, project in enumerate(PROJECTS) for i, lang in enumerate(LANGUAGES))
    codes = [code for _, code in ranked]
    codes[200:200] = [""]
    return codes + ["commons.m", "commons.m.m", "meta.m", "species.m", "www.wd", "m.wd"]


def dump_name(hour: dt.datetime) -> str:
    """The real file name of an hourly dump: `pageviews-20240803-060000.gz`."""
    return f"pageviews-{hour:%Y%m%d}-{hour:%H}0000.gz"


def _field(text: str) -> str:
    """A field as Spark's CSV writer writes it: quoted with backslash escapes when empty or holding `"`."""
    if text and '"' not in text:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _title(rank: int) -> str:
    if rank == 0:
        return "Main_Page"
    return SPECIAL_TITLES.get(rank) or f"{WORDS[rank % len(WORDS)]}_{rank}"


def pageview_lines(seed: int, hour: dt.datetime, lines: int) -> list[str]:
    """`lines` dump lines for one hour: unique (domain, title), domains Zipf-like, views heavy-tailed.

    The title of rank r in a domain is the same every hour, and low ranks get the most views,
    so the top pages of a day are stable as they are in the real dumps.
    """
    rng = _rng(seed, "pageviews", hour.isoformat())
    codes = domain_codes()
    weights = 1.0 / np.arange(1, len(codes) + 1) ** 1.1
    weights /= weights.sum()
    counts = rng.multinomial(lines, weights)
    domain = np.repeat(np.arange(len(codes)), counts)
    rank = np.arange(lines) - np.repeat(np.cumsum(counts) - counts, counts)
    views = np.floor(rng.pareto(1.2, size=lines) * 0.7).astype(np.int64) + 1  # ~65% of lines: 1 view
    top = rank < np.minimum(30, np.maximum(1, counts[domain] // 100))  # the head of each domain
    views[top] += (weights[domain[top]] / weights[0] * 5000 / (rank[top] + 1)).astype(np.int64)
    order = rng.permutation(lines)
    field_codes = [_field(c) for c in codes]
    titles = [_field(_title(r)) for r in range(int(counts.max()) if lines else 0)]
    return [f"{field_codes[d]} {titles[r]} {v} 0" for d, r, v in zip(domain[order].tolist(), rank[order].tolist(), views[order].tolist())]


def write_dump(path: Path, lines: Sequence[str], *, level: int = 6) -> Path:
    """Write dump lines as a gzip file (the dumps are gzip)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=level, mtime=0) as out:
        out.write(data)  # mtime 0: the same lines give the same bytes
    return path


def pageview_dumps(seed: int, out: Path, start: dt.datetime, hours: int, lines: int) -> list[Path]:
    """Write `hours` consecutive hourly dumps from `start` into `out`; returns their paths."""
    paths = []
    for i in range(hours):
        hour = start + dt.timedelta(hours=i)
        scale = 0.7 + 0.3 * math.sin((hour.hour - 8) / 24 * 2 * math.pi)
        paths.append(write_dump(out / dump_name(hour), pageview_lines(seed, hour, max(1, int(lines * scale)))))
    return paths


BAD_DUMP_LINES = {
    "too_few_fields": "en Only_a_title",
    "too_many_fields": "en Two words 1 0",
    "views_not_a_number": "en Some_page many 0",
    "size_not_a_number": "de Seite 1 1.5",
    "bad_quoting": 'en "Unterminated 1 0',
    "empty_line": "",
    "views_beyond_bigint": f"en Big_page {1 << 63} 0",
    "size_beyond_bigint": f"en Big_page 1 {1 << 64}",
}
"""One unparseable dump line of each kind, by kind."""


# --- tabular sources ----------------------------------------------------------------------


@dataclass(frozen=True)
class Country:
    iso3: str
    population: float
    growth: float
    internet_2015: float
    editors_per_million: float


def countries(seed: int, count: int = len(ISO3)) -> list[Country]:
    """`count` countries (ISO alpha-3 codes) with stable, plausible figures."""
    rng = _rng(seed, "countries")
    out = []
    for iso3 in ISO3[:count]:
        out.append(
            Country(
                iso3,
                population=float(np.exp(rng.normal(15.5, 2.0))),
                growth=float(rng.normal(0.01, 0.01)),
                internet_2015=float(rng.uniform(5, 90)),
                editors_per_million=float(np.exp(rng.normal(2.5, 1.0))),
            )
        )
    return out


def world_bank_records(seed: int, years: Sequence[int] = range(2015, 2026), *, country_count: int = len(ISO3), missing: float = 0.03) -> dict[str, list[dict]]:
    """World Bank style records, by indicator id, newest year first (as the API pages them).

    About `missing` of the values are null, as the API reports years without data.
    """
    rng = _rng(seed, "world_bank")
    records: dict[str, list[dict]] = {name: [] for name in INDICATORS}
    for country in countries(seed, country_count):
        for year in sorted(years, reverse=True):
            age = year - 2015
            values = {
                "SP.POP.TOTL": round(country.population * (1 + country.growth) ** age),
                "IT.NET.USER.ZS": round(min(99.5, country.internet_2015 + age * (100 - country.internet_2015) * 0.06), 3),
            }
            for indicator, value in values.items():
                records[indicator].append(
                    {
                        "indicator": {"id": indicator, "value": INDICATORS[indicator]},
                        "country": {"id": country.iso3[:2], "value": f"Country {country.iso3}"},
                        "countryiso3code": country.iso3,
                        "date": str(year),
                        "value": None if rng.random() < missing else value,
                        "unit": "",
                        "obs_status": "",
                        "decimal": 0 if indicator == "SP.POP.TOTL" else 1,
                    }
                )
    return records


def world_bank_page(records: Sequence[dict], page: int, per_page: int) -> list:
    """One page of the API's answer: `[{"page", "pages", "per_page", "total"}, [records...]]`."""
    pages = max(1, math.ceil(len(records) / per_page))
    chunk = list(records[(page - 1) * per_page : page * per_page])
    return [{"page": page, "pages": pages, "per_page": per_page, "total": len(records), "lastupdated": "2026-07-01"}, chunk or None]


def editors_csv(seed: int, path: Path, years: Sequence[int] = range(2015, 2026), *, country_count: int = len(ISO3)) -> Path:
    """A CSV `country,year,active_editors` for every country and year."""
    rng = _rng(seed, "editors")
    lines = ["country,year,active_editors"]
    for country in countries(seed, country_count):
        for year in years:
            population = country.population * (1 + country.growth) ** (year - 2015)
            lines.append(f"{country.iso3},{year},{int(population / 1e6 * country.editors_per_million * rng.uniform(0.9, 1.1))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path
