"""The web page, over HTTP without a browser: what each page shows, its error and empty states, the
CSV export and the batch form. tests/test_browser.py drives the same pages in Chromium."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.batch.export import csv_chunks, spreadsheet_safe
from service.http.app import create_app
from service.http.search_form import FormErrors, SearchForm
from service.runtime import Runtime
from tests.conftest import api_key, fake_runtime

RESULT = re.compile(r'<h3 id="r(\d+)"><span class="rank">\d+\.</span> <a href="/researchers/([^"]+)">([^<]+)</a>')


def results(html: str) -> list[tuple[int, str, str]]:
    """(rank, researcher id, name) of each result on a search page."""
    return [(int(rank), rid, name) for rank, rid, name in RESULT.findall(html)]


def api_ids(client: TestClient, query: dict, filters: dict | None = None, limit: int = 10, offset: int = 0) -> list[str]:
    body = client.post("/v1/matches", json={"query": query, "filters": filters or {}, "limit": limit, "offset": offset}).json()
    return [m["researcher"]["id"] for m in body["data"]]


def test_the_empty_search_page_offers_the_form(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for control in ('id="q"', 'id="goal"', 'id="country"', 'id="exclude"', 'name="field"', 'id="min_h"', 'id="since"', 'id="w_topical"'):
        assert control in html
    assert "Goal 6: Fault-tolerant universal quantum computer" in html
    assert results(html) == []
    # every control has a label
    for control_id in re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', html):
        assert f'for="{control_id}"' in html, control_id


def test_a_goal_search_lists_the_same_partners_as_the_api_with_evidence_and_route(client: TestClient) -> None:
    html = client.get("/?goal=6").text
    shown = results(html)
    assert [r for r, _, _ in shown] == list(range(1, 11))
    assert [rid for _, rid, _ in shown] == api_ids(client, {"goal_id": 6})
    assert "Query: goal 6: Fault-tolerant universal quantum computer" in html
    assert html.count("Best-matching publications") == 10
    assert re.search(r'class="badge (joint|direct)"', html)
    assert "Export as CSV" in html and 'href="/export.csv?goal=6"' in html


def test_a_direct_route_spells_out_both_ip_conditions_and_a_joint_one_names_the_agencies(client: TestClient) -> None:
    direct = client.get("/?goal=6&country=TW").text
    assert "Direct route" in direct
    assert "shares 50% or more of the IP" in direct and "prior notification" in direct
    joint = client.get("/?goal=10&country=DE").text  # energy: the JST-BMBF arrangement is documented
    assert re.search(r'<span class="badge joint">Joint route · [^<]*BMBF', joint)
    uncertain = client.get("/?goal=6&country=DE").text  # quantum: only AdCORP, whose field scope is not documented
    assert re.search(r'<span class="badge joint">Joint route \(scope uncertain\) · DFG, BMBF', uncertain)


def test_a_country_filter_keeps_only_that_country_and_the_url_keeps_the_search(client: TestClient) -> None:
    html = client.get("/?q=quantum+error+correction&country=Germany").text
    shown = results(html)
    assert shown and [rid for _, rid, _ in shown] == api_ids(client, {"text": "quantum error correction"}, {"countries": ["DE"]})
    assert html.count('<a href="/countries/DE">Germany</a>') == len(shown)
    assert 'value="Germany"' in html  # the form shows what was typed


def test_pagination_links_carry_the_whole_search(client: TestClient) -> None:
    first = client.get("/?goal=6&country=US,DE&per=10").text
    assert re.search(r"Page 1 of \d+", first)
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert next_link == "/?goal=6&country=US%2CDE&page=2"
    second = client.get(next_link).text
    assert [r for r, _, _ in results(second)] == list(range(11, 21))
    assert [rid for _, rid, _ in results(second)] == api_ids(client, {"goal_id": 6}, {"countries": ["US", "DE"]}, offset=10)
    assert 'rel="prev"' in second


def test_bad_input_is_named_next_to_its_control_and_the_form_is_kept(client: TestClient) -> None:
    page = client.get("/?goal=6&country=Germny&min_h=-3&w_impact=eleven")
    assert page.status_code == 422
    html = page.text
    assert "Not a country name or ISO code: &#39;Germny&#39;" in html
    assert "Minimum h-index must be a whole number from 0 to 1000" in html
    assert "Weight of impact must be a number from 0 to 10" in html
    assert re.search(r'id="country"[^>]*value="Germny"[^>]*aria-invalid="true"', html)
    assert results(html) == []


def test_a_description_and_a_goal_together_are_refused(client: TestClient) -> None:
    page = client.get("/?q=robots&goal=3")
    assert page.status_code == 422 and "not more than one" in page.text


def test_a_search_with_no_match_says_so(client: TestClient) -> None:
    page = client.get("/?goal=6&country=Iceland")
    assert page.status_code == 200
    assert "No researchers match" in page.text and "No researcher in the index matches" in page.text


def test_a_page_past_the_end_offers_the_first(client: TestClient) -> None:
    page = client.get("/?goal=6&country=Iceland,Estonia&page=40")
    assert page.status_code == 200 and "this page is past the end" in page.text


def test_before_any_index_the_page_says_it_is_not_ready(tmp_path: Path) -> None:
    with TestClient(create_app(fake_runtime(tmp_path))) as fresh:
        assert fresh.get("/").status_code == 200
        page = fresh.get("/?goal=6")
        assert page.status_code == 503
        assert "The partner index is not ready yet" in page.text and 'id="q"' in page.text
        assert fresh.get("/countries/DE").status_code == 503


def test_csv_export_holds_the_whole_ranked_list(client: TestClient) -> None:
    response = client.get("/export.csv?goal=6&country=DE")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="kakehashi-matches.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    count = client.post("/v1/matches", json={"query": {"goal_id": 6}, "filters": {"countries": ["DE"]}}).json()["count"]
    assert len(rows) == count and count > 10
    assert [r["researcher_id"] for r in rows[:10]] == api_ids(client, {"goal_id": 6}, {"countries": ["DE"]})
    assert [int(r["rank"]) for r in rows] == list(range(1, count + 1))
    assert all(r["country"] == "DE" and r["funding_route"] in ("joint", "direct") and r["best_publications"] for r in rows)
    assert client.get("/export.csv").status_code == 422


def test_csv_cells_that_a_spreadsheet_would_run_are_defused() -> None:
    assert spreadsheet_safe("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)" and spreadsheet_safe(-0.5) == -0.5 and spreadsheet_safe("Ada") == "Ada"
    text = "".join(csv_chunks([{"rank": 1, "name": "+cmd"}], ("rank", "name")))
    assert text == "rank,name\n1,'+cmd\n"


def test_researcher_page_and_more_like_this(client: TestClient) -> None:
    rid = results(client.get("/?goal=6").text)[0][1]
    profile = client.get(f"/v1/researchers/{rid}").json()
    page = client.get(f"/researchers/{rid}")
    assert page.status_code == 200
    html = page.text
    assert f"<h1>{profile['name']}</h1>" in html
    assert f"Publications ({len(profile['publications'])})" in html
    assert all(p["title"] in html for p in profile["publications"])
    assert "Funding route by field" in html and "Moonshot goals this work fits best" in html
    assert f'href="/?like={rid}"' in html
    like = client.get(f"/?like={rid}").text
    assert f"Researchers like <strong>{profile['name']}</strong>" in like
    assert rid not in [r for _, r, _ in results(like)] and results(like)
    missing = client.get("/researchers/no-such-person")
    assert missing.status_code == 404 and "no researcher with id" in missing.text


def test_country_view_shows_strength_routes_and_agencies(client: TestClient) -> None:
    api = client.get("/v1/countries/DE").json()
    html = client.get("/countries/de").text
    assert "<h1>Germany" in html and "DFG" in html
    strongest = max(api["strength"].items(), key=lambda kv: kv[1]["strength"])
    first_row = re.search(r'<table class="strength-chart">.*?<tbody>\s*<tr>\s*<th scope="row">([^<]+)</th>', html, re.S).group(1)
    assert first_row == client.app.state.runtime.reference.field(strongest[0]).label
    assert html.count('class="chart-cell"') == len(api["strength"])
    assert len(re.findall(r'<td><span class="badge (?:joint|direct)', html)) == len(api["routes"])
    assert client.get("/countries/XX").status_code == 404
    listing = client.get("/countries").text
    assert '<a href="/countries/DE">Germany</a>' in listing and '<a href="/countries/TW">' in listing


def test_the_page_loads_nothing_from_elsewhere(client: TestClient) -> None:
    for path in ("/", "/?goal=6", "/countries/DE", "/batch"):
        html = client.get(path).text
        assert not re.search(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', html), path
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/batch.js").status_code == 200


@pytest.fixture()
def served(demo_runtime: Runtime):  # type: ignore[no-untyped-def]
    """The page with a batch key entered on /key (kept in its cookie)."""
    with TestClient(create_app(demo_runtime)) as client:
        entered = client.post("/key", data={"key": api_key(demo_runtime, "batch")}, follow_redirects=False)
        assert entered.status_code == 303 and "httponly" in entered.headers["set-cookie"].lower()
        yield client


def test_the_batch_form_queues_a_job_that_runs_to_its_downloads(served: TestClient) -> None:
    upload = "id,text,goal_id\np1,superconducting qubits,\np2,,6\n"
    submitted = served.post("/batch", files={"file": ("projects.csv", upload, "text/csv")}, data={"limit": "4"}, follow_redirects=False)
    assert submitted.status_code == 303
    job_page = submitted.headers["location"]
    job_id = job_page.rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    while served.get(f"/v1/batch-jobs/{job_id}").json()["state"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    html = served.get(job_page).text
    assert "succeeded" in html and "2 of 2 projects done" in html
    assert f'href="/v1/batch-jobs/{job_id}/results?format=csv"' in html
    rows = list(csv.DictReader(io.StringIO(served.get(f"/v1/batch-jobs/{job_id}/results?format=csv").text)))
    assert len(rows) == 8 and all(r["team_member"] == "" for r in rows)
    assert job_id in served.get("/batch").text
    # with a team per project (the form's team fields): two members from two countries per project
    teamed = served.post("/batch", files={"file": ("projects.csv", "id,text\np1,GaN power transistors and EUV lithography\n", "text/csv")},
                         data={"limit": "3", "team": "2", "team_per_country": "1"}, follow_redirects=False)
    team_id = teamed.headers["location"].rsplit("/", 1)[1]
    while served.get(f"/v1/batch-jobs/{team_id}").json()["state"] != "succeeded":
        assert time.monotonic() < deadline + 60
        time.sleep(0.05)
    team = [r for r in csv.DictReader(io.StringIO(served.get(f"/v1/batch-jobs/{team_id}/results?format=csv").text)) if r["team_member"] == "True"]
    assert len(team) == 2 and len({r["country"] for r in team}) == 2


def test_a_bad_batch_file_is_explained_and_nothing_is_queued(served: TestClient) -> None:
    bad = "id,text,goal_id\np1,qubits,\np2,,99x\n"
    page = served.post("/batch", files={"file": ("projects.csv", bad, "text/csv")})
    assert page.status_code == 422
    assert "line 3" in page.text and "goal_id" in page.text
    assert served.get("/v1/batch-jobs").json()["count"] == 0
    rules = served.post("/batch", files={"file": ("p.csv", "id,goal_id\np1,6\n", "text/csv")},
                        data={"assign": "1", "partners": "2", "min_countries": "3"})
    assert rules.status_code == 422 and "min_countries (3) cannot exceed partners_per_project (2)" in rules.text


def test_a_form_posted_from_another_site_is_refused(served: TestClient) -> None:
    page = served.post("/batch", files={"file": ("p.csv", "id,goal_id\np1,6\n", "text/csv")}, headers={"Origin": "https://evil.example"})
    assert page.status_code == 403
    assert served.get("/v1/batch-jobs").json()["count"] == 0


def test_search_form_round_trips_through_its_url() -> None:
    form = SearchForm(text="qubits & more", country="DE, FR", fields=("quantum", "materials"), weights={"impact": "0.5"}, page="3")
    assert form.url() == "/?q=qubits+%26+more&country=DE%2C+FR&field=quantum&field=materials&w_impact=0.5&page=3"
    assert form.url(page="1") == "/?q=qubits+%26+more&country=DE%2C+FR&field=quantum&field=materials&w_impact=0.5"


def test_search_form_errors_name_their_controls(shared_runtime: Runtime) -> None:
    reference = shared_runtime.reference
    wanted = SearchForm(goal="6", country="germany; Korea", exclude="UK", min_h="5", since="2018", per="20", page="2").to_request(reference)
    assert wanted.query.goal_id == 6 and wanted.filters.countries == ["DE", "KR"] and wanted.filters.exclude_countries == ["GB"]
    assert (wanted.filters.min_h_index, wanted.filters.since_year, wanted.limit, wanted.offset) == (5, 2018, 20, 20)
    with pytest.raises(FormErrors) as caught:
        SearchForm(goal="11", since="1700", per="7", fields=("alchemy",), page="0").to_request(reference)
    assert set(caught.value.errors) == {"goal", "since", "per", "field", "page"}


def test_every_surface_gives_one_route_for_a_researcher_and_a_field(served: TestClient) -> None:
    """The card (API and page), the country view, the researcher view and a batch row take the route
    from one function, so they agree, for every route state: an arrangement, an uncertain one, none
    found, no government channel, a country not in the registry (Austria, an EU member, whose EU
    one-off project is evidence, never a route)."""
    cases = {  # country: (field, the route and its basis)
        "AT": ("semiconductors", ("unknown", "not_in_registry")), "NL": ("energy_fusion", ("direct", "no_arrangement_found")),
        "TW": ("semiconductors", ("direct", "no_government_channel")), "IN": ("materials", ("joint", "arrangement")),
        "GB": ("robotics", ("joint", "uncertain_arrangement")),
    }
    queries = [{"id": c, "query": {"text": "devices, materials and systems"}, "filters": {"fields": [f], "countries": [c]}} for c, (f, _) in cases.items()]
    job = served.post("/v1/batch-jobs", json={"queries": queries, "options": {"limit": 3}}).json()
    deadline = time.monotonic() + 60
    while served.get(f"/v1/batch-jobs/{job['id']}").json()["state"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    rows = {r["researcher_id"]: r for r in served.get(f"/v1/batch-jobs/{job['id']}/results?format=json").json()}
    for q in queries:
        country, (field, expected) = q["id"], cases[q["id"]]
        page = served.post("/v1/matches", json={k: q[k] for k in ("query", "filters")} | {"limit": 3}).json()
        assert page["query_fields"] == [field] and page["data"], country
        match = page["data"][0]
        card = match["funding_route"]
        assert (card["route"], card["basis"]) == expected, country
        assert served.get(f"/v1/countries/{country}").json()["routes"][field] == card
        routes = served.get(f"/v1/researchers/{match['researcher']['id']}").json()["funding_routes"]
        assert routes.get(field, card) == card
        row = rows[match["researcher"]["id"]]
        assert (row["funding_route"], row["route_basis"]) == expected
        assert all(o["kind"] != "one_off" for o in card["joint_options"]) and "EC" not in row["joint_agencies"]
        if country in ("AT", "NL"):  # the EU's one JST-EC project on power electronics: evidence only
            assert [o["partner_agencies"] for o in card["evidence"]] == [["EC"]] and card["via"] == ["EU"]
    html = served.get("/", params={"q": "devices, materials and systems", "field": "semiconductors", "country": "AT"}).text
    assert "Route not known · country not in the registry" in html and "evidence, not a route" in html
    listing = served.get("/countries").text
    assert re.search(r'countries/AT">Austria</a>.*?not in the registry yet.*?EU member \(EC\)', listing, re.S)
