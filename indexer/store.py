"""SQLite store: researchers, publications, authorships, ingest runs and index versions.

Every write runs in one transaction; WAL mode lets readers go on while a write is in progress.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.records import PublicationRecord, ResearcherRecord, embedding_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS researchers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    institution TEXT,
    country TEXT,
    orcid TEXT,
    h_index INTEGER,
    works_count INTEGER,
    cited_by_count INTEGER,
    declared_fields TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL,
    fictional INTEGER NOT NULL DEFAULT 0,
    content_hash TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS publications (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    abstract TEXT,
    year INTEGER,
    cited_by_count INTEGER,
    text_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS authorships (
    researcher_id TEXT NOT NULL REFERENCES researchers(id) ON DELETE CASCADE,
    publication_id TEXT NOT NULL REFERENCES publications(id),
    position INTEGER NOT NULL,
    PRIMARY KEY (researcher_id, publication_id)
);
CREATE INDEX IF NOT EXISTS authorships_by_publication ON authorships(publication_id);
CREATE TABLE IF NOT EXISTS ingest_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS index_versions (
    version TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    created_at REAL NOT NULL,
    manifest TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class UpsertCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class StoredResearcher:
    id: str
    name: str
    institution: str | None
    country: str | None
    orcid: str | None
    h_index: int | None
    works_count: int | None
    cited_by_count: int | None
    declared_fields: tuple[str, ...]
    source: str
    fictional: bool
    updated_at: float


@dataclass(frozen=True)
class StoredPublication:
    id: str
    title: str
    abstract: str | None
    year: int | None
    cited_by_count: int | None
    text_hash: str

    def text(self, mode: str = "title_abstract") -> str:
        return embedding_text(self.title, self.abstract, mode)


def researcher_from_row(row: sqlite3.Row) -> StoredResearcher:
    data = dict(row)
    data["declared_fields"] = tuple(json.loads(data["declared_fields"]))
    data["fictional"] = bool(data["fictional"])
    data.pop("content_hash", None)
    return StoredResearcher(**data)


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A short-lived connection (autocommit, rows by name, foreign keys on), for tables in the store's
    file that other threads and processes use too (batch jobs, API keys)."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    try:
        yield conn
    finally:
        conn.close()


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # --- writes -------------------------------------------------------------------------------

    def upsert_researchers(self, records: Iterable[ResearcherRecord]) -> UpsertCounts:
        """Insert new researchers, replace changed ones by id (publications included), skip identical ones."""
        added = updated = unchanged = 0
        now = time.time()
        with self.transaction() as conn:
            for record in records:
                digest = record.content_hash
                row = conn.execute("SELECT content_hash FROM researchers WHERE id = ?", (record.id,)).fetchone()
                if row is not None and row["content_hash"] == digest:
                    unchanged += 1
                    continue
                if row is None:
                    added += 1
                else:
                    updated += 1
                    conn.execute("DELETE FROM authorships WHERE researcher_id = ?", (record.id,))
                conn.execute(
                    "INSERT OR REPLACE INTO researchers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (record.id, record.name, record.institution, record.country, record.orcid, record.h_index,
                     record.works_count, record.cited_by_count, json.dumps(list(record.fields)), record.source,
                     int(record.fictional), digest, now),
                )
                for position, pub in enumerate(record.publications):
                    self._upsert_publication(conn, pub)
                    conn.execute("INSERT INTO authorships VALUES (?,?,?)", (record.id, pub.id, position))
            self._drop_orphan_publications(conn)
        return UpsertCounts(added, updated, unchanged)

    def delete_researcher(self, researcher_id: str) -> bool:
        """Removes the researcher, their authorships and the publications no one else wrote."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM authorships WHERE researcher_id = ?", (researcher_id,))
            deleted = conn.execute("DELETE FROM researchers WHERE id = ?", (researcher_id,)).rowcount
            self._drop_orphan_publications(conn)
        return bool(deleted)

    @staticmethod
    def _upsert_publication(conn: sqlite3.Connection, pub: PublicationRecord) -> None:
        conn.execute(
            """INSERT INTO publications VALUES (?,?,?,?,?,?)
               ON CONFLICT(id) DO UPDATE SET title=excluded.title, abstract=excluded.abstract,
               year=excluded.year, cited_by_count=excluded.cited_by_count, text_hash=excluded.text_hash""",
            (pub.id, pub.title, pub.abstract, pub.year, pub.cited_by_count, pub.text_hash),
        )

    @staticmethod
    def _drop_orphan_publications(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM publications WHERE id NOT IN (SELECT publication_id FROM authorships)")

    def record_ingest_run(self, path: str, started_at: float, summary: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO ingest_runs (path, started_at, finished_at, summary) VALUES (?,?,?,?)",
                (path, started_at, time.time(), json.dumps(summary)),
            )

    def record_index_version(self, version: str, path: Path, manifest: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO index_versions VALUES (?,?,?,?)",
                (version, str(path), time.time(), json.dumps(manifest)),
            )

    # --- reads --------------------------------------------------------------------------------

    def researcher_count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM researchers").fetchone()[0]

    def publication_count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM publications").fetchone()[0]

    def researcher(self, researcher_id: str) -> StoredResearcher | None:
        row = self._conn.execute("SELECT * FROM researchers WHERE id = ?", (researcher_id,)).fetchone()
        return researcher_from_row(row) if row else None

    def researchers(self) -> list[StoredResearcher]:
        return [researcher_from_row(r) for r in self._conn.execute("SELECT * FROM researchers ORDER BY id")]

    def publications(self) -> list[StoredPublication]:
        return [StoredPublication(**dict(r)) for r in self._conn.execute("SELECT * FROM publications ORDER BY id")]

    def publications_of(self, researcher_id: str) -> list[StoredPublication]:
        rows = self._conn.execute(
            """SELECT p.* FROM publications p JOIN authorships a ON a.publication_id = p.id
               WHERE a.researcher_id = ? ORDER BY a.position""",
            (researcher_id,),
        )
        return [StoredPublication(**dict(r)) for r in rows]

    def authorships(self) -> list[tuple[str, str]]:
        """(researcher_id, publication_id) pairs, in each researcher's publication order."""
        rows = self._conn.execute("SELECT researcher_id, publication_id FROM authorships ORDER BY researcher_id, position")
        return [(r[0], r[1]) for r in rows]

    def content_hashes(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._conn.execute("SELECT id, content_hash FROM researchers ORDER BY id")]

    def index_versions(self) -> list[dict[str, Any]]:
        rows = self._conn.execute("SELECT manifest FROM index_versions ORDER BY created_at")
        return [json.loads(r[0]) for r in rows]

    def integrity_ok(self) -> bool:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def backup_to(self, target: sqlite3.Connection) -> None:
        """A consistent copy of the whole store, taken while writers may go on."""
        self._conn.backup(target)
