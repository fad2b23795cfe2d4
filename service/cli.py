"""The `kakehashi` command line."""

from __future__ import annotations

import csv
import errno
import json
import logging
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from indexer import schema, version
from indexer.embedder import ProgressFn
from indexer.ingest import IngestReport
from indexer.records import Rejection
from indexer.screening_lists import load_list, stored_lists
from indexer.slicing import RULES, make_slice
from indexer.sources import openalex_api
from indexer.sources.files import iter_json_records
from kernel.errors import InvalidInput, KakehashiError, NotReady
from kernel.paths import OPENALEX_SAMPLE
from kernel.settings import get_settings
from service.auth import KeyStore
from service.matching.matcher import Match
from service.matching.query import Filters, Query, TeamRules, Weights
from service.matching.row import match_row, screened_against
from service.progress import Progress as StepProgress
from service.runtime import Runtime

app = typer.Typer(help="Kakehashi: find foreign research partners for Japanese R&D, with the funding route.", no_args_is_help=True)
index_app = typer.Typer(help="Build and inspect index versions.", no_args_is_help=True)
app.add_typer(index_app, name="index")
keys_app = typer.Typer(help="API keys: create, list, revoke (on the server, next to the store).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
screening_app = typer.Typer(help="Screening lists (METI's End User List, the US Consolidated Screening List, your own): load, list.",
                            no_args_is_help=True)
app.add_typer(screening_app, name="screening")
harvest_app = typer.Typer(help="Fetch records from outside sources into files that `kakehashi ingest` reads.", no_args_is_help=True)
app.add_typer(harvest_app, name="harvest")
out = Console()
err = Console(stderr=True, soft_wrap=True)


def _runtime() -> Runtime:
    with friendly_errors():  # a bad KAKEHASHI_* value is one line naming the setting
        return Runtime(get_settings())
    raise AssertionError("unreachable")


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Known errors become one clear line and a non-zero exit; no traceback for a user's mistake."""
    try:
        yield
    except KakehashiError as exc:
        fail(exc.detail, 2 if isinstance(exc, InvalidInput) else 1)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(input)'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        fail(problems, 2)


@contextmanager
def progress_bars() -> Iterator[Any]:
    """Bars in a terminal; elsewhere (a file, a pipe, CI) a line every few seconds per step."""
    if not err.is_terminal:
        lines = StepProgress(lambda line: err.print(line, highlight=False))
        yield lines.begin
        lines.finish()
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err, transient=False,
    ) as progress:

        def factory(description: str, total: int) -> ProgressFn:
            task = progress.add_task(description, total=total or None)
            return lambda n: progress.advance(task, n)

        yield factory


def build_with_progress(rt: Runtime, force: bool = False, engine: str = "local") -> None:
    started = time.perf_counter()
    with progress_bars() as factory:
        result = rt.build_index(factory, force, engine)
    if result.skipped:
        err.print(f"Index {result.version} is up to date; nothing to build.")
    else:
        counts = result.manifest["counts"]
        err.print(
            f"Published index {result.version}: {counts['publications']} publications of {counts['researchers']} researchers, "
            f"{result.embedded} embedded, {result.reused} reused, in {time.perf_counter() - started:.1f} s; "
            f"index {result.manifest['ann']['kind']} ({result.manifest['ann']['reason']})."
        )


def _listed(values: list[str] | None) -> list[str]:
    """Repeated options and comma-separated lists alike: --countries DE,FR --countries KR."""
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A file or directory (house JSONL/CSV; OpenAlex works, authors, institutions as "
                                              "JSON Lines, API pages or Parquet), or an OpenAlex snapshot's root.")],
    report: Annotated[Path | None, typer.Option(help="Write every rejection (record, field, reason) to this JSON Lines file.")] = None,
    show: Annotated[int, typer.Option(help="How many rejections to print.")] = 20,
    countries: Annotated[list[str] | None, typer.Option(help="Keep only OpenAlex works with an author in these countries (ISO codes; repeat or comma-separate).")] = None,
    since: Annotated[int | None, typer.Option(help="Keep only OpenAlex works published in this year or later.")] = None,
    fields: Annotated[list[str] | None, typer.Option(help="Keep only OpenAlex works in these fields: Kakehashi's (semiconductors, ...) or OpenAlex ids (fields/17, subfields/1702).")] = None,
) -> None:
    """Validate and store researcher records. Valid records are stored even when others are rejected."""
    rt = _runtime()
    with friendly_errors():
        slice_ = make_slice(rt.reference, since, _listed(fields), _listed(countries))
    report_file = report.open("w", encoding="utf-8") if report else None

    def write_rejection(rejection: Rejection) -> None:
        if report_file:
            report_file.write(json.dumps(rejection.__dict__, ensure_ascii=False) + "\n")

    try:
        with friendly_errors(), progress_bars() as factory:
            result = rt.ingest(path, factory, slice_, write_rejection)
    finally:
        if report_file:
            report_file.close()
    _print_ingest(path, result, show, report)
    if result.all_rejected:
        fail("no valid records in the input", 1)
    if result.stored or result.removed:
        err.print("Run `kakehashi index build` to make the changes searchable.")


