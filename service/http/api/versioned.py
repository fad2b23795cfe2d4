"""The routers of the versioned API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from service.http.problems import RESPONSES

PREFIX = "/v1"


def v1_router(prefix: str = "", **options: Any) -> APIRouter:
    """A router under /v1 whose operations document the problem responses. The prefix is the
    router's own (not an including router's), so each route knows its whole path template: the
    metrics label requests by it."""
    return APIRouter(prefix=PREFIX + prefix, responses=RESPONSES, **options)
