"""Projects with several needs (issue 19): the needs found in a text or given, each result's
coverage of each need, a first page that covers every need with good candidates, and a team that
covers them under the route and country rules."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.http.app import create_app
from service.matching.aspects import find_aspects, group, pieces
from service.matching.diversify import aspect_order, coverage
from service.matching.query import TeamRules
from service.matching.team import TeamCandidate, suggest_team
from service.runtime import Runtime
from tests.conftest import authorized

TWO_NEEDS = "GaN power transistors and EUV lithography"


def test_a_text_is_cut_into_the_pieces_that_state_needs() -> None:
    assert pieces(TWO_NEEDS) == ["GaN power transistors", "EUV lithography"]
    assert pieces("We seek partners for GaN power transistors, EUV lithography and thermal management.") == [
        "GaN power transistors", "EUV lithography", "thermal management"]
    assert pieces("GaNパワートランジスタとEUVリソグラフィ") == ["GaNパワートランジスタ", "EUVリソグラフィ"]
    # one need: words that only say a partner is sought are no need of their own
    assert pieces("research and development of solid-state batteries") == ["development of solid-state batteries"]
    assert pieces("Quantum error correction with surface codes") == ["Quantum error correction with surface codes"]
    # short sentences, paragraphs and list items are pieces; a longer single paragraph is one need
    assert pieces("We need GaN power transistors. We also need EUV lithography.") == ["GaN power transistors", "EUV lithography"]
    assert pieces("Our project:\n- GaN power transistors\n- EUV lithography\n2) thermal management of chiplets") == [
        "GaN power transistors", "EUV lithography", "thermal management of chiplets"]
    abstract = "We study the growth of GaN layers on silicon substrates for power devices. " * 2 + "Then we pattern wafers by EUV lithography."
    assert pieces(abstract) == [abstract.strip()]
    assert pieces(abstract + "\n\n" + "Cryogenic electronics for qubit readout.") == [abstract.strip(" ."), "Cryogenic electronics for qubit readout"]
    assert pieces("機械学習と量子計算") == ["機械学習", "量子計算"]
    # a fragment stays with the clause it depends on; a document of many paragraphs is one need
    assert pieces("Clinical features of patients infected with novel coronavirus in Wuhan, China") == [
        "Clinical features of patients infected with novel coronavirus in Wuhan, China"]
    assert len(pieces("ab cd\n\n" * 3000)) == 1 and pieces("graphene sheets" + " " * 8000 + "and EUV lithography") == ["graphene sheets", "EUV lithography"]


def test_pieces_about_the_same_thing_merge_into_one_need() -> None:
    a, b = np.eye(3)[0], np.eye(3)[1]
    vectors = np.array([a, a * 0.9 + b * 0.1, b, a])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert group(vectors, merge_similarity=0.5) == [[0, 1, 3], [2]]
    assert group(vectors, merge_similarity=-1.0) == [[0, 1, 2, 3]]
    assert len(group(np.eye(6), merge_similarity=0.5)) == 4  # never more than four needs
    # one piece, or pieces that all say the same: no aspects, the query is matched as a whole
    encode = lambda texts: np.tile(a, (len(texts), 1))  # noqa: E731
    assert find_aspects(TWO_NEEDS, encode, 0.3) == [] and find_aspects("quantum sensing", encode, 0.3) == []


def test_the_first_positions_cover_a_need_that_the_whole_query_ranks_low() -> None:
    scores = np.array([0.9, 0.85, 0.8, 0.75, 0.7, 0.3])  # for the whole query
    aspect_topical = np.array([[0.7, 0.0], [0.65, 0.0], [0.6, 0.0], [0.6, 0.0], [0.55, 0.0], [0.0, 0.7]])
    aspect_scores = aspect_topical + 0.1  # weighted as the whole: the last serves the second need as well as the first the first
    order = np.argsort(-scores)
    diversified = aspect_order(order, scores, aspect_scores, aspect_topical, fair=0.33, diversity=0.5, depth=3)
    assert 5 in diversified[:3] and list(diversified[:1]) == [0]
    assert sorted(diversified.tolist()) == list(range(6))  # nothing lost, nothing repeated
    assert list(aspect_order(order, scores, aspect_scores, aspect_topical, 0.33, diversity=0.0)) == list(order)
    # a need that no one serves fairly takes no part: with one need left, the whole query's order stands
    unserved = aspect_topical.copy()
    unserved[5, 1] = 0.3
    assert list(aspect_order(order, scores, aspect_scores, unserved, 0.33, diversity=0.5, depth=3)) == list(order)
    assert not coverage(np.array([[0.2], [0.1]]), fair=0.33).any()


def test_a_team_covers_every_need_first_then_respects_the_country_rule_and_prefers_direct_routes() -> None:
    c = [
        TeamCandidate(0.9, frozenset({0}), "DE", False),
        TeamCandidate(0.85, frozenset({0}), "DE", False),
        TeamCandidate(0.8, frozenset({0}), "FR", False),
        TeamCandidate(0.4, frozenset({1}), "DE", True),
        TeamCandidate(0.35, frozenset({1}), "US", True),
        TeamCandidate(0.5, frozenset({0}), "SG", True),
    ]
    team = suggest_team(c, aspects=2, rules=TeamRules(size=2, max_per_country=1))
    assert team.members == (0, 4) and team.uncovered == () and team.covered_by == {0: (0,), 1: (4,)}
    # the best two by score (0, 1) would cover one need from one country
    team = suggest_team(c, aspects=2, rules=TeamRules(size=2, max_per_country=None))
    assert team.members == (0, 3)
    team = suggest_team(c, aspects=2, rules=TeamRules(size=2, max_per_country=1, prefer_direct=True))
    assert team.members == (5, 3)
    assert all(c[i].direct for i in team.members) and team.uncovered == ()
    team = suggest_team(c, aspects=3, rules=TeamRules(size=3))
    assert team.uncovered == (2,) and len(team.members) == 3 and len({c[i].country for i in team.members}) == 3
    assert suggest_team([], 2, TeamRules()).uncovered == (0, 1)


@pytest.fixture(scope="module")
def client(shared_runtime: Runtime) -> TestClient:
    return TestClient(create_app(shared_runtime))


def _covers(match: dict, aspect: int) -> bool:
    return any(f["aspect"] == aspect and f["covered"] for f in match["aspects"])


def test_a_two_need_query_returns_both_kinds_of_researcher_on_its_first_page(client: TestClient) -> None:
    page = client.post("/v1/matches", json={"query": {"text": TWO_NEEDS}, "limit": 10}).json()
    assert [a["text"] for a in page["aspects"]] == ["GaN power transistors", "EUV lithography"]
    first = page["data"]
    assert any(_covers(m, 0) for m in first) and any(_covers(m, 1) for m in first)
    euv = next(m for m in first if _covers(m, 1))
    evidence = next(f["evidence"] for f in euv["aspects"] if f["aspect"] == 1)
    assert "lithograph" in evidence["title"].lower()
    for m in first:  # the match strength is the best of the whole's and each need's
        best = max([m["components"]["topical"]] + [f["topical"] for f in m["aspects"]])
        assert m["match_strength"] == ("strong" if best >= 0.498 else "fair" if best >= 0.33 else "weak")
    # without the needs, one vector for the whole: the page holds one kind only
    whole = client.post("/v1/matches", json={"query": {"text": "GaN power transistors"}, "limit": 10}).json()
    assert whole["aspects"] == [] and all(m["aspects"] == [] for m in whole["data"])


def test_needs_given_by_the_caller_and_bad_ones(client: TestClient) -> None:
    body = {"query": {"text": "a new power device line", "aspects": ["vertical GaN power diodes", "extreme ultraviolet lithography"]}}
    page = client.post("/v1/matches", json=body).json()
    assert [a["text"] for a in page["aspects"]] == body["query"]["aspects"]
    goal = client.post("/v1/matches", json={"query": {"goal_id": 6, "aspects": ["superconducting qubits", "error correction"]}}).json()
    assert len(goal["aspects"]) == 2
    for aspects in (["only one"], ["a", "b", "c", "d", "e"]):
        assert client.post("/v1/matches", json={"query": {"text": "x y", "aspects": aspects}}).status_code == 422
    answer = client.post("/v1/matches", json={"query": {"text": "power", "aspects": ["GaN devices", "🚀🚀"]}})
    assert answer.status_code == 422 and "aspects[1]" in answer.json()["detail"]
    scores = client.post("/v1/scores", json={"query": {"text": "power", "aspects": ["GaN devices", "EUV"]}, "researcher_ids": ["demo-R00001"]})
    assert scores.status_code == 422 and "whole query" in scores.json()["detail"]


def test_a_team_in_the_api_covers_both_needs_from_different_countries(client: TestClient) -> None:
    page = client.post("/v1/matches", json={"query": {"text": TWO_NEEDS}, "team": {"size": 3, "max_per_country": 1}}).json()
    team = page["team"]
    assert team["uncovered"] == [] and 2 <= len(team["members"]) <= 3
    assert {a for m in team["members"] for a in m["covers"]} == {0, 1}
    countries = [m["match"]["researcher"]["country"] for m in team["members"]]
    assert len(set(countries)) == len(countries)
    for m in team["members"]:
        assert all(_covers(m["match"], a) for a in m["covers"])
    assert any("covers EUV lithography" in line for line in team["explanation"])
    direct = client.post("/v1/matches", json={"query": {"text": TWO_NEEDS}, "team": {"size": 2, "prefer_direct": True}}).json()["team"]
    assert direct["uncovered"] == [] and direct["rules"]["prefer_direct"]
    # one need: the team covers the query as a whole
    single = client.post("/v1/matches", json={"query": {"text": "GaN power transistors"}, "team": {"size": 2}}).json()["team"]
    assert len(single["members"]) == 2 and single["uncovered"] == []
    for size in (0, 1, 9):
        assert client.post("/v1/matches", json={"query": {"text": TWO_NEEDS}, "team": {"size": size}}).status_code == 422
    # a member's rank is theirs in the results
    ranks = [m["match"]["rank"] for m in page["team"]["members"]]
    listed = client.post("/v1/matches", json={"query": {"text": TWO_NEEDS}, "limit": 50}).json()["data"]
    assert all(listed[r - 1]["researcher"]["id"] == m["match"]["researcher"]["id"] for r, m in zip(ranks, page["team"]["members"]))


def test_the_page_names_the_needs_and_refuses_a_single_given_one(client: TestClient) -> None:
    html = client.get("/", params={"q": TWO_NEEDS, "team": "2"}).text
    assert "2 needs found in the description" in html and "A suggested team of 2" in html and "Needs covered" in html
    bad = client.get("/", params={"q": TWO_NEEDS, "needs": "only one need"})
    assert bad.status_code == 422 and "Name 2 to 4 needs" in bad.text
    for params in ({"team": "²"}, {"team": "--3"}, {"team": "1"}, {"team": "2", "team_per_country": "٣"}):
        odd = client.get("/", params={"q": TWO_NEEDS, **params})
        assert odd.status_code == 422 and "must be a whole number" in odd.text


def test_a_batch_suggests_a_team_per_project_and_says_what_each_row_covers(demo_runtime: Runtime) -> None:
    from tests.test_batch import wait

    with TestClient(create_app(demo_runtime)) as plain:
        api = authorized(plain, demo_runtime, "batch")
        body = {"queries": [{"id": "p1", "query": {"text": TWO_NEEDS}}, {"id": "p2", "query": {"text": "EUV lithography"}}],
                "options": {"limit": 3, "team": {"size": 2, "max_per_country": 1}}}
        job = wait(api, api.post("/v1/batch-jobs", json=body).json()["id"])
        assert job["state"] == "succeeded"
        rows = list(csv.DictReader(io.StringIO(api.get(f"/v1/batch-jobs/{job['id']}/results?format=csv").text)))
    first = [r for r in rows if r["query_id"] == "p1"]
    team = [r for r in first if r["team_member"] == "True"]
    assert len(team) == 2 and len({r["country"] for r in team}) == 2
    assert {n for r in team for n in r["aspects_covered"].split(";") if n} == {"GaN power transistors", "EUV lithography"}
    assert [int(r["rank"]) for r in first][:3] == [1, 2, 3] and len(first) >= 3  # members beyond the first three come with their rank
    assert all(r["team_member"] == "False" for r in first if r not in team)
    second = [r for r in rows if r["query_id"] == "p2"]
    assert all(r["aspects_covered"] == "" for r in second) and sum(r["team_member"] == "True" for r in second) == 2
