"""The app factory: the JSON API (service/http/api/) and the web page (service/http/web/) on one
FastAPI app, with what both share: the state they read (runtime, jobs, keys, limiter, updater),
errors as problem+json (or as a page), the body limit, metrics, and the background workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from service.auth import KeyStore, RateLimiter, RepeatedFailures
from service.batch.jobs import JobStore, JobWorker
from service.http import access_log, api, problems
from service.http.api import batch_jobs
from service.http.limits import BodySizeLimit, SecurityHeaders
from service.http.metrics import Metrics, MetricsMiddleware
from service.http.web import site as web
from service.index_updates import IndexUpdater
from service.runtime import Runtime
from service.saved import SavedStore


def create_app(runtime: Runtime) -> FastAPI:
    settings = runtime.settings
    jobs = JobStore(settings.store_path)
    updater = IndexUpdater(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        access_log.install()
        worker = JobWorker(runtime, jobs, turn_seconds=settings.job_turn_seconds,
                           retention_seconds=settings.job_retention_days * 86400) if settings.batch_worker else None
        if worker:
            worker.start()
        yield
        if worker:
            worker.stop()
        updater.stop()

    app = FastAPIOffline(  # /docs and /redoc with their scripts served here, not from a CDN
        lifespan=lifespan,
        title="Kakehashi",
        version="1.0",
        description="Partner matching for Japanese government-funded international R&D: ranked foreign researchers "
        "for a Moonshot goal or project, with the evidence and the funding route (joint or direct).",
    )
    app.state.runtime = runtime
    app.state.jobs = jobs
    app.state.keys = KeyStore(settings.store_path)
    app.state.saved = SavedStore(settings.store_path)
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.auth_failures = RateLimiter(settings.auth_failures_per_minute, settings.auth_failures_burst, "API keys that are not valid")
    app.state.repeated_failures = RepeatedFailures()
    app.state.updater = updater
    app.state.metrics = Metrics(runtime, jobs)
    problems.install(app, web.http_error_page)
    app.add_middleware(BodySizeLimit, settings=settings)
    app.add_middleware(SecurityHeaders, is_api_path=problems.is_api_path)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # outermost: it also counts what the limits refuse

    for router in api.ROUTERS:
        app.include_router(router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = problems.document(batch_jobs.add_request_schemas(spec))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
