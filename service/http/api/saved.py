"""/v1/saved-searches and /v1/shortlists: a user's saved searches (run again, they say which
candidates are new) and shortlists of researchers with a note each (exported as CSV for a
proposal). Each belongs to the API key that made it, or in open local mode to the browser; another
owner's is a 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from service.batch.export import csv_chunks
from service.http.api.versioned import v1_router
from service.http.deps import RuntimeDep, SavedDep, SnapshotDep, bearer, owner_of
from service.http.saved_views import SHORTLIST_COLUMNS, rerun, run_search, search_form, shortlist_rows
from service.http.schemas import MatchOut, match_out
from service.matching.query import Id
from service.saved import MAX_NAME, MAX_NOTE, SavedSearch, Shortlist

router = v1_router(tags=["saved"])
ItemId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]


def _owner(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    return owner_of(request, credentials)


Owner = Annotated[str, Depends(_owner)]


class SavedSearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME)
    search: str = Field(min_length=1, max_length=30_000, description="The page's URL query of the search: q=...&country=DE&field=...")


class SavedSearchOut(BaseModel):
    id: str
    name: str
    search: str
    url: str = Field(description="The search on the page")
    created_at: float
    last_run_at: float = Field(description="When it was saved, or last run through the API (or marked seen on the page)")


class RunOut(BaseModel):
    saved_search: SavedSearchOut
    data: list[MatchOut]
    new: list[str] = Field(description="Researchers of this run that the last recorded run did not find")
    count: int
    index_version: str


def _search_out(s: SavedSearch) -> SavedSearchOut:
    return SavedSearchOut(id=s.id, name=s.name, search=s.search, url=f"/?{s.search}", created_at=s.created_at, last_run_at=s.last_run_at)


@router.get("/saved-searches", operation_id="saved_searches.list")
def list_searches(owner: Owner, saved: SavedDep) -> dict[str, Any]:
    found = saved.searches(owner)
    return {"data": [_search_out(s) for s in found], "count": len(found)}


@router.post("/saved-searches", operation_id="saved_searches.create", status_code=201,
             responses={409: {"description": "A saved search of that name exists, or the most there may be"}})
def create_search(body: SavedSearchIn, owner: Owner, saved: SavedDep, rt: RuntimeDep, snap: SnapshotDep) -> SavedSearchOut:
    """Saves a search under a name; its first run is remembered, so that the next says what is new."""
    search = search_form(body.search).url().removeprefix("/").removeprefix("?")
    page = run_search(rt, snap, search)
    return _search_out(saved.save_search(owner, body.name, search, [m.researcher.id for m in page.matches]))


@router.get("/saved-searches/{search_id}", operation_id="saved_searches.get")
def get_search(search_id: ItemId, owner: Owner, saved: SavedDep) -> SavedSearchOut:
    return _search_out(saved.search(owner, search_id))


@router.post("/saved-searches/{search_id}/runs", operation_id="saved_searches.run")
def run(search_id: ItemId, owner: Owner, saved: SavedDep, rt: RuntimeDep, snap: SnapshotDep) -> RunOut:
    """Runs the search again: its first results, and which of them are new since its last run
    (this run is recorded: the next compares with it)."""
    done = rerun(rt, snap, saved.search(owner, search_id))
    recorded = saved.record_run(owner, search_id, [m.researcher.id for m in done.page.matches])
    weights = done.page.weights.model_dump()
    return RunOut(saved_search=_search_out(recorded), data=[match_out(i + 1, m, weights) for i, m in enumerate(done.page.matches)],
                  new=done.new, count=done.page.count, index_version=snap.version)


@router.delete("/saved-searches/{search_id}", operation_id="saved_searches.delete", status_code=204)
def delete_search(search_id: ItemId, owner: Owner, saved: SavedDep) -> Response:
    saved.delete_search(owner, search_id)
    return Response(status_code=204)


class ShortlistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME)


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    researcher_id: Id
    note: str = Field("", max_length=MAX_NOTE)


class ItemOut(BaseModel):
    researcher_id: str
    note: str
    added_at: float


class ShortlistOut(BaseModel):
    id: str
    name: str
    created_at: float
    items: list[ItemOut]


def _shortlist_out(s: Shortlist) -> ShortlistOut:
    return ShortlistOut(id=s.id, name=s.name, created_at=s.created_at,
                        items=[ItemOut(researcher_id=i.researcher_id, note=i.note, added_at=i.added_at) for i in s.items])


@router.get("/shortlists", operation_id="shortlists.list")
def list_shortlists(owner: Owner, saved: SavedDep) -> dict[str, Any]:
    found = saved.shortlists(owner)
    return {"data": [{"id": s.id, "name": s.name, "created_at": s.created_at, "researchers": n} for s, n in found], "count": len(found)}


@router.post("/shortlists", operation_id="shortlists.create", status_code=201,
             responses={409: {"description": "A shortlist of that name exists, or the most there may be"}})
def create_shortlist(body: ShortlistIn, owner: Owner, saved: SavedDep) -> ShortlistOut:
    return _shortlist_out(saved.create_shortlist(owner, body.name))


@router.get("/shortlists/{shortlist_id}", operation_id="shortlists.get")
def get_shortlist(shortlist_id: ItemId, owner: Owner, saved: SavedDep) -> ShortlistOut:
    return _shortlist_out(saved.shortlist(owner, shortlist_id))


@router.post("/shortlists/{shortlist_id}/items", operation_id="shortlist_items.put",
             responses={409: {"description": "The shortlist holds the most researchers it may"}})
def put_item(shortlist_id: ItemId, body: ItemIn, owner: Owner, saved: SavedDep, snap: SnapshotDep) -> ShortlistOut:
    """Adds a researcher of the served index with a note, or changes the note of one already there."""
    snap.researcher(body.researcher_id)  # NotFound for an id the index does not hold
    return _shortlist_out(saved.put_item(owner, shortlist_id, body.researcher_id, body.note))


@router.delete("/shortlists/{shortlist_id}/items/{researcher_id}", operation_id="shortlist_items.delete")
def remove_item(shortlist_id: ItemId, researcher_id: Annotated[str, Path(min_length=1, max_length=200)], owner: Owner,
                saved: SavedDep) -> ShortlistOut:
    return _shortlist_out(saved.remove_item(owner, shortlist_id, researcher_id))


@router.delete("/shortlists/{shortlist_id}", operation_id="shortlists.delete", status_code=204)
def delete_shortlist(shortlist_id: ItemId, owner: Owner, saved: SavedDep) -> Response:
    saved.delete_shortlist(owner, shortlist_id)
    return Response(status_code=204)


@router.get("/shortlists/{shortlist_id}/export", operation_id="shortlists.export", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def export_shortlist(shortlist_id: ItemId, owner: Owner, saved: SavedDep, rt: RuntimeDep, snap: SnapshotDep) -> Response:
    """The shortlist as CSV for a proposal: each researcher's note, route, ties, funders and screening."""
    shortlist = saved.shortlist(owner, shortlist_id)
    return Response("".join(csv_chunks(shortlist_rows(rt, snap, shortlist), SHORTLIST_COLUMNS)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="shortlist-{shortlist.id}.csv"'})
