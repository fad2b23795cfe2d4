"""The one flat match row: a ranked match as a row of plain values. Its columns, their types and
the conversion from a match are here and nowhere else; every flat output uses them: the batch
store and its CSV, JSON and Parquet exports, the page's CSV export and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from service.matching.matcher import Match, MatchPage
from service.matching.screening import ListVersion

if TYPE_CHECKING:
    import pyarrow as pa

LIST_SEPARATOR = ";"  # between the agencies and the fields of one cell

# every column a flat output may hold, with its Parquet type
COLUMN_TYPES = {
    "job_id": "string", "query_id": "string", "rank": "int32", "researcher_id": "string", "name": "string", "match_strength": "string",
    "institution": "string", "country": "string", "score": "float64", "topical": "float64", "strength": "float64",
    "impact": "float64", "recency": "float64", "funding_route": "string", "route_basis": "string", "joint_agencies": "string",
    "query_fields": "string", "assigned": "bool_", "aspects_covered": "string", "team_member": "bool_", "index_version": "string", "model": "string",
    "japan_ties": "int32", "japan_ties_latest_year": "int32", "funders": "string", "funders_with_arrangement": "string",
    "conflict": "string", "screening": "string", "screened_against": "string",
    "best_publications": "string",
}
MATCH_COLUMNS = (
    "rank", "researcher_id", "name", "institution", "country", "score", "match_strength", "topical", "strength", "impact", "recency",
    "funding_route", "route_basis", "joint_agencies", "funders", "funders_with_arrangement", "japan_ties", "japan_ties_latest_year",
    "conflict", "screening", "screened_against", "query_fields", "index_version", "model",
)
# a batch job's result rows: the query they answer, and whether the assignment chose the pair
BATCH_COLUMNS = (
    "job_id", "query_id", "rank", "researcher_id", "name", "institution", "country", "score", "match_strength", "topical", "strength", "impact",
    "recency", "funding_route", "route_basis", "joint_agencies", "funders", "funders_with_arrangement", "japan_ties",
    "japan_ties_latest_year", "conflict", "screening", "screened_against", "query_fields", "aspects_covered", "team_member", "assigned",
    "index_version", "model",
)
# the page's export of one search: the titles behind each match as well
EXPORT_COLUMNS = (*MATCH_COLUMNS, "best_publications")


def screened_against(versions: Sequence[ListVersion]) -> str:
    """The screening list versions a result was checked against, in one cell ("" where none is loaded)."""
    return LIST_SEPARATOR.join(f"{v.name} ({v.as_of})" for v in versions)


def match_row(rank: int, match: Match, page: MatchPage, index_version: str) -> dict[str, Any]:
    r, c = match.researcher, match.components
    return {
        "rank": rank, "researcher_id": r.id, "name": r.name, "institution": r.institution, "country": r.country,
        "score": match.score, "match_strength": match.match_strength, "topical": c.topical, "strength": c.strength, "impact": c.impact, "recency": c.recency,
        "funding_route": match.route.route, "route_basis": match.route.basis,
        "joint_agencies": LIST_SEPARATOR.join(match.route.joint_agencies),
        "japan_ties": match.ties.works, "japan_ties_latest_year": match.ties.latest_year,
        "funders": LIST_SEPARATOR.join(f"{f.label}:{f.works}" for f in match.funding.funders),
        "funders_with_arrangement": LIST_SEPARATOR.join(f.label for f in match.funding.with_arrangement),
        "conflict": match.conflict.reason if match.conflict else "",
        "screening": LIST_SEPARATOR.join(h.summary for h in match.screening),
        "screened_against": screened_against(page.screened_against),
        "query_fields": LIST_SEPARATOR.join(page.query.fields),
        "aspects_covered": LIST_SEPARATOR.join(page.query.aspects[f.aspect].label for f in match.aspects if f.covered),
        "index_version": index_version, "model": page.answered.model,
    }


def batch_row(job_id: str, query_id: str, rank: int, match: Match, page: MatchPage, index_version: str,
              team_member: bool | None = None) -> dict[str, Any]:
    """A batch result row as stored; `assigned` is filled in once the job's assignment is solved;
    `team_member`: whether the query's suggested team holds them (None: no team asked for)."""
    return {"job_id": job_id, "query_id": query_id, **match_row(rank, match, page, index_version), "team_member": team_member,
            "assigned": None}


def export_row(rank: int, match: Match, page: MatchPage, index_version: str) -> dict[str, Any]:
    """A row of the page's CSV export: the match row and the titles of its best publications."""
    return {**match_row(rank, match, page, index_version), "best_publications": " | ".join(e.title for e in match.evidence)}


def parquet_schema(columns: Sequence[str]) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, COLUMN_TYPES[name])()) for name in columns])
