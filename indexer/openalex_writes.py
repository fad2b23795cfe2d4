"""Storing OpenAlex works, authors and institutions a batch at a time (each call runs inside the
caller's transaction). A record whose stored copy has the same content is skipped; one with an older
`updated_date` than the stored copy is skipped too (a newer snapshot partition or harvest already
gave it); a changed one replaces the stored rows. Every author whose profile may change is queued
in `profiles_to_derive` (indexer/profiles.py derives them), so the cost follows the change."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from indexer.schema import select_in
from indexer.sources.openalex import AuthorRow, InstitutionRow, WorkRow

TOPIC_COLUMNS = ("id", "display_name", "subfield_id", "subfield_name", "field_id", "field_name", "domain_id", "domain_name")


@dataclass
class RecordCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0  # an older copy than the stored one: skipped

    def add(self, other: RecordCounts) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.older += other.older

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "older": self.older}


@dataclass
class _Decision:
    new: list[Any] = field(default_factory=list)
    changed: list[Any] = field(default_factory=list)
    counts: RecordCounts = field(default_factory=RecordCounts)


def _newest_per_id(rows: Iterable[Any]) -> dict[str, Any]:
    """One record per id: the one with the newest `updated_date`, the last read on a tie."""
    latest: dict[str, Any] = {}
    for row in rows:
        known = latest.get(row.id)
        if known is None or (row.updated_date or "") >= (known.updated_date or ""):
            latest[row.id] = row
    return latest


def _decide(conn: sqlite3.Connection, table: str, hash_column: str, rows: dict[str, Any]) -> _Decision:
    stored = {r[0]: (r[1], r[2]) for r in select_in(
        conn, f"SELECT id, {hash_column}, updated_date FROM {table} WHERE id IN ({{ids}})", list(rows))}
    decision = _Decision()
    for rid, row in rows.items():
        known = stored.get(rid)
        digest = row.hash if isinstance(row, WorkRow) else row.values()[-1]
        if known is None or known[0] is None:  # not stored, or only as other records named it
            decision.new.append(row)
            decision.counts.added += 1
        elif known[0] == digest:
            decision.counts.unchanged += 1
        elif known[1] and row.updated_date and row.updated_date < known[1]:
            decision.counts.older += 1
        else:
            decision.changed.append(row)
            decision.counts.updated += 1
    return decision


def _queue_profiles(conn: sqlite3.Connection, researcher_ids: Iterable[str]) -> None:
    conn.executemany("INSERT OR IGNORE INTO profiles_to_derive VALUES (?)", ((rid,) for rid in set(researcher_ids)))


def _merge_copies(copies: Iterable[tuple[str, tuple[Any, ...]]]) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """Per id (the first value), each column's value from the newest copy that has one; `copies`
    are (rank, values), the rank saying how new the record that carried the copy is."""
    newest: dict[str, tuple[str, tuple[Any, ...]]] = {}
    differing: dict[str, list[tuple[str, tuple[Any, ...]]]] = {}
    for copy in copies:  # most copies of an institution are the same: the newest one is then all there is to it
        key = copy[1][0]
        known = newest.get(key)
        if known is None:
            newest[key] = copy
            continue
        if key in differing:
            differing[key].append(copy)
        elif known[1] != copy[1]:
            differing[key] = [known, copy]
        if copy[0] > known[0]:
            newest[key] = copy
    for key, versions in differing.items():
        merged: tuple[Any, ...] = ()
        for _, values in sorted(versions, key=lambda c: c[0]):
            merged = values if not merged else tuple(k if v is None else v for v, k in zip(values, merged, strict=True))
        newest[key] = (newest[key][0], merged)
    return newest


def _upsert_copies(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], copies: Iterable[tuple[str, tuple[Any, ...]]],
                   guard: str = "") -> None:
    """Stores what records say in passing of an entity they name (a work of its institutions, topic
    and funders): each column holds the newest copy's value, whatever order the copies come in."""
    newer = f"excluded.described_at >= coalesce({table}.described_at, '')"
    updates = ", ".join(f"{c} = CASE WHEN {newer} THEN coalesce(excluded.{c}, {table}.{c}) ELSE coalesce({table}.{c}, excluded.{c}) END"
                        for c in columns[1:])
    conn.executemany(
        f"""INSERT INTO {table} ({", ".join(columns)}, described_at) VALUES ({", ".join("?" * (len(columns) + 1))})
            ON CONFLICT(id) DO UPDATE SET {updates}, described_at = max(excluded.described_at, coalesce({table}.described_at, ''))
            {guard}""",
        ((*values, rank) for rank, values in _merge_copies(copies).values()),
    )


def _rank(record: WorkRow | AuthorRow) -> str:
    return f"{record.updated_date or ''}|{record.id}"


def _requeue_holders(conn: sqlite3.Connection, institution_ids: Iterable[str]) -> None:
    """Queues the profiles that show these institutions (their name or country changed)."""
    for iid in institution_ids:
        conn.execute("INSERT OR IGNORE INTO profiles_to_derive SELECT DISTINCT researcher_id FROM authorship_institutions WHERE institution_id = ?", (iid,))
        conn.execute("INSERT OR IGNORE INTO profiles_to_derive SELECT id FROM openalex_authors WHERE institution_id = ?", (iid,))


def _described_institutions(conn: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[Any, Any]]:
    return {r[0]: (r[1], r[2]) for r in select_in(conn, "SELECT id, display_name, country_code FROM institutions WHERE id IN ({ids})", ids)}


