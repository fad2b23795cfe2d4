"""The HTTP API as other portals and the web page call it."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.http.app import create_app
from service.runtime import Runtime
from tests.conftest import authorized, fake_runtime, researcher, write_jsonl

PROBLEM = "application/problem+json"


def _problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["researchers"] == 2200


def test_not_ready_until_an_index_is_loaded(tmp_path: Path) -> None:
    with TestClient(create_app(fake_runtime(tmp_path))) as empty:
        assert empty.get("/healthz").status_code == 200
        assert "kakehashi index build" in _problem(empty.get("/readyz"), 503)["detail"]
        _problem(empty.post("/v1/matches", json={"query": {"goal_id": 1}}), 503)


def test_goals(client: TestClient) -> None:
    goals = client.get("/v1/goals").json()
    assert goals["count"] == 10 and goals["data"][5]["id"] == 6
    assert client.get("/v1/goals/6").json()["managing_agency"] == "JST"
    assert "goals are 1-10" in _problem(client.get("/v1/goals/11"), 404)["detail"]
    _problem(client.get("/v1/goals/six"), 422)


def test_match_page(client: TestClient) -> None:
    body = client.post("/v1/matches", json={"query": {"goal_id": 6}, "limit": 3, "offset": 2}).json()
    assert set(body) >= {"data", "count", "index_version", "model"}
    assert len(body["data"]) == 3 and body["count"] > 5 and body["data"][0]["rank"] == 3
    first = body["data"][0]
    assert set(first["components"]) == {"topical", "strength", "impact", "recency", "ties"}
    assert set(first["japan_ties"]) == {"works", "latest_year"}
    assert len(first["evidence"]) == 3 and first["researcher"]["fields"]
    assert first["country_strength"]["quantum_technology"]["strength"] >= 0
    route = first["funding_route"]
    assert route["route"] in {"joint", "direct", "unknown"} and (route["sources"] or route["basis"] == "not_in_registry")
    if route["route"] == "direct":
        assert route["no_counterpart_agency"] is True and len(route["ip_conditions"]) == 2
    else:
        assert route["joint_options"][0]["partner_agencies"]


def test_taiwan_result_is_flagged_direct_without_government_channel(client: TestClient) -> None:
    body = client.post("/v1/matches", json={"query": {"text": "EUV lithography photoresist"}, "filters": {"countries": ["TW"]}, "limit": 1}).json()
    route = body["data"][0]["funding_route"]
    assert (route["route"], route["no_government_channel"], route["no_counterpart_agency"]) == ("direct", True, True)


@pytest.mark.parametrize("payload, where", [
    ({"query": {}}, "query"),
    ({"query": {"text": "a", "goal_id": 1}}, "query"),
    ({"query": {"text": "   "}}, "query.text"),
    ({"query": {"goal_id": "six"}}, "query.goal_id"),
    ({"query": {"text": "chips"}, "filters": {"countries": ["Japan"]}}, "filters.countries"),
    ({"query": {"text": "chips"}, "limit": 0}, "limit"),
    ({"query": {"text": "chips"}, "limit": 5000}, "limit"),
    ({"query": {"text": "chips"}, "weights": {"topical": -1}}, "weights.topical"),
    ({"query": {"text": "chips"}, "filters": {"colour": "red"}}, "filters.colour"),
    ([1, 2, 3], "(body)"),
])
def test_invalid_match_requests_are_422_naming_the_field(client: TestClient, payload: object, where: str) -> None:
    body = _problem(client.post("/v1/matches", json=payload), 422)
    assert any(e["field"] == where for e in body["errors"]), body


def test_semantic_errors_are_422_or_404(client: TestClient) -> None:
    _problem(client.post("/v1/matches", json={"query": {"text": "chips"}, "filters": {"fields": ["alchemy"]}}), 422)
    _problem(client.post("/v1/matches", json={"query": {"goal_id": 11}}), 404)
    _problem(client.post("/v1/matches", json={"query": {"researcher_id": "nobody"}}), 404)
    _problem(client.post("/v1/matches", content=b"{not json", headers={"content-type": "application/json"}), 422)


def test_a_10_mb_request_is_refused_with_413(client: TestClient) -> None:
    body = _problem(client.post("/v1/matches", content=b"x" * 10_000_000, headers={"content-type": "application/json"}), 413)
    assert "1000000 bytes" in body["detail"]


def test_scores_for_given_researchers(client: TestClient) -> None:
    body = client.post("/v1/scores", json={"query": {"goal_id": 6}, "researcher_ids": ["demo-R00002", "demo-R00001"]}).json()
    assert [d["researcher_id"] for d in body["data"]] == ["demo-R00002", "demo-R00001"]
    assert all(0 <= d["score"] <= 1 for d in body["data"])
    assert "'nobody'" in _problem(client.post("/v1/scores", json={"query": {"goal_id": 6}, "researcher_ids": ["nobody"]}), 404)["detail"]
    _problem(client.post("/v1/scores", json={"query": {"goal_id": 6}, "researcher_ids": []}), 422)


def test_researcher_profile_and_goals(client: TestClient) -> None:
    body = client.get("/v1/researchers/demo-R00001").json()
    assert body["fictional"] is True and body["publications"] and body["funding_routes"]
    assert all(p["field"] for p in body["publications"])
    goals = client.get("/v1/researchers/demo-R00001/goals").json()
    assert goals["count"] == 10 and goals["data"][0]["score"] >= goals["data"][-1]["score"]
    _problem(client.get("/v1/researchers/nobody"), 404)
    _problem(client.get("/v1/researchers/nobody/goals"), 404)


def test_country_view(client: TestClient) -> None:
    body = client.get("/v1/countries/us").json()
    assert body["country"] == "US" and body["researchers"] > 100
    assert body["routes"]["artificial_intelligence"]["route"] == "joint"
    assert body["routes"]["quantum_technology"]["route"] == "direct"
    assert 0 <= body["strength"]["artificial_intelligence"]["strength"] <= 1
    assert client.get("/v1/countries/TW").json()["routes"]["semiconductors"]["no_government_channel"] is True
    assert client.get("/v1/countries/BR").json()["note"].startswith("Not in the counterpart agency registry yet")
    assert "Covered through EU (EC)" in client.get("/v1/countries/AT").json()["note"]
    _problem(client.get("/v1/countries/XX"), 404)
    _problem(client.get("/v1/countries/USA"), 422)


def test_openapi_is_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/v1/matches", "/v1/scores", "/v1/goals", "/v1/countries/{code}"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 200


def test_every_operation_has_a_short_stable_id_for_generated_clients(client: TestClient) -> None:
    """Clients generated from /openapi.json name their functions after these: `matches.create`,
    not FastAPI's `matches_v1_matches_post`."""
    operations = [op for path in client.get("/openapi.json").json()["paths"].values() for op in path.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z_]+\.[a-z]+", i) for i in ids), ids
    assert set(ids) == {
        "health.live", "health.ready", "metrics.get", "matches.create", "scores.create", "goals.list", "goals.get",
        "researchers.get", "researchers.goals", "researchers.put", "researchers.delete", "countries.get", "index.get",
        "batch_jobs.create", "batch_jobs.list", "batch_jobs.get", "batch_jobs.cancel", "batch_jobs.results",
        "saved_searches.list", "saved_searches.create", "saved_searches.get", "saved_searches.run", "saved_searches.delete",
        "shortlists.list", "shortlists.create", "shortlists.get", "shortlists.delete", "shortlists.export",
        "shortlist_items.put", "shortlist_items.delete",
    }


