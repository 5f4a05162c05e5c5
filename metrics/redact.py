"""Secrets kept out of everything shown or written: one masking function for URLs and texts.

- `mask_url(url)`: the URL with the password of its userinfo and the values of its query (and
  fragment) parameters named like secrets replaced by `MASK`: `http://admin:S@host` ->
  `http://admin:XXXXXXXXXX@host`, `postgresql://u@db/x?password=S` -> `...?password=XXXXXXXXXX`.
  The user name is kept (it says who, and is no secret by itself).
- `mask_text(text)`: the same for every URL inside a text, for `name=value` pairs outside URLs
  (a libpq DSN), and for every secret value the process knows of (`remember`): the values of
  the environment variables named like secrets (`SUPERSET_PASSWORD`, `GRAFANA_TOKEN`,
  `METRICS_TRINO_PASSWORD`, `..._JWT`, `..._SECRET`, `..._KEY`...), and secrets read from files.

A parameter is named like a secret when its name, or its last `_`/`-`/`.` separated word, is one
of `SECRET_WORDS` (`password`, `token`, `secret`, `key`, `api_key`, `sig`, ...): `db_password`
and `x-api-key` are, `monkey` and `sslkey` (a path) are not. `MASK` is Superset's own mask, so a
URI masked here is one Superset's import takes with the password given beside it.

Every error line the `metrics` command prints, every log line of the runner, the run log's
errors, the quarantine's source names, the importers' output and state keys, the built Superset
bundles and Grafana provisioning go through these functions.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Iterable
from urllib.parse import unquote

MASK = "XXXXXXXXXX"
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "token",
        "secret",
        "key",
        "apikey",
        "signature",
        "sig",
        "credential",
        "credentials",
        "auth",
        "jwt",
    }
)
CONTAINED_SECRET_WORDS = ("password", "passwd", "secret", "token", "credential", "apikey")
"""Words that make a name secret wherever they stand in it (`sslpassword`, `clientsecret`); the shorter
words of `SECRET_WORDS` (`key`, `pass`, `sig`) only as the whole name or its last part."""
MIN_REMEMBERED = 4
"""Shorter values are not replaced in texts (they would hit ordinary words); they are still masked in URLs."""

NOT_SECRET_VARIABLES = frozenset({"PWD", "OLDPWD"})
"""Environment variables whose names look like secrets but are the shell's working folders."""

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
_PAIR = re.compile(r"(?<![A-Za-z0-9_.%-])([A-Za-z0-9_.%-]+)=([^\s&;'\"<>`,)]+)")
_known: set[str] = set()


def is_secret_name(name: str) -> bool:
    """Whether a parameter or variable named `name` holds a secret (see `SECRET_WORDS`)."""
    lowered = unquote(name).lower()
    if lowered in SECRET_WORDS or any(word in lowered for word in CONTAINED_SECRET_WORDS):
        return True
    parts = re.split(r"[_.\-]", lowered)
    return len(parts) > 1 and (parts[-1] in SECRET_WORDS or "_".join(parts[-2:]) in {"api_key", "access_key", "private_key"})


def _mask_pairs(text: str, separators: str = "&;") -> str:
    """`name=value` pairs of a query string (or fragment) with the secret ones masked."""
    pieces = re.split(f"([{separators}])", text)
    for i in range(0, len(pieces), 2):
        name, eq, value = pieces[i].partition("=")
        if eq and value and is_secret_name(name):
            pieces[i] = f"{name}={MASK}"
    return "".join(pieces)


def mask_url(url: str) -> str:
    """`url` with its userinfo password and secret query/fragment values replaced by `MASK` (see the module)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _mask_pairs(url)
    cut = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if found != -1:
            cut = min(cut, found)
    netloc, tail = rest[:cut], rest[cut:]
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else netloc
    path, hash_, fragment = tail.partition("#")
    path, question, query = path.partition("?")
    return f"{scheme}://{netloc}{path}{question}{_mask_pairs(query)}{hash_}{_mask_pairs(fragment)}"


def url_secrets(url: str) -> list[str]:
    """The secret values `mask_url` would hide in `url` (its userinfo password, secret parameters), decoded and as written."""
    found = []
    _, sep, rest = url.partition("://")
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0] if sep else ""
    if "@" in netloc:
        user, colon, password = netloc.rpartition("@")[0].partition(":")
        if colon and password:
            found.append(password)
    for name, value in re.findall(r"(?:^|[?&;#])([^=&;#?]+)=([^&;#]*)", rest if sep else url):
        if value and is_secret_name(name):
            found.append(value)
    return [v for value in found for v in dict.fromkeys([value, unquote(value)])]


def remember(values: Iterable[str | None]) -> None:
    """Secret values to replace wherever `mask_text` meets them (the values of passwords, tokens...)."""
    for value in values:
        if value and len(value) >= MIN_REMEMBERED:
            _known.add(value)


def remember_url(url: str | None) -> None:
    """Remember the secrets inside a URL (its password, secret parameters), so they are masked even outside it."""
    if url:
        remember(url_secrets(url))


def remember_environment(environ: dict[str, str] | None = None) -> None:
    """Remember the values of the environment variables named like secrets, and the secrets of those holding URLs."""
    environ = dict(os.environ if environ is None else environ)
    for name, value in environ.items():
        if is_secret_name(name) and name.upper() not in NOT_SECRET_VARIABLES:
            remember([value])
        elif "://" in value:
            remember_url(value)


def _mask_located_url(match: re.Match[str]) -> str:
    """A URL found in a text, masked; a `:line:column:` after it (an error's location) stays as it is."""
    url = match.group(0)
    place = re.search(r"(?::[0-9]+){1,2}:$", url)
    return mask_url(url[: place.start()]) + place.group(0) if place else mask_url(url)


def _mask_pair(match: re.Match[str]) -> str:
    """A `name=value` found in a text, masked when the name is a secret's (a `:line:column:` after it stays)."""
    name, value = match.group(1), match.group(2)
    if not is_secret_name(name) or value.startswith(MASK):
        return match.group(0)
    place = re.search(r"(?::[0-9]+){1,2}:$", value)
    return f"{name}={MASK}{place.group(0) if place else ''}"


def mask_text(text: str) -> str:
    """`text` with every URL masked (`mask_url`), secret `name=value` pairs masked, and every remembered secret replaced."""
    if not text:
        return text
    text = _URL.sub(_mask_located_url, text)
    text = _PAIR.sub(_mask_pair, text)
    for value in sorted(_known, key=len, reverse=True):  # the longest first: a secret containing another
        if value in text:
            text = text.replace(value, MASK)
    return text


class MaskingFormatter(logging.Formatter):
    """A log formatter whose lines (tracebacks included) went through `mask_text`."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


def mask_logging(logger: logging.Logger | None = None) -> None:
    """Make every handler of `logger` (default: the root logger) write through `mask_text`, keeping its format."""
    for handler in (logger or logging.getLogger()).handlers:
        current = handler.formatter or logging.Formatter()
        masking = MaskingFormatter(current._fmt, current.datefmt)
        handler.setFormatter(masking)


def mask_host(host: str) -> str:
    """A host as given in a config (`user:password@host` is no host name, but a user may write it): its userinfo masked."""
    userinfo, at, name = host.rpartition("@")
    return f"{MASK}@{name}" if at else mask_text(host)
