"""Request size limits: bodies (413 above the limit, uploads with their own larger one), and the
request line and headers the server must accept; and the headers every answer carries."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.settings import HttpSettings, MatchingSettings
from service.http import problems

UPLOAD_PATHS = ("/v1/batch-jobs", "/batch")  # the API's and the page's batch job submissions


class BodySizeLimit:
    """Refuses bodies above the limit with 413, by Content-Length or while streaming. Batch job
    submissions (uploads) have their own, larger limit."""

    def __init__(self, app: ASGIApp, settings: HttpSettings) -> None:
        self.app, self.max_bytes, self.max_upload_bytes = app, settings.max_body_bytes, settings.max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload_bytes if scope.get("path", "").rstrip("/") in UPLOAD_PATHS else self.max_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0
        too_large = started = False

        async def counting_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                too_large = True
                raise _TooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:  # the app's own answer to a body it could not read whole (a 400) gives way to the 413
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            pass
        if too_large and not started:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problems.problem(413, "Payload too large", f"request body is larger than the limit of {limit} bytes")
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def request_line_limit(settings: MatchingSettings) -> int:
    """Bytes of request line and headers the server must accept: a search page's URL carries the
    whole project description (up to max_query_chars; percent-encoded, 9 bytes per Japanese character)."""
    return settings.max_query_chars * 9 + 64 * 1024


PAGE_POLICY = {  # the page's answers: its own scripts, styles and forms only, never inside another site's frame
    b"content-security-policy": b"default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
                                b"img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    b"x-frame-options": b"DENY",
}
EVERY_ANSWER = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",  # a search page's URL holds the project's description: never sent to another site
}


class SecurityHeaders:
    """Adds the headers above: to every answer, and the page's policy to the page's answers (not to
    the API, whose /docs runs the inline scripts of its viewer)."""

    def __init__(self, app: ASGIApp, is_api_path: Callable[[str], bool]) -> None:
        self.app, self.is_api_path = app, is_api_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = EVERY_ANSWER if self.is_api_path(scope.get("path", "")) else {**EVERY_ANSWER, **PAGE_POLICY}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []), *((k, v) for k, v in extra.items() if k not in present)]}
            await send(message)

        await self.app(scope, receive, with_headers)
