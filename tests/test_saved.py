"""Saved searches and shortlists (issue 18): owned by the API key that made them (in open local mode,
by the browser), kept in the store; a saved search run again says which candidates are new since
the run before; a shortlist holds researchers with a note and exports as CSV for a proposal."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer.screening_lists import load_list
from kernel.paths import DEMO_SCREENING_LIST
from service.http.app import create_app
from service.runtime import Runtime
from tests.conftest import api_key, bearer, copy_state, fake_runtime

SEARCH = "q=quantum+error+correction+with+surface+codes&field=quantum_technology"


@pytest.fixture()
def rt(tmp_path: Path, demo_state: Path) -> Runtime:
    state = copy_state(demo_state, tmp_path / "state")
    load_list(state / "kakehashi.sqlite", DEMO_SCREENING_LIST, "Demo screening list (fictional)", "2026-12-01")
    return fake_runtime(state)


def test_a_saved_search_says_what_is_new_after_an_ingest(rt: Runtime, tmp_path: Path) -> None:
    alice = bearer(api_key(rt, "read"))
    with TestClient(create_app(rt)) as client:
        made = client.post("/v1/saved-searches", json={"name": "Surface codes", "search": SEARCH}, headers=alice)
        assert made.status_code == 201, made.text
        saved = made.json()
        assert saved["url"].startswith("/?q=quantum+error+correction")
        again = client.post(f"/v1/saved-searches/{saved['id']}/runs", headers=alice).json()
        assert again["data"] and again["new"] == []  # nothing changed since it was saved

        newcomer = {"id": "house-new-1", "name": "Ada Newcomer", "country": "DE", "institution": "Fictional Quantum Lab",
                    "publications": [{"id": "house-new-p1", "title": "Quantum error correction with surface codes on superconducting qubits",
                                      "abstract": "Surface code decoding for quantum error correction.", "year": 2026}]}
        (tmp_path / "new.jsonl").write_text(json.dumps(newcomer) + "\n", encoding="utf-8")
        rt.ingest(tmp_path / "new.jsonl")
        rt.build_index()
        rt.holder.refresh()
        third = client.post(f"/v1/saved-searches/{saved['id']}/runs", headers=alice).json()
        assert third["new"] == ["house-new-1"] and third["data"][0]["researcher"]["id"] == "house-new-1"
        assert client.get("/v1/saved-searches", headers=alice).json()["count"] == 1

        bad = client.post("/v1/saved-searches", json={"name": "Broken", "search": "country=DE"}, headers=alice)
        assert bad.status_code == 422 and "nothing to search for" in bad.json()["detail"]
        twice = client.post("/v1/saved-searches", json={"name": "Surface codes", "search": SEARCH}, headers=alice)
        assert twice.status_code == 409


def test_another_key_cannot_see_them_and_a_shortlist_round_trips_to_csv(rt: Runtime) -> None:
    alice, bob = bearer(api_key(rt, "read")), bearer(api_key(rt, "read"))
    with TestClient(create_app(rt)) as client:
        saved = client.post("/v1/saved-searches", json={"name": "Mine", "search": SEARCH}, headers=alice).json()
        shortlist = client.post("/v1/shortlists", json={"name": "Proposal 2027"}, headers=alice).json()
        found = client.post("/v1/matches", json={"query": {"text": "semiconductor packaging"}, "filters": {"countries": ["CN"]}, "limit": 3},
                            headers=alice).json()["data"]
        for m in found:
            put = client.post(f"/v1/shortlists/{shortlist['id']}/items", headers=alice,
                              json={"researcher_id": m["researcher"]["id"], "note": f"=asked {m['researcher']['name']} in March"})
            assert put.status_code == 200, put.text
        changed = client.post(f"/v1/shortlists/{shortlist['id']}/items", headers=alice,
                              json={"researcher_id": found[0]["researcher"]["id"], "note": "共同研究の候補"}).json()
        assert [i["note"] for i in changed["items"]][0] == "共同研究の候補" and len(changed["items"]) == 3
        unknown = client.post(f"/v1/shortlists/{shortlist['id']}/items", headers=alice, json={"researcher_id": "nobody-at-all"})
        assert unknown.status_code == 404

        exported = client.get(f"/v1/shortlists/{shortlist['id']}/export", headers=alice)
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [r["researcher_id"] for r in rows] == [m["researcher"]["id"] for m in found]
        assert rows[0]["note"] == "共同研究の候補" and rows[1]["note"].startswith("'=asked")  # a formula is not run by a spreadsheet
        first = found[0]["researcher"]
        assert rows[0]["name"] == first["name"] and rows[0]["country"] == "CN"
        assert rows[0]["funding_route"] in ("joint", "direct", "unknown") and rows[0]["route_basis"]
        assert rows[0]["japan_ties"] != "" and rows[0]["screened_against"] == "Demo screening list (fictional) (2026-12-01)"

        for path in (f"/v1/saved-searches/{saved['id']}", f"/v1/shortlists/{shortlist['id']}", f"/v1/shortlists/{shortlist['id']}/export"):
            assert client.get(path, headers=bob).status_code == 404
        assert client.post(f"/v1/saved-searches/{saved['id']}/runs", headers=bob).status_code == 404
        assert client.delete(f"/v1/shortlists/{shortlist['id']}", headers=bob).status_code == 404
        assert client.get("/v1/shortlists", headers=bob).json()["count"] == 0

        removed = client.delete(f"/v1/shortlists/{shortlist['id']}/items/{first['id']}", headers=alice).json()
        assert len(removed["items"]) == 2
        assert client.delete(f"/v1/shortlists/{shortlist['id']}", headers=alice).status_code == 204
        assert client.get(f"/v1/shortlists/{shortlist['id']}", headers=alice).status_code == 404


def test_in_open_local_mode_they_belong_to_the_browser(rt: Runtime) -> None:
    with TestClient(create_app(rt)) as client:
        nobody = client.post("/v1/shortlists", json={"name": "x"})
        assert nobody.status_code == 401 and "browser" in nobody.json()["detail"]
        page = client.post("/saved", data={"name": "From the page", "search": SEARCH}, headers={"origin": "http://testserver"},
                           follow_redirects=False)
        assert page.status_code == 303 and "kakehashi_browser" in page.cookies
        listed = client.get("/v1/saved-searches").json()  # the same browser, by its cookie
        assert [s["name"] for s in listed["data"]] == ["From the page"]
        other = TestClient(create_app(rt))
        assert other.get("/v1/saved-searches").status_code == 401
        other.cookies.set("kakehashi_browser", "another-browser")
        assert other.get("/v1/saved-searches").json()["count"] == 0
        forged = client.post("/v1/shortlists", json={"name": "x"}, headers={"origin": "https://evil.example"})
        assert forged.status_code == 403  # a browser's cookie changes nothing from another site