def _print_ingest(path: Path, result: IngestReport, show: int, report: Path | None) -> None:
    table = Table(title=f"Ingest of {path}", show_header=False)
    table.add_row("files read", f"{len(result.files) - len(result.files_skipped)} of {len(result.files)}"
                  + (f" ({len(result.files_skipped)} ingested before, unchanged)" if result.files_skipped else ""))
    table.add_row("records read", f"{result.records_read:,}")
    for entity, counts in result.openalex.items():
        figures = counts.as_dict()
        if any(figures.values()):
            table.add_row(f"OpenAlex {entity}", ", ".join(f"{n:,} {what}" for what, n in figures.items() if n))
    for rule, n in result.left_out.items():
        table.add_row(f"left out by --{rule}" if rule in RULES else "authors without a kept work", f"{n:,}")
    table.add_row("profiles derived", f"{result.profiles_derived:,}")
    for key in ("added", "updated", "unchanged", "removed"):
        table.add_row(f"researchers {key}", f"{getattr(result, key):,}")
    table.add_row("rejected", f"{result.rejected:,}")
    out.print(table)
    for problem in result.problems:
        err.print(f"  [yellow]problem[/] {problem}", highlight=False)
    for rejection in result.rejections[:show]:
        err.print(f"  rejected {rejection}", highlight=False, markup=False)
    if result.rejected > show:
        err.print(f"  ... and {result.rejected - show:,} more" + ("" if report else " (use --report FILE for all)"))
    if report:
        err.print(f"Rejection report written to {report}")


@harvest_app.command("openalex")
def harvest_openalex(
    filter_: Annotated[str, typer.Option("--filter", help="The API's filter, e.g. 'authorships.countries:DE,publication_year:>2019,"
                                                          "primary_topic.subfield.id:2208'.")],
    output: Annotated[Path, typer.Option(help="Where the pages go; run the same command again to resume an interrupted harvest.")],
    entity: Annotated[str, typer.Option(help="works, authors or institutions.")] = "works",
    api_key: Annotated[str | None, typer.Option(help="Your OpenAlex API key (else KAKEHASHI_OPENALEX_API_KEY).", show_default=False)] = None,
) -> None:
    """Page through the OpenAlex API with a cursor; the pages are JSON Lines that `kakehashi ingest OUTPUT` reads."""
    with friendly_errors():
        settings = get_settings()
        key = api_key or (settings.openalex_api_key.get_secret_value() if settings.openalex_api_key else None)
        with openalex_api.OpenAlexClient(settings.openalex_base_url, key, settings.openalex_requests_per_second) as client, \
                _harvest_progress(entity) as on_page:
            report = openalex_api.harvest(client, entity, filter_, output, on_page)
    state = report.state
    already = " (it was complete already)" if report.resumed and not report.pages_fetched else ""
    err.print(f"Harvested {state.records:,} {entity} in {state.pages:,} pages into {output}{already}: "
              f"{report.records_fetched:,} fetched in this run, {len(report.waits)} retries"
              + (f"; the API counts {state.count:,}" if state.count is not None else "") + ".")
    err.print(f"Run `kakehashi ingest {output}` to store them.")


@contextmanager
def _harvest_progress(entity: str) -> Iterator[Any]:
    """A bar of records against the API's meta.count in a terminal; elsewhere a line every 10 pages."""
    if not err.is_terminal:
        def line(state: openalex_api.HarvestState) -> None:
            if state.pages % 10 == 0 or state.complete:
                err.print(f"{entity}: page {state.pages:,}, {state.records:,} of {state.count or '?'} records", highlight=False)
        yield line
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=err) as progress:
        task = progress.add_task(f"Harvesting {entity}", total=None)

        def advance(state: openalex_api.HarvestState) -> None:
            progress.update(task, total=state.count, completed=state.records,
                            description=f"Harvesting {entity}: page {state.pages:,}")
        yield advance


@index_app.command("build")
def index_build(
    force: Annotated[bool, typer.Option(help="Write a new version even if nothing changed.")] = False,
    engine: Annotated[str, typer.Option(help="local, or ray: embed on Ray Data (the `ray` extra; RAY_ADDRESS for a cluster).")] = "local",
    device: Annotated[str | None, typer.Option(help="cpu or cuda (a GPU where one is present).")] = None,
) -> None:
    """Embed new or changed publications and publish a new index version atomically."""
    if engine not in ("local", "ray"):
        fail(f"--engine must be local or ray, not {engine!r}", 2)
    settings = get_settings()
    rt = Runtime(settings.model_copy(update={"device": device}) if device else settings)
    with friendly_errors():
        if rt.store_is_empty():
            fail(f"the store at {rt.settings.store_path} is empty; run `kakehashi ingest PATH` first")
        if engine == "ray":
            try:
                import ray  # noqa: F401
            except ImportError:
                fail("the ray engine needs Ray: pip install 'kakehashi[ray]'", 2)
        build_with_progress(rt, force, engine)


