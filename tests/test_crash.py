"""Crash safety: a process is killed (SIGKILL, no clean-up) in the middle of an ingest, an index
build, an index publish and a stream of researcher writes over HTTP. After a restart every write
acknowledged before the kill is there, the store passes SQLite's integrity check, and the last
complete index version is served."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from indexer.store import Store
from indexer.version import versions as version_dirs
from service.http.app import create_app
from service.matching.snapshot import SnapshotHolder
from tests.conftest import ROOT, api_key, copy_state, fake_runtime, researcher, write_jsonl


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, **(env or {})})


def wait_for_line(process: subprocess.Popen[str], predicate, timeout: float = 120) -> str:  # type: ignore[no-untyped-def]
    """The first line of the process's output that `predicate` accepts (read in a thread, so that a
    process that stays silent fails the test after `timeout` instead of hanging it)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.strip())
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            raise AssertionError(f"the process ended (exit {process.wait()}) before the line the test waits for")
        if predicate(line):
            return line
    raise AssertionError("timed out waiting for the process")


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def integrity_ok(data_dir: Path) -> bool:
    with Store(data_dir / "kakehashi.sqlite") as store:
        return store.integrity_ok()


def served_version(data_dir: Path) -> str:
    holder = SnapshotHolder(data_dir / "indexes", fake_runtime(data_dir).settings.model, 0)
    return holder.get().version


@pytest.fixture()
def indexed(demo_state: Path, tmp_path: Path) -> Path:
    """A copy of the demo state: store and one complete index version."""
    copy_state(demo_state, tmp_path / "state")
    return tmp_path / "state"


def test_kill_during_ingest_keeps_every_committed_batch(tmp_path: Path) -> None:
    records = [researcher(f"crash-{i:05d}", titles=(f"Study number {i} of quantum sensing",)) for i in range(20_000)]
    source = write_jsonl(tmp_path / "big.jsonl", records)
    data_dir = tmp_path / "state"
    process = start("-m", "tests.crash_driver", "ingest", str(data_dir), str(source))
    acknowledged = int(wait_for_line(process, lambda line: line.startswith("committed ") and int(line.split()[1]) >= 1500).split()[1])
    kill(process)

    assert integrity_ok(data_dir)
    with Store(data_dir / "kakehashi.sqlite") as store:
        stored = {r.id for r in store.researchers()}
        assert all(f"crash-{i:05d}" in stored for i in range(acknowledged))
        assert len(stored) < len(records)  # it really was stopped part way
        assert len(stored) % 500 == 0  # whole batches only: none half-written
    rerun = fake_runtime(data_dir).ingest(source)  # the ingest can simply be run again
    assert rerun.added == len(records) - len(stored) and integrity_ok(data_dir)


@pytest.mark.parametrize("step", ["build", "publish"])
def test_kill_during_an_index_build_or_publish_serves_the_last_complete_version(indexed: Path, step: str) -> None:
    before = served_version(indexed)
    process = start("-m", "tests.crash_driver", step, str(indexed))
    wait_for_line(process, lambda line: line == ("embedding" if step == "build" else "publishing"))
    if step == "publish":
        assert any(p.name.startswith(".building-") and (p / "manifest.json").exists() for p in (indexed / "indexes").iterdir())
    kill(process)

    assert [p.name for p in version_dirs(indexed / "indexes")] == [before]  # the half-made version is not a version
    assert served_version(indexed) == before and integrity_ok(indexed)
    after = fake_runtime(indexed).build_index(force=True)  # and the next build completes
    assert served_version(indexed) == after.version != before


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kill_the_service_during_researcher_writes_keeps_every_acknowledged_write(indexed: Path) -> None:
    env = {"KAKEHASHI_DATA_DIR": str(indexed), "KAKEHASHI_MODEL": "fake:hashing-384", "KAKEHASHI_MULTILINGUAL": "false",
           "KAKEHASHI_MULTILINGUAL_MODEL": "fake:hashing-384", "KAKEHASHI_RATE_LIMIT_PER_MINUTE": "0"}
    key = api_key(fake_runtime(indexed), "admin")
    port = free_port()
    service = start("-m", "service.cli", "serve", "--port", str(port), "--no-demo", env=env)
    acknowledged: list[str] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and service.poll() is None, "the service did not start"
                time.sleep(0.2)
            for i in range(40):
                rid = f"put-{i:03d}"
                if client.put(f"/v1/researchers/{rid}", json=researcher(rid, country="EE")).status_code == 201:
                    acknowledged.append(rid)
    finally:
        kill(service)

    assert len(acknowledged) == 40 and integrity_ok(indexed)
    with Store(indexed / "kakehashi.sqlite") as store:
        assert all(store.researcher(rid) is not None for rid in acknowledged)
    assert served_version(indexed)  # whatever the background update reached, a complete version loads


def wait_ready(client: httpx.Client, service: subprocess.Popen[str], timeout: float = 60) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = client.get("/readyz")
            if answer.status_code == 200:
                return answer.json()
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and service.poll() is None, "the service did not get ready"
        time.sleep(0.2)


def test_a_service_killed_with_pending_changes_serves_the_last_version_at_once_and_catches_up(indexed: Path) -> None:
    before = served_version(indexed)
    key = api_key(fake_runtime(indexed), "admin")
    port = free_port()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        service = start("-m", "tests.crash_driver", "serve", str(indexed), str(port))
        try:
            assert wait_ready(client, service)["index_version"] == before
            assert client.put("/v1/researchers/pending-1", json=researcher("pending-1", country="EE")).status_code == 201
            wait_for_line(service, lambda line: line == "embedding")  # the update is under way, slowly
        finally:
            kill(service)

        restarted = start("-m", "tests.crash_driver", "serve", str(indexed), str(port))
        try:
            ready = wait_ready(client, restarted)
            status = client.get("/v1/index").json()
            assert ready["index_version"] == status["index_version"] == before  # the last good version, served at once
            assert status["update"]["pending"] and status["update"]["pending_since_version"] == before
            assert status["update"]["pending_reasons"] == ["start-up: whatever the store holds that the served version lacks"]
            assert client.get("/v1/researchers/pending-1").status_code == 404  # not in the served version yet
            wait_for_line(restarted, lambda line: line == "embedding")  # and the catch-up build is running
            assert client.get("/readyz").json()["index_version"] == before  # served while it runs
        finally:
            kill(restarted)
    with Store(indexed / "kakehashi.sqlite") as store:
        assert store.researcher("pending-1") is not None  # the acknowledged write was kept for the next build


def test_a_truncated_index_file_is_named_and_the_previous_version_served(indexed: Path) -> None:
    before = served_version(indexed)
    rt = fake_runtime(indexed)
    rt.ingest(write_jsonl(indexed / "more.jsonl", [researcher("late-1", country="EE")]))
    newer = rt.build_index()
    faiss_file = newer.path / "publications.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[: faiss_file.stat().st_size // 2])
    with TestClient(create_app(fake_runtime(indexed))) as client:
        status = client.get("/v1/index").json()
        assert status["index_version"] == before
        assert status["skipped"] == [f"index version {newer.version}: file publications.faiss is truncated or overwritten (size mismatch)"]
        assert client.get("/v1/researchers/late-1").status_code == 404  # served from the previous version
