"""The HTTP API under /v1 (OpenAPI at /docs), /healthz and /readyz, and the web page at /."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from indexer.errors import NotFound
from indexer.settings import Settings
from service.api import batch, problems
from service.api.deps import RuntimeDep, SnapshotDep
from service.api.schemas import (
    CountryOut,
    GoalFitsOut,
    GoalOut,
    GoalsOut,
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
from service.batch.jobs import JobStore, JobWorker
from service.runtime import Runtime
from service.web import pages

PROBLEM_RESPONSES = {
    404: {"description": "Unknown id (problem+json)"},
    422: {"description": "Invalid input (problem+json)"},
    503: {"description": "No index loaded yet (problem+json)"},
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
CountryCode = Annotated[str, Path(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")]


def request_line_limit(settings: Settings) -> int:
    """Bytes of request line and headers the server must accept: a search page's URL carries the
    whole project description (up to max_query_chars; percent-encoded, 9 bytes per Japanese character)."""
    return settings.max_query_chars * 9 + 64 * 1024


def create_app(runtime: Runtime) -> FastAPI:
    jobs = JobStore(runtime.settings.store_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = JobWorker(runtime, jobs) if runtime.settings.batch_worker else None
        if worker:
            worker.start()
        yield
        if worker:
            worker.stop()

    app = FastAPIOffline(  # /docs and /redoc with their scripts served here, not from a CDN
        lifespan=lifespan,
        title="Kakehashi",
        version="1.0",
        description="Partner matching for Japanese government-funded international R&D: ranked foreign researchers "
        "for a Moonshot goal or project, with the evidence and the funding route (joint or direct).",
    )
    app.state.runtime = runtime
    app.state.jobs = jobs
    problems.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_body_bytes, max_upload_bytes=runtime.settings.max_upload_bytes)

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

    @v1.get("/goals", tags=["goals"])
    def list_goals(rt: RuntimeDep) -> GoalsOut:
        goals = [goal_out(g) for g in rt.reference.goals]
        return GoalsOut(data=goals, count=len(goals))

    @v1.get("/goals/{goal_id}", tags=["goals"])
    def get_goal(goal_id: int, rt: RuntimeDep) -> GoalOut:
        goal = rt.reference.goal(goal_id)
        if goal is None:
            raise NotFound(f"no Moonshot goal {goal_id}; goals are 1-{len(rt.reference.goals)}")
        return goal_out(goal)

    @v1.post("/matches", tags=["matching"])
    def matches(body: MatchRequest, rt: RuntimeDep, snap: SnapshotDep) -> MatchPageOut:
        """Ranked foreign partners for free text, a goal or a researcher, with evidence and funding route."""
        page = rt.matcher.match(snap, body.query, body.filters, body.weights, body.limit, body.offset)
        weights = page.weights.model_dump()
        return MatchPageOut(
            data=[match_out(body.offset + i + 1, m, weights) for i, m in enumerate(page.matches)],
            count=page.count, limit=body.limit, offset=body.offset, query_fields=page.query.fields,
            index_version=snap.version, model=snap.model,
        )

    @v1.post("/scores", tags=["matching"])
    def scores(body: ScoreRequest, rt: RuntimeDep, snap: SnapshotDep) -> ScoresOut:
        """Absolute match scores of the given researchers for one query (comparable across queries)."""
        page = rt.matcher.score(snap, body.query, body.researcher_ids, body.weights)
        data = [ScoreOut(researcher_id=m.researcher.id, score=m.score, components=m.components.as_dict(), funding_route=m.route.route) for m in page.matches]
        return ScoresOut(data=data, count=page.count, query_fields=page.query.fields, index_version=snap.version, model=snap.model)

    @v1.get("/researchers/{researcher_id}", tags=["researchers"])
    def get_researcher(researcher_id: ResearcherId, rt: RuntimeDep, snap: SnapshotDep) -> ResearcherOut:
        return researcher_out(snap, rt.matcher.researcher_row(snap, researcher_id), rt.reference)

    @v1.get("/researchers/{researcher_id}/goals", tags=["researchers"])
    def researcher_goals(researcher_id: ResearcherId, rt: RuntimeDep, snap: SnapshotDep) -> GoalFitsOut:
        """Which Moonshot goals this researcher's publications fit best."""
        return goal_fits_out(rt.matcher.goals_for_researcher(snap, researcher_id), snap)

    @v1.get("/countries/{code}", tags=["countries"])
    def get_country(code: CountryCode, rt: RuntimeDep, snap: SnapshotDep) -> CountryOut:
        """Agencies, joint-funding arrangements, funding route and measured strength per field."""
        return country_out(code.upper(), snap, rt.reference)

    v1.include_router(batch.router(runtime.settings.max_batch_queries))
    app.include_router(v1)
    app.include_router(pages.router())
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = batch.add_request_schemas(get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