@index_app.command("list")
def index_list() -> None:
    """Index versions in the data directory, newest last."""
    table = Table("version", "model", "publications", "researchers", "built at")
    for path in version.versions(get_settings().index_root):
        m = version.read_manifest(path)
        table.add_row(m["version"], m["model"], str(m["counts"]["publications"]), str(m["counts"]["researchers"]), m["built_at"])
    out.print(table)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who holds the key (a person or a portal).")],
    scope: Annotated[list[str], typer.Option(help="read, batch or admin (repeatable; each grants the ones before it).")] = ["read"],
) -> None:
    """Create a key and print it once: only its digest is stored."""
    with friendly_errors():
        key, secret = KeyStore(get_settings().store_path).create(name, scope)
    err.print(f"Created key {key.id} ({key.name}) with scopes {', '.join(key.scopes)}. It is shown only now:")
    out.print(secret, highlight=False)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Keys with their names, scopes and state (never the secret)."""
    keys = KeyStore(get_settings().store_path).list()
    if as_json:
        out.print_json(data=[k.view() for k in keys])
        return
    table = Table("id", "name", "scopes", "created", "state")
    for k in keys:
        state = "active" if k.revoked_at is None else f"revoked {time.strftime('%Y-%m-%d %H:%M', time.gmtime(k.revoked_at))}"
        table.add_row(k.id, k.name, ", ".join(k.scopes), time.strftime("%Y-%m-%d %H:%M", time.gmtime(k.created_at)), state)
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (the part after kk_).")]) -> None:
    """Revoke a key: it is refused from the next request on."""
    with friendly_errors():
        key = KeyStore(get_settings().store_path).revoke(key_id)
    err.print(f"Revoked key {key.id} ({key.name}).")


@screening_app.command("load")
def screening_load(
    file: Annotated[Path, typer.Argument(help="The list: METI's End User List saved as CSV, the US CSL as CSV or JSON, or a CSV of "
                                              "name, aliases (separated by ;), country, address.")],
    list_name: Annotated[str, typer.Option("--list", help="The list's name, e.g. 'METI End User List'; a new load of a name is its newest version.")],
    as_of: Annotated[str, typer.Option("--as-of", help="The list's own date, YYYY-MM-DD.")],
    fmt: Annotated[str, typer.Option("--format", help="auto, meti, csl-csv, csl-json or csv.")] = "auto",
) -> None:
    """Load a screening list as a new dated version; every query screens against the newest version of each list."""
    with friendly_errors():
        loaded = load_list(get_settings().store_path, file, list_name, as_of, fmt)
    err.print(f"Loaded {loaded.entries} entries of {loaded.name!r} as of {loaded.as_of} ({loaded.format}), version {loaded.list_id}.")


@screening_app.command("list")
def screening_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every loaded version of every list, newest first; the current version of each list is marked."""
    with friendly_errors(), schema.connect(_store_path()) as conn:
        versions = stored_lists(conn)
    if as_json:
        out.print_json(data=[v.__dict__ for v in versions])
        return
    table = Table("version", "list", "as of", "entries", "format", "file", "loaded", "current")
    for v in versions:
        table.add_row(str(v.list_id), v.name, v.as_of, str(v.entries), v.format, v.file,
                      time.strftime("%Y-%m-%d %H:%M", time.gmtime(v.loaded_at)), "yes" if v.current else "")
    out.print(table)


def _store_path() -> Path:
    path = get_settings().store_path
    schema.ensure(path)
    return path


