"""Ties to Japan and funding history (issue 17, items 1 and 2): works co-authored with authors in
Japan, counted at build time from the records, shown on every result, the researcher view and
batch rows, a filter and a ranking component that is off by default; the funders of a researcher's
works, counted and linked to the registry by id."""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.http.app import create_app
from service.matching.conflicts import conflicts_of
from service.matching.funding import funding_history
from service.matching.query import Filters, Query, Weights
from service.runtime import Runtime
from tests.conftest import OPENALEX_SAMPLE, authorized, copy_state, fake_runtime


def test_ties_on_real_records_match_a_hand_count(openalex_runtime: Runtime) -> None:
    """Counted by hand from the raw works: for each author, the stored works on which another
    authorship lists Japan among its countries."""
    snap = openalex_runtime.snapshot()
    stored = {str(p) for p in snap.pub_ids}
    expected: Counter[str] = Counter()
    years: dict[str, int] = {}
    with gzip.open(OPENALEX_SAMPLE / "works.jsonl.gz", "rt", encoding="utf-8") as handle:
        for work in map(json.loads, handle):
            wid = work["id"].rsplit("/", 1)[-1]
            if wid not in stored:
                continue
            authors = {a["author"]["id"].rsplit("/", 1)[-1]: a.get("countries") or [] for a in work.get("authorships") or [] if a["author"].get("id")}
            in_japan = {a for a, countries in authors.items() if "JP" in countries}
            for author in authors:
                if in_japan - {author}:
                    expected[author] += 1
                    years[author] = max(years.get(author, 0), work.get("publication_year") or 0)
    assert len(expected) > 100  # 11 works of the sample have an authorship in Japan
    counted = {str(rid): int(n) for rid, n in zip(snap.researcher_ids, snap.japan_ties) if n}
    assert counted == {a: n for a, n in expected.items() if a in set(map(str, snap.researcher_ids))}
    some = next(a for a in counted if counted[a] == max(counted.values()))
    row = snap.row(some)
    assert int(snap.japan_ties_year[row]) == years[some]
    works = snap.japan_tie_works(some)
    assert len(works) == counted[some] and all(w.coauthors for w in works)
    # the evaluation's held-out view: the held-out work is no tie either (else ties would leak the answer)
    held_out = int(np.flatnonzero(np.asarray(snap.pub_ids) == works[0].publication_id)[0])
    assert int(snap.without_publication(held_out).japan_ties[row]) == counted[some] - 1


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_state: Path) -> Runtime:
    state = tmp_path_factory.mktemp("demo-ties") / "state"
    copy_state(demo_state, state)  # its jobs and keys stay here
    return fake_runtime(state)


