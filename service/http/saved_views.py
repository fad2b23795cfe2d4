"""What the API and the page show of saved searches and shortlists: a saved search run again (its
page URL's search, the first SEEN results, which of them its last recorded run did not find), and a shortlist's
rows with each researcher's route, ties, funders and screening as the served index has them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from kernel.errors import InvalidInput, KakehashiError
from service.http.schemas import ResearcherOut, researcher_out
from service.http.search_form import SearchForm
from service.matching.matcher import MatchPage
from service.matching.row import LIST_SEPARATOR, screened_against
from service.matching.snapshot import Snapshot
from service.runtime import Runtime
from service.saved import SEEN, SavedSearch, Shortlist

MAX_SEARCH = 30_000  # characters of a saved search's URL query


def search_form(search: str) -> SearchForm:
    """The page's form as a saved search's URL query holds it (`q=...&country=DE`), the page number dropped."""
    if len(search) > MAX_SEARCH:
        raise InvalidInput(f"search: at most {MAX_SEARCH} characters")
    pairs = parse_qsl(search.removeprefix("?"), keep_blank_values=False)
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    form = SearchForm.from_params({k: v[-1] for k, v in multi.items()}, multi)
    if form.is_empty:
        raise InvalidInput("search: nothing to search for: the URL query needs q (a description), goal or like")
    return SearchForm(**{**form.__dict__, "page": "1"})


def run_search(rt: Runtime, snap: Snapshot, search: str) -> MatchPage:
    """The saved search's first SEEN results now (FormErrors, an InvalidInput, names what cannot be used)."""
    wanted = search_form(search).to_request(rt.reference)
    return rt.matcher.match(snap, wanted.query, wanted.filters, wanted.weights, SEEN, 0)


@dataclass(frozen=True)
class Run:
    search: SavedSearch  # as it was before this run
    page: MatchPage
    new: list[str]  # researcher ids that its last recorded run did not find


def rerun(rt: Runtime, snap: Snapshot, saved: SavedSearch) -> Run:
    page = run_search(rt, snap, saved.search)
    return Run(saved, page, saved.new_since_last_run([m.researcher.id for m in page.matches]))


SHORTLIST_COLUMNS = (
    "researcher_id", "name", "institution", "country", "note", "added", "fields", "funding_route", "route_basis", "joint_agencies",
    "japan_ties", "japan_ties_latest_year", "funders", "funders_with_arrangement", "screening", "screened_against", "index_version",
)


def shortlist_rows(rt: Runtime, snap: Snapshot, shortlist: Shortlist) -> Iterator[dict[str, Any]]:
    """One row per researcher, for the proposal: the note, and what the served index says of them
    (the route for their main field). A researcher no longer in the index keeps their row and note."""
    for item in shortlist.items:
        base = {"researcher_id": item.researcher_id, "note": item.note,
                "added": datetime.fromtimestamp(item.added_at, UTC).strftime("%Y-%m-%d"), "index_version": snap.version}
        try:
            hits, versions = rt.matcher.screened(snap, item.researcher_id)
            profile: ResearcherOut = researcher_out(snap, item.researcher_id, rt.reference, (hits, versions))
        except KakehashiError:
            yield {**base, "name": f"(not in index version {snap.version})"}
            continue
        route = next(iter(profile.funding_routes.values()), None)
        yield {
            **base, "name": profile.name, "institution": profile.institution, "country": profile.country,
            "fields": LIST_SEPARATOR.join(f.field for f in profile.fields),
            "funding_route": route.route if route else "", "route_basis": route.basis if route else "",
            "joint_agencies": LIST_SEPARATOR.join(a for o in (route.joint_options if route else []) for a in o.partner_agencies),
            "japan_ties": profile.japan_ties.works, "japan_ties_latest_year": profile.japan_ties.latest_year,
            "funders": LIST_SEPARATOR.join(f"{f.agency or f.name or f.id}:{f.works}" for f in profile.funding.funders),
            "funders_with_arrangement": LIST_SEPARATOR.join(f.agency or f.name or f.id for f in profile.funding.funders if f.arrangement),
            "screening": LIST_SEPARATOR.join(h.summary for h in hits), "screened_against": screened_against(versions),
        }

