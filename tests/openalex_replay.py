"""A local stand-in for the OpenAlex API, replaying the sample works as its documented contract
gives them (developers.openalex.org): `GET /works?filter=&per_page=&cursor=&api_key=`, cursor paging
with `meta.next_cursor` until an empty page, `meta.count`, `per_page` at most 100, an API key
required. Faults are injected by request number: a 429 with Retry-After, a 500, a connection
dropped in the middle of the body, or a request held until the test lets it go."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

API_KEY = "test-key-0123456789"


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int | None:
    if cursor == "*":
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("offset:"))
    except ValueError:
        return None


class ReplayServer:
    def __init__(self, works: list[dict[str, Any]], faults: dict[int, str] | None = None, retry_after: str = "2") -> None:
        self.works, self.faults, self.retry_after = works, dict(faults or {}), retry_after
        self.requests: list[dict[str, str]] = []  # the query of every request, in order
        self.released = threading.Event()
        self.held = threading.Event()  # set while a "hold" request waits
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                server._answer(self)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self._http.shutdown()
        self._http.server_close()

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlparse(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self._lock:
            self.requests.append(query)
            number = len(self.requests)
        fault = self.faults.get(number)
        if fault == "hold":
            self.held.set()
            self.released.wait(60)
        if url.path != "/works":
            return self._send(handler, 404, {"error": "Not found", "message": f"no such entity {url.path}"})
        if query.get("api_key") != API_KEY:
            return self._send(handler, 403, {"error": "Forbidden", "message": "Invalid or missing API key"})
        if fault == "429":
            return self._send(handler, 429, {"error": "Too Many Requests", "message": "Rate limit exceeded"},
                              {"Retry-After": self.retry_after, "X-RateLimit-Remaining": "0"})
        if fault == "500":
            return self._send(handler, 500, {"error": "Internal Server Error", "message": "upstream timeout"})
        per_page = int(query.get("per_page", "25"))
        if not 1 <= per_page <= 100:
            return self._send(handler, 400, {"error": "Invalid query parameters error.", "message": "per_page must be between 1 and 100"})
        if query.get("filter", "").startswith("bogus"):
            return self._send(handler, 400, {"error": "Invalid query parameters error.", "message": "bogus is not a valid field"})
        offset = _offset(query.get("cursor", ""))
        if offset is None:
            return self._send(handler, 400, {"error": "Invalid query parameters error.", "message": "invalid cursor"})
        results = self.works[offset:offset + per_page]
        body = {"meta": {"count": len(self.works), "db_response_time_ms": 12, "page": None, "per_page": per_page,
                         "next_cursor": _cursor(offset + per_page) if results else None, "groups_count": None},
                "results": results, "group_by": []}
        if fault == "drop":  # the headers promise the whole page, half of it comes, then the connection closes
            data = json.dumps(body).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data[: len(data) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            return None
        return self._send(handler, 200, body)
