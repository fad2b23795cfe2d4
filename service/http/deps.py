"""What the API routes and the pages take from the app: the runtime, the served snapshot, the jobs,
the background index updater, and the caller's API key checked against the scope a route needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kernel.errors import Forbidden, Unauthorized
from service.auth import ApiKey, Scope
from service.batch.jobs import JobStore
from service.index_updates import IndexUpdater
from service.matching.snapshot import Snapshot
from service.runtime import Runtime

KEY_COOKIE = "kakehashi_key"  # set by the batch page once a key has been given there
bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer kk_...`")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_snapshot(request: Request) -> Snapshot:
    return request.app.state.runtime.snapshot()


def get_jobs(request: Request) -> JobStore:
    return request.app.state.jobs


def get_updater(request: Request) -> IndexUpdater:
    return request.app.state.updater


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def same_origin(request: Request) -> None:
    """Refuses (403) a request that a browser sent from another site: its Origin (or, without one,
    its Referer) names another host, or is `null` (a sandboxed frame, a privacy-stripped origin),
    or Sec-Fetch-Site says cross-site. A request with neither header is not a browser's cross-site
    request (browsers send Origin with every POST) and passes."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site in ("cross-site", "same-site"):
        raise Forbidden(f"a {fetch_site} request cannot change anything here")
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if referer is None:
            return
        origin = referer
    host = urlparse(origin).netloc.lower() if origin != "null" else ""
    if not host or host != request.headers.get("host", "").lower():
        raise Forbidden(f"a request from {origin!r} cannot change anything here: it is not this site")


def client_address(request: Request) -> str:
    """The caller's address: the connection's peer, or what a trusted proxy said it was
    (KAKEHASHI_TRUSTED_PROXIES; uvicorn applies it before the app sees the request)."""
    return request.client.host if request.client else "?"


def presented_key(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The key in `Authorization` or `X-API-Key`, else the page's cookie. The cookie travels by
    itself with a browser's requests, so where it alone authorises a change (any method but GET,
    HEAD and OPTIONS, on the API as on the page's forms) the request must come from this site."""
    if credentials is not None:
        return credentials.credentials
    header = request.headers.get("x-api-key")
    if header:
        return header
    cookie = request.cookies.get(KEY_COOKIE)
    if cookie and request.method not in SAFE_METHODS:
        same_origin(request)
    return cookie


def verified_key(request: Request, key_text: str) -> ApiKey:
    """The key's record, or Unauthorized. An address that keeps presenting keys that are not valid
    gets 429 for a while, whatever key it sends next; the same bad key again is not counted twice."""
    state = request.app.state
    caller = f"address:{client_address(request)}"
    state.auth_failures.check(caller)
    try:
        return state.keys.verify(key_text)  # type: ignore[no-any-return]
    except Unauthorized:
        if state.repeated_failures.first(caller, key_text):
            state.auth_failures.take(caller)
        raise


def authorize(request: Request, key_text: str | None, scope: Scope) -> ApiKey | None:
    """The caller's key if it allows `scope` (None for an open read without a key), else
    Unauthorized or Forbidden. Every caller, with a key or not, is rate limited; an address that
    keeps presenting keys that are not valid gets 429 for a while, whatever key it sends next."""
    state = request.app.state
    address = client_address(request)
    if key_text is None:
        if scope == "read" and state.runtime.settings.open_read:
            state.limiter.take(f"address:{address}")
            return None
        raise Unauthorized(f"this needs an API key with the {scope!r} scope, sent as 'Authorization: Bearer <key>'")
    key = verified_key(request, key_text)
    if not key.allows(scope):
        raise Forbidden(f"API key {key.id} ({key.name}) has the scopes {', '.join(key.scopes)}; this needs {scope!r}")
    state.limiter.take(f"key:{key.id}")
    return key


def require(scope: Scope) -> Callable[..., Any]:
    """A route dependency: the key presented (bearer, X-API-Key or the page's cookie) must allow `scope`."""

    def check(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ApiKey | None:
        return authorize(request, presented_key(request, credentials), scope)

    return check


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
UpdaterDep = Annotated[IndexUpdater, Depends(get_updater)]
READ = Depends(require("read"))  # for routes that need the scope but not the key itself
ADMIN = Depends(require("admin"))
ReadKey = Annotated[ApiKey | None, Depends(require("read"))]
BatchKey = Annotated[ApiKey | None, Depends(require("batch"))]
AdminKey = Annotated[ApiKey | None, Depends(require("admin"))]
