"""A tiny World Bank style API on 127.0.0.1, for the tests and the demo (no network needed)."""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, Mapping, Sequence
from urllib.parse import parse_qs, urlparse

from ingestion.generate import world_bank_page


@contextlib.contextmanager
def serve_world_bank(payload: Mapping[str, Sequence[dict]], faults: Mapping[str, tuple[int, bytes]] | None = None) -> Iterator[str]:
    """Serve `payload` (indicator id -> records) as `<url>/country/all/indicator/<id>?format=json&page=N&per_page=M`.

    Yields the base URL (`http://127.0.0.1:<port>/v2`). `faults` maps an indicator id to a fixed
    (status, body) answer, to test how a loader takes errors. An unknown indicator is answered as the
    real API does: status 200 and a `message` list.
    """
    fixed = dict(faults or {})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            url = urlparse(self.path)
            indicator = url.path.rstrip("/").rsplit("/", 1)[-1]
            query = parse_qs(url.query)
            if indicator in fixed:
                status, body = fixed[indicator]
            elif indicator in payload:
                page = int(query.get("page", ["1"])[0])
                per_page = int(query.get("per_page", ["50"])[0])
                status, body = 200, json.dumps(world_bank_page(payload[indicator], page, per_page)).encode()
            else:
                status, body = (
                    200,
                    json.dumps([{"message": [{"id": "120", "key": "Invalid value", "value": "The provided parameter value is not valid"}]}]).encode(),
                )
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v2"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
