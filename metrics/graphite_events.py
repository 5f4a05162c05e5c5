"""Graphite events: a run of a query folder posted to graphite-web, which Grafana shows as an annotation.

graphite-web keeps events (what, tags, data, when) in its own database: `POST <url>/events/`
stores one, `GET <url>/events/get_data?tags=a b` returns those carrying every tag (Grafana's
"Graphite events tags" annotation query). Carbon stores numbers only, so events go to graphite-web,
not to carbon. https://graphite.readthedocs.io/en/latest/events.html
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from metrics.errors import Location, MetricsError

TIMEOUT_SECONDS = 10.0


class EventError(MetricsError):
    """graphite-web did not store the event (unreachable, or an answer other than 200)."""


def post_event(url: str, what: str, tags: Sequence[str], data: str = "", when: dt.datetime | None = None, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Store one event in graphite-web at `url` (its base URL); `when` defaults to now. Raises `EventError`."""
    import httpx  # only for runs that post events

    body: dict[str, object] = {"what": what, "tags": list(tags), "data": data}
    if when is not None:
        body["when"] = int((when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)).timestamp())
    target = url.rstrip("/") + "/events/"
    try:
        answer = httpx.post(target, json=body, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise EventError(f"cannot post the run event to graphite-web: {exc}", "check --graphite-web (the graphite-web base URL)", Location(target)) from None
    if answer.status_code != 200:
        raise EventError(
            f"graphite-web answered HTTP {answer.status_code} to the run event: {answer.text[:200]}",
            "check --graphite-web (the graphite-web base URL, not carbon's port)",
            Location(target),
        )
