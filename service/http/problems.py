"""The one place where errors become HTTP: RFC 9457 problem+json bodies for the API; the page's
own error pages (HTML) for what a browser asks of the page's paths."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from kernel.errors import (
    Conflict,
    Forbidden,
    IndexUnusable,
    InvalidInput,
    KakehashiError,
    NotFound,
    NotReady,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    ReferenceDataError,
    SourceUnavailable,
    StoreUnusable,
    Unauthorized,
)

log = logging.getLogger("kakehashi.api")
PROBLEM = "application/problem+json"
API_PATHS = ("/v1/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc")  # the rest is the page's
RESPONSES: dict[int | str, dict[str, Any]] = {  # documented on every /v1 operation
    400: {"description": "A body that cannot be parsed (not JSON, a broken form)"},
    401: {"description": "No valid API key where one is needed"},
    403: {"description": "The API key lacks the scope needed"},
    404: {"description": "Unknown id"},
    413: {"description": "Request body over the limit"},
    422: {"description": "Invalid input"},
    429: {"description": "Rate limit reached (see Retry-After), or a key's quota of waiting batch queries"},
    503: {"description": "No index loaded yet"},
}
HtmlErrorPage = Callable[[Request, int, str, str], Response]  # (request, status, title, detail) -> an HTML page
STATUS: dict[type[KakehashiError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthorized: 401,
    RateLimited: 429,
    QuotaExceeded: 429,
    PayloadTooLarge: 413,
    NotReady: 503,
    IndexUnusable: 503,
    StoreUnusable: 503,
    ReferenceDataError: 500,
    SourceUnavailable: 502,
}


def problem(status: int, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def problem_headers(exc: KakehashiError) -> dict[str, str]:
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": 'Bearer realm="kakehashi"'}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(max(1, round(exc.retry_after + 0.5)))}
    if isinstance(exc, NotReady):  # an index is being prepared, or will be once data is ingested
        return {"Retry-After": "5"}
    return {}


def status_of(exc: KakehashiError) -> int:
    return next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 500)


def _location(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "(body)"


def allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= route.methods
    return sorted(methods)


def is_api_path(path: str) -> bool:
    return path == "/v1" or path.startswith(API_PATHS)


def install(app: FastAPI, html_page: HtmlErrorPage) -> None:
    """`html_page` renders the errors of the page's own paths (an unknown page: 404 as a page)."""

    @app.exception_handler(KakehashiError)
    async def _known(request: Request, exc: KakehashiError) -> JSONResponse:
        response = problem(status_of(exc), exc.title, exc.detail)
        response.headers.update(problem_headers(exc))
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _location(tuple(e.get("loc", ()))), "message": str(e.get("msg", "")).removeprefix("Value error, ")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, "Invalid input", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 409: "Conflict"}
        title = titles.get(exc.status_code, "HTTP error")
        if is_api_path(request.url.path):
            response: Response = problem(exc.status_code, title, str(exc.detail))
        else:
            detail = f"There is no page at {request.url.path}." if exc.status_code == 404 else str(exc.detail)
            response = html_page(request, exc.status_code, title, detail)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:  # every method the path has, not only those of the first route found
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "An unexpected error occurred; it has been logged.")


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """Every error response in the OpenAPI document is problem+json (FastAPI would describe 422 as
    its own validation body, which this service never sends)."""
    spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    spec["components"]["schemas"].pop("HTTPValidationError", None)
    spec["components"]["schemas"].pop("ValidationError", None)
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status[:1] in ("4", "5"):
                    response["content"] = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return spec
