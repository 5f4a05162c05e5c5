"""Masking secrets: passwords and secret parameters of URLs, secret pairs in texts, remembered values."""

from __future__ import annotations

import logging

import pytest

from metrics import redact
from metrics.redact import MASK, mask_text, mask_url


@pytest.mark.parametrize(
    "url, masked",
    [
        ("postgresql://u@db/x?password=S1", f"postgresql://u@db/x?password={MASK}"),
        ("http://admin:S1@host:8088/path", f"http://admin:{MASK}@host:8088/path"),
        ("http://a:b:c@h", f"http://a:{MASK}@h"),  # the password runs to the last @ of the authority
        ("https://h/api?x=1&api_key=S1&token=S2&monkey=3&sslkey=/etc/k.pem", f"https://h/api?x=1&api_key={MASK}&token={MASK}&monkey=3&sslkey=/etc/k.pem"),
        ("https://h/cb#access_token=S1&state=2", f"https://h/cb#access_token={MASK}&state=2"),
        ("trino://user@host:8080/hive?http_scheme=https", "trino://user@host:8080/hive?http_scheme=https"),
        ("duckdb:////abs/catalog.duckdb", "duckdb:////abs/catalog.duckdb"),
        ("mysql://u:p%40ss@h/db?X-Amz-Signature=Q9z&AWSAccessKeyId=k", f"mysql://u:{MASK}@h/db?X-Amz-Signature={MASK}&AWSAccessKeyId=k"),
    ],
)
def test_urls_keep_everything_but_their_secrets(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    for secret in redact.url_secrets(url):
        assert secret not in mask_url(url).replace(MASK, "")


def test_texts_are_masked_inside_and_outside_urls() -> None:
    text = "cannot reach http://admin:S1xx@127.0.0.1:9/v2?key=S2xx (refused); dsn host=db password=S3xx user=u, passwd=S4xx"
    masked = mask_text(text)
    assert not any(s in masked for s in ("S1xx", "S2xx", "S3xx", "S4xx"))
    assert "host=db" in masked and "user=u" in masked and "127.0.0.1:9/v2" in masked


def test_remembered_secrets_are_masked_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact, "_known", set())
    redact.remember_environment({"SUPERSET_PASSWORD": "canary-one", "MY_API_KEY": "canary-two", "HOME": "/root", "DSN": "pg://u:canary-three@h/x"})
    redact.remember(["abc"])  # too short to replace in a text: it would hit ordinary words
    masked = mask_text("login canary-one failed; key canary-two; canary-three; /root stays; abc stays")
    assert "canary" not in masked and "/root stays" in masked and "abc stays" in masked


def test_log_lines_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact, "_known", {"canary-log"})
    logger = logging.getLogger("test_redact")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    try:
        redact.mask_logging(logger)
        try:
            raise RuntimeError("cannot connect to http://u:canary-url@h")
        except RuntimeError:
            logger.error("failed with canary-log", exc_info=True)
    finally:
        logger.removeHandler(handler)
    assert records and records[0].startswith("ERROR failed with") and "canary" not in records[0] and "Traceback" in records[0]