def _fill_institutions(conn: sqlite3.Connection, copies: list[tuple[str, InstitutionRow]]) -> None:
    """Institutions as works and author records name them, for those without a record of their own."""
    ids = sorted({i.id for _, i in copies})
    before = _described_institutions(conn, ids)
    _upsert_copies(conn, "institutions", ("id", "display_name", "ror", "country_code", "type"),
                   ((rank, i.described()) for rank, i in copies), guard="WHERE institutions.record_hash IS NULL")
    after = _described_institutions(conn, ids)
    _requeue_holders(conn, (iid for iid in before if before[iid] != after[iid]))
    conn.executemany("INSERT OR IGNORE INTO institution_lineage VALUES (?,?)", sorted({(i.id, a) for _, i in copies for a in i.lineage}))


def write_works(conn: sqlite3.Connection, works: Iterable[WorkRow]) -> RecordCounts:
    decision = _decide(conn, "publications", "record_hash", _newest_per_id(works))
    if decision.changed:
        changed_ids = [w.id for w in decision.changed]
        previous = select_in(conn, "SELECT researcher_id, publication_id FROM authorships WHERE publication_id IN ({ids})", changed_ids)
        _queue_profiles(conn, (r[0] for r in previous))
        conn.executemany("DELETE FROM authorship_institutions WHERE researcher_id = ? AND publication_id = ?", previous)
        conn.executemany("DELETE FROM authorships WHERE researcher_id = ? AND publication_id = ?", previous)
        conn.executemany("DELETE FROM work_funding WHERE publication_id = ?", ((wid,) for wid in changed_ids))
    written = decision.new + decision.changed
    if not written:
        return decision.counts
    conn.executemany(
        """INSERT INTO publications (id, title, abstract, year, cited_by_count, text_hash, doi, type, language, fwci,
               topic_id, updated_date, record_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
           ON CONFLICT(id) DO UPDATE SET title=excluded.title, abstract=excluded.abstract, year=excluded.year,
               cited_by_count=excluded.cited_by_count, text_hash=excluded.text_hash, doi=excluded.doi, type=excluded.type,
               language=excluded.language, fwci=excluded.fwci, topic_id=excluded.topic_id,
               updated_date=excluded.updated_date, record_hash=excluded.record_hash""",
        (w.publication_values() for w in written),
    )
    conn.executemany(
        "INSERT OR REPLACE INTO authorships VALUES (?,?,?,?,?,?,?,?)",
        sorted((b.author_id, w.id, b.position, b.author_position, b.is_corresponding, b.name, b.orcid, ",".join(b.countries) or None)
               for w in written for b in w.bylines),  # in key order: each B-tree page is touched once a batch
    )
    conn.executemany(
        "INSERT OR IGNORE INTO authorship_institutions VALUES (?,?,?,?)",
        sorted(((w.id, b.author_id, rank, i.id) for w in written for b in w.bylines for rank, i in enumerate(b.institutions)),
               key=lambda r: (r[1], r[0], r[2])),
    )
    _fill_institutions(conn, [(_rank(w), i) for w in written for b in w.bylines for i in b.institutions])
    _upsert_copies(conn, "topics", TOPIC_COLUMNS, ((_rank(w), w.topic) for w in written if w.topic))
    _upsert_copies(conn, "funders", ("id", "display_name", "ror"), ((_rank(w), (f[0], f[2], f[3])) for w in written for f in w.funding))
    conn.executemany("INSERT OR IGNORE INTO work_funding VALUES (?,?,?)", ((w.id, f[0], f[1]) for w in written for f in w.funding))
    _queue_profiles(conn, (b.author_id for w in written for b in w.bylines))
    return decision.counts


def write_authors(conn: sqlite3.Connection, authors: Iterable[AuthorRow], only_with_works: bool = False) -> tuple[RecordCounts, int]:
    """(counts, authors left out). `only_with_works`: a sliced ingest keeps the records of authors
    whose works it stored only (the authors entity of a snapshot is ten times the works)."""
    latest = _newest_per_id(authors)
    left_out = 0
    if only_with_works and latest:
        with_works = {r[0] for r in select_in(conn, "SELECT DISTINCT researcher_id FROM authorships WHERE researcher_id IN ({ids})", list(latest))}
        left_out = len(latest) - len(with_works)
        latest = {aid: row for aid, row in latest.items() if aid in with_works}
    decision = _decide(conn, "openalex_authors", "record_hash", latest)
    written = decision.new + decision.changed
    if written:
        _fill_institutions(conn, [(_rank(a), a.institution) for a in written if a.institution])
        conn.executemany("INSERT OR REPLACE INTO openalex_authors VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", (a.values() for a in written))
        _queue_profiles(conn, (a.id for a in written))
    return decision.counts, left_out


def write_institutions(conn: sqlite3.Connection, institutions: Iterable[InstitutionRow]) -> RecordCounts:
    latest = _newest_per_id(institutions)
    before = _described_institutions(conn, list(latest))
    decision = _decide(conn, "institutions", "record_hash", latest)
    written = decision.new + decision.changed
    conn.executemany("INSERT OR REPLACE INTO institutions VALUES (?,?,?,?,?,?,?,NULL)", (i.values() for i in written))
    conn.executemany("DELETE FROM institution_lineage WHERE institution_id = ?", ((i.id,) for i in written))  # a record's lineage is whole
    conn.executemany("INSERT OR IGNORE INTO institution_lineage VALUES (?,?)", sorted({(i.id, a) for i in written for a in i.lineage}))
    conn.executemany("DELETE FROM institution_aliases WHERE institution_id = ?", ((i.id,) for i in written))
    conn.executemany("INSERT OR IGNORE INTO institution_aliases VALUES (?,?)", sorted({(i.id, a) for i in written for a in i.aliases}))
    # profiles that show this institution change when its name or country does
    _requeue_holders(conn, (i.id for i in written if i.id in before and before[i.id] != (i.display_name, i.country_code)))
    return decision.counts
