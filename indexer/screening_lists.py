"""Screening lists in the store (indexer/schema.py, migration 8): each load of a list is a dated
version of it, written whole in one transaction; the newest version of each list is the one in
force. Never part of an index version: a list loaded now screens the next query."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from indexer import schema
from indexer.sources.screening import ScreeningEntry, read_list
from kernel.errors import InvalidInput

MAX_LIST_NAME = 100


@dataclass(frozen=True)
class StoredList:
    list_id: int
    name: str
    as_of: str
    format: str
    file: str
    sha256: str
    entries: int
    loaded_at: float
    current: bool  # the newest version of its list


def load_list(store_path: Path, path: Path, name: str, as_of: str, fmt: str = "auto") -> StoredList:
    """Reads a list file and stores it as a new version of list `name`, dated `as_of` (YYYY-MM-DD)."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_LIST_NAME:
        raise InvalidInput(f"--list: a list name of 1 to {MAX_LIST_NAME} characters is needed")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of):
        raise InvalidInput(f"--as-of {as_of!r}: the list's date as YYYY-MM-DD is needed")
    try:
        date.fromisoformat(as_of)
    except ValueError as exc:
        raise InvalidInput(f"--as-of {as_of!r}: {exc}") from exc
    fmt, entries = read_list(path, fmt)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    conn = schema.open_store(store_path)
    try:
        with schema.transaction(conn):
            cursor = conn.execute(
                "INSERT INTO screening_lists (name, as_of, format, file, sha256, entries, loaded_at) VALUES (?,?,?,?,?,?,?)",
                (name, as_of, fmt, path.name, digest, len(entries), time.time()))
            list_id = int(cursor.lastrowid or 0)
            conn.executemany("INSERT INTO screening_entries VALUES (?,?,?,?,?,?,?,?)",
                             ((list_id, n, e.entry_id, e.name, json.dumps(list(e.aliases), ensure_ascii=False), e.country, e.address, e.remarks)
                              for n, e in enumerate(entries)))
        return next(s for s in stored_lists(conn) if s.list_id == list_id)
    finally:
        conn.close()


def stored_lists(conn: sqlite3.Connection) -> list[StoredList]:
    """Every version of every list, newest first."""
    rows = conn.execute("SELECT id, name, as_of, format, file, sha256, entries, loaded_at, "
                        "id = (SELECT MAX(id) FROM screening_lists s WHERE s.name = l.name) FROM screening_lists l ORDER BY id DESC").fetchall()
    return [StoredList(int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]), float(r[7]), bool(r[8])) for r in rows]


def list_entries(conn: sqlite3.Connection, list_ids: list[int]) -> list[tuple[int, ScreeningEntry]]:
    """(list id, entry) of these list versions."""
    rows = schema.select_in(conn, "SELECT list_id, entry_id, name, aliases, country, address, remarks FROM screening_entries "
                                  "WHERE list_id IN ({ids}) ORDER BY list_id, entry_no", list_ids)
    return [(int(r[0]), ScreeningEntry(r[1], r[2], tuple(json.loads(r[3])), r[4], r[5], r[6])) for r in rows]


def screening_generation(conn: sqlite3.Connection) -> int:
    """Changes whenever a list version is loaded: the newest version's id."""
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM screening_lists").fetchone()[0])
