"""The web page for PIs and program officers: server-rendered HTML over the same matcher, bodies and
batch jobs as the JSON API. Everything it loads is served from /static; the only script watches a
batch job's progress, and every page works without it."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from kernel.errors import InvalidInput, KakehashiError
from kernel.reference import country_name
from service.auth import ApiKey, Scope, job_owner
from service.batch.export import csv_chunks
from service.batch.inputs import AssignmentRules, BatchOptions, batch_from_file
from service.batch.jobs import FINISHED
from service.http.deps import KEY_COOKIE, JobsDep, RuntimeDep, authorize, presented_key, same_origin, verified_key
from service.http.problems import status_of
from service.http.schemas import aspects_out, country_out, match_out, researcher_out, team_out
from service.http.search_form import PAGE_SIZES, WEIGHT_NAMES, FormErrors, SearchForm
from service.http.web.owner import owned_shortlists
from service.matching.query import TeamRules
from service.matching.routes import IP_CONDITIONS
from service.matching.row import EXPORT_COLUMNS, export_row

log = logging.getLogger("kakehashi.web")
HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.add_extension("jinja2.ext.do")
templates.env.globals.update(country_name=country_name, quote=lambda s: quote(str(s), safe=""), IP_CONDITIONS=IP_CONDITIONS)
templates.env.filters["timestamp"] = lambda t: datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    runtime = request.app.state.runtime
    labels = {f.id: f.label for f in runtime.reference.fields}
    # while no index is served yet (a first start): what is being done; an update of a served index is not announced
    preparing = runtime.progress.describe() if runtime.progress.active and runtime.holder.peek() is None else None
    return templates.TemplateResponse(request, template, {"field_label": lambda f: labels.get(f, f), "preparing": preparing, **context},
                                      status_code=status)


def _error_page(request: Request, exc: KakehashiError, template: str = "error.html", **context: Any) -> HTMLResponse:
    """The page in its error state, with the status that the API gives the same error."""
    return _render(request, template, status_of(exc), error=exc, **context)


class _HttpError(KakehashiError):
    def __init__(self, title: str, detail: str) -> None:
        super().__init__(detail)
        self.title = title


def http_error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    """The page for an HTTP error on the page's paths (an unknown page, a method it does not take)."""
    return _render(request, "error.html", status, error=_HttpError(title, detail))


def _search_context(request: Request, form: SearchForm) -> dict[str, Any]:
    runtime = request.app.state.runtime
    return {
        "form": form, "goals": runtime.reference.goals, "fields": runtime.reference.fields, "page_sizes": PAGE_SIZES,
        "weight_names": WEIGHT_NAMES, "default_weights": runtime.settings.weights, "conflict_years": runtime.settings.conflict_years,
    }


def _form(request: Request) -> SearchForm:
    params = request.query_params
    return SearchForm.from_params(params, {k: params.getlist(k) for k in ("country", "exclude", "field")})


def _back(request: Request) -> str:
    """Where "back" leads: the page that linked here when it is one of ours, else the search."""
    referer = urlparse(request.headers.get("referer", ""))
    if referer.netloc == request.headers.get("host") and referer.path not in ("", request.url.path):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/"


def _caller(request: Request, scope: Scope) -> ApiKey | None:
    """The page's caller, by the key remembered in its cookie (set on /key)."""
    return authorize(request, presented_key(request, None), scope)


def _local(path: str) -> str:
    """Only a path on this site may be redirected to."""
    return path if path.startswith("/") and not path.startswith("//") else "/batch"


FORM_DEFAULTS = {"limit": "10", "assign": "", "partners": "3", "max_projects": "1", "min_countries": "", "max_per_country": "",
                 "team": "", "team_per_country": "1", "team_direct": ""}
router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

