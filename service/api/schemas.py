"""Request and response bodies of the /v1 API, and their construction from matching results."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from indexer.errors import NotFound
from indexer.records import ID_PATTERN, ResearcherRecord
from indexer.reference import Goal, Reference, country_name, is_country_code
from service.matcher import GoalFit, Match
from service.query import Filters, Id, Query, Weights
from service.routes import FundingRoute, funding_route
from service.snapshot import ResearcherInfo, Snapshot
from service.strength import Strength


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Query
    filters: Filters = Field(default_factory=Filters)
    weights: Weights | None = None
    limit: int = Field(10, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10_000)


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Query
    researcher_ids: list[Id] = Field(min_length=1, max_length=1000)
    weights: Weights | None = None


class EvidenceOut(BaseModel):
    publication_id: str
    title: str
    year: int | None
    similarity: float


class StrengthOut(BaseModel):
    publications: int
    share: float
    citation_share: float | None
    specialization: float
    strength: float


class JointOptionOut(BaseModel):
    country: str
    partner_agencies: list[str]
    japanese_agency: str
    program: str
    fields: list[str]
    confidence: str
    note: str | None


class RouteOut(BaseModel):
    route: str = Field(description="joint, direct, domestic or unknown")
    fields: list[str]
    joint_options: list[JointOptionOut]
    no_counterpart_agency: bool
    no_government_channel: bool
    ip_conditions: list[str]
    note: str | None
    agencies: list[str]
    sources: list[str]
    as_of: str | None


class FieldShare(BaseModel):
    field: str
    share: float


class ResearcherSummary(BaseModel):
    id: str
    name: str
    institution: str | None
    country: str | None
    orcid: str | None
    h_index: int | None
    fields: list[FieldShare] = Field(description="Inferred from the publications, with the share of them in each field.")
    declared_fields: list[str]
    source: str
    fictional: bool


class MatchOut(BaseModel):
    rank: int
    researcher: ResearcherSummary
    score: float
    components: dict[str, float | None]
    weights: dict[str, float]
    evidence: list[EvidenceOut]
    country_strength: dict[str, StrengthOut]
    funding_route: RouteOut


class MatchPageOut(BaseModel):
    data: list[MatchOut]
    count: int
    limit: int
    offset: int
    query_fields: list[str]
    index_version: str
    model: str


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


class GoalOut(BaseModel):
    id: int
    short_name: str
    title: str
    target_year: int
    managing_agency: str
    fields: list[str]
    description: str
    source: str


class GoalsOut(BaseModel):
    data: list[GoalOut]
    count: int


class GoalFitOut(BaseModel):
    goal_id: int
    short_name: str
    score: float


class GoalFitsOut(BaseModel):
    data: list[GoalFitOut]
    count: int
    index_version: str
    model: str


class PublicationOut(BaseModel):
    id: str
    title: str
    year: int | None
    cited_by_count: int | None
    field: str


class ResearcherOut(ResearcherSummary):
    works_count: int | None
    cited_by_count: int | None
    publications: list[PublicationOut]
    funding_routes: dict[str, RouteOut] = Field(description="Route per inferred field.")
    index_version: str


class ResearcherIn(ResearcherRecord):
    """A house record for PUT /v1/researchers/{id}: the id comes from the path."""

    id: str | None = Field(None, pattern=ID_PATTERN)  # type: ignore[assignment]


class ResearcherWriteOut(BaseModel):
    id: str
    outcome: Literal["created", "updated", "unchanged", "deleted"]
    index_update: Literal["queued", "none"] = Field(description="queued: the index follows in the background (see GET /v1/index)")
    index_version: str | None = Field(description="The version served when the write was acknowledged")


class IndexStatusOut(BaseModel):
    index_version: str | None
    model: str | None
    publications: int
    researchers: int
    update: dict[str, Any] = Field(description="Background updates: pending, running, last_version, last_seconds, last_error")
    skipped: list[str] = Field(description="Newer versions passed over, and why (corrupt, truncated, another model)")


class CountryOut(BaseModel):
    country: str
    name: str
    agencies: list[dict[str, Any]]
    arrangements: list[dict[str, Any]]
    note: str | None
    source: str | None
    as_of: str | None
    researchers: int
    routes: dict[str, RouteOut]
    strength: dict[str, StrengthOut]
    index_version: str


def route_out(route: FundingRoute) -> RouteOut:
    return RouteOut(
        route=route.route, fields=list(route.fields),
        joint_options=[JointOptionOut(**{**o.__dict__, "partner_agencies": list(o.partner_agencies), "fields": list(o.fields)}) for o in route.joint_options],
        no_counterpart_agency=route.no_counterpart_agency, no_government_channel=route.no_government_channel,
        ip_conditions=list(route.ip_conditions), note=route.note, agencies=list(route.agencies),
        sources=list(route.sources), as_of=route.as_of,
    )


def strength_out(strength: Strength) -> StrengthOut:
    return StrengthOut(**strength.__dict__)


def researcher_summary(r: ResearcherInfo) -> ResearcherSummary:
    return ResearcherSummary(
        id=r.id, name=r.name, institution=r.institution, country=r.country, orcid=r.orcid, h_index=r.h_index,
        fields=[FieldShare(field=f, share=s) for f, s in r.fields], declared_fields=list(r.declared_fields),
        source=r.source, fictional=r.fictional,
    )


def match_out(rank: int, match: Match, weights: dict[str, float]) -> MatchOut:
    return MatchOut(
        rank=rank, researcher=researcher_summary(match.researcher), score=match.score,
        components=match.components.as_dict(), weights=weights,
        evidence=[EvidenceOut(**e.__dict__) for e in match.evidence],
        country_strength={f: strength_out(s) for f, s in match.strength.items()},
        funding_route=route_out(match.route),
    )


def goal_out(goal: Goal) -> GoalOut:
    return GoalOut(**goal.model_dump(include=set(GoalOut.model_fields)))


def goal_fits_out(fits: list[GoalFit], snap: Snapshot) -> GoalFitsOut:
    return GoalFitsOut(data=[GoalFitOut(**f.__dict__) for f in fits], count=len(fits), index_version=snap.version, model=snap.model)




def researcher_out(snap: Snapshot, row: int, reference: Reference) -> ResearcherOut:
    r = snap.researchers[row]
    pubs = [
        PublicationOut(id=p.id, title=p.title, year=p.year, cited_by_count=p.cited_by_count, field=snap.field_ids[snap.pub_fields[i]])
        for i in snap.researcher_pubs[row] for p in [snap.publications[i]]
    ]
    return ResearcherOut(
        **researcher_summary(r).model_dump(), works_count=r.works_count, cited_by_count=r.cited_by_count,
        publications=pubs, funding_routes={f: route_out(funding_route(r.country, [f], reference)) for f, _ in r.fields},
        index_version=snap.version,
    )


def country_out(code: str, snap: Snapshot, reference: Reference) -> CountryOut:
    """`code` in upper case."""
    if not is_country_code(code):
        raise NotFound(f"{code!r} is not an assigned ISO 3166-1 alpha-2 country code")
    entry = reference.registry.get(code)
    strength = snap.strength.get(code, {})
    return CountryOut(
        country=code, name=country_name(code),
        agencies=[a.model_dump() for a in entry.agencies] if entry else [],
        arrangements=[a.model_dump() for a in entry.arrangements] if entry else [],
        note=entry.note if entry else "Not in the counterpart agency registry.",
        source=entry.source if entry else None, as_of=entry.as_of if entry else None,
        researchers=int((snap.countries == code).sum()),
        routes={f: route_out(funding_route(code, [f], reference)) for f in reference.field_ids},
        strength={f: strength_out(s) for f, s in strength.items()},
        index_version=snap.version,
    )
