"""Researcher profiles of OpenAlex authors, derived from everything stored about them, whichever
file or run brought it: all their works; the newest author record's name, ORCID, last known
institution and impact figures; otherwise the name and affiliation printed on their newest work;
the country from the institution (its record, or what works say of it), else from the authorship.

Only the authors queued in `profiles_to_derive` (by indexer/openalex_writes.py) are derived, a chunk
per transaction, so an update costs what it touched and an interrupted run resumes from the queue."""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from indexer import schema
from indexer.sources.openalex import record_hash

CHUNK = 2000  # authors per transaction


@dataclass
class ProfileCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # authors left without a work (a changed work no longer lists them)


def queued_profiles(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM profiles_to_derive").fetchone()[0])


def derive_profiles(conn: sqlite3.Connection, on_progress: Callable[[int], None] | None = None) -> ProfileCounts:
    counts = ProfileCounts()
    while True:
        with schema.transaction(conn):
            ids = [r[0] for r in conn.execute("SELECT researcher_id FROM profiles_to_derive ORDER BY researcher_id LIMIT ?", (CHUNK,))]
            if not ids:
                return counts
            _derive(conn, ids, counts)
            conn.executemany("DELETE FROM profiles_to_derive WHERE researcher_id = ?", ((rid,) for rid in ids))
        if on_progress:
            on_progress(len(ids))


def _derive(conn: sqlite3.Connection, ids: list[str], counts: ProfileCounts) -> None:
    works: dict[str, list[sqlite3.Row]] = defaultdict(list)
    for row in schema.select_in(conn, """SELECT a.researcher_id, a.publication_id, a.author_name, a.orcid, a.countries,
                                      p.year, p.record_hash, p.text_hash
                                      FROM authorships a JOIN publications p ON p.id = a.publication_id
                                      WHERE a.researcher_id IN ({ids})""", ids):
        works[row[0]].append(row)
    first_institution = {(r[0], r[1]): r[2] for r in schema.select_in(
        conn, "SELECT researcher_id, publication_id, institution_id FROM authorship_institutions WHERE researcher_id IN ({ids}) AND rank = 0", ids)}
    records = {r["id"]: r for r in schema.select_in(conn, "SELECT * FROM openalex_authors WHERE id IN ({ids})", ids)}
    institution_ids = {*first_institution.values(), *(r["institution_id"] for r in records.values() if r["institution_id"])}
    institutions = {r[0]: (r[1], r[2]) for r in schema.select_in(
        conn, "SELECT id, display_name, country_code FROM institutions WHERE id IN ({ids})", sorted(institution_ids))}
    stored = {r[0]: r[1] for r in schema.select_in(conn, "SELECT id, content_hash FROM researchers WHERE id IN ({ids})", ids)}

    now = time.time()
    upserts: list[tuple[Any, ...]] = []
    removals: list[tuple[str]] = []
    for rid in ids:
        mine = sorted(works.get(rid, ()), key=lambda r: (-(r["year"] or 0), r["publication_id"]))
        if not mine:
            if rid in stored:
                removals.append((rid,))
                counts.removed += 1
            continue
        profile = _profile(rid, mine, records.get(rid), first_institution, institutions)
        digest = record_hash(*profile, [(r["publication_id"], r["record_hash"] or r["text_hash"]) for r in mine])
        if stored.get(rid) == digest:
            counts.unchanged += 1
            continue
        if rid in stored:
            counts.updated += 1
        else:
            counts.added += 1
        upserts.append((*profile, "[]", "openalex", 0, digest, now))
    conn.executemany("INSERT OR REPLACE INTO researchers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", upserts)
    conn.executemany("DELETE FROM researchers WHERE id = ?", removals)


def _profile(
    rid: str, works: list[sqlite3.Row], record: sqlite3.Row | None,
    first_institution: dict[tuple[str, str], str], institutions: dict[str, tuple[str | None, str | None]],
) -> tuple[Any, ...]:
    """(id, name, institution, country, orcid, h_index, works_count, cited_by_count); `works` newest first."""
    name = (record["display_name"] if record else None) or next((w["author_name"] for w in works if w["author_name"]), None) or rid
    orcid = (record["orcid"] if record else None) or next((w["orcid"] for w in works if w["orcid"]), None)
    institution, country = _affiliation(rid, works, record, first_institution, institutions)
    if country is None:
        country = next((w["countries"].split(",")[0] for w in works if w["countries"]), None)
    figures = (record["h_index"], record["works_count"], record["cited_by_count"]) if record else (None, None, None)
    return (rid, name, institution, country, orcid, *figures)


def _affiliation(
    rid: str, works: list[sqlite3.Row], record: sqlite3.Row | None,
    first_institution: dict[tuple[str, str], str], institutions: dict[str, tuple[str | None, str | None]],
) -> tuple[str | None, str | None]:
    """(institution, country): the author record's last known institution (as its own record describes
    it, where one is stored), else the first institution on the newest work that names one."""
    if record and (record["institution_id"] or record["institution_name"]):
        name, country = institutions.get(record["institution_id"], (None, None))
        return name or record["institution_name"], country or record["institution_country"]
    for work in works:
        institution_id = first_institution.get((rid, work["publication_id"]))
        if institution_id:
            return institutions.get(institution_id, (None, None))
    return None, None