@router.get("/")
def search(request: Request, rt: RuntimeDep) -> Response:
    """The search form and, when it holds a query, one page of ranked partners."""
    form = _form(request)
    context = _search_context(request, form)
    if form.is_empty:
        return _render(request, "search.html", **context)
    try:
        _caller(request, "read")
        wanted = form.to_request(rt.reference)
        snap = rt.snapshot()
        page = rt.matcher.match(snap, wanted.query, wanted.filters, wanted.weights, wanted.limit, wanted.offset, wanted.team)
    except FormErrors as exc:
        return _error_page(request, exc, template="search.html", errors=exc.errors, **context)
    except KakehashiError as exc:
        return _error_page(request, exc, template="search.html", **context)
    weights = page.weights.model_dump()
    last_page = max(1, min(math.ceil(page.count / wanted.limit), wanted.last_page_allowed))
    return _render(
        request, "search.html", **context,
        results=[match_out(wanted.offset + i + 1, m, weights) for i, m in enumerate(page.matches)],
        shortlists=owned_shortlists(request), countries=page.countries, strengths=page.strengths,
        aspects=aspects_out(page), team=team_out(page, weights), country_link=lambda code: form.url(country=code, page="1"),
        count=page.count, offset=wanted.offset, page_number=wanted.offset // wanted.limit + 1, last_page=last_page,
        query_fields=page.query.fields, description=page.query.description,
        like_name=snap.researcher(form.like).name if form.like else None,
        index_version=snap.version, model=page.answered.model, space_note=page.answered.note, screened_against=page.screened_against,
    )


