"""The HTTP API under /v1 (OpenAPI at /docs), /healthz and /readyz, and the web page at /."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from indexer.errors import InvalidInput, NotFound
from indexer.settings import Settings
from service.api import access_log, batch, problems, researcher_writes
from service.api.deps import RuntimeDep, SnapshotDep, require
from service.api.metrics import CONTENT_TYPE, Metrics, MetricsMiddleware
from service.api.schemas import (
    CountryOut,
    GoalFitsOut,
    GoalOut,
    GoalsOut,
    IndexStatusOut,
    MatchPageOut,
    MatchRequest,
    ResearcherOut,
    ScoreOut,
    ScoreRequest,
    ScoresOut,
    country_out,
    goal_fits_out,
    goal_out,
    match_out,
    researcher_out,
)
from service.auth import KeyStore, RateLimiter
from service.batch.jobs import JobStore, JobWorker
from service.index_updates import IndexUpdater
from service.runtime import Runtime
from service.web import pages

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "A body that cannot be parsed (not JSON, a broken form)"},
    401: {"description": "No valid API key where one is needed"},
    403: {"description": "The API key lacks the scope needed"},
    404: {"description": "Unknown id"},
    413: {"description": "Request body over the limit"},
    422: {"description": "Invalid input"},
    429: {"description": "Rate limit reached (see Retry-After)"},
    503: {"description": "No index loaded yet"},
}


UPLOAD_PATHS = ("/v1/batch-jobs", "/batch")  # the API's and the page's batch job submissions


class BodySizeLimit:
    """Refuses bodies above the limit with 413, by Content-Length or while streaming. Batch job
    submissions (uploads) have their own, larger limit."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int) -> None:
        self.app, self.max_bytes, self.max_upload_bytes = app, max_bytes, max_upload_bytes

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


