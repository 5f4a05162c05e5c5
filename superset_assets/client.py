"""A minimal client of the Superset REST API: JWT login, CSRF token with the session cookie, bundle import.

    with SupersetClient(url, user, password) as client:
        client.import_bundle(zip_bytes)

It logs in with a JWT (`/api/v1/security/login`, provider `db`), takes a CSRF token
(`/api/v1/security/csrf_token/`) keeping the session cookie, never follows redirects (a redirect
means "not logged in": Superset sends POSTs without a valid session to /login/), sends
`Accept: application/json` (else command errors come back as an HTML page), and raises
`SupersetError` on anything but success. Only httpx and the standard library are used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from metrics.errors import MetricsError


class SupersetError(MetricsError, RuntimeError):
    """Superset answered something other than the expected success."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        if response is not None:
            body = response.text
            if len(body) > 2000:
                body = body[:2000] + "..."
            message = f"{message}: HTTP {response.status_code} from {response.request.method} {response.request.url}: {body}"
        super().__init__(message)
        self.response = response


class SupersetClient:
    """A logged-in session against the Superset REST API (JWT + session cookie + CSRF)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        provider: str = "db",
        timeout: float = 120.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._provider = provider
        # follow_redirects=False: a 302 to /login/ must be an error, not a 200 HTML page.
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            follow_redirects=False,
            # Without it Superset answers command errors with its HTML 500 page.
            headers={"Accept": "application/json"},
        )
        self._csrf_token: str | None = None

    def __enter__(self) -> SupersetClient:
        if self._csrf_token is None:
            self.login()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- session -------------------------------------------------------------------------

    def login(self) -> None:
        """Get a JWT access token, then a CSRF token bound to the session cookie."""
        answer = self._http.post(
            "/api/v1/security/login",
            json={
                "username": self._username,
                "password": self._password,
                "provider": self._provider,
                "refresh": True,
            },
        )
        token = self._json(answer, "login failed").get("access_token")
        if not token:
            raise SupersetError("login answered without access_token", answer)
        self._http.headers["Authorization"] = f"Bearer {token}"
        # The answer sets the `session` cookie the CSRF token belongs to; httpx keeps it.
        answer = self._http.get("/api/v1/security/csrf_token/")
        csrf = self._json(answer, "could not get a CSRF token").get("result")
        if not csrf:
            raise SupersetError("csrf_token answered without result", answer)
        self._csrf_token = csrf
        self._http.headers["X-CSRFToken"] = csrf
        self._http.headers["Referer"] = self.base_url + "/"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An authenticated request; raises on redirects (= not logged in) and errors >= 400."""
        if self._csrf_token is None:
            self.login()
        answer = self._http.request(method, path, **kwargs)
        if answer.status_code == 401:  # JWT expired (15 min by default): log in again once
            self.login()
            answer = self._http.request(method, path, **kwargs)
        if answer.is_redirect:
            raise SupersetError(
                f"redirected to {answer.headers.get('location')!r} (session cookie or CSRF token missing or expired?)",
                answer,
            )
        if answer.status_code >= 400:
            raise SupersetError(f"{method} {path} failed", answer)
        return answer

    def get_json(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._json(self.request("GET", path, **kwargs), f"GET {path}")

    # -- assets ----------------------------------------------------------------------------

    def import_bundle(
        self,
        zip_bytes: bytes,
        passwords: Mapping[str, str] | None = None,
        overwrite: bool = True,
        *,
        sparse: bool = False,
    ) -> None:
        """POST a v1 export/import ZIP to /api/v1/assets/import/.

        passwords: database passwords by bundle path, e.g. {"databases/x.yaml": "secret"}.
        overwrite: sent as form field `overwrite`; note that /api/v1/assets/import/ of
            Superset 4.1-6.1 ignores it and always overwrites databases, datasets, charts
            and dashboards that have the same UUIDs.
        sparse: (Superset >= 6) allow references to objects that exist on the server but
            are not in the bundle.
        Raises SupersetError unless Superset answers 200 {"message": "OK"}.
        """
        data: dict[str, str] = {"overwrite": "true" if overwrite else "false"}
        if passwords:
            data["passwords"] = json.dumps(dict(passwords))
        if sparse:
            data["sparse"] = "true"
        answer = self._http.post(
            "/api/v1/assets/import/",
            files={"bundle": ("bundle.zip", zip_bytes, "application/zip")},
            data=data,
        )
        if answer.is_redirect:
            raise SupersetError(
                f"bundle import redirected to {answer.headers.get('location')!r} (session cookie or CSRF token missing or expired?)",
                answer,
            )
        if answer.status_code != 200:
            # Superset 6.1's /api/v1/assets/import/ turns every problem (unknown or missing
            # keys, bad metadata.yaml, a chart whose dataset is not in the bundle) into
            # HTTP 500 "Import failed for an unknown reason"; the cause is only in the
            # server log (marshmallow ValidationError / KeyError traceback).
            raise SupersetError("bundle import failed (for a 500 'unknown reason' see the Superset log)", answer)
        try:
            body = answer.json()
        except ValueError:
            body = None
        if body != {"message": "OK"}:
            raise SupersetError("bundle import did not answer {'message': 'OK'}", answer)

    def chart_id(self, uuid: str) -> int:
        """The numeric id of the chart with this UUID (GET /api/v1/chart/<uuid>: Superset 6.x;
        4.1 has no lookup of charts by UUID)."""
        return int(self.get_json(f"/api/v1/chart/{uuid}")["result"]["id"])

    def chart_data(self, chart_id: int, *, force: bool = True) -> dict[str, Any]:
        """Run the chart's saved query_context: GET /api/v1/chart/<id>/data/."""
        params = {"force": "true"} if force else {}
        return self.get_json(f"/api/v1/chart/{chart_id}/data/", params=params)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _json(answer: httpx.Response, what: str) -> dict[str, Any]:
        if answer.is_redirect or answer.status_code != 200:
            raise SupersetError(what, answer)
        try:
            body = answer.json()
        except ValueError as error:
            raise SupersetError(f"{what}: answer is not JSON", answer) from error
        if not isinstance(body, dict):
            raise SupersetError(f"{what}: answer is not a JSON object", answer)
        return body
