"""Request size limits: bodies (413 above the limit, uploads with their own larger one), and the
request line and headers the server must accept."""

from __future__ import annotations

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

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
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
