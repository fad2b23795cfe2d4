"""The one error hierarchy of Kakehashi. `service/http/problems.py` maps it to HTTP and
`service/cli.py` to exit codes, each in one place."""

from __future__ import annotations


class KakehashiError(Exception):
    """Base of every error that Kakehashi raises on purpose. `title` is a short, stable summary."""

    title = "Kakehashi error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(KakehashiError):
    """The caller sent something that cannot be used (HTTP 422, CLI exit 2)."""

    title = "Invalid input"


class NotFound(KakehashiError):
    """An id that names nothing known (HTTP 404)."""

    title = "Not found"


class PayloadTooLarge(KakehashiError):
    """A request body above the configured limit (HTTP 413)."""

    title = "Payload too large"


class NotReady(KakehashiError):
    """No usable index version yet (HTTP 503)."""

    title = "Service not ready"


class ReferenceDataError(KakehashiError):
    """A file in data/ is malformed; the message names the file and the entry."""

    title = "Invalid reference data"


class StoreUnusable(KakehashiError):
    """The store cannot be used as it is (written by a newer Kakehashi)."""

    title = "Store unusable"


class IndexUnusable(KakehashiError):
    """An index version is missing, incomplete, corrupt or built with another model."""

    title = "Index unusable"


class Conflict(KakehashiError):
    """The request does not fit the current state of the thing it names (HTTP 409)."""

    title = "Conflict"


class Forbidden(KakehashiError):
    """The caller may not do this (HTTP 403)."""

    title = "Forbidden"


class Unauthorized(KakehashiError):
    """No API key, or one that is not valid, where one is needed (HTTP 401)."""

    title = "API key needed"


class SourceUnavailable(KakehashiError):
    """An outside source (the OpenAlex API) refused or kept failing; what was fetched is kept (CLI exit 1)."""

    title = "Source unavailable"


class RateLimited(KakehashiError):
    """The caller sent more requests than the rate limit allows (HTTP 429)."""

    title = "Too many requests"

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class QuotaExceeded(KakehashiError):
    """The caller has as much work waiting as its quota allows (HTTP 429, no Retry-After: it depends on that work)."""

    title = "Quota exceeded"