ResearcherId = Annotated[str, Path(max_length=200)]
READ = Depends(require("read"))
CountryCode = Annotated[str, Path(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")]


def request_line_limit(settings: Settings) -> int:
    """Bytes of request line and headers the server must accept: a search page's URL carries the
    whole project description (up to max_query_chars; percent-encoded, 9 bytes per Japanese character)."""
    return settings.max_query_chars * 9 + 64 * 1024


def create_app(runtime: Runtime) -> FastAPI:
    settings = runtime.settings
    jobs = JobStore(settings.store_path)
    updater = IndexUpdater(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        access_log.install()
        worker = JobWorker(runtime, jobs) if runtime.settings.batch_worker else None
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
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.updater = updater
    metrics = Metrics(runtime, jobs)
    problems.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: it also counts what the limits refuse

    v1 = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses={503: {"description": "Not ready"}})
    def readyz(rt: RuntimeDep) -> JSONResponse:
        """Readiness: an index version is loaded and can answer queries."""
        snap = rt.snapshot()  # raises NotReady -> 503 problem
        return JSONResponse({"status": "ready", "index_version": snap.version, "model": snap.model,
                             "publications": snap.index.ntotal, "researchers": len(snap.researchers)})

    @app.get("/metrics", tags=["operations"], dependencies=[READ], response_class=PlainTextResponse,
             responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}, **{k: PROBLEM_RESPONSES[k] for k in (401, 403, 429)}})
    def prometheus_metrics() -> Response:
        """Prometheus metrics: requests and latencies by route, the served index, the batch queue."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    @v1.get("/goals", tags=["goals"], dependencies=[READ])
    def list_goals(rt: RuntimeDep) -> GoalsOut:
        goals = [goal_out(g) for g in rt.reference.goals]
        return GoalsOut(data=goals, count=len(goals))

    @v1.get("/goals/{goal_id}", tags=["goals"], dependencies=[READ])
    def get_goal(goal_id: int, rt: RuntimeDep) -> GoalOut:
        goal = rt.reference.goal(goal_id)
        if goal is None:
            raise NotFound(f"no Moonshot goal {goal_id}; goals are 1-{len(rt.reference.goals)}")
        return goal_out(goal)

    @v1.post("/matches", tags=["matching"], dependencies=[READ], response_model=MatchPageOut)
    def matches(body: MatchRequest, rt: RuntimeDep, snap: SnapshotDep) -> Response:
        """Ranked foreign partners for free text, a goal or a researcher, with evidence and funding route.
        The `Server-Timing` header says where the time went (embed, lexical, filter, search, rank,
        explain, serialise)."""
        limit = body.limit if "limit" in body.model_fields_set else min(body.limit, settings.max_page_size)
        if limit > settings.max_page_size:
            raise InvalidInput(f"limit {limit} is above the page size limit of {settings.max_page_size}; page with offset")
        page = rt.matcher.match(snap, body.query, body.filters, body.weights, limit, body.offset)
        started = time.perf_counter()
        weights = page.weights.model_dump()
        out = MatchPageOut(
            data=[match_out(body.offset + i + 1, m, weights) for i, m in enumerate(page.matches)],
            count=page.count, limit=limit, offset=body.offset, query_fields=page.query.fields,
            index_version=snap.version, model=snap.model,
        ).model_dump_json()
        stages = {**page.stages_ms, "serialise": 1000 * (time.perf_counter() - started)}
        timing = ", ".join(f"{name};dur={ms:.2f}" for name, ms in stages.items())
        return Response(out, media_type="application/json", headers={"Server-Timing": timing})

    @v1.post("/scores", tags=["matching"], dependencies=[READ])
    def scores(body: ScoreRequest, rt: RuntimeDep, snap: SnapshotDep) -> ScoresOut:
        """Absolute match scores of the given researchers for one query (comparable across queries)."""
        page = rt.matcher.score(snap, body.query, body.researcher_ids, body.weights)
        data = [ScoreOut(researcher_id=m.researcher.id, score=m.score, components=m.components.as_dict(), funding_route=m.route.route) for m in page.matches]
        return ScoresOut(data=data, count=page.count, query_fields=page.query.fields, index_version=snap.version, model=snap.model)

    @v1.get("/researchers/{researcher_id}", tags=["researchers"], dependencies=[READ])
    def get_researcher(researcher_id: ResearcherId, rt: RuntimeDep, snap: SnapshotDep) -> ResearcherOut:
        return researcher_out(snap, rt.matcher.researcher_row(snap, researcher_id), rt.reference)

    @v1.get("/researchers/{researcher_id}/goals", tags=["researchers"], dependencies=[READ])
    def researcher_goals(researcher_id: ResearcherId, rt: RuntimeDep, snap: SnapshotDep) -> GoalFitsOut:
        """Which Moonshot goals this researcher's publications fit best."""
        return goal_fits_out(rt.matcher.goals_for_researcher(snap, researcher_id), snap)

    @v1.get("/countries/{code}", tags=["countries"], dependencies=[READ])
    def get_country(code: CountryCode, rt: RuntimeDep, snap: SnapshotDep) -> CountryOut:
        """Agencies, joint-funding arrangements, funding route and measured strength per field."""
        return country_out(code.upper(), snap, rt.reference)

    @v1.get("/index", tags=["operations"], dependencies=[READ])
    def index_status(rt: RuntimeDep) -> IndexStatusOut:
        """The served index version and the state of background index updates."""
        served = rt.holder.peek()
        return IndexStatusOut(
            index_version=served.version if served else None, model=served.model if served else None,
            publications=served.index.ntotal if served else 0, researchers=len(served.researchers) if served else 0,
            update=updater.status(), skipped=rt.holder.problems,
        )

    v1.include_router(batch.router(settings.max_batch_queries))
    v1.include_router(researcher_writes.router(updater))
    app.include_router(v1)
    app.include_router(pages.router())
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = problems.document(batch.add_request_schemas(spec))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
