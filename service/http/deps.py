"""What the API routes and the pages take from the app: the runtime, the served snapshot, the jobs,
the background index updater, and the caller's API key checked against the scope a route needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

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


def presented_key(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None:
        return credentials.credentials
    return request.headers.get("x-api-key") or request.cookies.get(KEY_COOKIE)


def authorize(request: Request, key_text: str | None, scope: Scope) -> ApiKey | None:
    """The caller's key if it allows `scope` (None for an open read without a key), else
    Unauthorized or Forbidden. Every caller, with a key or not, is rate limited."""
    if key_text is None:
        if scope == "read" and request.app.state.runtime.settings.open_read:
            request.app.state.limiter.take(f"address:{request.client.host if request.client else '?'}")
            return None
        raise Unauthorized(f"this needs an API key with the {scope!r} scope, sent as 'Authorization: Bearer <key>'")
    key: ApiKey = request.app.state.keys.verify(key_text)
    if not key.allows(scope):
        raise Forbidden(f"API key {key.id} ({key.name}) has the scopes {', '.join(key.scopes)}; this needs {scope!r}")
    request.app.state.limiter.take(f"key:{key.id}")
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