def test_an_unknown_page_is_a_page_and_an_unknown_api_path_a_problem(client: TestClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no page at /no-such-page." in page.text and 'href="/"' in page.text
    _problem(client.get("/v1/no-such-resource"), 404)


def test_japanese_query_without_a_multilingual_space_gets_a_clear_422(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path, multilingual=False)
    rt.ingest(write_jsonl(tmp_path / "in.jsonl", [researcher("r1")]))
    rt.build_index()
    with TestClient(create_app(rt)) as english_only:
        body = _problem(english_only.post("/v1/matches", json={"query": {"text": "台風の強度予測と豪雨の制御に関する共同研究"}}), 422)
        assert "English" in body["detail"] and "KAKEHASHI_MULTILINGUAL" in body["detail"]


def test_prometheus_metrics_count_requests_and_show_the_index_and_queue(demo_runtime: Runtime) -> None:
    runtime = fake_runtime(demo_runtime.settings.data_dir, batch_worker=False)
    with TestClient(create_app(runtime)) as api:
        authorized(api, runtime, "batch")
        for _ in range(3):
            api.post("/v1/matches", json={"query": {"goal_id": 6}})
        api.get("/v1/researchers/nobody")
        api.post("/v1/batch-jobs", json={"queries": [{"id": "q", "query": {"goal_id": 6}}]})
        text = api.get("/metrics").text
        index = api.get("/v1/index").json()
    assert 'kakehashi_http_requests_total{method="POST",route="/v1/matches",status="200"} 3.0' in text
    assert 'kakehashi_http_requests_total{method="GET",route="/v1/researchers/{researcher_id}",status="404"} 1.0' in text
    assert 'kakehashi_http_request_duration_seconds_count{method="POST",route="/v1/matches"} 3.0' in text
    assert f"kakehashi_index_publications {float(index['publications'])}" in text
    assert f'version="{index["index_version"]}"' in text
    assert 'kakehashi_batch_jobs{state="queued"} 1.0' in text


def test_a_match_says_where_its_time_went(client: TestClient) -> None:
    response = client.post("/v1/matches", json={"query": {"text": "gallium nitride power transistors"}})
    stages = dict(part.split(";dur=") for part in response.headers["server-timing"].split(", "))
    assert set(stages) == {"embed", "lexical", "resolve", "filter", "search", "rank", "screen", "explain", "serialise"}
    assert all(float(ms) >= 0 for ms in stages.values())
    goal = client.post("/v1/matches", json={"query": {"goal_id": 6}}).headers["server-timing"]
    assert "embed" not in goal and "search" in goal  # a goal's vector is stored: nothing to embed


def test_every_answer_says_which_model_and_space_answered_it(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path, multilingual_min_similarity=-1.0)
    rt.ingest(write_jsonl(tmp_path / "in.jsonl", [researcher("ja", "KR", ("超伝導量子ビットの誤り訂正",)), researcher("en", "DE")]))
    rt.build_index()
    with TestClient(create_app(rt)) as client:
        ja = client.post("/v1/matches", json={"query": {"text": "超伝導量子ビット"}}).json()
        assert ja["space"] == "multilingual" and ja["model"] == rt.settings.multilingual_model
        assert ja["scores_comparable_with_english"] is False and "English" in ja["note"]
        en = client.post("/v1/matches", json={"query": {"text": "quantum error correction"}}).json()
        assert en["space"] == "main" and en["model"] == rt.settings.model and en["scores_comparable_with_english"] and en["note"] is None
        scores = client.post("/v1/scores", json={"query": {"text": "超伝導量子ビット"}, "researcher_ids": ["ja"]}).json()
        assert scores["space"] == "multilingual" and scores["model"] == rt.settings.multilingual_model
        page = client.get("/", params={"q": "超伝導量子ビット"})
        assert "space-note" in page.text and "do not compare with those of English queries" in page.text
        assert "space-note" not in client.get("/", params={"q": "quantum error correction"}).text
