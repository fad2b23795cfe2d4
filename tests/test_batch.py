"""Batch jobs: lifecycle (queue, run, cancel, fail, restart), uploads, exports and assignment."""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from service.batch.inputs import BatchRequest
from service.batch.jobs import JobStore, JobWorker, run_job
from service.http.app import create_app
from service.matching.row import BATCH_COLUMNS as COLUMNS
from service.runtime import Runtime
from tests.conftest import authorized, fake_runtime

PROBLEM = "application/problem+json"
TEXT = "superconducting qubits and quantum error correction"


def queries(n: int) -> list[dict]:
    kinds = [{"text": TEXT}, {"goal_id": 6}, {"goal_id": 2}, {"text": "gallium nitride power devices"}]
    return [{"id": f"q{i}", "query": kinds[i % len(kinds)]} for i in range(n)]


def wait(client: TestClient, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/batch-jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


@pytest.fixture()
def api(demo_runtime: Runtime):  # type: ignore[no-untyped-def]
    with TestClient(create_app(demo_runtime)) as client:
        yield authorized(client, demo_runtime, "batch")


def test_a_job_runs_to_completion_and_exports_every_format(api: TestClient) -> None:
    body = {"queries": queries(3) + [{"id": "more", "query": {"researcher_id": "demo-R00001"}, "filters": {"countries": ["DE", "FR"]}}],
            "options": {"limit": 5}}
    submitted = api.post("/v1/batch-jobs", json=body)
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    assert submitted.headers["location"] == f"/v1/batch-jobs/{job_id}"
    job = wait(api, job_id)
    assert job["state"] == "succeeded" and job["progress"] == {"done": 4, "total": 4, "failed_queries": 0}
    assert job["elapsed_seconds"] >= 0 and job["finished_at"] >= job["started_at"]

    rows = list(csv.DictReader(io.StringIO(api.get(f"/v1/batch-jobs/{job_id}/results?format=csv").text)))
    assert tuple(rows[0].keys()) == COLUMNS
    assert Counter(r["query_id"] for r in rows) == {"q0": 5, "q1": 5, "q2": 5, "more": 5}
    assert [r["rank"] for r in rows if r["query_id"] == "q0"] == ["1", "2", "3", "4", "5"]
    assert {r["country"] for r in rows if r["query_id"] == "more"} <= {"DE", "FR"}
    assert "demo-R00001" not in {r["researcher_id"] for r in rows if r["query_id"] == "more"}
    ready = api.get("/readyz").json()
    for r in rows:  # every row can be reproduced and audited
        assert r["index_version"] == ready["index_version"] and r["model"] == ready["model"]
        assert r["funding_route"] in ("joint", "direct", "unknown") and float(r["score"]) >= float(r["topical"]) * 0
    as_json = api.get(f"/v1/batch-jobs/{job_id}/results?format=json").json()
    assert [(r["query_id"], r["researcher_id"]) for r in as_json] == [(r["query_id"], r["researcher_id"]) for r in rows]
    parquet = api.get(f"/v1/batch-jobs/{job_id}/results?format=parquet")
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == 20 and table.column_names == list(COLUMNS)
    assert table.column("score").to_pylist() == [r["score"] for r in as_json]
    # the same query alone gives the same top researcher as the interactive API
    alone = api.post("/v1/matches", json={"query": {"text": TEXT}, "limit": 1}).json()["data"][0]
    assert alone["researcher"]["id"] == rows[0]["researcher_id"]


def test_uploads_csv_and_jsonl(api: TestClient) -> None:
    table = "id,text,goal_id,countries\np1,quantum sensing with nitrogen vacancy centres,,DE;US\np2,,3,\n"
    job = api.post("/v1/batch-jobs", files={"file": ("projects.csv", table, "text/csv")},
                   data={"options": json.dumps({"limit": 3})})
    assert job.status_code == 202, job.text
    done = wait(api, job.json()["id"])
    assert done["state"] == "succeeded" and done["options"]["limit"] == 3
    rows = api.get(f"/v1/batch-jobs/{done['id']}/results?format=json").json()
    assert {r["country"] for r in rows if r["query_id"] == "p1"} <= {"DE", "US"} and len(rows) == 6
    lines = "\n".join(json.dumps(q) for q in queries(2))
    raw = api.post("/v1/batch-jobs", content=lines, headers={"content-type": "application/x-ndjson"})
    assert raw.status_code == 202 and wait(api, raw.json()["id"])["state"] == "succeeded"


def test_bad_input_is_refused_with_the_line_and_field_and_nothing_is_stored(api: TestClient) -> None:
    before = api.get("/v1/batch-jobs").json()["count"]
    bad_csv = "id,text,goal_id,countries\np1,fine text,,DE\np2,,,\np3,more,,XX\n"
    refused = api.post("/v1/batch-jobs", files={"file": ("projects.csv", bad_csv, "text/csv")})
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    assert "line 3" in refused.json()["detail"] and "query" in refused.json()["detail"]
    duplicate = api.post("/v1/batch-jobs", json={"queries": [{"id": "a", "query": {"goal_id": 1}}] * 2})
    assert duplicate.status_code == 422 and "more than once" in duplicate.json()["detail"]
    infeasible = api.post("/v1/batch-jobs", json={"queries": queries(1), "options": {"assignment": {
        "partners_per_project": 2, "min_countries": 3}}})
    assert infeasible.status_code == 422 and "min_countries" in infeasible.json()["detail"]
    assert api.post("/v1/batch-jobs", content=b"x", headers={"content-type": "text/plain"}).status_code == 422
    assert api.get("/v1/batch-jobs").json()["count"] == before


def test_a_query_that_fails_is_reported_and_a_job_whose_queries_all_fail_fails(api: TestClient) -> None:
    mixed = wait(api, api.post("/v1/batch-jobs", json={"queries": [
        {"id": "ok", "query": {"goal_id": 1}}, {"id": "ghost", "query": {"researcher_id": "nobody"}}]}).json()["id"])
    assert mixed["state"] == "succeeded" and mixed["progress"]["failed_queries"] == 1
    assert mixed["query_errors"][0]["query_id"] == "ghost" and "nobody" in mixed["query_errors"][0]["error"]
    failed = wait(api, api.post("/v1/batch-jobs", json={"queries": [{"id": "ghost", "query": {"researcher_id": "nobody"}}]}).json()["id"])
    assert failed["state"] == "failed" and "'ghost'" in failed["error"] and "nobody" in failed["error"]


def test_cancel_a_queued_job_and_list_with_pagination(demo_runtime: Runtime) -> None:
    runtime = fake_runtime(demo_runtime.settings.data_dir, batch_worker=False)
    with TestClient(create_app(runtime)) as api:
        authorized(api, runtime, "batch")
        ids = [api.post("/v1/batch-jobs", json={"queries": queries(2)}).json()["id"] for _ in range(3)]
        assert api.get(f"/v1/batch-jobs/{ids[0]}").json()["state"] == "queued"
        conflict = api.get(f"/v1/batch-jobs/{ids[0]}/results")
        assert conflict.status_code == 409 and "queued" in conflict.json()["detail"]
        cancelled = api.delete(f"/v1/batch-jobs/{ids[0]}")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        again = api.delete(f"/v1/batch-jobs/{ids[0]}")
        assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
        assert api.get("/v1/batch-jobs/nope").status_code == 404
        page1 = api.get("/v1/batch-jobs?limit=2").json()
        page2 = api.get("/v1/batch-jobs?limit=2&offset=2").json()
        assert page1["count"] == page2["count"] == 3 and len(page1["data"]) == 2 and len(page2["data"]) == 1
        assert {j["id"] for j in page1["data"] + page2["data"]} == set(ids)
        assert api.get("/v1/batch-jobs?state=cancelled").json()["count"] == 1


def test_cancel_while_running_keeps_the_queries_done(demo_runtime: Runtime) -> None:
    jobs = JobStore(demo_runtime.settings.store_path)
    job = jobs.create(BatchRequest.model_validate({"queries": queries(20), "options": {"limit": 3}}))

    def cancel_after_two(done: int, total: int) -> None:
        if done == 2:
            jobs.cancel(job.id)

    finished = run_job(demo_runtime, jobs, job.id, on_query=cancel_after_two)
    assert finished.state == "cancelled" and finished.done == 2
    assert len(list(jobs.results(job.id))) == 6


def test_a_job_resumes_after_a_restart_in_the_middle(demo_runtime: Runtime) -> None:
    jobs = JobStore(demo_runtime.settings.store_path)
    job = jobs.create(BatchRequest.model_validate({"queries": queries(12), "options": {"limit": 4}}))
    calls = []
    stopped = run_job(demo_runtime, jobs, job.id, stop=lambda: len(calls) >= 5, on_query=lambda d, t: calls.append(d))
    assert stopped.state == "running" and stopped.done == 5  # the process went away mid-job
    restarted = fake_runtime(demo_runtime.settings.data_dir)  # a new process on the same store
    worker = JobWorker(restarted, JobStore(restarted.settings.store_path), poll_seconds=0.05)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while jobs.get(job.id).state == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    resumed = jobs.get(job.id)
    assert resumed.state == "succeeded" and resumed.done == 12
    rows = list(jobs.results(job.id))
    assert len(rows) == 48 and len({(r["query_id"], r["rank"]) for r in rows}) == 48  # nothing lost, nothing twice


def test_assignment_job_respects_the_rules_and_reports_the_totals(api: TestClient) -> None:
    rules = {"partners_per_project": 3, "max_projects_per_researcher": 1, "max_per_country": 1, "min_countries": 3,
             "candidates_per_project": 30, "excluded_pairs": []}
    body = {"queries": [{"id": f"g{g}", "query": {"goal_id": g}} for g in range(1, 11)], "options": {"assignment": rules}}
    first = wait(api, api.post("/v1/batch-jobs", json=body).json()["id"])
    top = api.get(f"/v1/batch-jobs/{first['id']}/results?format=json").json()
    assert {r["assigned"] for r in top} == {True}
    conflict = (top[0]["query_id"], top[0]["researcher_id"])
    rules["excluded_pairs"] = [{"query_id": conflict[0], "researcher_id": conflict[1]}]
    job = wait(api, api.post("/v1/batch-jobs", json=body).json()["id"])
    assert job["state"] == "succeeded"
    summary = job["assignment"]
    assert summary["feasible"] and summary["assigned"] == 30
    assert summary["optimal_total"] >= summary["greedy_total"] - 1e-6 and summary["optimal_total"] <= summary["top_k_total"] + 1e-6
    rows = api.get(f"/v1/batch-jobs/{job['id']}/results?format=json").json()
    assert len(rows) == 30 and all(r["assigned"] for r in rows)
    assert max(Counter(r["researcher_id"] for r in rows).values()) == 1
    assert max(Counter((r["query_id"], r["country"]) for r in rows).values()) == 1
    assert conflict not in {(r["query_id"], r["researcher_id"]) for r in rows}
    assert sum(r["score"] for r in rows) == pytest.approx(summary["optimal_total"], abs=1e-3)


def test_infeasible_assignment_explains_the_shortfall(api: TestClient) -> None:
    body = {"queries": [{"id": "narrow", "query": {"goal_id": 6}, "filters": {"countries": ["DE"]}}],
            "options": {"assignment": {"partners_per_project": 3, "min_countries": 2, "candidates_per_project": 10}}}
    job = wait(api, api.post("/v1/batch-jobs", json=body).json()["id"])
    assert job["state"] == "succeeded" and not job["assignment"]["feasible"]
    (short,) = job["assignment"]["shortfalls"]
    assert (short["rule"], short["query_id"], short["required"], short["achieved"]) == ("min_countries", "narrow", 2, 1)
    assert "1 countries" in short["reason"]
    rows = api.get(f"/v1/batch-jobs/{job['id']}/results?format=json").json()
    assert len(rows) == 3  # the best partial assignment is still returned
