"""Who the page's saved searches and shortlists belong to: the API key in its cookie, or in open
local mode this browser, by a random cookie set at its first save (HttpOnly, same-site)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from kernel.errors import KakehashiError
from service.http.deps import BROWSER_COOKIE, KEY_COOKIE, new_browser_token, owner_of

YEAR = 365 * 24 * 3600


def page_owner(request: Request, create: bool = False) -> tuple[str, str | None]:
    """The owner, and the browser cookie to set where `create` makes this browser one."""
    token = None
    if create and not request.cookies.get(KEY_COOKIE) and not request.cookies.get(BROWSER_COOKIE):
        token = new_browser_token()
    return owner_of(request, None, token), token


def redirect_as_owner(request: Request, to: str, token: str | None) -> Response:
    """A redirect after a change, setting the browser's cookie where the change made it an owner."""
    response = RedirectResponse(to, status_code=303)
    if token:
        response.set_cookie(BROWSER_COOKIE, token, max_age=YEAR, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def owned_shortlists(request: Request) -> list[str]:
    """The names of the caller's shortlists, for the search page's forms; none for a caller the page
    cannot tell yet (no key, no browser cookie)."""
    try:
        owner, _ = page_owner(request)
    except KakehashiError:
        return []
    return [s.name for s, _ in request.app.state.saved.shortlists(owner)]