def _listen(host: str, port: int) -> socket.socket:
    """The port is taken before anything slow starts, so that a busy one is said at once.
    TCP_NODELAY is set here, and the connections accepted inherit it: asyncio sets it only on
    sockets whose protocol number is TCP, which `create_server` leaves 0, and without it a
    keep-alive client waits for the delayed ACK (about 40 ms) on every request after its first."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.create_server((host, port), family=family)
        listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return listening
    except socket.gaierror as exc:
        fail(f"cannot listen on {host}: {exc.strerror or exc}")
        raise  # unreachable: fail() exits
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(f"port {port} on {host} is already in use (another Kakehashi?): choose another with --port (make run PORT=...)")
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        raise  # unreachable: fail() exits


def proxy_options(trusted_proxies: str) -> dict[str, Any]:
    """uvicorn's proxy settings: X-Forwarded-For and -Proto believed only from the configured
    proxies (KAKEHASHI_TRUSTED_PROXIES), never by default. uvicorn's own default believes any
    client on 127.0.0.1, so a local client could name any address for the rate limit and the log."""
    trusted = [p.strip() for p in trusted_proxies.split(",") if p.strip()]
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or []}


@app.command()
def serve(
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    demo: Annotated[bool, typer.Option(help="Load the fictional demo corpus when the store is empty.")] = True,
) -> None:
    """Serve the page and the API (and /docs) at once. In the background it loads the demo corpus
    into an empty store and brings the index up to date, serving the last good version meanwhile;
    until a first version is ready, searches answer 503 saying how far it is."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    from service.http.app import create_app
    from service.http.limits import request_line_limit

    # One BLAS thread: a query's matrix-vector products are small, and OpenBLAS's second thread
    # spins for a while after each one, on the core the model's next encoding needs (at 1M
    # publications a query's encoding took 14 ms instead of 7).
    threadpool_limits(limits=1, user_api="blas")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    listening = _listen(host, port)
    rt = _runtime()
    with friendly_errors():
        application = create_app(rt)
        application.state.updater.prepare(load_demo=demo)
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    err.print(f"Kakehashi on http://{shown}:{listening.getsockname()[1]}  (the page; API docs at /docs)", highlight=False)
    config = uvicorn.Config(application, log_level="info", h11_max_incomplete_event_size=request_line_limit(rt.settings),
                            **proxy_options(rt.settings.trusted_proxies))
    uvicorn.Server(config).run(sockets=[listening])


def _filters(country: list[str], exclude_country: list[str], field: list[str], min_h_index: int | None,
             since: int | None, exclude_institution: list[str], exclude_researcher: list[str], include_japan: bool,
             japan_ties: str | None = None) -> Filters:
    return Filters(
        countries=country, exclude_countries=exclude_country, fields=field, min_h_index=min_h_index, since_year=since,
        exclude_institutions=exclude_institution, exclude_researchers=exclude_researcher, include_japan=include_japan,
        japan_ties=int(japan_ties) if japan_ties and japan_ties.isdigit() else japan_ties,
    )


def _match_json(match: Match, rank: int) -> dict[str, Any]:
    """One match as the CLI's JSON document: the researcher, the score and its components, and what
    explains it (fields, evidence, the country's strength, the route)."""
    r = match.researcher
    return {
        "rank": rank, "researcher_id": r.id, "name": r.name, "institution": r.institution, "country": r.country,
        "score": match.score, "components": match.components.as_dict(), "fields": [f for f, _ in r.fields],
        "evidence": [e.__dict__ for e in match.evidence],
        "country_strength": {f: s.strength for f, s in match.strength.items()},
        "funding_route": match.route.route, "route_basis": match.route.basis, "no_counterpart_agency": match.route.no_counterpart_agency,
        "no_government_channel": match.route.no_government_channel, "joint_agencies": list(match.route.joint_agencies),
        "japan_ties": match.ties.__dict__, "funding": match.funding.summary, "conflict": match.conflict.reason if match.conflict else None,
        "screening": [h.__dict__ for h in match.screening], "match_strength": match.match_strength,
        "aspects": [{"aspect": f.aspect, "topical": f.topical, "match_strength": f.strength, "covered": f.covered,
                     "evidence": f.evidence.__dict__ if f.evidence else None} for f in match.aspects],
    }