def test_the_demo_shows_ties_on_results_the_researcher_view_and_batch_rows(demo: Runtime) -> None:
    snap = demo.snapshot()
    tied = int(np.count_nonzero(snap.japan_ties))
    assert tied >= 150  # the demo's researchers in Japan co-wrote works of about 190 researchers abroad
    with TestClient(create_app(demo)) as client:
        authorized(client, demo, "batch")
        page = client.post("/v1/matches", json={"query": {"goal_id": 6}, "filters": {"japan_ties": "any"}, "limit": 5}).json()
        assert page["data"] and all(m["japan_ties"]["works"] >= 1 and m["japan_ties"]["latest_year"] for m in page["data"])
        first = page["data"][0]["researcher"]["id"]
        view = client.get(f"/v1/researchers/{first}").json()
        assert view["japan_ties"] == page["data"][0]["japan_ties"]
        assert all(c["id"].startswith("demo-R") and c["institution"] for w in view["japan_tie_works"] for c in w["coauthors_in_japan"])
        coauthor = view["japan_tie_works"][0]["coauthors_in_japan"][0]["id"]
        assert client.get(f"/v1/researchers/{coauthor}").json()["country"] == "JP"
        html = client.get(f"/researchers/{first}").text
        assert "Ties to Japan" in html and view["japan_tie_works"][0]["title"] in html
        card = client.get("/", params={"goal": "6", "ties": "any"}).text
        assert re.search(r'class="card-facts">.*?Japan ties: \d+ works?, latest \d{4}', card, re.S)
        none = client.post("/v1/matches", json={"query": {"goal_id": 6}, "filters": {"japan_ties": "none"}, "limit": 50}).json()
        assert all(m["japan_ties"]["works"] == 0 for m in none["data"])
        job = client.post("/v1/batch-jobs", json={"queries": [{"id": "q", "query": {"goal_id": 6}, "filters": {"japan_ties": 2}}]}).json()
        deadline = time.monotonic() + 60
        while client.get(f"/v1/batch-jobs/{job['id']}").json()["state"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        rows = client.get(f"/v1/batch-jobs/{job['id']}/results?format=json").json()
        assert rows and all(r["japan_ties"] >= 2 and r["japan_ties_latest_year"] for r in rows)


def test_the_ties_component_is_off_by_default_and_weighable(demo: Runtime) -> None:
    snap = demo.snapshot()
    plain = demo.matcher.match(snap, Query(goal_id=3), limit=20)
    assert all(m.components.ties is not None for m in plain.matches)
    assert plain.weights.ties == 0  # left out of the score unless asked for
    weighed = demo.matcher.match(snap, Query(goal_id=3), Filters(), Weights(ties=1.0), limit=20)
    mean_ties = lambda page: np.mean([m.ties.works for m in page.matches])  # noqa: E731
    assert mean_ties(weighed) > mean_ties(plain)  # weighing it in brings researchers with ties up


def test_funders_are_counted_from_the_works_and_linked_to_the_registry_by_id(openalex_runtime: Runtime) -> None:
    snap = openalex_runtime.snapshot()
    with sqlite3.connect(openalex_runtime.settings.store_path) as conn:  # a researcher on a work that names NSF (F4320306076)
        rid = conn.execute("SELECT a.researcher_id FROM work_funding f JOIN authorships a ON a.publication_id = f.publication_id "
                           "WHERE f.funder_id = 'F4320306076' ORDER BY 1 LIMIT 1").fetchone()[0]
        works = conn.execute("SELECT COUNT(DISTINCT f.publication_id) FROM work_funding f JOIN authorships a ON a.publication_id = f.publication_id "
                             "WHERE f.funder_id = 'F4320306076' AND a.researcher_id = ?", (rid,)).fetchone()[0]
    rows = snap.funders_of([rid])[rid]
    covered = funding_history(rows, ["artificial_intelligence"], openalex_runtime.reference)
    nsf = next(f for f in covered.funders if f.id == "F4320306076")
    assert (nsf.agency, nsf.agency_country, nsf.works) == ("NSF", "US", works) and nsf.arrangement and "JST" in nsf.arrangement
    assert "Funded by NSF on" in covered.summary and "has an arrangement with a Japanese agency" in covered.summary
    uncovered = funding_history(rows, ["quantum_technology"], openalex_runtime.reference)
    assert not uncovered.with_arrangement and "no funder with a Japanese arrangement" in uncovered.summary
    assert all(f.agency is None for f in uncovered.funders if f.id not in {i for e in openalex_runtime.reference.registry.values()
                                                                           for a in e.agencies for i in a.ids})  # by id, never by name
    with TestClient(create_app(openalex_runtime)) as client:
        view = client.get(f"/v1/researchers/{rid}").json()
        assert any(f["agency"] == "NSF" and f["works"] == works for f in view["funding"]["funders"])
        assert "Funding history" in client.get(f"/researchers/{rid}").text


def _recent_coauthors(rt: Runtime) -> tuple[str, str, str, str]:
    """A PI with a work of the last three years, a co-author of it, that work's title, and the PI's ORCID."""
    with sqlite3.connect(rt.settings.store_path) as conn:
        pi, coauthor, title = conn.execute(
            "SELECT a.researcher_id, b.researcher_id, p.title FROM authorships a JOIN authorships b ON b.publication_id = a.publication_id "
            "AND b.researcher_id != a.researcher_id JOIN publications p ON p.id = a.publication_id JOIN researchers r ON r.id = a.researcher_id "
            "WHERE p.year >= strftime('%Y', 'now') - 3 AND r.orcid IS NOT NULL "
            "AND (SELECT COUNT(*) FROM authorships c WHERE c.publication_id = p.id) <= 8 "  # a small team: others match the title too
            "ORDER BY a.researcher_id, b.researcher_id LIMIT 1").fetchone()
        orcid = conn.execute("SELECT orcid FROM researchers WHERE id = ?", (pi,)).fetchone()[0]
    return pi, coauthor, title, orcid


def test_a_pis_recent_coauthors_and_colleagues_are_left_out_or_flagged(openalex_runtime: Runtime) -> None:
    snap = openalex_runtime.snapshot()
    pi, coauthor, title, orcid = _recent_coauthors(openalex_runtime)
    query, everyone = Query(text=title), Filters(include_japan=True)
    plain = {m.researcher.id for m in openalex_runtime.matcher.match(snap, query, everyone, limit=50).matches}
    assert coauthor in plain
    for named in (pi, f"https://openalex.org/{pi}", f"https://orcid.org/{orcid}"):  # a researcher id, an OpenAlex URL, an ORCID
        left_out = openalex_runtime.matcher.match(snap, query, everyone.model_copy(update={"pi": named}), limit=50)
        assert coauthor not in {m.researcher.id for m in left_out.matches} and pi not in {m.researcher.id for m in left_out.matches}
    flagged = openalex_runtime.matcher.match(snap, query, everyone.model_copy(update={"pi": pi, "include_conflicts": True}), limit=50)
    hit = next(m for m in flagged.matches if m.researcher.id == coauthor)
    assert hit.conflict is not None and hit.conflict.coauthored and "co-authored" in hit.conflict.reason
    with pytest.raises(Exception, match="not in index version"):
        openalex_runtime.matcher.match(snap, query, everyone.model_copy(update={"pi": "A0000000000"}))
    # colleagues: the same institution by id, from the author records
    with sqlite3.connect(openalex_runtime.settings.store_path) as conn:
        boss, colleague, institution = conn.execute(
            "SELECT a.id, b.id, a.institution_id FROM openalex_authors a JOIN openalex_authors b ON b.institution_id = a.institution_id "
            "AND b.id > a.id JOIN researchers r ON r.id = b.id ORDER BY a.id LIMIT 1").fetchone()
    found = conflicts_of(snap, snap.row(boss), 2000)
    assert any(institution in named for named in found[snap.row(colleague)].institutions)


def test_an_institution_includes_its_parts_by_lineage_but_not_its_siblings(openalex_runtime: Runtime) -> None:
    """A researcher at a lab is the colleague of one at the body the lab is part of (OpenAlex's
    lineage); two labs of one body are not colleagues for that alone."""
    snap = openalex_runtime.snapshot()
    with sqlite3.connect(openalex_runtime.settings.store_path) as conn:
        at = "SELECT DISTINCT researcher_id FROM authorship_institutions WHERE institution_id = ?"
        lab, body = conn.execute(
            "SELECT l.institution_id, l.ancestor_id FROM institution_lineage l WHERE EXISTS (SELECT 1 FROM authorship_institutions a "
            "WHERE a.institution_id = l.ancestor_id) AND EXISTS (SELECT 1 FROM authorship_institutions a WHERE a.institution_id = "
            "l.institution_id) ORDER BY l.institution_id, l.ancestor_id LIMIT 1").fetchone()
        at_lab, at_body = [r[0] for r in conn.execute(at, (lab,))], [r[0] for r in conn.execute(at, (body,))]
        sibling = conn.execute("SELECT institution_id FROM institution_lineage WHERE ancestor_id = ? AND institution_id != ? "
                               "AND institution_id IN (SELECT institution_id FROM authorship_institutions) LIMIT 1", (body, lab)).fetchone()
        at_sibling = [r[0] for r in conn.execute(at, sibling)] if sibling else []
    found = conflicts_of(snap, snap.row(at_lab[0]), 0)
    assert {r for r in at_body if r != at_lab[0]} <= {str(snap.researcher_ids[row]) for row in found}
    assert any(body in named for r in at_body if r != at_lab[0] for named in found[snap.row(r)].institutions)
    for other in at_sibling:
        if other not in at_body and other not in at_lab and snap.row(other) in found:  # only for a reason of its own
            assert not any(body in named or sibling[0] in named for named in found[snap.row(other)].institutions)


def test_the_api_page_and_an_assignment_respect_a_pis_conflicts(openalex_runtime: Runtime) -> None:
    pi, coauthor, title, _ = _recent_coauthors(openalex_runtime)
    body = {"query": {"text": title}, "filters": {"include_japan": True, "pi": pi, "include_conflicts": True}, "limit": 50}
    with TestClient(create_app(openalex_runtime)) as client:
        authorized(client, openalex_runtime, "batch")
        page = client.post("/v1/matches", json=body).json()
        hit = next(m for m in page["data"] if m["researcher"]["id"] == coauthor)
        assert hit["conflict"]["coauthored"] and "co-authored" in hit["conflict"]["reason"]
        unknown = client.post("/v1/matches", json={**body, "filters": {"pi": "A0000000000"}})
        assert unknown.status_code == 404 and "conflicts of interest cannot be checked" in unknown.json()["detail"]
        html = client.get("/", params={"q": title, "pi": pi, "conflicts": "1", "per": "50"}).text
        assert "Conflict of interest" in html
        plain = client.post("/v1/matches", json={**body, "filters": {"include_japan": True}}).json()["data"]
        score = next(m["score"] for m in plain if m["researcher"]["id"] == coauthor)
        k = sum(m["score"] >= score for m in plain)  # the top k hold the co-author (and all who tie with them)

        def assigned(filters: dict[str, object]) -> list[dict[str, object]]:
            job = client.post("/v1/batch-jobs", json={"queries": [{"id": "p", "query": {"text": title}, "filters": filters}],
                                                      "options": {"assignment": {"partners_per_project": k, "candidates_per_project": 300}}}).json()
            deadline = time.monotonic() + 60
            while client.get(f"/v1/batch-jobs/{job['id']}").json()["state"] != "succeeded":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            return [r for r in client.get(f"/v1/batch-jobs/{job['id']}/results?format=json").json() if r["assigned"]]

        assert coauthor in {r["researcher_id"] for r in assigned({"include_japan": True})}  # without the PI, the pair is chosen
        chosen = assigned(body["filters"])
        assert len(chosen) == k and coauthor not in {r["researcher_id"] for r in chosen} and not any(r["conflict"] for r in chosen)


def _demo_pi(demo: Runtime) -> tuple[str, str, str, str]:
    """A researcher in Japan of the demo, a co-author abroad of a recent work, that work's title, and
    a colleague in Japan at the same institution (by the records' institution id)."""
    since = time.gmtime().tm_year - demo.settings.conflict_years
    with sqlite3.connect(demo.settings.store_path) as conn:
        return conn.execute(
            "SELECT pi.id, abroad.id, p.title, colleague.researcher_id FROM researchers pi "
            "JOIN authorships a ON a.researcher_id = pi.id JOIN publications p ON p.id = a.publication_id AND p.year >= ? "
            "JOIN authorships b ON b.publication_id = p.id JOIN researchers abroad ON abroad.id = b.researcher_id AND abroad.country != 'JP' "
            "JOIN declared_institutions mine ON mine.researcher_id = pi.id "
            "JOIN declared_institutions colleague ON colleague.institution_id = mine.institution_id AND colleague.researcher_id != pi.id "
            "WHERE pi.country = 'JP' ORDER BY pi.id, abroad.id LIMIT 1", (since,)).fetchone()


def test_the_demo_shows_funders_and_conflicts(demo: Runtime) -> None:
    """The demo's works name funders (registry agencies by their OpenAlex id) and its records their
    institution by id, so a PI's co-authors and colleagues are flagged there too."""
    snap = demo.snapshot()
    pi, coauthor, title, colleague = _demo_pi(demo)
    with TestClient(create_app(demo)) as client:
        authorized(client, demo, "read")
        us = client.post("/v1/matches", json={"query": {"goal_id": 3}, "filters": {"countries": ["US"]}, "limit": 20}).json()["data"]
        linked = [f for m in us for f in m["funding"]["funders"] if f["agency"]]
        assert {f["agency"] for f in linked} <= {"NSF", "NIH"} and linked and all(f["id"].startswith("F43") for f in linked)
        body = {"query": {"text": title}, "filters": {"include_japan": True, "pi": pi}, "limit": 100}
        left_out = {m["researcher"]["id"] for m in client.post("/v1/matches", json=body).json()["data"]}
        assert coauthor not in left_out and colleague not in left_out and pi not in left_out
        body["filters"]["include_conflicts"] = True
        flagged = {m["researcher"]["id"]: m["conflict"] for m in client.post("/v1/matches", json=body).json()["data"]}
        assert flagged[coauthor]["coauthored"] and flagged[coauthor]["short"].startswith("co-author of the PI")
        if colleague in flagged:  # ranked in the first 100 for this text
            assert flagged[colleague]["institutions"] and "at the PI's institution" in flagged[colleague]["short"]
        assert demo.matcher.conflict_with(snap, colleague, pi)[1] is not None
        view = client.get(f"/researchers/{coauthor}", params={"pi": pi}).text
        assert "Conflict of interest with" in view and "co-authored" in view
        stranger = next(m["researcher"]["id"] for m in us if demo.matcher.conflict_with(snap, m["researcher"]["id"], pi)[1] is None)
        assert "None found" in client.get(f"/researchers/{stranger}", params={"pi": pi}).text
        assert "cannot be checked" in client.get(f"/researchers/{stranger}", params={"pi": "A0000000000"}).text


def test_the_results_count_where_the_researchers_are_with_each_countrys_route(demo: Runtime) -> None:
    with TestClient(create_app(demo)) as client:
        authorized(client, demo, "read")
        page = client.post("/v1/matches", json={"query": {"goal_id": 1}, "limit": 50}).json()
        counted = {c["country"]: c for c in page["countries"]}
        assert sum(c["count"] for c in page["countries"]) == page["count"]
        assert [c["count"] for c in page["countries"]] == sorted((c["count"] for c in page["countries"]), reverse=True)
        for m in page["data"]:  # each result's route is its country's
            assert counted[m["researcher"]["country"]]["route"] == m["funding_route"]["route"]
            assert counted[m["researcher"]["country"]]["basis"] == m["funding_route"]["basis"]
        routes = {c["route"] for c in page["countries"]}
        assert {"joint", "direct"} <= routes
        html = client.get("/", params={"goal": "1"}).text
        chart = re.search(r'<figure class="country-chart">.*?</figure>', html, re.S)
        assert chart and f"Where the {page['count']} matching researchers are" in chart.group(0)
        bars = re.findall(r'<rect [^>]*class="route-(\w+)"', chart.group(0))
        assert len(bars) == min(12, len(page["countries"]))
        assert bars == [c["route"] if c["route"] in ("joint", "direct", "domestic") else "unknown" for c in page["countries"][:12]]
        assert 'href="/?goal=1&amp;country=' in chart.group(0)  # a bar filters to its country
