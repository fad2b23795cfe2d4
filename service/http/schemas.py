"""The bodies that both the /v1 API and the page show (a match, a researcher, a country, the goals),
and their construction from matching results. Requests, and bodies only the API sends, are with
their routes in service/http/api/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from kernel.errors import NotFound
from kernel.reference import Reference, country_name, is_country_code
from service.matching.funding import FundingHistory, funding_history
from service.matching.matcher import Match, MatchPage
from service.matching.query import TeamRules
from service.matching.routes import FundingRoute, JointOption, funding_route, registry_entries
from service.matching.screening import ListVersion, ScreeningHit
from service.matching.snapshot import ResearcherInfo, Snapshot
from service.matching.strength import Strength


class EvidenceOut(BaseModel):
    publication_id: str
    title: str
    year: int | None
    similarity: float


class AspectFitOut(BaseModel):
    aspect: int = Field(description="Position of the need in the response's `aspects`")
    topical: float = Field(description="The topical score for this need alone")
    match_strength: Literal["strong", "fair", "weak"]
    covered: bool = Field(description="A fair or strong match for this need")
    evidence: EvidenceOut | None = Field(description="Their work nearest to this need (where covered)")


class StrengthOut(BaseModel):
    publications: int
    share: float
    citation_share: float | None
    specialization: float
    strength: float


class JointOptionOut(BaseModel):
    country: str = Field(description="The registry entry it comes from: the country, or EU")
    partner_agencies: list[str]
    japanese_agency: str
    program: str
    fields: list[str]
    confidence: str = Field(description="documented, or uncertain: the field scope is not confirmed")
    kind: Literal["standing", "call", "one_off"] = Field(description="one_off: a single past project, evidence and never a route")
    last_call_year: int | None
    source: str | None
    note: str | None


class RouteOut(BaseModel):
    route: str = Field(description="joint, direct, domestic or unknown")
    basis: Literal["arrangement", "uncertain_arrangement", "no_arrangement_found", "no_government_channel", "not_in_registry",
                   "domestic", "country_unknown"] = Field(description="What the route rests on (service/matching/routes.py)")
    fields: list[str]
    joint_options: list[JointOptionOut]
    evidence: list[JointOptionOut] = Field(description="Past one-off projects covering the fields: evidence of collaboration, not a route")
    via: list[str] = Field(description="Supranational entries the country is covered through (EU)")
    no_counterpart_agency: bool = Field(description="No agency with a Japanese arrangement covers the fields (the note says which agencies exist)")
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


class JapanTiesOut(BaseModel):
    works: int = Field(description="Works co-authored with authors in Japan (by the work's affiliations, else the co-author's profile)")
    latest_year: int | None


class CoauthorOut(BaseModel):
    id: str
    name: str | None
    institution: str | None


class TieWorkOut(BaseModel):
    publication_id: str
    title: str
    year: int | None
    coauthors_in_japan: list[CoauthorOut]


class FunderOut(BaseModel):
    id: str = Field(description="The OpenAlex funder id")
    name: str | None
    ror: str | None
    works: int = Field(description="Of the researcher's works, those that name this funder")
    agency: str | None = Field(description="The registry agency it is, linked by id (OpenAlex funder id or ROR)")
    agency_country: str | None
    arrangement: str | None = Field(description="That agency's Japanese arrangement covering the fields, where there is one")


class FundingOut(BaseModel):
    summary: str
    funders: list[FunderOut]


def funding_out(history: FundingHistory) -> FundingOut:
    return FundingOut(summary=history.summary, funders=[FunderOut(**f.__dict__) for f in history.funders])


class ConflictOut(BaseModel):
    reason: str
    short: str = Field(description="The reason in a few words, for a card")
    coauthored: list[str] = Field(description="Works written with the PI within the conflict window")
    institutions: list[str] = Field(description="The candidate's institutions that are the PI's, or part of them or they of it "
                                                "(OpenAlex lineage), as 'name (OpenAlex id)'")


class ScreeningHitOut(BaseModel):
    list: str = Field(description="The screening list's name, as loaded")
    list_version: int = Field(description="The load (a dated version of the list) that was matched")
    as_of: str = Field(description="The list's date")
    entry_id: str
    entry: str = Field(description="The entry's name on the list")
    listed_as: str = Field(description="The entry's name or alias that matched")
    institution: str = Field(description="The candidate's institution name or alias that matched")
    score: float = Field(description="Name similarity, 0-100 (the threshold is KAKEHASHI_SCREENING_THRESHOLD)")
    remarks: str | None = Field(description="The list's category for the entry (METI's type of concern, the CSL's source list)")


class ListVersionOut(BaseModel):
    list: str
    list_version: int
    as_of: str
    entries: int


def screening_out(hits: Sequence[ScreeningHit]) -> list[ScreeningHitOut]:
    return [ScreeningHitOut(list=h.list_name, list_version=h.list_id, as_of=h.as_of, entry_id=h.entry_id, entry=h.entry_name,
                            listed_as=h.listed_as, institution=h.institution, score=h.score, remarks=h.remarks) for h in hits]


def versions_out(versions: Sequence[ListVersion]) -> list[ListVersionOut]:
    return [ListVersionOut(list=v.name, list_version=v.list_id, as_of=v.as_of, entries=v.entries) for v in versions]


class MatchOut(BaseModel):
    rank: int
    researcher: ResearcherSummary
    score: float
    components: dict[str, float | None]
    weights: dict[str, float]
    evidence: list[EvidenceOut]
    country_strength: dict[str, StrengthOut]
    funding_route: RouteOut
    japan_ties: JapanTiesOut
    funding: FundingOut = Field(description="The researcher's funders, linked to the registry for the query's fields")
    conflict: ConflictOut | None = Field(None, description="A conflict of interest with the query's PI (shown only with include_conflicts)")
    screening: list[ScreeningHitOut] = Field(description="Their institutions' hits on the loaded screening lists (never hidden)")
    match_strength: Literal["strong", "fair", "weak"] = Field(
        description="By the topical score (for a query with several needs, the best of the whole's and each need's) against "
                    "thresholds calibrated on the evaluation sets (KAKEHASHI_STRONG_SIMILARITY, _FAIR_)")
    aspects: list[AspectFitOut] = Field(description="For a query with several needs: how this researcher serves each")


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
    japan_ties: JapanTiesOut
    japan_tie_works: list[TieWorkOut] = Field(description="The works co-authored with authors in Japan, newest first, with those co-authors")
    funding: FundingOut = Field(description="The researcher's funders, linked to the registry for the researcher's own fields")
    funding_routes: dict[str, RouteOut] = Field(description="Route per inferred field.")
    screening: list[ScreeningHitOut] = Field(description="Their institutions' hits on the loaded screening lists")
    screened_against: list[ListVersionOut]
    index_version: str


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


def _option_out(o: JointOption) -> JointOptionOut:
    return JointOptionOut(**{**o.__dict__, "partner_agencies": list(o.partner_agencies), "fields": list(o.fields)})


def route_out(route: FundingRoute) -> RouteOut:
    return RouteOut(
        route=route.route, basis=route.basis, fields=list(route.fields),  # type: ignore[arg-type]
        joint_options=[_option_out(o) for o in route.joint_options], evidence=[_option_out(o) for o in route.evidence],
        via=list(route.via), no_counterpart_agency=route.no_counterpart_agency, no_government_channel=route.no_government_channel,
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
        funding_route=route_out(match.route), japan_ties=JapanTiesOut(**match.ties.__dict__), funding=funding_out(match.funding),
        conflict=ConflictOut(reason=match.conflict.reason, short=match.conflict.short, coauthored=list(match.conflict.coauthored),
                             institutions=list(match.conflict.institutions)) if match.conflict else None,
        screening=screening_out(match.screening), match_strength=match.match_strength,
        aspects=[AspectFitOut(aspect=f.aspect, topical=f.topical, match_strength=f.strength, covered=f.covered,
                              evidence=EvidenceOut(**f.evidence.__dict__) if f.evidence else None) for f in match.aspects],
    )


def researcher_out(snap: Snapshot, researcher_id: str, reference: Reference, screened: tuple[tuple[ScreeningHit, ...], Sequence[ListVersion]]
                   ) -> ResearcherOut:
    """`screened`: the researcher's screening hits and the list versions they were screened against."""
    r = snap.researcher(researcher_id)
    pubs = [PublicationOut(**p.__dict__) for p in snap.publications_of(researcher_id)]
    works = [TieWorkOut(publication_id=w.publication_id, title=w.title, year=w.year,
                        coauthors_in_japan=[CoauthorOut(**c.__dict__) for c in w.coauthors]) for w in snap.japan_tie_works(researcher_id)]
    return ResearcherOut(
        **researcher_summary(r).model_dump(), works_count=r.works_count, cited_by_count=r.cited_by_count,
        publications=pubs, japan_ties=JapanTiesOut(works=len(works), latest_year=max((w.year for w in works if w.year), default=None)),
        japan_tie_works=works,
        funding=funding_out(funding_history(snap.funders_of([r.id]).get(r.id, []), [f for f, _ in r.fields], reference)), funding_routes={f: route_out(funding_route(r.country, [f], reference)) for f, _ in r.fields},
        screening=screening_out(screened[0]), screened_against=versions_out(screened[1]), index_version=snap.version,
    )


