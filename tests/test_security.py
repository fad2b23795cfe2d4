"""Access control (keys and scopes), limits, and researcher writes over HTTP with their incremental
index update."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.auth import KeyStore
from service.cli import app as cli
from service.http.app import create_app
from service.runtime import Runtime
from tests.conftest import api_key, bearer, fake_runtime, researcher

PROBLEM = "application/problem+json"



@pytest.fixture()
def served(demo_runtime: Runtime):  # type: ignore[no-untyped-def]
    with TestClient(create_app(demo_runtime)) as client:
        yield client


def test_keys_are_stored_as_digests_and_shown_once(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"KAKEHASHI_DATA_DIR": str(tmp_path)}
    created = runner.invoke(cli, ["keys", "create", "--name", "portal A", "--scope", "batch"], env=env)
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    key_id, secret = key.split("_")[1], key.split("_")[2]
    assert key.startswith("kk_") and len(secret) >= 40
    listed = runner.invoke(cli, ["keys", "list", "--json"], env=env)
    assert key_id in listed.stdout and secret not in listed.stdout and "portal A" in listed.stdout
    store = tmp_path / "kakehashi.sqlite"
    with sqlite3.connect(store) as conn:
        conn.execute("PRAGMA wal_checkpoint(FULL)")
    assert secret.encode() not in store.read_bytes()
    assert KeyStore(store).verify(key).scopes == ("batch",)
    revoked = runner.invoke(cli, ["keys", "revoke", key_id], env=env)
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    again = runner.invoke(cli, ["keys", "revoke", key_id], env=env)
    assert again.exit_code == 2 and "already revoked" in again.output
    bad = runner.invoke(cli, ["keys", "create", "--name", "x", "--scope", "root"], env=env)
    assert bad.exit_code == 2 and "scopes must be some of read, batch, admin" in bad.output


def test_scopes_decide_who_may_do_what(served: TestClient, demo_runtime: Runtime) -> None:
    read, batch, admin = (api_key(demo_runtime, s) for s in ("read", "batch", "admin"))
    job = {"queries": [{"id": "q", "query": {"goal_id": 6}}]}
    person = researcher("new-1")

    assert served.post("/v1/matches", json={"query": {"goal_id": 6}}).status_code == 200  # read is open by default
    anonymous = served.post("/v1/batch-jobs", json=job)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == PROBLEM
    assert anonymous.headers["www-authenticate"].startswith("Bearer") and "'batch' scope" in anonymous.json()["detail"]
    assert served.post("/v1/batch-jobs", json=job, headers=bearer(read)).status_code == 403
    assert served.post("/v1/batch-jobs", json=job, headers=bearer(batch)).status_code == 202
    assert served.post("/v1/matches", json={"query": {"goal_id": 6}}, headers=bearer(batch)).status_code == 200
    denied = served.put("/v1/researchers/new-1", json=person, headers=bearer(batch))
    assert denied.status_code == 403 and "needs 'admin'" in denied.json()["detail"]
    assert served.put("/v1/researchers/new-1", json=person).status_code == 401
    assert served.delete("/v1/researchers/demo-R00001").status_code == 401
    assert served.put("/v1/researchers/new-1", json=person, headers=bearer(admin)).status_code == 201

    wrong = served.post("/v1/matches", json={"query": {"goal_id": 6}}, headers=bearer("kk_nothere_abc"))
    assert wrong.status_code == 401  # a key that is given must be valid, even where none is needed
    KeyStore(demo_runtime.settings.store_path).revoke(batch.split("_")[1])
    assert served.get("/v1/batch-jobs", headers=bearer(batch)).status_code == 401


def test_closed_reads_need_a_key_on_the_api_and_the_page(demo_runtime: Runtime) -> None:
    runtime = fake_runtime(demo_runtime.settings.data_dir, open_read=False)
    with TestClient(create_app(runtime)) as client:
        assert client.post("/v1/matches", json={"query": {"goal_id": 6}}).status_code == 401
        page = client.get("/?goal=6")
        assert page.status_code == 401 and "needs an API key with the &#39;read&#39; scope" in page.text
        assert 'href="/key?next=/"' in page.text
        assert client.get("/healthz").status_code == 200
        key = api_key(runtime, "read")
        assert client.post("/v1/matches", json={"query": {"goal_id": 6}}, headers=bearer(key)).status_code == 200
        client.post("/key", data={"key": key})
        assert client.get("/?goal=6").status_code == 200  # the page's cookie carries the key


def test_keys_never_reach_the_logs(served: TestClient, demo_runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key = api_key(demo_runtime, "admin")
    served.post("/v1/matches", json={"query": {"goal_id": 6}}, headers=bearer(key))
    served.post("/v1/matches", json={"query": {"goal_id": 6}}, headers=bearer(key + "x"))
    served.post("/key", data={"key": key})
    served.put("/v1/researchers/x", json={"id": "y"}, headers=bearer(key))
    secret = key.split("_")[2]
    assert caplog.records and all(secret not in r.getMessage() for r in caplog.records)


def test_the_rate_limit_answers_429_saying_the_limit(demo_runtime: Runtime) -> None:
    runtime = fake_runtime(demo_runtime.settings.data_dir, rate_limit_per_minute=6, rate_limit_burst=3)  # one token each 10 s: none refills during the test
    with TestClient(create_app(runtime)) as client:
        statuses = [client.get("/v1/goals").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/v1/goals")
        assert limited.headers["content-type"] == PROBLEM and int(limited.headers["retry-after"]) >= 1
        assert "6 requests a minute (bursts of 3)" in limited.json()["detail"]
        key = api_key(runtime, "read")  # a key has its own allowance
        assert client.get("/v1/goals", headers=bearer(key)).status_code == 200


def test_each_limit_is_a_setting_and_says_what_it_is(demo_runtime: Runtime) -> None:
    runtime = fake_runtime(demo_runtime.settings.data_dir, max_body_bytes=2048, max_query_chars=100, max_page_size=5,
                           max_batch_queries=2, max_upload_bytes=4096)
    with TestClient(create_app(runtime)) as client:
        client.headers.update(bearer(api_key(runtime, "batch")))
        body = client.post("/v1/matches", json={"query": {"text": "x" * 3000}})
        assert body.status_code == 413 and "limit of 2048 bytes" in body.json()["detail"]
        text = client.post("/v1/matches", json={"query": {"text": "qubit " * 30}})
        assert text.status_code == 422 and "the limit is 100" in text.json()["detail"]
        page = client.post("/v1/matches", json={"query": {"goal_id": 6}, "limit": 6})
        assert page.status_code == 422 and "page size limit of 5" in page.json()["detail"]
        batch = client.post("/v1/batch-jobs", json={"queries": [{"id": f"q{i}", "query": {"goal_id": 6}} for i in range(3)]})
        assert batch.status_code == 422 and "at most 2" in batch.json()["detail"]
        upload = client.post("/v1/batch-jobs", files={"file": ("p.csv", "id,goal_id\n" + "q,6\n" * 2000, "text/csv")})
        assert upload.status_code == 413 and "limit of 4096 bytes" in upload.json()["detail"]
        assert client.get("/v1/batch-jobs").json()["count"] == 0


def wait_for_update(client: TestClient, before: str | None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get("/v1/index").json()
        if status["index_version"] != before and not status["update"]["pending"] and not status["update"]["running"]:
            return status
        time.sleep(0.05)
    raise AssertionError(f"the index was not updated: {status}")


def test_put_and_delete_are_reflected_in_matching_after_an_incremental_update(served: TestClient, demo_runtime: Runtime) -> None:
    served.headers.update(bearer(api_key(demo_runtime, "admin")))
    before = served.get("/v1/index").json()
    person = researcher("kk-new", country="EE", titles=("Cryogenic control electronics for spin qubit arrays",
                                                         "Readout of silicon spin qubits with gate reflectometry"))
    put = served.put("/v1/researchers/kk-new", json=person)
    assert put.status_code == 201 and put.json()["outcome"] == "created" and put.json()["index_update"] == "queued"
    assert put.json()["index_version"] == before["index_version"]
    after = wait_for_update(served, before["index_version"])
    assert after["researchers"] == before["researchers"] + 1 and after["publications"] == before["publications"] + 2
    assert after["update"]["last_embedded"] == 2  # only the new publications were embedded
    found = served.post("/v1/matches", json={"query": {"text": "Readout of silicon spin qubits with gate reflectometry"},
                                             "filters": {"countries": ["EE"]}, "limit": 3}).json()
    assert found["data"][0]["researcher"]["id"] == "kk-new" and found["index_version"] == after["index_version"]

    renamed = served.put("/v1/researchers/kk-new", json={**person, "name": "Dr Renamed"})
    assert renamed.status_code == 200 and renamed.json()["outcome"] == "updated"
    after_rename = wait_for_update(served, after["index_version"])
    assert after_rename["update"]["last_embedded"] == 0  # same texts: every vector reused
    assert served.get("/v1/researchers/kk-new").json()["name"] == "Dr Renamed"
    assert served.put("/v1/researchers/kk-new", json={**person, "name": "Dr Renamed"}).json()["outcome"] == "unchanged"

    deleted = served.delete("/v1/researchers/kk-new")
    assert deleted.status_code == 200 and deleted.json()["outcome"] == "deleted"
    wait_for_update(served, after_rename["index_version"])
    assert served.get("/v1/researchers/kk-new").status_code == 404
    assert served.delete("/v1/researchers/kk-new").status_code == 404


def test_bad_writes_are_refused_and_store_nothing(served: TestClient, demo_runtime: Runtime) -> None:
    served.headers.update(bearer(api_key(demo_runtime, "admin")))
    mismatch = served.put("/v1/researchers/a-1", json=researcher("b-2"))
    assert mismatch.status_code == 422 and "not the id in the path" in mismatch.json()["detail"]
    bad = served.put("/v1/researchers/a-1", json={**researcher("a-1"), "country": "Atlantis"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "country"
    unknown = served.put("/v1/researchers/a-1", json={**researcher("a-1"), "fields": ["alchemy"]})
    assert unknown.status_code == 422 and "alchemy" in unknown.json()["detail"]
    with demo_runtime.store() as store:
        assert store.researcher("a-1") is None and store.researcher("b-2") is None


def test_reads_keep_working_during_an_update_and_see_whole_versions(served: TestClient, demo_runtime: Runtime) -> None:
    served.headers.update(bearer(api_key(demo_runtime, "admin")))
    before = served.get("/v1/index").json()["index_version"]
    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            r = served.post("/v1/matches", json={"query": {"goal_id": 6}, "limit": 3})
            seen.append((r.status_code, r.json().get("index_version", r.text)))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        served.put("/v1/researchers/kk-read", json=researcher("kk-read", country="EE"))
        after = wait_for_update(served, before)["index_version"]
        time.sleep(0.2)
    finally:
        stop.set()
        reader.join()
    assert seen and all(status == 200 for status, _ in seen)
    assert {version for _, version in seen} <= {before, after} and seen[-1][1] == after


def test_a_batch_key_sees_only_its_own_jobs_and_admin_sees_all(demo_runtime: Runtime) -> None:
    runtime = fake_runtime(demo_runtime.settings.data_dir, batch_worker=False)
    alice, bob, admin = api_key(runtime, "batch"), api_key(runtime, "batch"), api_key(runtime, "admin")
    with TestClient(create_app(runtime)) as client:
        job = client.post("/v1/batch-jobs", json={"queries": [{"id": "secret", "query": {"text": "confidential project"}}]},
                          headers=bearer(alice)).json()["id"]
        assert client.get(f"/v1/batch-jobs/{job}", headers=bearer(alice)).status_code == 200
        for path in (f"/v1/batch-jobs/{job}", f"/v1/batch-jobs/{job}/results"):
            assert client.get(path, headers=bearer(bob)).status_code == 404
        assert client.delete(f"/v1/batch-jobs/{job}", headers=bearer(bob)).status_code == 404
        assert client.get("/v1/batch-jobs", headers=bearer(bob)).json()["count"] == 0
        assert [j["id"] for j in client.get("/v1/batch-jobs", headers=bearer(admin)).json()["data"]] == [job]
        client.post("/key", data={"key": bob})
        assert client.get(f"/batch/{job}").status_code == 404 and job not in client.get("/batch").text


def test_the_access_log_leaves_out_query_strings(served: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/?q=our+secret+project&goal=", "1.1", 200)
    assert caplog.records[-1].getMessage() == '127.0.0.1:5000 - "GET / HTTP/1.1" 200'
