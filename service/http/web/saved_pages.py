"""The page's saved searches and shortlists: saved from a search, opened with what is new since
the last run marked seen, shortlists with a note per researcher and their CSV for a proposal. They
belong to the API key in the page's cookie, or in open local mode to this browser (a cookie set at
the first save)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kernel.errors import KakehashiError
from service.batch.export import csv_chunks
from service.http.deps import RuntimeDep, SavedDep
from service.http.saved_views import SHORTLIST_COLUMNS, rerun, run_search, search_form, shortlist_rows
from service.http.schemas import match_out
from service.http.web.owner import page_owner, redirect_as_owner
from service.http.web.pages import _error_page, _local, _render
from service.saved import MAX_NAME, MAX_NOTE

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/saved")
def saved_list(request: Request, saved: SavedDep) -> Response:
    try:
        owner, _ = page_owner(request)
    except KakehashiError as exc:
        return _error_page(request, exc)
    return _render(request, "saved.html", searches=saved.searches(owner), shortlists=saved.shortlists(owner), nav="saved")


@router.post("/saved", response_model=None)
def save_search(request: Request, saved: SavedDep, rt: RuntimeDep, name: Annotated[str, Form(max_length=MAX_NAME)],
                search: Annotated[str, Form(max_length=30_000)]) -> Response:
    try:
        owner, token = page_owner(request, create=True)
        canonical = search_form(search).url().removeprefix("/").removeprefix("?")
        page = run_search(rt, rt.snapshot(), canonical)
        made = saved.save_search(owner, name, canonical, [m.researcher.id for m in page.matches])
    except KakehashiError as exc:
        return _error_page(request, exc)
    return redirect_as_owner(request, f"/saved/{made.id}", token)


@router.get("/saved/{search_id}")
def saved_search(search_id: str, request: Request, saved: SavedDep, rt: RuntimeDep) -> Response:
    """The saved search run now, each result new since the last run marked seen flagged (not recorded)."""
    try:
        owner, _ = page_owner(request)
        snap = rt.snapshot()
        done = rerun(rt, snap, saved.search(owner, search_id))
    except KakehashiError as exc:
        return _error_page(request, exc)
    weights = done.page.weights.model_dump()
    return _render(request, "saved_search.html", s=done.search, new=set(done.new), count=done.page.count,
                   results=[match_out(i + 1, m, weights) for i, m in enumerate(done.page.matches)], nav="saved",
                   index_version=snap.version, model=done.page.answered.model)


@router.post("/saved/{search_id}/seen", response_model=None)
def mark_seen(search_id: str, request: Request, saved: SavedDep, rt: RuntimeDep) -> Response:
    try:
        owner, _ = page_owner(request)
        done = rerun(rt, rt.snapshot(), saved.search(owner, search_id))
        saved.record_run(owner, search_id, [m.researcher.id for m in done.page.matches])
    except KakehashiError as exc:
        return _error_page(request, exc)
    return RedirectResponse(f"/saved/{search_id}", status_code=303)


@router.post("/saved/{search_id}/delete", response_model=None)
def delete_search(search_id: str, request: Request, saved: SavedDep) -> Response:
    try:
        owner, _ = page_owner(request)
        saved.delete_search(owner, search_id)
    except KakehashiError as exc:
        return _error_page(request, exc)
    return RedirectResponse("/saved", status_code=303)


@router.post("/shortlists/add", response_model=None)
def add_to_shortlist(request: Request, saved: SavedDep, rt: RuntimeDep, shortlist: Annotated[str, Form(max_length=MAX_NAME)],
                     researcher_id: Annotated[str, Form(max_length=200)], note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
                     back: Annotated[str, Form(max_length=30_000)] = "/") -> Response:
    try:
        owner, token = page_owner(request, create=True)
        rt.snapshot().researcher(researcher_id)
        chosen = saved.shortlist_named(owner, shortlist)
        saved.put_item(owner, chosen.id, researcher_id, note)
    except KakehashiError as exc:
        return _error_page(request, exc)
    return redirect_as_owner(request, _local(back) + f"#added-{researcher_id}", token)


@router.get("/shortlists/{shortlist_id}")
def shortlist_page(shortlist_id: str, request: Request, saved: SavedDep, rt: RuntimeDep) -> Response:
    try:
        owner, _ = page_owner(request)
        snap = rt.snapshot()
        shortlist = saved.shortlist(owner, shortlist_id)
    except KakehashiError as exc:
        return _error_page(request, exc)
    return _render(request, "shortlist.html", shortlist=shortlist, rows=list(shortlist_rows(rt, snap, shortlist)), nav="saved",
                   index_version=snap.version)


@router.get("/shortlists/{shortlist_id}/export.csv", response_model=None)
def shortlist_export(shortlist_id: str, request: Request, saved: SavedDep, rt: RuntimeDep) -> Response:
    try:
        owner, _ = page_owner(request)
        shortlist = saved.shortlist(owner, shortlist_id)
        body = "".join(csv_chunks(shortlist_rows(rt, rt.snapshot(), shortlist), SHORTLIST_COLUMNS))
    except KakehashiError as exc:
        return _error_page(request, exc)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="shortlist-{shortlist.id}.csv"'})


@router.post("/shortlists/{shortlist_id}/remove", response_model=None)
def remove_from_shortlist(shortlist_id: str, request: Request, saved: SavedDep,
                          researcher_id: Annotated[str, Form(max_length=200)]) -> Response:
    try:
        owner, _ = page_owner(request)
        saved.remove_item(owner, shortlist_id, researcher_id)
    except KakehashiError as exc:
        return _error_page(request, exc)
    return RedirectResponse(f"/shortlists/{shortlist_id}", status_code=303)


@router.post("/shortlists/{shortlist_id}/delete", response_model=None)
def delete_shortlist(shortlist_id: str, request: Request, saved: SavedDep) -> Response:
    try:
        owner, _ = page_owner(request)
        saved.delete_shortlist(owner, shortlist_id)
    except KakehashiError as exc:
        return _error_page(request, exc)
    return RedirectResponse("/saved", status_code=303)
