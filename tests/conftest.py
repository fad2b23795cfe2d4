"""Shared fixtures. The quick tier uses the deterministic fake embedder; tests marked `model` use
the real packaged sentence-transformers model."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from indexer.embedder import FAKE_MODEL, FakeEmbedder  # noqa: E402
from kernel.paths import DEMO_CORPUS, OPENALEX_SAMPLE  # noqa: E402, F401 (the tests' corpora)
from kernel.settings import Settings, get_settings  # noqa: E402
from service.auth import KeyStore  # noqa: E402
from service.http.app import create_app  # noqa: E402
from service.runtime import Runtime  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent  # the repository


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    base = {"data_dir": data_dir, "model": FAKE_MODEL, "multilingual_model": FAKE_MODEL, "index_poll_seconds": 0,
            "rate_limit_per_minute": 0}  # tests/test_security.py tests the limit with its own settings
    return Settings(**{**base, **overrides})


def fake_runtime(data_dir: Path, **overrides: object) -> Runtime:
    return Runtime(make_settings(data_dir, **overrides), embedder=FakeEmbedder())


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def researcher(rid: str, country: str = "DE", titles: tuple[str, ...] = ("Quantum error correction with surface codes",), **extra: object) -> dict:
    return {
        "id": rid, "name": f"Researcher {rid}", "institution": "Example Institute", "country": country,
        "publications": [{"id": f"{rid}-p{i}", "title": t, "abstract": f"We study {t.lower()}.", "year": 2020 + i} for i, t in enumerate(titles)],
        **extra,
    }


def copy_state(source: Path, target: Path) -> Path:
    """A data directory's copy that is consistent while other tests' apps use the source: index
    versions as files, the SQLite store through SQLite's backup (its WAL files come and go)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("kakehashi.sqlite*"))
    with sqlite3.connect(source / "kakehashi.sqlite") as live, sqlite3.connect(target / "kakehashi.sqlite") as copy:
        live.backup(copy)
    live.close()
    copy.close()
    return target


@pytest.fixture(autouse=True)
def _settings_read_afresh() -> Iterator[None]:
    """The CLI reads its settings once per process (cached); each test's CLI calls read their own environment."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def demo_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the demo corpus ingested and indexed with the fake embedder (built once)."""
    data_dir = tmp_path_factory.mktemp("demo-state")
    rt = fake_runtime(data_dir)
    rt.ingest(DEMO_CORPUS)
    rt.build_index()
    return data_dir


@pytest.fixture()
def demo_runtime(demo_state: Path, tmp_path: Path) -> Runtime:
    """A private copy of the demo state, so a test may change it."""
    copy = tmp_path / "state"
    copy_state(demo_state, copy)
    return fake_runtime(copy)


@pytest.fixture(scope="session")
def shared_runtime(demo_state: Path) -> Runtime:
    """The demo state, read-only: for tests that only query."""
    return fake_runtime(demo_state)


@pytest.fixture(scope="session")
def openalex_runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    """The shipped OpenAlex sample, ingested and indexed with the fake embedder; read-only."""
    rt = fake_runtime(tmp_path_factory.mktemp("openalex"))
    rt.ingest(OPENALEX_SAMPLE)
    rt.build_index()
    return rt


def api_key(runtime: Runtime, *scopes: str) -> str:
    """A new API key in the runtime's store."""
    return KeyStore(runtime.settings.store_path).create("tests", list(scopes or ("admin",)))[1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def authorized(client: TestClient, runtime: Runtime, *scopes: str) -> TestClient:
    client.headers["Authorization"] = f"Bearer {api_key(runtime, *scopes)}"
    return client


@pytest.fixture(scope="session")
def client(shared_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(shared_runtime)) as test_client:
        yield test_client