@router.get("/export.csv", response_model=None)
def export(request: Request, rt: RuntimeDep) -> Response:
    """The whole result list of a search (up to the export limit) as CSV."""
    form = _form(request)
    try:
        _caller(request, "read")
        if form.is_empty:
            raise InvalidInput("there is no search to export: describe a project, pick a goal or a researcher")
        wanted = form.to_request(rt.reference)
        snap = rt.snapshot()
        page = rt.matcher.match(snap, wanted.query, wanted.filters, wanted.weights, rt.settings.max_export_rows, 0)
    except KakehashiError as exc:
        return _error_page(request, exc, back=form.url())

    def rows() -> Iterator[dict[str, Any]]:
        for i, m in enumerate(page.matches):
            yield export_row(i + 1, m, page, snap.version)

    headers = {"Content-Disposition": 'attachment; filename="kakehashi-matches.csv"'}
    return StreamingResponse(csv_chunks(rows(), EXPORT_COLUMNS), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/researchers/{researcher_id:path}")
def researcher(researcher_id: str, request: Request, rt: RuntimeDep) -> Response:
    try:
        _caller(request, "read")
        snap = rt.snapshot()
        profile = researcher_out(snap, researcher_id, rt.reference, rt.matcher.screened(snap, researcher_id))
        goals = rt.matcher.goals_for_researcher(snap, researcher_id)[:3]
    except KakehashiError as exc:
        return _error_page(request, exc)
    pi, conflict, pi_problem = request.query_params.get("pi", "").strip()[:200], None, None
    if pi:  # from a search that named its PI: the conflict in full, or why it cannot be checked
        try:
            pi_id, conflict = rt.matcher.conflict_with(snap, researcher_id, pi)
            pi = f"{snap.researcher(pi_id).name} ({pi_id})"
        except KakehashiError as exc:
            pi_problem = str(exc)
    publications = sorted(profile.publications, key=lambda p: -(p.year or 0))
    return _render(request, "researcher.html", r=profile, publications=publications, goal_fits=goals,
                   back=_back(request), model=snap.model, pi=pi, conflict=conflict, pi_problem=pi_problem)


@router.get("/countries")
def countries(request: Request, rt: RuntimeDep) -> Response:
    try:
        _caller(request, "read")
        snap = rt.snapshot()
    except KakehashiError as exc:
        return _error_page(request, exc)
    counts = snap.country_counts()
    listed = sorted(set(counts) | {c for c in rt.reference.registry if c != "EU"}, key=country_name)
    rows = [(c, counts.get(c, 0), rt.reference.registry.get(c), rt.reference.supranational_for(c)) for c in listed]
    return _render(request, "countries.html", countries=rows,
                   index_version=snap.version)


@router.get("/countries/{code}")
def country(code: str, request: Request, rt: RuntimeDep) -> Response:
    try:
        _caller(request, "read")
        snap = rt.snapshot()
        view = country_out(code.strip().upper(), snap, rt.reference)
    except KakehashiError as exc:
        return _error_page(request, exc)
    strongest = sorted(view.strength.items(), key=lambda kv: -kv[1].strength)
    return _render(request, "country.html", c=view, strength=strongest)


@router.get("/batch")
def batch(request: Request, jobs: JobsDep) -> Response:
    try:
        key = _caller(request, "batch")
    except KakehashiError as exc:  # the form is shown, with a word on the key it needs
        return _render(request, "batch.html", key_problem=exc.detail)
    recent, count = jobs.list(20, 0, None, owner=job_owner(key))
    return _render(request, "batch.html", jobs=[j.view() for j in recent], count=count, key=key)


@router.post("/batch", response_model=None)
async def submit(request: Request, rt: RuntimeDep, jobs: JobsDep) -> Response:
    """Queues a job from the uploaded file and shows it. The key is checked before the upload is
    read: a caller without one costs no parsing."""
    key = None
    values: dict[str, str] = {}
    filename = None
    try:
        key = _caller(request, "batch")
        form = await request.form()
        values = {name: str(form.get(name) or default) for name, default in FORM_DEFAULTS.items()}
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("choose a file of projects (CSV, JSON Lines or JSON) to upload")
        filename = upload.filename
        try:
            rules = AssignmentRules(
                partners_per_project=values["partners"], max_projects_per_researcher=values["max_projects"],  # type: ignore[arg-type]
                min_countries=values["min_countries"] or None, max_per_country=values["max_per_country"] or None,  # type: ignore[arg-type]
            ) if values["assign"] else None
            team = TeamRules(size=values["team"], max_per_country=values["team_per_country"],  # type: ignore[arg-type]
                             prefer_direct=bool(values["team_direct"])) if values["team"] else None
            options = BatchOptions(limit=values["limit"], assignment=rules, team=team)  # type: ignore[arg-type]
            body = batch_from_file(await upload.read(), upload.filename, upload.content_type, options, rt.settings.max_batch_queries)
        except ValidationError as exc:
            raise InvalidInput("; ".join(_message(e) for e in exc.errors())) from None
        job = jobs.create(body, owner=key.id if key else None, max_queued=rt.settings.max_queued_queries_per_key)
    except KakehashiError as exc:
        if status_of(exc) in (401, 403):
            return _error_page(request, exc, template="batch.html", key_problem=exc.detail, values=values)
        recent, count = jobs.list(20, 0, None, owner=job_owner(key))
        return _error_page(request, exc, template="batch.html", jobs=[j.view() for j in recent], count=count,
                           values=values, filename=filename, key=key)
    return RedirectResponse(f"/batch/{job.id}", status_code=303)


@router.get("/batch/{job_id}")
def job(job_id: str, request: Request, jobs: JobsDep) -> Response:
    try:
        key = _caller(request, "batch")
        found = jobs.get(job_id, job_owner(key))
    except KakehashiError as exc:
        return _error_page(request, exc)
    return _render(request, "batch_job.html", job=found.view(), finished=found.state in FINISHED,
                   query_errors=jobs.query_errors(job_id), queries=found.total)


@router.post("/batch/{job_id}/cancel", response_model=None)
def cancel(job_id: str, request: Request, jobs: JobsDep) -> Response:
    try:
        key = _caller(request, "batch")  # with the page's cookie: from this site only
        jobs.cancel(job_id, job_owner(key))
    except KakehashiError as exc:
        return _error_page(request, exc, back=f"/batch/{quote(job_id, safe='')}")
    return RedirectResponse(f"/batch/{quote(job_id, safe='')}", status_code=303)


@router.get("/key")
def key_form(request: Request, next: str = "/batch") -> Response:
    """Where a browser user gives an API key; it is kept in an HttpOnly, same-site cookie."""
    held = None
    if request.cookies.get(KEY_COOKIE):
        try:
            held = request.app.state.keys.verify(request.cookies[KEY_COOKIE])
        except KakehashiError:
            held = None
    return _render(request, "key.html", held=held, next=_local(next))


@router.post("/key", response_model=None)
def key_submit(request: Request, key: Annotated[str, Form()], next: Annotated[str, Form()] = "/batch") -> Response:
    try:
        same_origin(request)
        held = verified_key(request, key)
    except KakehashiError as exc:
        return _error_page(request, exc, template="key.html", held=None, next=_local(next))
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(KEY_COOKIE, key.strip(), max_age=12 * 3600, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    log.info("key %s (%s) entered on the page", held.id, held.name)
    return response


@router.post("/key/forget", response_model=None)
def key_forget(request: Request) -> Response:
    try:
        same_origin(request)
    except KakehashiError as exc:
        return _error_page(request, exc)
    response = RedirectResponse("/key", status_code=303)
    response.delete_cookie(KEY_COOKIE)
    return response


def _message(error: Any) -> str:
    names = {"partners_per_project": "partners per project", "max_projects_per_researcher": "projects per researcher",
             "min_countries": "minimum countries", "max_per_country": "maximum per country", "limit": "results per project"}
    where = ".".join(names.get(str(p), str(p)) for p in error.get("loc", ()) if p not in ("assignment", "options"))
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
