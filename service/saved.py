"""A user's saved searches and shortlists (indexer/schema.py, migration 8), in the store's SQLite
file, never in an index version. Each belongs to its owner: an API key ("key:ID") or, in open
local mode, a browser ("browser:" and the hash of its cookie); another owner's is NotFound, as if
it did not exist. One connection per call, so any thread may use it."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from indexer import schema
from indexer.schema import connect
from kernel.errors import Conflict, InvalidInput, NotFound

MAX_NAME = 100
MAX_NOTE = 2000
MAX_PER_OWNER = 200  # saved searches, or shortlists, per owner
MAX_ITEMS = 500  # researchers per shortlist
SEEN = 50  # a run remembers its first this many researchers: what "new since the last run" compares


@dataclass(frozen=True)
class SavedSearch:
    id: str
    name: str
    search: str  # the page's URL query, e.g. "q=GaN+power&country=DE"
    created_at: float
    last_run_at: float  # when it was saved, or last run and recorded
    last_seen: tuple[str, ...]  # the researchers that run found

    def new_since_last_run(self, researcher_ids: Sequence[str]) -> list[str]:
        """Of these results, those that the last recorded run did not find."""
        seen = set(self.last_seen)
        return [r for r in researcher_ids if r not in seen]


@dataclass(frozen=True)
class ShortlistItem:
    researcher_id: str
    note: str
    added_at: float


@dataclass(frozen=True)
class Shortlist:
    id: str
    name: str
    created_at: float
    items: tuple[ShortlistItem, ...]


def _name(value: str, what: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"{what}: a name of 1 to {MAX_NAME} characters is needed")
    return name


class SavedStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        schema.ensure(path)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with connect(self.path) as conn, schema.transaction(conn):
            yield conn

    # --- saved searches ---------------------------------------------------------------------

    @staticmethod
    def _search(row: sqlite3.Row) -> SavedSearch:
        return SavedSearch(row["id"], row["name"], row["params"], row["created_at"], row["last_run_at"], tuple(json.loads(row["last_seen"])))

    def save_search(self, owner: str, name: str, search: str, found: Sequence[str]) -> SavedSearch:
        """A new saved search, its first run's results (`found`) remembered."""
        name = _name(name, "name")
        with self._transaction() as conn:
            if conn.execute("SELECT COUNT(*) FROM saved_searches WHERE owner = ?", (owner,)).fetchone()[0] >= MAX_PER_OWNER:
                raise Conflict(f"you have {MAX_PER_OWNER} saved searches, the most there may be: delete one first")
            if conn.execute("SELECT 1 FROM saved_searches WHERE owner = ? AND name = ?", (owner, name)).fetchone():
                raise Conflict(f"you have a saved search named {name!r} already: choose another name, or delete that one")
            sid = secrets.token_hex(8)
            conn.execute("INSERT INTO saved_searches (id, owner, name, params, created_at, last_run_at, last_seen) VALUES (?,?,?,?,?,?,?)",
                         (sid, owner, name, search, time.time(), time.time(), json.dumps(list(found[:SEEN]))))
        return self.search(owner, sid)

    def searches(self, owner: str) -> list[SavedSearch]:
        with connect(self.path) as conn:
            return [self._search(r) for r in conn.execute("SELECT * FROM saved_searches WHERE owner = ? ORDER BY name", (owner,))]

    def search(self, owner: str, search_id: str) -> SavedSearch:
        with connect(self.path) as conn:
            row = conn.execute("SELECT * FROM saved_searches WHERE id = ? AND owner = ?", (search_id, owner)).fetchone()
        if row is None:
            raise NotFound(f"no saved search {search_id!r} of yours")
        return self._search(row)

    def record_run(self, owner: str, search_id: str, found: Sequence[str]) -> SavedSearch:
        """This run's results become what the next run compares with."""
        with self._transaction() as conn:
            updated = conn.execute("UPDATE saved_searches SET last_run_at = ?, last_seen = ? WHERE id = ? AND owner = ?",
                                   (time.time(), json.dumps(list(found[:SEEN])), search_id, owner)).rowcount
        if not updated:
            raise NotFound(f"no saved search {search_id!r} of yours")
        return self.search(owner, search_id)

    def delete_search(self, owner: str, search_id: str) -> None:
        with self._transaction() as conn:
            if not conn.execute("DELETE FROM saved_searches WHERE id = ? AND owner = ?", (search_id, owner)).rowcount:
                raise NotFound(f"no saved search {search_id!r} of yours")

    # --- shortlists ---------------------------------------------------------------------------

    def create_shortlist(self, owner: str, name: str) -> Shortlist:
        name = _name(name, "name")
        with self._transaction() as conn:
            if conn.execute("SELECT COUNT(*) FROM shortlists WHERE owner = ?", (owner,)).fetchone()[0] >= MAX_PER_OWNER:
                raise Conflict(f"you have {MAX_PER_OWNER} shortlists, the most there may be: delete one first")
            if conn.execute("SELECT 1 FROM shortlists WHERE owner = ? AND name = ?", (owner, name)).fetchone():
                raise Conflict(f"you have a shortlist named {name!r} already")
            sid = secrets.token_hex(8)
            conn.execute("INSERT INTO shortlists VALUES (?,?,?,?)", (sid, owner, name, time.time()))
        return self.shortlist(owner, sid)

    def shortlist_named(self, owner: str, name: str) -> Shortlist:
        """The owner's shortlist of this name, made if there is none."""
        with connect(self.path) as conn:
            row = conn.execute("SELECT id FROM shortlists WHERE owner = ? AND name = ?", (owner, _name(name, "shortlist"))).fetchone()
        return self.shortlist(owner, row["id"]) if row else self.create_shortlist(owner, name)

    def shortlists(self, owner: str) -> list[tuple[Shortlist, int]]:
        """The owner's shortlists (without their items) and how many researchers each holds."""
        with connect(self.path) as conn:
            rows = conn.execute("SELECT s.id, s.name, s.created_at, COUNT(i.researcher_id) AS n FROM shortlists s "
                                "LEFT JOIN shortlist_items i ON i.shortlist_id = s.id WHERE s.owner = ? GROUP BY s.id ORDER BY s.name", (owner,))
            return [(Shortlist(r["id"], r["name"], r["created_at"], ()), int(r["n"])) for r in rows]

    def shortlist(self, owner: str, shortlist_id: str) -> Shortlist:
        with connect(self.path) as conn:
            row = conn.execute("SELECT * FROM shortlists WHERE id = ? AND owner = ?", (shortlist_id, owner)).fetchone()
            if row is None:
                raise NotFound(f"no shortlist {shortlist_id!r} of yours")
            items = conn.execute("SELECT researcher_id, note, added_at FROM shortlist_items WHERE shortlist_id = ? ORDER BY added_at, researcher_id",
                                 (shortlist_id,))
            return Shortlist(row["id"], row["name"], row["created_at"], tuple(ShortlistItem(i[0], i[1], i[2]) for i in items))

    def put_item(self, owner: str, shortlist_id: str, researcher_id: str, note: str) -> Shortlist:
        """Adds the researcher, or changes their note."""
        if len(note) > MAX_NOTE:
            raise InvalidInput(f"note: at most {MAX_NOTE} characters")
        self.shortlist(owner, shortlist_id)  # NotFound for another owner's
        with self._transaction() as conn:
            count = conn.execute("SELECT COUNT(*) FROM shortlist_items WHERE shortlist_id = ?", (shortlist_id,)).fetchone()[0]
            known = conn.execute("SELECT 1 FROM shortlist_items WHERE shortlist_id = ? AND researcher_id = ?", (shortlist_id, researcher_id)).fetchone()
            if count >= MAX_ITEMS and not known:
                raise Conflict(f"the shortlist holds {MAX_ITEMS} researchers, the most it may")
            conn.execute("INSERT INTO shortlist_items VALUES (?,?,?,?) ON CONFLICT(shortlist_id, researcher_id) DO UPDATE SET note = excluded.note",
                         (shortlist_id, researcher_id, note.strip(), time.time()))
        return self.shortlist(owner, shortlist_id)

    def remove_item(self, owner: str, shortlist_id: str, researcher_id: str) -> Shortlist:
        self.shortlist(owner, shortlist_id)
        with self._transaction() as conn:
            if not conn.execute("DELETE FROM shortlist_items WHERE shortlist_id = ? AND researcher_id = ?", (shortlist_id, researcher_id)).rowcount:
                raise NotFound(f"researcher {researcher_id!r} is not on this shortlist")
        return self.shortlist(owner, shortlist_id)

    def delete_shortlist(self, owner: str, shortlist_id: str) -> None:
        with self._transaction() as conn:
            if not conn.execute("DELETE FROM shortlists WHERE id = ? AND owner = ?", (shortlist_id, owner)).rowcount:
                raise NotFound(f"no shortlist {shortlist_id!r} of yours")
