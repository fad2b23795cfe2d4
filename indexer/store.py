"""The corpus in the store: researchers, publications, authorships, ingest runs and index versions
(the tables are indexer/schema.py's). Every write runs in one transaction; WAL mode lets readers
go on while a write is in progress."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer import profiles, schema
from indexer.profiles import ProfileCounts
from indexer.records import PublicationRecord, ResearcherRecord, embedding_text


@dataclass(frozen=True)
class SharedRewrite:
    """A researcher record that would change a publication other researchers hold too: refused."""

    researcher_id: str
    position: int  # of the publication in the record
    publication_id: str
    changed: tuple[str, ...]  # the fields that differ from the stored publication
    holders: tuple[str, ...]  # the other researchers who hold it (the first few)
    holder_count: int

    @property
    def reason(self) -> str:
        others = ", ".join(self.holders) + (f" and {self.holder_count - len(self.holders)} more" if self.holder_count > len(self.holders) else "")
        return (f"publication {self.publication_id!r} is also held by {self.holder_count} other researcher(s) ({others}); one "
                f"researcher's write cannot change its {', '.join(self.changed)}. Send it as stored to keep the authorship, leave it "
                "out to drop it, or correct it at its source for every author")


@dataclass(frozen=True)
class UpsertCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: tuple[SharedRewrite, ...] = ()


SHARED_FIELDS = ("title", "abstract", "year", "cited_by_count")  # what a researcher write may not rewrite in a shared publication
HOLDERS_NAMED = 5


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


_PUBLICATION_COLUMNS = "p.id, p.title, p.abstract, p.year, p.cited_by_count, p.text_hash"
_NEWEST_FIRST = "p.year IS NULL, p.year DESC, a.position, p.id"


def researcher_from_row(row: sqlite3.Row) -> StoredResearcher:
    data = dict(row)
    data["declared_fields"] = tuple(json.loads(data["declared_fields"]))
    data["fictional"] = bool(data["fictional"])
    data.pop("content_hash", None)
    return StoredResearcher(**data)


def _content(pub: PublicationRecord) -> tuple[object, ...]:
    return (*(getattr(pub, f) for f in SHARED_FIELDS), _funder_ids(f.id for f in pub.funders))


def _funder_ids(ids: Iterable[str]) -> str:
    return ",".join(sorted(set(ids)))


def _stored_content(conn: sqlite3.Connection, publication_id: str) -> tuple[object, ...] | None:
    stored = conn.execute(f"SELECT {', '.join(SHARED_FIELDS)} FROM publications WHERE id = ?", (publication_id,)).fetchone()
    if stored is None:
        return None
    funders = conn.execute("SELECT funder_id FROM work_funding WHERE publication_id = ?", (publication_id,))
    return (*stored, _funder_ids(r[0] for r in funders))


def _carriers(records: Sequence[ResearcherRecord]) -> dict[tuple[str, tuple[object, ...]], set[str]]:
    """Per (publication, content): the researchers of this write that carry it so."""
    carriers: dict[tuple[str, tuple[object, ...]], set[str]] = {}
    for record in records:
        for pub in record.publications:
            carriers.setdefault((pub.id, _content(pub)), set()).add(record.id)
    return carriers


def _shared_rewrite(conn: sqlite3.Connection, record: ResearcherRecord,
                    carriers: dict[tuple[str, tuple[object, ...]], set[str]]) -> SharedRewrite | None:
    """The first publication of `record` that it would rewrite while researchers outside this write
    hold it too; None where there is none."""
    for position, pub in enumerate(record.publications):
        stored = _stored_content(conn, pub.id)
        if stored is None or stored == _content(pub):
            continue
        agreeing = carriers.get((pub.id, _content(pub)), set()) | {record.id}
        holders = [r[0] for r in conn.execute("SELECT researcher_id FROM authorships WHERE publication_id = ? ORDER BY researcher_id",
                                               (pub.id,)) if r[0] not in agreeing]
        if holders:
            changed = tuple(f for f, old, new in zip((*SHARED_FIELDS, "funders"), stored, _content(pub)) if old != new)
            return SharedRewrite(record.id, position, pub.id, changed, tuple(holders[:HOLDERS_NAMED]), len(holders))
    return None


def _refusals(conn: sqlite3.Connection, records: Sequence[ResearcherRecord]) -> dict[str, SharedRewrite]:
    """The records to refuse, by researcher id: those that would rewrite a shared publication. A
    record's rewrite is allowed when every other holder is among the accepted records carrying the
    same new text, so a refusal can take another's agreement away: repeated until nothing changes."""
    refused: dict[str, SharedRewrite] = {}
    while True:
        accepted = [r for r in records if r.id not in refused]
        carriers = _carriers(accepted)
        found = {r.id: rewrite for r in accepted if (rewrite := _shared_rewrite(conn, r, carriers)) is not None}
        if not found:
            return refused
        refused.update(found)