def _not_registered(code: str, reference: Reference) -> str:
    through = [f"{e.country} ({'/'.join(a.acronym for a in e.agencies)})" for e in registry_entries(code, reference) if e.country != code]
    covered = f" Covered through {', '.join(through)}." if through else ""
    return f"Not in the counterpart agency registry yet: its own agencies and arrangements are not known.{covered}"


def country_out(code: str, snap: Snapshot, reference: Reference) -> CountryOut:
    """`code` in upper case."""
    if not is_country_code(code):
        raise NotFound(f"{code!r} is not an assigned ISO 3166-1 alpha-2 country code")
    entry = reference.registry.get(code)
    strength = snap.strength_in(code)
    return CountryOut(
        country=code, name=country_name(code),
        agencies=[a.model_dump() for a in entry.agencies] if entry else [],
        arrangements=[a.model_dump() for a in entry.arrangements] if entry else [],
        note=entry.note if entry else _not_registered(code, reference),
        source=entry.source if entry else None, as_of=entry.as_of if entry else None,
        researchers=snap.country_counts()[code],
        routes={f: route_out(funding_route(code, [f], reference)) for f in reference.field_ids},
        strength={f: strength_out(s) for f, s in strength.items()},
        index_version=snap.version,
    )


class AspectOut(BaseModel):
    text: str = Field(description="The need, as the query says it")
    label: str = Field(description="Its first words, for display")
    strengths: dict[str, int] = Field(description="Of the matches, how many are strong, fair and weak for this need")


