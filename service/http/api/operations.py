"""Health, readiness and metrics, at the root (for load balancers and Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from service.http.deps import READ, RuntimeDep
from service.http.metrics import CONTENT_TYPE
from service.http.problems import RESPONSES

router = APIRouter(tags=["operations"])


@router.get("/healthz", operation_id="health.live")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="health.ready", responses={503: {"description": "Not ready"}})
def readyz(rt: RuntimeDep) -> JSONResponse:
    """Readiness: an index version is loaded and can answer queries."""
    snap = rt.snapshot()  # raises NotReady -> 503 problem
    return JSONResponse({"status": "ready", "index_version": snap.version, "model": snap.model,
                         "publications": snap.publication_count, "researchers": snap.researcher_count})


@router.get("/metrics", operation_id="metrics.get", dependencies=[READ], response_class=PlainTextResponse,
            responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}, **{k: RESPONSES[k] for k in (401, 403, 429)}})
def prometheus_metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latencies by route, the served index, the batch queue."""
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE)