class Store:
    def __init__(self, path: Path, read_only: bool = False) -> None:
        """`read_only`: a store or a copy of one (an index version's catalog) that is only read."""
        self.path = path
        self._conn = schema.open_read_only(path) if read_only else schema.open_store(path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return schema.transaction(self._conn)

    # --- writes -------------------------------------------------------------------------------

    def upsert_researchers(self, records: Sequence[ResearcherRecord]) -> UpsertCounts:
        """Insert new researchers, replace changed ones by id (publications included), skip identical
        ones. A publication is shared: a record may add or drop its own authorships, and change a
        publication that only it holds, but not rewrite one that other researchers hold too, unless
        every other holder is in `records` with the same new text. Such a record is refused whole
        (`refused`), and nothing of it is written."""
        added = updated = 0
        now = time.time()
        with self.transaction() as conn:
            dropped: set[str] = set()  # publications that may have lost their last author
            stored = {r.id: conn.execute("SELECT content_hash FROM researchers WHERE id = ?", (r.id,)).fetchone() for r in records}
            pending = [r for r in records if stored[r.id] is None or stored[r.id]["content_hash"] != r.content_hash]
            unchanged = len(records) - len(pending)
            refused = _refusals(conn, pending)
            for record in pending:
                if record.id in refused:
                    continue
                digest, row = record.content_hash, stored[record.id]
                if row is None:
                    added += 1
                else:
                    updated += 1
                    dropped.update(self._remove_authorships(conn, record.id))
                conn.execute(
                    "INSERT OR REPLACE INTO researchers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (record.id, record.name, record.institution, record.country, record.orcid, record.h_index,
                     record.works_count, record.cited_by_count, json.dumps(list(record.fields)), record.source,
                     int(record.fictional), digest, now),
                )
                for position, pub in enumerate(record.publications):
                    self._upsert_publication(conn, pub)
                    conn.execute("INSERT INTO authorships (researcher_id, publication_id, position) VALUES (?,?,?)",
                                 (record.id, pub.id, position))
                if record.institution_id:
                    conn.execute("INSERT INTO declared_institutions VALUES (?,?)", (record.id, record.institution_id))
                    conn.execute("INSERT OR IGNORE INTO institutions (id, display_name, country_code) VALUES (?,?,?)",
                                 (record.institution_id, record.institution, record.country))
            self._drop_orphan_publications(conn, dropped)
        return UpsertCounts(added, updated, unchanged, tuple(refused.values()))

    def delete_researcher(self, researcher_id: str) -> bool:
        """Removes the researcher, their authorships and the publications no one else wrote."""
        with self.transaction() as conn:
            dropped = self._remove_authorships(conn, researcher_id)
            deleted = conn.execute("DELETE FROM researchers WHERE id = ?", (researcher_id,)).rowcount
            self._drop_orphan_publications(conn, dropped)
        return bool(deleted)

    @staticmethod
    def _remove_authorships(conn: sqlite3.Connection, researcher_id: str) -> list[str]:
        """The researcher's authorships removed; the publications they were on."""
        publications = [r[0] for r in conn.execute("SELECT publication_id FROM authorships WHERE researcher_id = ?", (researcher_id,))]
        conn.execute("DELETE FROM authorship_institutions WHERE researcher_id = ?", (researcher_id,))
        conn.execute("DELETE FROM declared_institutions WHERE researcher_id = ?", (researcher_id,))
        conn.execute("DELETE FROM authorships WHERE researcher_id = ?", (researcher_id,))
        return publications

    @staticmethod
    def _upsert_publication(conn: sqlite3.Connection, pub: PublicationRecord) -> None:
        conn.execute(
            """INSERT INTO publications (id, title, abstract, year, cited_by_count, text_hash) VALUES (?,?,?,?,?,?)
               ON CONFLICT(id) DO UPDATE SET title=excluded.title, abstract=excluded.abstract,
               year=excluded.year, cited_by_count=excluded.cited_by_count, text_hash=excluded.text_hash""",
            (pub.id, pub.title, pub.abstract, pub.year, pub.cited_by_count, pub.text_hash),
        )
        conn.execute("DELETE FROM work_funding WHERE publication_id = ?", (pub.id,))  # a shared one only as all its holders say
        conn.executemany("INSERT OR IGNORE INTO work_funding (publication_id, funder_id) VALUES (?,?)", ((pub.id, f.id) for f in pub.funders))
        conn.executemany("INSERT OR IGNORE INTO funders (id, display_name, ror) VALUES (?,?,?)",
                         ((f.id, f.name, f.ror) for f in pub.funders))  # a name OpenAlex gave stays

    @staticmethod
    def _drop_orphan_publications(conn: sqlite3.Connection, candidates: Iterable[str]) -> None:
        """Of `candidates`, the publications no one is an author of any more go (a cost of the change, not the store)."""
        orphans = [(pid,) for pid in candidates
                   if conn.execute("SELECT 1 FROM authorships WHERE publication_id = ? LIMIT 1", (pid,)).fetchone() is None]
        conn.executemany("DELETE FROM work_funding WHERE publication_id = ?", orphans)
        conn.executemany("DELETE FROM publications WHERE id = ?", orphans)

    def derive_profiles(self, on_progress: Callable[[int], None] | None = None,
                        compute_many: profiles.ComputeMany | None = None) -> ProfileCounts:
        """The profiles of OpenAlex authors whose stored records changed (indexer/profiles.py)."""
        return profiles.derive_profiles(self._conn, on_progress, compute_many)

    def queued_profiles(self) -> int:
        return profiles.queued_profiles(self._conn)

    def ingested_file(self, sha256: str, slice_signature: str) -> bool:
        """Whether a file with this content was ingested whole before, under the same slice."""
        row = self._conn.execute("SELECT 1 FROM ingested_files WHERE sha256 = ? AND slice = ?", (sha256, slice_signature)).fetchone()
        return row is not None

    @staticmethod
    def record_ingested_file(conn: sqlite3.Connection, sha256: str, slice_signature: str, name: str, records: int,
                             manifest_entry: dict[str, Any] | None) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO ingested_files VALUES (?,?,?,?,?,?)",
            (sha256, slice_signature, name, json.dumps(manifest_entry) if manifest_entry else None, records, time.time()),
        )

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

    def country_counts(self) -> dict[str, int]:
        """Researchers per country code, most first ("unknown" for those without one)."""
        rows = self._conn.execute("SELECT coalesce(country, 'unknown'), count(*) AS n FROM researchers GROUP BY 1 ORDER BY n DESC, 1")
        return {code: n for code, n in rows}

    def researcher(self, researcher_id: str) -> StoredResearcher | None:
        row = self._conn.execute("SELECT * FROM researchers WHERE id = ?", (researcher_id,)).fetchone()
        return researcher_from_row(row) if row else None

    def researchers_by_id(self, ids: Sequence[str]) -> dict[str, StoredResearcher]:
        """The stored records of these ids (those that exist), read a few hundred at a time."""
        rows = schema.select_in(self._conn, "SELECT * FROM researchers WHERE id IN ({ids})", list(dict.fromkeys(ids)))
        return {r["id"]: researcher_from_row(r) for r in rows}

    def publications_by_id(self, ids: Sequence[str], abstracts: bool = False) -> dict[str, StoredPublication]:
        columns = _PUBLICATION_COLUMNS if abstracts else _PUBLICATION_COLUMNS.replace("p.abstract", "NULL AS abstract")
        rows = schema.select_in(self._conn, f"SELECT {columns} FROM publications p WHERE p.id IN ({{ids}})", list(dict.fromkeys(ids)))
        return {r["id"]: StoredPublication(**dict(r)) for r in rows}

    def researchers(self) -> list[StoredResearcher]:
        return [researcher_from_row(r) for r in self._conn.execute("SELECT * FROM researchers ORDER BY id")]

    def publications(self, abstracts: bool = True) -> list[StoredPublication]:
        """`abstracts=False` leaves them out (None), for readers that need the rest only."""
        columns = _PUBLICATION_COLUMNS if abstracts else _PUBLICATION_COLUMNS.replace("p.abstract", "NULL AS abstract")
        return [StoredPublication(**dict(r)) for r in self._conn.execute(f"SELECT {columns} FROM publications p ORDER BY p.id")]

    def publications_of(self, researcher_id: str) -> list[StoredPublication]:
        """Newest first."""
        rows = self._conn.execute(
            f"""SELECT {_PUBLICATION_COLUMNS} FROM publications p JOIN authorships a ON a.publication_id = p.id
                WHERE a.researcher_id = ? ORDER BY {_NEWEST_FIRST}""",
            (researcher_id,),
        )
        return [StoredPublication(**dict(r)) for r in rows]

    def authorships(self) -> list[tuple[str, str]]:
        """(researcher_id, publication_id) pairs, each researcher's newest publications first."""
        rows = self._conn.execute(
            f"""SELECT a.researcher_id, a.publication_id FROM authorships a JOIN publications p ON p.id = a.publication_id
                ORDER BY a.researcher_id, {_NEWEST_FIRST}"""
        )
        return [(r[0], r[1]) for r in rows]

    def _has_table(self, name: str) -> bool:
        return self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None

    def japan_tie_counts(self) -> list[tuple[str, int, int | None]]:
        """Of an index version's catalog: (researcher id, works with a co-author in Japan, the latest
        year of one) for each researcher with any (none in a catalog from before they were kept)."""
        if not self._has_table("japan_ties"):
            return []
        rows = self._conn.execute("SELECT researcher_id, COUNT(DISTINCT publication_id), MAX(year) FROM japan_ties GROUP BY researcher_id")
        return [(r[0], r[1], r[2]) for r in rows]

    def funders_of(self, researcher_ids: Sequence[str]) -> dict[str, list[tuple[str, str | None, str | None, int]]]:
        """Of an index version's catalog: per researcher, (funder id, name, ROR, works) from their
        works' funding records, most works first."""
        if not self._has_table("researcher_funders"):
            return {}
        out: dict[str, list[tuple[str, str | None, str | None, int]]] = {}
        for r in schema.select_in(self._conn, "SELECT * FROM researcher_funders WHERE researcher_id IN ({ids}) ORDER BY works DESC, funder_id",
                                  list(dict.fromkeys(researcher_ids))):
            out.setdefault(r["researcher_id"], []).append((r["funder_id"], r["name"], r["ror"], r["works"]))
        return out

    def institutions_of(self, researcher_id: str, since_year: int) -> list[str]:
        """Of an index version's catalog: the institutions (OpenAlex ids) the researcher was at in a
        work from `since_year` on, or is at by their author record."""
        if not self._has_table("researcher_institutions"):
            return []
        return [r[0] for r in self._conn.execute(
            "SELECT institution_id FROM researcher_institutions WHERE researcher_id = ? AND last_year >= ?", (researcher_id, since_year))]

    def institution_parts(self, institution_ids: Sequence[str]) -> list[tuple[str, str]]:
        """Of an index version's catalog: (institution, what it is part of) pairs that hold one of
        these institutions on either side (OpenAlex's lineage)."""
        if not self._has_table("institution_lineage") or not institution_ids:
            return []
        ids = list(institution_ids)
        return [(r[0], r[1]) for r in schema.select_in(self._conn, "SELECT institution_id, ancestor_id FROM institution_lineage "
                                                       "WHERE institution_id IN ({ids})", ids)
                + schema.select_in(self._conn, "SELECT institution_id, ancestor_id FROM institution_lineage "
                                   "WHERE ancestor_id IN ({ids})", ids)]

    def researchers_at(self, institution_ids: Sequence[str], since_year: int) -> list[tuple[str, str, str | None]]:
        """Of an index version's catalog: (researcher id, institution id, its name) of those at these
        institutions in a work from `since_year` on, or by their author record."""
        if not self._has_table("researcher_institutions") or not institution_ids:
            return []
        rows = schema.select_in(self._conn, "SELECT researcher_id, institution_id, institution_name, last_year FROM researcher_institutions "
                                "WHERE institution_id IN ({ids})", list(institution_ids))
        return [(r[0], r[1], r[2]) for r in rows if r[3] >= since_year]

    def institution_names_of(self, researcher_ids: Sequence[str], since_year: int) -> dict[str, list[tuple[str, str, str | None]]]:
        """Of an index version's catalog: per researcher, (institution id, a name of it, its country)
        of the institutions they were at in a work from `since_year` on, or are at by their record."""
        if not self._has_table("institution_names") or not researcher_ids:
            return {}
        found: dict[str, list[tuple[str, str, str | None]]] = {}
        for r in schema.select_in(self._conn, "SELECT ri.researcher_id, n.institution_id, n.name, n.country, ri.last_year "
                                  "FROM researcher_institutions ri JOIN institution_names n ON n.institution_id = ri.institution_id "
                                  "WHERE ri.researcher_id IN ({ids})", list(researcher_ids)):
            if r[4] >= since_year:
                found.setdefault(r[0], []).append((r[1], r[2], r[3]))
        return found

    def researcher_by_orcid(self, orcid: str) -> str | None:
        row = self._conn.execute("SELECT id FROM researchers WHERE orcid = ? ORDER BY id LIMIT 1", (orcid,)).fetchone()
        return row[0] if row else None

    def japan_tied_by(self, publication_id: str) -> list[str]:
        """Of an index version's catalog: the researchers for whom this work is a tie to Japan."""
        if not self._has_table("japan_ties"):
            return []
        return [r[0] for r in self._conn.execute("SELECT DISTINCT researcher_id FROM japan_ties WHERE publication_id = ?", (publication_id,))]

    def japan_ties(self, researcher_id: str) -> list[sqlite3.Row]:
        """Of an index version's catalog: the researcher's works with a co-author in Japan, newest
        first, one row per co-author (publication_id, title, year, coauthor_id, coauthor_name,
        coauthor_institution)."""
        if not self._has_table("japan_ties"):
            return []
        return self._conn.execute(
            "SELECT t.publication_id, p.title, t.year, t.coauthor_id, t.coauthor_name, t.coauthor_institution FROM japan_ties t "
            "JOIN publications p ON p.id = t.publication_id WHERE t.researcher_id = ? ORDER BY t.year IS NULL, t.year DESC, "
            "t.publication_id, t.coauthor_id", (researcher_id,)).fetchall()

    def content_hashes(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._conn.execute("SELECT id, content_hash FROM researchers ORDER BY id")]

    def index_versions(self) -> list[dict[str, Any]]:
        rows = self._conn.execute("SELECT manifest FROM index_versions ORDER BY created_at")
        return [json.loads(r[0]) for r in rows]

    def integrity_ok(self) -> bool:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def export_served(self, target: Path, researcher_ids: Sequence[str] | None = None) -> None:
        """The tables serving reads, copied consistently into a new file (indexer/schema.py); only
        these researchers and their publications, where given."""
        schema.export_served(self._conn, target, researcher_ids)

    def served_changes(self, base_catalog: Path) -> tuple[list[str], list[str]]:
        """The researchers to write anew since `base_catalog`, and the base's superseded ones (indexer/schema.py)."""
        return schema.served_changes(self._conn, base_catalog)
