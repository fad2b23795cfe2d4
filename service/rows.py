"""One ranked match as a flat row: the shape shared by the batch results and the page's CSV export."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.matcher import Match

MATCH_COLUMNS = (
    "rank", "researcher_id", "name", "institution", "country", "score", "topical", "strength", "impact", "recency",
    "funding_route", "joint_agencies", "query_fields", "index_version", "model",
)


def match_row(rank: int, match: Match, query_fields: Sequence[str], index_version: str, model: str) -> dict[str, Any]:
    r, c = match.researcher, match.components
    agencies = sorted({a for option in match.route.joint_options for a in option.partner_agencies})
    return {
        "rank": rank, "researcher_id": r.id, "name": r.name, "institution": r.institution, "country": r.country,
        "score": match.score, "topical": c.topical, "strength": c.strength, "impact": c.impact, "recency": c.recency,
        "funding_route": match.route.route, "joint_agencies": ";".join(agencies), "query_fields": ";".join(query_fields),
        "index_version": index_version, "model": model,
    }
