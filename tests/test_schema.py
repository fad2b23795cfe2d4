"""The store's schema (indexer/schema.py): numbered migrations bring any earlier store up to date
without losing a row, and a store from a newer Kakehashi is refused, not damaged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from indexer import schema
from indexer.store import Store
from kernel.errors import StoreUnusable
from service.auth import KeyStore
from service.batch.jobs import JobStore
from tests.conftest import fake_runtime, researcher, write_jsonl

# A store as Kakehashi wrote it before migrations were numbered and before batch jobs had owners.
BEFORE_NUMBERING = """
CREATE TABLE researchers (id TEXT PRIMARY KEY, name TEXT NOT NULL, institution TEXT, country TEXT, orcid TEXT,
    h_index INTEGER, works_count INTEGER, cited_by_count INTEGER, declared_fields TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL, fictional INTEGER NOT NULL DEFAULT 0, content_hash TEXT NOT NULL, updated_at REAL NOT NULL);
INSERT INTO researchers VALUES ('old-1', 'Old Researcher', 'Old Institute', 'FR', NULL, 7, NULL, NULL, '[]', 'house', 0, 'h', 0);
CREATE TABLE batch_jobs (id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL,
    finished_at REAL, total INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0, failed_queries INTEGER NOT NULL DEFAULT 0,
    error TEXT, request TEXT NOT NULL, summary TEXT);
INSERT INTO batch_jobs (id, state, created_at, total, request) VALUES ('job-1', 'succeeded', 0, 1, '{"queries": [{"id": "q1", "query": {"text": "GaN"}}]}');
"""


def columns(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def test_a_new_store_has_every_table_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "kakehashi.sqlite"
    schema.ensure(path)
    assert user_version(path) == schema.LATEST == len(schema.MIGRATIONS)
    assert [m.number for m in schema.MIGRATIONS] == list(range(1, schema.LATEST + 1))
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"researchers", "publications", "authorships", "batch_jobs", "batch_results", "api_keys"} <= tables
    schema.ensure(path)  # opening again applies nothing twice
    assert user_version(path) == schema.LATEST


def test_a_store_from_before_the_numbering_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "kakehashi.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(BEFORE_NUMBERING)
    assert "owner" not in columns(path, "batch_jobs")
    with Store(path) as store:
        assert store.researcher("old-1").name == "Old Researcher"  # type: ignore[union-attr]
    assert user_version(path) == schema.LATEST
    assert "owner" in columns(path, "batch_jobs")
    assert JobStore(path).get("job-1").state == "succeeded"
    KeyStore(path).create("portal", ["read"])  # the keys' table came with the migrations too


def test_a_store_from_a_newer_kakehashi_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path)
    rt.ingest(write_jsonl(tmp_path / "in.jsonl", [researcher("r1")]))
    with sqlite3.connect(rt.settings.store_path) as conn:
        conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    before = rt.settings.store_path.read_bytes()
    with pytest.raises(StoreUnusable, match="newer Kakehashi"):
        Store(rt.settings.store_path)
    with pytest.raises(StoreUnusable, match="newer Kakehashi"):
        Store(rt.settings.store_path, read_only=True)
    assert rt.settings.store_path.read_bytes() == before
