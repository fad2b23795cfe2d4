"""The JSON API: one router module per resource under /v1, and the operations endpoints (health,
readiness, metrics) at the root. Every operation has a short, stable `operation_id`
(`resource.verb`), which clients generated from /openapi.json name their functions after."""

from __future__ import annotations

from fastapi import APIRouter

from service.http.api import batch_jobs, countries, goals, index, matches, operations, researchers, saved

ROUTERS: tuple[APIRouter, ...] = tuple(m.router for m in (operations, matches, goals, researchers, countries, batch_jobs, index, saved))
