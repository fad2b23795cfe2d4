"""What an adversarial probe of the running service found (issue 15), each as a test: batch files
that broke the parser, the page's cookie on the API, a null Origin, a write that rewrote other
researchers' publications, two processes on one store, one key's jobs ahead of everyone's, key
guessing and spoofed client addresses, bodies over the limit, missing page headers, and texts
embedded twice."""

from __future__ import annotations

import sqlite3
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from indexer.embedder import FakeEmbedder
from indexer.records import ResearcherRecord
from service.batch.inputs import BatchRequest
from service.batch.jobs import JobStore, JobWorker
from service.cli import app as cli
from service.http.app import create_app
from service.http.deps import KEY_COOKIE
from service.leases import Leases
from service.runtime import Runtime
from tests.conftest import api_key, bearer, copy_state, fake_runtime, researcher, write_jsonl
from tests.test_serve import free_port, get, serve, wait_until

PROBLEM = "application/problem+json"
WIDE_CSV = "id,text\nq1,qubits\nq2," + "x" * 200_000 + "\n"
DEEP_JSON = "[" * 100_000 + "]" * 100_000



def job_count(runtime: Runtime) -> int:
    with sqlite3.connect(runtime.settings.store_path) as conn:
        return conn.execute("SELECT COUNT(*) FROM batch_jobs").fetchone()[0]


@pytest.fixture()
def quiet(demo_runtime: Runtime) -> Runtime:
    """The demo state with no batch worker: jobs stay queued where the test leaves them."""
    return fake_runtime(demo_runtime.settings.data_dir, batch_worker=False)


# --- 1. batch files that broke the parser ------------------------------------------------------

def test_a_csv_field_over_the_csv_limit_or_json_nested_too_deep_is_a_422_naming_the_line(quiet: Runtime, tmp_path: Path) -> None:
    key = api_key(quiet, "batch")
    with TestClient(create_app(quiet), raise_server_exceptions=False) as client:
        wide = client.post("/v1/batch-jobs", files={"file": ("p.csv", WIDE_CSV, "text/csv")}, headers=bearer(key))
        assert wide.status_code == 422 and wide.headers["content-type"] == PROBLEM
        assert "line 3" in wide.json()["detail"] and "131,072 characters" in wide.json()["detail"]
        deep = client.post("/v1/batch-jobs", files={"file": ("p.json", DEEP_JSON, "application/json")}, headers=bearer(key))
        assert deep.status_code == 422 and "nested too deeply" in deep.json()["detail"]
        deep_lines = client.post("/v1/batch-jobs", content="{\"a\":" * 100_000, headers={**bearer(key), "content-type": "application/x-ndjson"})
        assert deep_lines.status_code == 422 and "line 1" in deep_lines.json()["detail"]
        deep_body = client.post("/v1/batch-jobs", content=DEEP_JSON, headers={**bearer(key), "content-type": "application/json"})
        assert deep_body.status_code == 422
        long_number = client.post("/v1/batch-jobs", files={"file": ("p.json", '[{"id": "a", "query": {"goal_id": ' + "1" * 5000 + "}}]", "application/json")},
                                  headers=bearer(key))
        assert long_number.status_code == 422 and "not usable JSON" in long_number.json()["detail"]
        wide_header = client.post("/v1/batch-jobs", files={"file": ("p.csv", "x" * 200_000 + ",id\n", "text/csv")}, headers=bearer(key))
        assert wide_header.status_code == 422 and "line 1" in wide_header.json()["detail"]
        client.post("/key", data={"key": key})
        page = client.post("/batch", files={"file": ("p.csv", WIDE_CSV, "text/csv")})
        assert page.status_code == 422 and "line 3" in page.text
    assert job_count(quiet) == 0
    wide_file = tmp_path / "projects.csv"
    wide_file.write_text(WIDE_CSV)
    ran = CliRunner().invoke(cli, ["batch", str(wide_file), "--output", str(tmp_path / "out.csv")],
                             env={"KAKEHASHI_DATA_DIR": str(quiet.settings.data_dir), "KAKEHASHI_MODEL": "fake-hash-384"})
    assert ran.exit_code == 2 and "projects.csv: line 3" in ran.output and "Traceback" not in ran.output


# --- 2, 3. the page's cookie and the forms' origin check -----------------------------------------

