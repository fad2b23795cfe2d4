"""/v1/matches and /v1/scores: ranked partners for a query, and the scores of given researchers."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from kernel.errors import InvalidInput
from service.http.api.versioned import v1_router
from service.http.deps import READ, RuntimeDep, SnapshotDep
from service.http.schemas import AspectOut, ListVersionOut, MatchOut, TeamOut, aspects_out, match_out, team_out, versions_out
from service.matching.query import Filters, Id, Query, TeamRules, Weights
from service.matching.resolve import AnsweredIn

router = v1_router(tags=["matching"], dependencies=[READ])


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Query
    filters: Filters = Field(default_factory=Filters)
    weights: Weights | None = None
    limit: int = Field(10, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10_000)
    team: TeamRules | None = Field(None, description="Also suggest a team of partners that together cover the query's needs")


class AnsweredOut(BaseModel):
    """The model that embedded the query and the publications it was compared with, and whether the
    scores stand on the same scale as an English query's."""

    model: str
    space: Literal["main", "multilingual"] = Field(description="multilingual: a Japanese query, matched with the multilingual model")
    scores_comparable_with_english: bool
    note: str | None = Field(description="What the space means for reading the scores, where it is not the main one")


def answered_out(answered: AnsweredIn) -> dict[str, object]:
    return {"model": answered.model, "space": answered.space, "scores_comparable_with_english": answered.comparable_with_english,
            "note": answered.note or None}


class CountryCountOut(BaseModel):
    country: str | None = Field(description="ISO 3166-1 alpha-2; null for researchers whose country is not known")
    count: int = Field(description="Matching researchers in the country (of `count`, not only this page's)")
    route: str = Field(description="The country's funding route for the query's fields: joint, direct, domestic or unknown")
    basis: str = Field(description="What the route rests on, as on each result's funding_route")


class MatchPageOut(AnsweredOut):
    data: list[MatchOut]
    count: int
    countries: list[CountryCountOut] = Field(description="Where all the matching researchers are, most first")
    screened_against: list[ListVersionOut] = Field(description="The screening list versions every result was checked against")
    strengths: dict[str, int] = Field(description="Of `count`, how many matches are strong, fair and weak")
    aspects: list[AspectOut] = Field(description="The query's needs, where it has several (found in its text, or as given); "
                                                 "the first results are ordered to cover each need that has good candidates")
    team: TeamOut | None = Field(None, description="The suggested team, where `team` was asked for")
    limit: int
    offset: int
    query_fields: list[str]
    index_version: str


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


class ScoresOut(AnsweredOut):
    data: list[ScoreOut]
    count: int
    query_fields: list[str]
    index_version: str


@router.post("/matches", operation_id="matches.create", response_model=MatchPageOut)
def matches(body: MatchRequest, rt: RuntimeDep, snap: SnapshotDep) -> Response:
    """Ranked foreign partners for free text, a goal or a researcher, with evidence and funding route.
    The `Server-Timing` header says where the time went (embed, lexical, filter, search, rank,
    screen, explain, serialise)."""
    max_page = rt.settings.max_page_size
    limit = body.limit if "limit" in body.model_fields_set else min(body.limit, max_page)
    if limit > max_page:
        raise InvalidInput(f"limit {limit} is above the page size limit of {max_page}; page with offset")
    page = rt.matcher.match(snap, body.query, body.filters, body.weights, limit, body.offset, body.team)
    started = time.perf_counter()
    weights = page.weights.model_dump()
    out = MatchPageOut(
        data=[match_out(body.offset + i + 1, m, weights) for i, m in enumerate(page.matches)],
        count=page.count, limit=limit, offset=body.offset, query_fields=page.query.fields,
        countries=[CountryCountOut(country=c.country, count=c.count, route=c.route.route, basis=c.route.basis) for c in page.countries],
        screened_against=versions_out(page.screened_against), strengths=page.strengths,
        aspects=aspects_out(page), team=team_out(page, weights),
        index_version=snap.version, **answered_out(page.answered),
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
    return ScoresOut(data=data, count=page.count, query_fields=page.query.fields, index_version=snap.version, **answered_out(page.answered))
