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
from collections.abc import Callable, Iterator
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


Computed = tuple[str, tuple[Any, ...] | None, str]  # (author id, profile or None without a work, its digest)
ComputeMany = Callable[[Iterator[list[str]]], Iterator[list[Computed]]]  # chunks of ids in, their profiles out, in order


def derive_profiles(conn: sqlite3.Connection, on_progress: Callable[[int], None] | None = None,
                    compute_many: ComputeMany | None = None) -> ProfileCounts:
    """Derives every queued profile, a chunk per transaction. `compute_many` computes chunks
    elsewhere (worker processes reading the store) while this connection writes the results."""
    counts = ProfileCounts()
    if compute_many is None:
        compute_many = lambda chunks: (compute_profiles(conn, ids) for ids in chunks)  # noqa: E731
    for computed in compute_many(_queued_chunks(conn)):
        with schema.transaction(conn):
            _apply(conn, computed, counts)
            conn.executemany("DELETE FROM profiles_to_derive WHERE researcher_id = ?", ((c[0],) for c in computed))
        if on_progress:
            on_progress(len(computed))
    return counts


def _queued_chunks(conn: sqlite3.Connection) -> Iterator[list[str]]:
    """The queue in chunks of ids, read ahead of the deletions that follow each chunk's write."""
    last = ""
    while ids := [r[0] for r in conn.execute(
            "SELECT researcher_id FROM profiles_to_derive WHERE researcher_id > ? ORDER BY researcher_id LIMIT ?", (last, CHUNK))]:
        last = ids[-1]
        yield ids


def compute_profiles(conn: sqlite3.Connection, ids: list[str]) -> list[Computed]:
    """The profiles of these authors from what the store holds (reads only)."""
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
    computed: list[Computed] = []
    for rid in ids:
        mine = sorted(works.get(rid, ()), key=lambda r: (-(r["year"] or 0), r["publication_id"]))
        if not mine:
            computed.append((rid, None, ""))
            continue
        profile = _profile(rid, mine, records.get(rid), first_institution, institutions)
        computed.append((rid, profile, record_hash(*profile, [(r["publication_id"], r["record_hash"] or r["text_hash"]) for r in mine])))
    return computed


def _apply(conn: sqlite3.Connection, computed: list[Computed], counts: ProfileCounts) -> None:
    stored = {r[0]: r[1] for r in schema.select_in(conn, "SELECT id, content_hash FROM researchers WHERE id IN ({ids})",
                                                   [c[0] for c in computed])}
    now = time.time()
    upserts: list[tuple[Any, ...]] = []
    removals: list[tuple[str]] = []
    for rid, profile, digest in computed:
        if profile is None:
            if rid in stored:
                removals.append((rid,))
                counts.removed += 1
        elif stored.get(rid) == digest:
            counts.unchanged += 1
        else:
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
