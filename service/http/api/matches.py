"""/v1/matches and /v1/scores: ranked partners for a query, and the scores of given researchers."""

from __future__ import annotations

import time

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from kernel.errors import InvalidInput
from service.http.api.versioned import v1_router
from service.http.deps import READ, RuntimeDep, SnapshotDep
from service.http.schemas import MatchOut, match_out
from service.matching.query import Filters, Id, Query, Weights

router = v1_router(tags=["matching"], dependencies=[READ])


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Query
    filters: Filters = Field(default_factory=Filters)
    weights: Weights | None = None
    limit: int = Field(10, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10_000)


class MatchPageOut(BaseModel):
    data: list[MatchOut]
    count: int
    limit: int
    offset: int
    query_fields: list[str]
    index_version: str
    model: str


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Query
    researcher_ids: list[Id] = Field(min_length=1, max_length=1000)
    weights: Weights | None = None


class ScoreOut(BaseModel):
    researcher_id: str
    score: float
    components: dict[str, float | None]
    funding_route: str


class ScoresOut(BaseModel):
    data: list[ScoreOut]
    count: int
    query_fields: list[str]
    index_version: str
    model: str


@router.post("/matches", operation_id="matches.create", response_model=MatchPageOut)
def matches(body: MatchRequest, rt: RuntimeDep, snap: SnapshotDep) -> Response:
    """Ranked foreign partners for free text, a goal or a researcher, with evidence and funding route.
    The `Server-Timing` header says where the time went (embed, lexical, filter, search, rank,
    explain, serialise)."""
    max_page = rt.settings.max_page_size
    limit = body.limit if "limit" in body.model_fields_set else min(body.limit, max_page)
    if limit > max_page:
        raise InvalidInput(f"limit {limit} is above the page size limit of {max_page}; page with offset")
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


@router.post("/scores", operation_id="scores.create")
def scores(body: ScoreRequest, rt: RuntimeDep, snap: SnapshotDep) -> ScoresOut:
    """Absolute match scores of the given researchers for one query (comparable across queries)."""
    page = rt.matcher.score(snap, body.query, body.researcher_ids, body.weights)
    data = [ScoreOut(researcher_id=m.researcher.id, score=m.score, components=m.components.as_dict(), funding_route=m.route.route)
            for m in page.matches]
    return ScoresOut(data=data, count=page.count, query_fields=page.query.fields, index_version=snap.version, model=snap.model)