@app.command()
def match(
    text: Annotated[str | None, typer.Argument(help="Project description (or use --goal / --researcher).")] = None,
    goal: Annotated[int | None, typer.Option(help="Moonshot goal id, 1-10.")] = None,
    researcher: Annotated[str | None, typer.Option(help="More like this researcher id.")] = None,
    country: Annotated[list[str], typer.Option(help="Only this country (repeatable).")] = [],
    exclude_country: Annotated[list[str], typer.Option(help="Leave out this country (repeatable).")] = [],
    field: Annotated[list[str], typer.Option(help="Only this field (repeatable).")] = [],
    min_h_index: Annotated[int | None, typer.Option()] = None,
    since: Annotated[int | None, typer.Option(help="Only publications from this year on.")] = None,
    exclude_institution: Annotated[list[str], typer.Option()] = [],
    exclude_researcher: Annotated[list[str], typer.Option()] = [],
    include_japan: Annotated[bool, typer.Option(help="Include researchers in Japan.")] = False,
    japan_ties: Annotated[str | None, typer.Option(help="Works with co-authors in Japan: any, none, or at least N.")] = None,
    pi: Annotated[str | None, typer.Option(help="Your OpenAlex author id, ORCID or researcher id: conflicts of interest are left out.")] = None,
    include_conflicts: Annotated[bool, typer.Option(help="Show candidates with a conflict of interest, flagged.")] = False,
    exclude_screened: Annotated[bool, typer.Option(help="Leave out candidates whose institution is on a loaded screening list "
                                                        "(by default they are shown, flagged).")] = False,
    w_topical: Annotated[float | None, typer.Option(help="Weight of topical similarity.")] = None,
    w_strength: Annotated[float | None, typer.Option(help="Weight of country strength.")] = None,
    w_impact: Annotated[float | None, typer.Option(help="Weight of impact (h-index).")] = None,
    w_recency: Annotated[float | None, typer.Option(help="Weight of recency.")] = None,
    w_ties: Annotated[float | None, typer.Option(help="Weight of ties to Japan.")] = None,
    aspect: Annotated[list[str], typer.Option(help="A need of the project (repeat, 2-4); by default found in the text.")] = [],
    team: Annotated[int | None, typer.Option(min=2, max=8, help="Also suggest a team of this many partners covering the needs.")] = None,
    team_per_country: Annotated[int, typer.Option(min=0, max=8, help="At most this many team members from a country (0: no limit).")] = 1,
    prefer_direct: Annotated[bool, typer.Option(help="Prefer team members in direct-route countries.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Ranked foreign partners for a project text, a Moonshot goal or a researcher."""
    rt = _runtime()
    with friendly_errors():
        query = Query(text=text, goal_id=goal, researcher_id=researcher, aspects=aspect or None)
        rules = TeamRules(size=team, max_per_country=team_per_country or None, prefer_direct=prefer_direct) if team else None
        filters = _filters(country, exclude_country, field, min_h_index, since, exclude_institution, exclude_researcher, include_japan,
                           japan_ties).model_copy(update={"pi": pi, "include_conflicts": include_conflicts,
                                                          "screened": "exclude" if exclude_screened else "flag"})
        weights = Weights(topical=w_topical, strength=w_strength, impact=w_impact, recency=w_recency, ties=w_ties)
        snap = rt.snapshot()
        page = rt.matcher.match(snap, query, filters, weights, limit, offset, rules)
    needs = [a.label for a in page.query.aspects]
    if as_json:
        doc = {"data": [_match_json(m, offset + i + 1) for i, m in enumerate(page.matches)], "count": page.count,
               "strengths": page.strengths, "aspects": [{"text": a.text, "strengths": c} for a, c in zip(page.query.aspects, page.aspect_strengths)],
               "team": None if page.team is None else {
                   "members": [{"rank": rank, "researcher_id": m.researcher.id, "covers": sorted(covers)}
                               for m, rank, covers in zip(page.team.members, page.team.ranks, page.team.covers)],
                   "uncovered": list(page.team.uncovered), "explanation": page.team.explanation(needs or ["the whole query"])},
               "query_fields": page.query.fields, "index_version": snap.version, "model": page.answered.model,
               "space": page.answered.space, "scores_comparable_with_english": page.answered.comparable_with_english,
               "countries": [{"country": c.country, "count": c.count, "route": c.route.route, "basis": c.route.basis} for c in page.countries],
               "screened_against": [v.__dict__ for v in page.screened_against]}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
        return
    strengths = f"{page.strengths.get('strong', 0)} strong, {page.strengths.get('fair', 0)} fair"
    table = Table(title=f"{page.count} candidates for {page.query.description} ({strengths}; fields: {', '.join(page.query.fields)})",
                  show_lines=True)
    for column in ("#", "score", "researcher", "country", "fields", "route", "ties, funders, conflict", "best-matching publication"):
        table.add_column(column)
    if needs:
        table.add_column("needs covered")
    for i, m in enumerate(page.matches):
        row = match_row(offset + i + 1, m, page, snap.version)
        route = row["funding_route"]
        if m.route.joint_agencies:
            route += ": " + ", ".join(m.route.joint_agencies)
        elif m.route.no_government_channel:
            route += " (no gov. channel)"
        best = m.evidence[0]
        table.add_row(
            str(row["rank"]), f"{row['score']:.3f}", f"{row['name']}\n{row['institution'] or ''}", row["country"] or "?",
            ", ".join(f for f, _ in m.researcher.fields), route, _facts(m), f"{best.title} ({best.year or 'n.d.'}) sim {best.similarity:.2f}",
            *(["\n".join(f"{needs[f.aspect]}: {f.strength}" for f in m.aspects)] if needs else []),
        )
    if needs:
        out.print("needs: " + "; ".join(f"{i + 1}. {n} ({c['strong']} strong, {c['fair']} fair)"
                                        for i, (n, c) in enumerate(zip(needs, page.aspect_strengths))), highlight=False)
    out.print(table)
    if page.count and not page.strengths.get("strong"):
        out.print("Nothing matches this well: " + ("the best results are only fair matches." if page.strengths.get("fair")
                                                    else "every result is a weak match."), highlight=False)
    if page.team is not None:
        out.print(f"Suggested team of {len(page.team.members)}:", highlight=False)
        for line in page.team.explanation(needs or ["the whole query"]):
            out.print(f"  {line}", highlight=False)
    out.print("by country: " + ", ".join(f"{c.country or '?'} {c.count} ({c.route.route})" for c in page.countries[:12]), style="dim")
    out.print(f"index {snap.version}, model {page.answered.model}; "
              + (f"screened against {screened_against(page.screened_against)}" if page.screened_against else "no screening list loaded"),
              style="dim")
    if page.answered.note:
        out.print(page.answered.note, style="dim")


def _facts(m: Match) -> str:
    """Ties to Japan, funders and a conflict, in a few words."""
    ties = f"Japan ties {m.ties.works} ({m.ties.latest_year})" if m.ties.works else "no Japan ties"
    linked = m.funding.with_arrangement
    funders = (f"{linked[0].label} (arrangement)" if linked else m.funding.funders[0].label) if m.funding.funders else "no funder recorded"
    return "\n".join([ties, funders] + ([f"CONFLICT: {m.conflict.short}"] if m.conflict else [])
                     + [f"LISTED: {h.summary}" for h in m.screening])


@app.command()
def score(
    queries: Annotated[Path, typer.Argument(help='JSON Lines: {"id", "text", "researcher_ids": [...]} per line.')],
    output: Annotated[Path, typer.Option(help='JSON Lines out: {"query_id", "researcher_id", "score"} per pair.')],
) -> None:
    """Absolute match scores for given (query, researcher) pairs, comparable across queries."""
    rt = _runtime()
    rows: list[dict[str, Any]] = []
    with friendly_errors():
        if not queries.is_file():
            fail(f"{queries}: no such file")
        snap = rt.snapshot()
        items = list(iter_json_records(queries))
        if not items:
            fail(f"{queries}: no queries (the file is empty)")
        for where, item in items:
            if isinstance(item, Rejection):
                fail(str(item), 2)
            if not isinstance(item, dict) or not isinstance(item.get("id"), (str, int)) or not isinstance(item.get("researcher_ids"), list):
                fail(f'{where}: expected {{"id", "text", "researcher_ids": [...]}}', 2)
            try:
                page = rt.matcher.score(snap, Query(text=item.get("text")), [str(r) for r in item["researcher_ids"]])
            except (KakehashiError, ValidationError) as exc:
                detail = exc.detail if isinstance(exc, KakehashiError) else exc.errors()[0]["msg"].removeprefix("Value error, ")
                fail(f"{where} (query {item['id']!r}): {detail}", 2)
            rows += [{"query_id": item["id"], "researcher_id": m.researcher.id, "score": m.score} for m in page.matches]
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(output)
    err.print(f"Wrote {len(rows)} scores to {output} (index {snap.version})")


@app.command()
def batch(
    input: Annotated[Path, typer.Argument(help="Queries: .csv (id, text | goal_id | researcher_id, filter columns) or .jsonl / .json.")],
    output: Annotated[Path, typer.Option(help="Results: .csv, .json or .parquet (by the name).")],
    limit: Annotated[int, typer.Option(help="Results per query (without assignment).")] = 10,
    assign: Annotated[bool, typer.Option("--assign", help="Constrained assignment instead of plain top lists.")] = False,
    k: Annotated[int, typer.Option("-k", "--partners", help="Assignment: partners per project.")] = 3,
    c: Annotated[int, typer.Option("-c", "--max-projects", help="Assignment: projects one researcher may be proposed for.")] = 1,
    min_countries: Annotated[int | None, typer.Option(help="Assignment: distinct countries per project, at least.")] = None,
    max_per_country: Annotated[int | None, typer.Option(help="Assignment: partners of one project from one country, at most.")] = None,
    exclude_pairs: Annotated[Path | None, typer.Option(help="Assignment: CSV of query_id,researcher_id pairs never to assign.")] = None,
    candidates: Annotated[int, typer.Option(help="Assignment: best matches per project to choose from.")] = 50,
    team: Annotated[int | None, typer.Option(min=2, max=8, help="Also suggest a team of this many partners per project (rows: team_member).")] = None,
    team_per_country: Annotated[int, typer.Option(min=0, max=8, help="At most this many team members from a country (0: no limit).")] = 1,
    prefer_direct: Annotated[bool, typer.Option(help="Prefer team members in direct-route countries.")] = False,
) -> None:
    """Match many projects at once (the same jobs as POST /v1/batch-jobs, run here with a progress
    bar and kept in the store), optionally with a constrained assignment."""
    from service.batch.export import format_of, write
    from service.batch.inputs import (
        AssignmentRules,
        BatchOptions,
        BatchRequest,
        kind_of,
        parse_queries,
    )
    from service.batch.jobs import SUCCEEDED, JobStore, lease_name, run_job
    from service.leases import Leases

    rt = _runtime()
    with friendly_errors():
        format_of(output)
        if not input.is_file():
            fail(f"{input}: no such file")
        try:
            queries = parse_queries(input.read_bytes(), kind_of(input.name, None))
        except InvalidInput as exc:
            raise InvalidInput(f"{input}: {exc.detail}") from None
        rules = None
        if assign:
            pairs = []
            if exclude_pairs is not None:
                with exclude_pairs.open(encoding="utf-8") as handle:
                    pairs = [{"query_id": r["query_id"], "researcher_id": r["researcher_id"]} for r in csv.DictReader(handle)]
            rules = AssignmentRules(partners_per_project=k, max_projects_per_researcher=c, min_countries=min_countries,
                                    max_per_country=max_per_country, excluded_pairs=pairs, candidates_per_project=candidates)
        suggest = TeamRules(size=team, max_per_country=team_per_country or None, prefer_direct=prefer_direct) if team else None
        request = BatchRequest(queries=queries, options=BatchOptions(limit=limit, assignment=rules, team=suggest))
        rt.snapshot()  # the index loaded first: the job's lease starts beating as soon as it exists
        jobs = JobStore(rt.settings.store_path)
        leases = Leases(rt.settings.store_path, rt.settings.lease_seconds)
        job = jobs.create(request, leases=leases)  # run here: a service on the same store leaves it alone
        with progress_bars() as factory, leases.hold(lease_name(job.id), taken=True) as held:
            advance = factory(f"batch {job.id[:8]}", len(queries))
            job = run_job(rt, jobs, job.id, stop=held.lost.is_set, on_query=lambda done, total: advance(1), request=request)
        for e in jobs.query_errors(job.id):
            err.print(f"[yellow]query {e['query_id']!r}:[/] {e['error']}", highlight=False)
        if job.state != SUCCEEDED:
            fail(f"batch job {job.id} {job.state}: {job.error}")
        write(jobs.results(job.id), output)
    err.print(f"Job {job.id}: {job.done} queries ({job.failed_queries} failed) in {job.view()['elapsed_seconds']} s; results in {output}")
    if job.summary:
        s = job.summary
        err.print(f"Assignment: {s['assigned']} pairs, total score {s['optimal_total']} (greedy {s['greedy_total']}, "
                  f"plain top-k {s['top_k_total']} with {s['top_k_violations']} places breaking a rule)")
        for short in s["shortfalls"]:
            err.print(f"[yellow]{short['query_id']}: {short['rule']} {short['achieved']} of {short['required']}[/] ({short['reason']})", highlight=False)


@app.command()
def goals(
    for_text: Annotated[str | None, typer.Option("--for", help="Which goals does this text fit?")] = None,
    researcher: Annotated[str | None, typer.Option(help="Which goals does this researcher's work fit?")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the Moonshot goals, or rank them for a text or a researcher."""
    rt = _runtime()
    with friendly_errors():
        if for_text is None and researcher is None:
            table = Table("id", "goal", "target", "agency", "fields")
            for g in rt.reference.goals:
                table.add_row(str(g.id), g.short_name, str(g.target_year), g.managing_agency, ", ".join(g.fields))
            out.print(table)
            return
        if for_text is not None and researcher is not None:
            fail("give --for TEXT or --researcher ID, not both", 2)
        snap = rt.snapshot()
        fits = rt.matcher.goals_for_text(snap, for_text) if for_text is not None else rt.matcher.goals_for_researcher(snap, researcher or "")
    if as_json:
        sys.stdout.write(json.dumps([f.__dict__ for f in fits], ensure_ascii=False, indent=1) + "\n")
        return
    table = Table("goal", "name", "score", "fit")
    for fit in fits:
        table.add_row(str(fit.goal_id), fit.short_name, f"{fit.score:.3f}", fit.strength)
    out.print(table)
    if fits and fits[0].strength != "strong":
        out.print(f"No goal fits this well: the best, {fits[0].short_name}, is only a {fits[0].strength} fit.", highlight=False)


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Counts by country and by inferred field: of the served index, or of the store while no index is built."""
    rt = _runtime()
    with friendly_errors():
        try:
            snap = rt.snapshot()
        except NotReady as exc:
            with rt.store() as store:
                doc = {"index_version": None, "model": None, "researchers": store.researcher_count(),
                       "publications": store.publication_count(), "by_country": store.country_counts(), "by_field": {},
                       "note": f"store only: {exc.detail}"}
        else:
            unknown = snap.researcher_count - sum(snap.country_counts().values())
            doc = {"index_version": snap.version, "model": snap.model, "researchers": snap.researcher_count,
                   "publications": snap.publication_count,
                   "by_country": dict(sorted({**snap.country_counts(), **({"unknown": unknown} if unknown else {})}.items(), key=lambda kv: -kv[1])),
                   "by_field": dict(snap.main_field_counts().most_common())}
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
        return
    where = f"Index {doc['index_version']} ({doc['model']})" if doc["index_version"] else f"Store {rt.settings.store_path} (no index yet)"
    out.print(f"{where}: {doc['researchers']} researchers, {doc['publications']} publications", highlight=False)
    if "note" in doc:
        err.print("Fields are inferred when the index is built: `kakehashi index build`.")
    for title, counts in (("country", doc["by_country"]), ("main field", doc["by_field"])):
        if counts:
            table = Table(title, "researchers")
            for key, value in counts.items():
                table.add_row(key, str(value))
            out.print(table)


@app.command()
def evaluate(
    quick: Annotated[bool, typer.Option(help="Small sets: 300 demo researchers, 60 held-out queries.")] = False,
    openalex: Annotated[Path | None, typer.Option(help="OpenAlex records for the held-out publication set.")] = None,
    config: Annotated[list[str], typer.Option(help="Only these configurations (repeatable).")] = [],
    split: Annotated[str | None, typer.Option(help="Only this half of the cross-lingual set: dev (chosen on) or test.")] = None,
    calibrate: Annotated[bool, typer.Option(help="Also the match strength's thresholds, from the first configuration's first results.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Measure ranking configurations on the labelled evaluation sets (hits@k, MRR, nDCG@10, pairwise loss)."""
    from service.evaluation.runner import (
        BASELINE,
        CONFIGURATIONS,
        Evaluation,
        calibration_report,
        rows_json,
    )

    rt = _runtime()
    source = openalex or OPENALEX_SAMPLE
    if not source.exists():
        err.print(f"No OpenAlex records at {source}: the held-out publication set is skipped.")
    chosen = [c for c in CONFIGURATIONS if not config or c.name in config]
    unknown = set(config) - {c.name for c in CONFIGURATIONS}
    if unknown:
        fail(f"unknown configuration(s) {sorted(unknown)}; known: {', '.join(c.name for c in CONFIGURATIONS)}", 2)
    with friendly_errors(), progress_bars() as factory:
        if split not in (None, "dev", "test"):
            raise InvalidInput(f"--split is dev or test, not {split!r}")
        evaluation = Evaluation(rt, source if source.exists() else None, quick, factory, split)
        rows = evaluation.run(chosen)
    calibration = calibration_report(evaluation, chosen[0].name, rt.settings) if calibrate else None
    if as_json:
        sys.stdout.write((rows_json(rows) if calibration is None else json.dumps({"rows": json.loads(rows_json(rows)), "calibration": calibration},
                                                                                  indent=1)) + "\n")
        return
    table = Table("configuration", "set", "queries", "hits@1", "hits@5", "hits@10", "MRR", "nDCG@10", "pair loss",
                  f"vs {BASELINE} [95% CI]", "first", "cov@10", "aspect MRR", "index", "model",
                  title=f"Evaluation ({'quick' if quick else 'full'} sets); pair loss: lower is better; "
                        f"vs {BASELINE}: difference in pair loss (graded sets) or MRR (the others), paired over the queries")
    for r in rows:
        versus = "-" if r.versus_baseline is None else "{:+.4f} [{:+.4f}, {:+.4f}]".format(*r.versus_baseline)
        table.add_row(r.configuration, r.set, str(r.queries), f"{r.hits1:.3f}", f"{r.hits5:.3f}", f"{r.hits10:.3f}",
                      f"{r.mrr:.3f}", f"{r.ndcg10:.3f}", "-" if r.loss is None else f"{r.loss:.4f}", versus, str(r.distinct_first),
                      "-" if r.coverage10 is None else f"{r.coverage10:.3f}", "-" if r.aspect_mrr is None else f"{r.aspect_mrr:.3f}",
                      r.index_version, r.model)
    wide = Console(width=max(out.width, 220))
    wide.print(table)
    if calibration is not None:
        wide.print_json(data=calibration)
    wide.print("  first: how many different researchers come first over the set's queries (few: a hub comes first for many)")
    for c in chosen:
        pair = {r.set: r for r in rows if r.configuration == c.name and r.set.startswith("crosslingual_")}
        en, ja = pair.get(f"crosslingual_en{'_' + split if split else ''}"), pair.get(f"crosslingual_ja{'_' + split if split else ''}")
        if en and ja and en.mrr:
            wide.print(f"  {c.name}: Japanese / English MRR {ja.mrr / en.mrr:.2f}x, distinct first {ja.distinct_first} / "
                       f"{en.distinct_first} = {ja.distinct_first / max(en.distinct_first, 1):.2f}x", highlight=False)
    for c in chosen:
        wide.print(f"  {c.name}: {c.description}", highlight=False)


if __name__ == "__main__":
    app()