class TeamMemberOut(BaseModel):
    match: MatchOut
    covers: list[int] = Field(description="The needs (positions in `aspects`) this member covers")


class TeamOut(BaseModel):
    rules: TeamRules
    members: list[TeamMemberOut]
    uncovered: list[int] = Field(description="Needs no member covers")
    explanation: list[str] = Field(description="Who covers which need, what no one covers, in sentences")
    chosen_from: int = Field(description="How many of the first results the team was chosen from (no conflict, no screening hit)")


def need_labels(page: MatchPage) -> list[str]:
    """The needs a team is built for: the query's aspects, or the whole query where it has one."""
    return [a.label for a in page.query.aspects] or ["the whole query"]


def aspects_out(page: MatchPage) -> list[AspectOut]:
    return [AspectOut(text=a.text, label=a.label, strengths=counts) for a, counts in zip(page.query.aspects, page.aspect_strengths)]


def team_out(page: MatchPage, weights: dict[str, float]) -> TeamOut | None:
    suggested = page.team
    if suggested is None:
        return None
    members = [TeamMemberOut(match=match_out(rank, m, weights), covers=sorted(covers))
               for m, rank, covers in zip(suggested.members, suggested.ranks, suggested.covers)]
    return TeamOut(rules=suggested.rules, members=members, uncovered=list(suggested.uncovered),
                   explanation=suggested.explanation(need_labels(page)), chosen_from=suggested.pool)