def test_the_pages_cookie_changes_nothing_through_the_api_from_another_site(quiet: Runtime) -> None:
    batch, admin = api_key(quiet, "batch"), api_key(quiet, "admin")
    evil = {"Origin": "http://evil.example"}
    with TestClient(create_app(quiet)) as client:
        client.cookies.set(KEY_COOKIE, batch)
        job = client.post("/v1/batch-jobs", json={"queries": [{"id": "q", "query": {"goal_id": 1}}]}, headers=evil)
        assert job.status_code == 403 and job.headers["content-type"] == PROBLEM and "evil.example" in job.json()["detail"]
        assert job_count(quiet) == 0
        client.cookies.set(KEY_COOKIE, admin)
        put = client.put("/v1/researchers/hj-2", json=researcher("hj-2"), headers=evil)
        assert put.status_code == 403
        assert client.put("/v1/researchers/hj-2", json=researcher("hj-2"), headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
        with quiet.store() as store:
            assert store.researcher("hj-2") is None
        # the page's own reads through the API (its progress script) keep working with the cookie
        own = client.post("/v1/batch-jobs", json={"queries": [{"id": "q", "query": {"goal_id": 1}}]}, headers=bearer(batch)).json()
        assert client.get(f"/v1/batch-jobs/{own['id']}").status_code == 200


def test_a_null_origin_cannot_enter_a_key(quiet: Runtime) -> None:
    key = api_key(quiet, "batch")
    with TestClient(create_app(quiet)) as client:
        for headers in ({"Origin": "null"}, {"Referer": "http://evil.example/frame"}, {"Sec-Fetch-Site": "cross-site"}):
            entered = client.post("/key", data={"key": key}, headers=headers, follow_redirects=False)
            assert entered.status_code == 403 and "set-cookie" not in entered.headers, headers
        same = client.post("/key", data={"key": key}, headers={"Origin": "http://testserver"}, follow_redirects=False)
        assert same.status_code == 303 and KEY_COOKIE in same.headers["set-cookie"]


# --- 4. a shared publication ---------------------------------------------------------------------

def shared_publication(runtime: Runtime, tmp_path: Path) -> tuple[str, list[str]]:
    """A publication that three researchers hold (ingested as the house format would bring co-authors)."""
    paper = {"id": "shared-paper", "title": "Wafer-scale two-dimensional semiconductors", "abstract": "We grow MoS2.", "year": 2023}
    holders = ["co-a", "co-b", "co-c"]
    runtime.ingest(write_jsonl(tmp_path / "coauthors.jsonl", [{**researcher(h), "publications": [paper]} for h in holders]))
    return paper["id"], holders


def test_a_researcher_write_may_keep_or_drop_a_shared_publication_but_not_rewrite_it(quiet: Runtime, tmp_path: Path) -> None:
    pid, holders = shared_publication(quiet, tmp_path)
    with quiet.store() as store:
        stored = store.publications_by_id([pid], abstracts=True)[pid]
    as_stored = {"id": pid, "title": stored.title, "abstract": stored.abstract, "year": stored.year, "cited_by_count": stored.cited_by_count}
    with TestClient(create_app(quiet)) as client:
        client.headers.update(bearer(api_key(quiet, "admin")))
        rewrite = client.put("/v1/researchers/hj-2", json={**researcher("hj-2"), "publications": [{**as_stored, "title": "Rewritten for all"}]})
        assert rewrite.status_code == 409 and rewrite.headers["content-type"] == PROBLEM
        assert pid in rewrite.json()["detail"] and holders[0] in rewrite.json()["detail"] and "title" in rewrite.json()["detail"]
        with quiet.store() as store:
            assert store.researcher("hj-2") is None and store.publications_by_id([pid])[pid].title == stored.title
        kept = client.put("/v1/researchers/hj-2", json={**researcher("hj-2"), "publications": [as_stored]})
        assert kept.status_code == 201
        dropped = client.put("/v1/researchers/hj-2", json=researcher("hj-2"))
        assert dropped.status_code == 200 and dropped.json()["outcome"] == "updated"
        own = client.put("/v1/researchers/hj-2", json=researcher("hj-2", titles=("A title only this researcher holds",)))
        assert own.status_code == 200  # a publication that only this researcher holds may change
    with quiet.store() as store:
        assert store.publications_by_id([pid])[pid].title == stored.title
        assert {r for r, p in store.authorships() if p == pid} == set(holders)
    # a record that another's agreement would let through is refused once that other is refused
    other = {"id": "other-paper", "title": "Held by co-a alone", "year": 2022}
    quiet.ingest(write_jsonl(tmp_path / "other.jsonl", [{**researcher("co-a"), "publications": [{**as_stored}, other]}]))
    pair = [{**researcher("co-b"), "publications": [{**as_stored, "title": "Corrected"}]},
            {**researcher("co-c"), "publications": [{**as_stored, "title": "Corrected"}, {**other, "title": "Rewritten"}]}]
    report = quiet.ingest(write_jsonl(tmp_path / "pair.jsonl", pair))
    assert report.rejected == 2  # co-c rewrites co-a's other paper; then co-b alone would rewrite co-a's and co-c's copy
    with quiet.store() as store:
        assert store.publications_by_id([pid])[pid].title == stored.title
    # the house ingest refuses the same rewrite as a rejection naming the record and field
    source = write_jsonl(tmp_path / "house.jsonl", [{**researcher("hj-3"), "publications": [{**as_stored, "title": "Rewritten"}]}])
    report = quiet.ingest(source)
    assert report.rejected == 1 and report.rejections[0].field == "publications.0" and pid in report.rejections[0].reason
    with quiet.store() as store:
        assert store.publications_by_id([pid])[pid].title == stored.title and store.researcher("hj-3") is None


# --- 5. two processes on one store ------------------------------------------------------------------

def test_a_job_runs_in_one_of_two_processes_on_a_store(quiet: Runtime) -> None:
    calls: list[str] = []
    workers = []
    for name in ("one", "two"):  # two processes: two runtimes, each its own lease holder
        runtime = fake_runtime(quiet.settings.data_dir)
        match = runtime.matcher.match

        def counted(*args, _match=match, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(_name)
            return _match(*args, **kwargs)

        runtime.matcher.match = counted  # type: ignore[method-assign]
        workers.append(JobWorker(runtime, JobStore(quiet.settings.store_path), poll_seconds=0.01,
                                 leases=Leases(quiet.settings.store_path, holder=f"process-{name}")))
    for worker in workers:
        worker.start()
    jobs = JobStore(quiet.settings.store_path)
    try:
        job = jobs.create(BatchRequest.model_validate({"queries": [{"id": f"q{i}", "query": {"goal_id": 1 + i % 10}} for i in range(30)]}))
        wait_until(lambda: jobs.get(job.id).state == "succeeded", 60)
    finally:
        for worker in workers:
            worker.stop()
    assert len(calls) == 30  # every query once, in whichever process held the job


def test_a_lease_that_stops_beating_is_taken_over_and_one_that_beats_is_kept(tmp_path: Path) -> None:
    store = tmp_path / "kakehashi.sqlite"
    first, second = Leases(store, seconds=1, holder="first"), Leases(store, seconds=1, holder="second")
    assert first.acquire("job:a") and not second.acquire("job:a")
    time.sleep(1.2)  # the first holder died: no heartbeat
    assert second.acquire("job:a") and second.holder_of("job:a") == "second"
    with second.hold("job:b") as held:
        time.sleep(1.5)  # longer than the lease: the heartbeat kept it
        assert not first.acquire("job:b") and not held.lost.is_set()
    assert first.acquire("job:b")  # released at the end of the block
    one, two = Leases(store, seconds=30), Leases(store, seconds=30)  # two holders in one process (two threads)
    assert one.acquire("index-build") and not two.acquire("index-build")


def test_two_processes_asked_to_build_at_once_build_one_version(quiet: Runtime) -> None:
    with quiet.store() as store:
        store.upsert_researchers([ResearcherRecord.model_validate(researcher("kk-both", titles=("Cryogenic CMOS for qubit control",)))])
    runtimes = [fake_runtime(quiet.settings.data_dir) for _ in range(2)]
    for i, rt in enumerate(runtimes):
        rt.__dict__["leases"] = Leases(rt.settings.store_path, holder=f"builder-{i}")
    start = threading.Barrier(2)
    results = []

    def build(rt: Runtime) -> None:
        start.wait()
        results.append(rt.build_index())

    threads = [threading.Thread(target=build, args=(rt,)) for rt in runtimes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.skipped for r in results) == [False, True]  # the second found the first's version current
    assert len({r.version for r in results}) == 1


# --- 6. fairness, quotas, retention, the list -------------------------------------------------------

def test_another_keys_small_job_runs_between_the_turns_of_a_big_one(quiet: Runtime) -> None:
    jobs = JobStore(quiet.settings.store_path)
    big = jobs.create(BatchRequest.model_validate({"queries": [{"id": f"q{i}", "query": {"goal_id": 1 + i % 10}} for i in range(400)]}),
                      owner="alice")
    worker = JobWorker(fake_runtime(quiet.settings.data_dir), jobs, poll_seconds=0.01, turn_seconds=0.2)
    worker.start()
    try:
        wait_until(lambda: jobs.get(big.id).done > 0, 30)
        small = jobs.create(BatchRequest.model_validate({"queries": [{"id": "one", "query": {"text": "quantum sensing"}}]}), owner="bob")
        wait_until(lambda: jobs.get(small.id).state == "succeeded", 30)
        assert jobs.get(big.id).state == "running" and jobs.get(big.id).done < 400  # bob did not wait for alice's job to end
    finally:
        worker.stop()


def test_a_key_has_a_quota_of_waiting_queries(demo_runtime: Runtime) -> None:
    runtime = fake_runtime(demo_runtime.settings.data_dir, batch_worker=False, max_queued_queries_per_key=5)
    alice, bob = api_key(runtime, "batch"), api_key(runtime, "batch")
    body = {"queries": [{"id": f"q{i}", "query": {"goal_id": 1}} for i in range(3)]}
    with TestClient(create_app(runtime)) as client:
        assert client.post("/v1/batch-jobs", json=body, headers=bearer(alice)).status_code == 202
        over = client.post("/v1/batch-jobs", json=body, headers=bearer(alice))
        assert over.status_code == 429 and over.headers["content-type"] == PROBLEM and "limit of 5" in over.json()["detail"]
        assert client.post("/v1/batch-jobs", json=body, headers=bearer(bob)).status_code == 202  # another key's own quota
        client.post("/key", data={"key": alice})
        page = client.post("/batch", files={"file": ("p.csv", "id,goal_id\na,1\nb,2\nc,3\n", "text/csv")})
        assert page.status_code == 429 and "limit of 5" in page.text


def test_finished_jobs_are_deleted_after_the_retention_period_and_the_list_reads_summaries_only(quiet: Runtime) -> None:
    jobs = JobStore(quiet.settings.store_path)
    old = jobs.create(BatchRequest.model_validate({"queries": [{"id": "q", "query": {"goal_id": 1}}]}))
    recent = jobs.create(BatchRequest.model_validate({"queries": [{"id": "q", "query": {"goal_id": 2}}]}))
    for job in (old, recent):
        jobs.record(job.id, 0, "q", [{"rank": 1, "researcher_id": "x"}], None)
        jobs.finish(job.id, "succeeded")
    with sqlite3.connect(quiet.settings.store_path) as conn:
        conn.execute("UPDATE batch_jobs SET finished_at = ? WHERE id = ?", (time.time() - 31 * 86400, old.id))
        conn.execute("UPDATE batch_jobs SET request = 'not read by the list' WHERE id = ?", (recent.id,))
    worker = JobWorker(quiet, jobs, poll_seconds=0.01, retention_seconds=30 * 86400)
    worker.start()
    try:
        wait_until(lambda: jobs.list(10, 0)[1] == 1, 10)
    finally:
        worker.stop()
    listed, _ = jobs.list(10, 0)
    assert [j.id for j in listed] == [recent.id] and listed[0].options == {"limit": 10}
    with sqlite3.connect(quiet.settings.store_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM batch_results WHERE job_id = ?", (old.id,)).fetchone()[0] == 0


# --- 7. key guessing, and client addresses from proxies ------------------------------------------

def test_an_address_that_keeps_sending_bad_keys_gets_429_for_a_while(quiet: Runtime) -> None:
    runtime = fake_runtime(quiet.settings.data_dir, auth_failures_per_minute=6, auth_failures_burst=5)
    good = api_key(runtime, "batch")
    with TestClient(create_app(runtime)) as client:
        stale = [client.get("/v1/batch-jobs", headers=bearer("kk_000000000000_revoked")).status_code for _ in range(20)]
        assert set(stale) == {401}  # the same bad key again (a revoked key in a cookie) counts once
        answers = [client.get("/v1/batch-jobs", headers=bearer(f"kk_{i:012x}_guess")).status_code for i in range(1, 8)]
        assert answers[:4] == [401] * 4 and set(answers[4:]) == {429}
        locked = client.get("/v1/batch-jobs", headers=bearer(good))
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1 and "not valid" in locked.json()["detail"]
        assert client.post("/key", data={"key": good}, follow_redirects=False).status_code == 429  # the page's key form too


def test_forwarded_addresses_are_believed_only_from_a_trusted_proxy(demo_state: Path, tmp_path: Path) -> None:
    state = copy_state(demo_state, tmp_path / "state")
    for trusted, expected in (("", "127.0.0.1"), ("127.0.0.1", "203.0.113.9")):
        port, log = free_port(), tmp_path / f"serve-{trusted or 'none'}.log"
        service = serve(state, port, log, KAKEHASHI_TRUSTED_PROXIES=trusted)
        try:
            wait_until(lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == 200, 60)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
            urllib.request.urlopen(request, timeout=10).read()
            wait_until(lambda: '"GET /healthz HTTP/1.1" 200' in log.read_text(), 10)
        finally:
            service.terminate()
            service.wait(10)
        line = next(x for x in log.read_text().splitlines() if '"GET /healthz' in x)
        assert f"{expected}:" in line, (trusted, line)


# --- 8. bodies over the limit, uploads without a key, page headers ---------------------------------

def test_a_chunked_body_over_the_limit_is_413_and_an_upload_without_a_key_is_refused_unread(quiet: Runtime) -> None:
    with TestClient(create_app(quiet)) as client:
        def chunks():  # type: ignore[no-untyped-def]
            yield b'{"query": {"text": "'
            for _ in range(20):
                yield b"x" * 100_000
            yield b'"}}'

        chunked = client.post("/v1/matches", content=chunks(), headers={"content-type": "application/json"})
        assert chunked.status_code == 413 and chunked.headers["content-type"] == PROBLEM
        # a body that is not even a form: the key is asked for before anything is parsed
        unread = client.post("/batch", content=b"--x\r\nnot a form", headers={"content-type": "multipart/form-data; boundary=x"})
        assert unread.status_code == 401 and "API key" in unread.text


def test_pages_say_they_may_not_be_framed_or_sniffed(client: TestClient) -> None:
    page = client.get("/")
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "default-src 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"  # a search URL holds the project's text
    api = client.get("/v1/goals")
    assert api.headers["x-content-type-options"] == "nosniff" and "content-security-policy" not in api.headers
    assert client.get("/docs").status_code == 200  # its viewer's inline scripts are not blocked


# --- 9. one text, embedded once ------------------------------------------------------------------

class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts, progress=None):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return super().encode(texts, progress)


def test_a_text_that_several_publications_share_is_embedded_once_per_build(tmp_path: Path) -> None:
    same = "Gate-all-around nanosheet transistors below two nanometres"
    people = [researcher(f"twin-{i}", titles=(same, f"Work number {i} on its own topic")) for i in range(4)]
    for person in people:  # four publications with four ids and one text
        person["publications"][0] = {**person["publications"][0], "abstract": "We study nanosheets."}
    embedder = CountingEmbedder()
    runtime = Runtime(fake_runtime(tmp_path).settings, embedder=embedder)
    runtime.ingest(write_jsonl(tmp_path / "twins.jsonl", people))
    result = runtime.build_index()
    publication_texts = [t for t in embedder.texts if "nanosheet" in t.lower()]
    assert len(publication_texts) == 1 and result.embedded == 5  # 1 shared text + 4 of their own
    snap = runtime.snapshot()
    vectors = [np.asarray(snap.vectors[snap.publication_rows(snap.row(f"twin-{i}"))]) for i in range(4)]
    shared = [next(v for v in vs if float(v @ vectors[0][0]) > 0.999) for vs in vectors]  # each twin's copy of the shared text
    assert all(np.array_equal(v, shared[0]) for v in shared)
