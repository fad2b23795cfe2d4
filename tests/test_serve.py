"""`kakehashi serve` as a new user starts it: the port is taken first (a busy one is said at once),
the page answers while the demo corpus is loaded and indexed in the background, what is happening
is printed as lines even when the output is a file, and searches work once it is ready."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from fastapi.testclient import TestClient

from indexer.embedder import FAKE_MODEL
from service.http.app import create_app
from tests.conftest import fake_runtime, researcher, write_jsonl


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(data_dir: Path, port: int, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    """`settings`: more environment variables (KAKEHASHI_...)."""
    env = {**os.environ, "KAKEHASHI_DATA_DIR": str(data_dir), "KAKEHASHI_MODEL": FAKE_MODEL,
           "KAKEHASHI_MULTILINGUAL_MODEL": FAKE_MODEL, "KAKEHASHI_RATE_LIMIT_PER_MINUTE": "0", **settings}
    with log.open("wb") as out:  # a file, not a terminal
        return subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env, stdout=out, stderr=out)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, OSError) as exc:  # not listening (yet)
        return 0, str(exc)


def wait_until(condition, seconds: float = 120):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("not within the wait")


def test_a_first_start_serves_the_demo_and_says_what_it_does(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    service = serve(tmp_path / "state", port, log)
    try:
        wait_until(lambda: "Kakehashi on http://localhost" in log.read_text())
        wait_until(lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == 200)
        status, page = get(f"http://127.0.0.1:{port}/?q=gallium+nitride+power+transistors")
        assert status == 200 and 'class="result' in page
        lines = log.read_text()
        for said in ("Loading the fictional demo corpus", "Loading the embedding models", "Embedding publications",
                     "of 14,437", "ready: serving index"):
            assert said in lines, lines

        second = subprocess.run([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], capture_output=True, text=True,
                                timeout=60, env={**os.environ, "KAKEHASHI_DATA_DIR": str(tmp_path / "other")})
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert f"port {port} on 127.0.0.1 is already in use" in second.stderr and "--port" in second.stderr
    finally:
        service.terminate()
        service.wait(timeout=30)


def test_while_an_index_is_prepared_the_answers_say_how_far_it_is(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path)
    rt.ingest(write_jsonl(tmp_path / "in.jsonl", [researcher("r1")]))
    advance = rt.progress.begin("Embedding publications", 200)
    advance(50)
    with TestClient(create_app(rt)) as client:
        answer = client.post("/v1/matches", json={"query": {"text": "quantum error correction"}})
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
        assert "being prepared; Embedding publications: 50 of 200 (25%)" in answer.json()["detail"]
        page = client.get("/", params={"q": "quantum error correction"})
        assert page.status_code == 503 and '<meta http-equiv="refresh"' in page.text
        assert "Embedding publications: 50 of 200 (25%)" in page.text
        form = client.get("/")  # the empty form is a page at once, with the progress, and never reloads itself
        assert form.status_code == 200 and "The partner index is being prepared" in form.text and "refresh" not in form.text
        rt.progress.finish()
        assert "being prepared" not in client.post("/v1/matches", json={"query": {"text": "x"}}).json()["detail"]
        rt.build_index()
        assert client.post("/v1/matches", json={"query": {"text": "quantum error correction"}}).status_code == 200


def test_a_failed_preparation_is_said_in_the_answers_until_one_succeeds(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rt = fake_runtime(tmp_path)
    rt.ingest(write_jsonl(tmp_path / "in.jsonl", [researcher("r1")]))
    real_build = rt.build_index

    def full_disk(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rt, "build_index", full_disk)
    with TestClient(create_app(rt)) as client:
        updater = client.app.state.updater  # type: ignore[attr-defined]
        updater.prepare(load_demo=False)
        wait_until(lambda: updater.status().get("last_error"))
        answer = client.get("/readyz")
        assert answer.status_code == 503 and "The last preparation failed: [Errno 28] No space left on device" in answer.json()["detail"]
        monkeypatch.setattr(rt, "build_index", real_build)
        updater.request("the disk has room again")
        wait_until(lambda: client.get("/readyz").status_code == 200)
        assert updater.status()["last_error"] is None


def test_the_connections_accepted_send_without_waiting_for_acks() -> None:
    """Without TCP_NODELAY a keep-alive client waits for the delayed ACK (about 40 ms) on every
    request after its first: uvicorn writes a response's head and body apart."""
    from service.cli import _listen

    listening = _listen("127.0.0.1", 0)
    with listening, socket.create_connection(listening.getsockname()[:2]):
        accepted, _ = listening.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
