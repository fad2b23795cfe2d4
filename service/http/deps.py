"""What the API routes and the pages take from the app: the runtime, the served snapshot, the jobs,
the background index updater, and the caller's API key checked against the scope a route needs."""

from __future__ import annotations

import hashlib
import secrets
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
from service.saved import SavedStore

KEY_COOKIE = "kakehashi_key"  # set by the batch page once a key has been given there
BROWSER_COOKIE = "kakehashi_browser"  # in open local mode, which browser owns its saved searches and shortlists
bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer kk_...`")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_snapshot(request: Request) -> Snapshot:
    return request.app.state.runtime.snapshot()


def get_jobs(request: Request) -> JobStore:
    return request.app.state.jobs


def get_saved(request: Request) -> SavedStore:
    return request.app.state.saved


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


def owner_of(request: Request, credentials: HTTPAuthorizationCredentials | None, new_browser: str | None = None) -> str:
    """Who owns the caller's saved searches and shortlists: their API key ("key:ID"); in open local
    mode without a key, their browser ("browser:" and the hash of its cookie, or of `new_browser`,
    the cookie the page is about to set). A browser's change must come from this site."""
    key_text = presented_key(request, credentials)
    if key_text is not None:
        key = authorize(request, key_text, "read")
        assert key is not None
        return f"key:{key.id}"
    token = request.cookies.get(BROWSER_COOKIE) or new_browser
    if not request.app.state.runtime.settings.open_read or not token:
        raise Unauthorized("saved searches and shortlists belong to an API key (send it as 'Authorization: Bearer <key>'), "
                           "or in open local mode to the browser that made them on the page")
    if request.method not in SAFE_METHODS:
        same_origin(request)
    authorize(request, None, "read")  # the open caller's rate limit
    return "browser:" + hashlib.sha256(token.encode()).hexdigest()


def new_browser_token() -> str:
    return secrets.token_urlsafe(24)


def require(scope: Scope) -> Callable[..., Any]:
    """A route dependency: the key presented (bearer, X-API-Key or the page's cookie) must allow `scope`."""

    def check(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ApiKey | None:
        return authorize(request, presented_key(request, credentials), scope)

    return check


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
SavedDep = Annotated[SavedStore, Depends(get_saved)]
UpdaterDep = Annotated[IndexUpdater, Depends(get_updater)]
READ = Depends(require("read"))  # for routes that need the scope but not the key itself
ADMIN = Depends(require("admin"))
ReadKey = Annotated[ApiKey | None, Depends(require("read"))]
BatchKey = Annotated[ApiKey | None, Depends(require("batch"))]
AdminKey = Annotated[ApiKey | None, Depends(require("admin"))]
