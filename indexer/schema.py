"""The store's SQLite file (`kakehashi.sqlite`): every table in it, the numbered migrations that
build them, and how to connect to it. The only module that creates or alters a table.

A store records the last migration applied in SQLite's `user_version`. Opening one applies the
migrations it lacks, each in a transaction with its number, so a store written by any earlier
version of Kakehashi is brought up to date, and two processes opening it at once apply each
migration once. Stores from before the numbering (user_version 0, tables already there) pass
through the same steps: every step may meet what it creates already in place."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kernel.errors import StoreUnusable


def _add_column(table: str, column: str, declaration: str) -> Callable[[sqlite3.Connection], None]:
    def apply(conn: sqlite3.Connection) -> None:
        if column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    return apply


@dataclass(frozen=True)
class Migration:
    number: int
    what: str
    step: str | Callable[[sqlite3.Connection], None]  # SQL statements, or a function of the connection

    def apply(self, conn: sqlite3.Connection) -> None:
        if callable(self.step):
            self.step(conn)
            return
        for statement in filter(str.strip, self.step.split(";")):
            conn.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the corpus: researchers, publications, authorships; ingest runs and index versions", """
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
        )"""),
    Migration(2, "batch jobs, their result rows and per-query errors", """
        CREATE TABLE IF NOT EXISTS batch_jobs (
            id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            total INTEGER NOT NULL,
            done INTEGER NOT NULL DEFAULT 0,
            failed_queries INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            request TEXT NOT NULL,
            summary TEXT
        );
        CREATE INDEX IF NOT EXISTS batch_jobs_by_state ON batch_jobs(state, created_at);
        CREATE TABLE IF NOT EXISTS batch_results (
            job_id TEXT NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            rank INTEGER NOT NULL,
            assigned INTEGER,
            row TEXT NOT NULL,
            PRIMARY KEY (job_id, position, rank)
        );
        CREATE TABLE IF NOT EXISTS batch_query_errors (
            job_id TEXT NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            query_id TEXT NOT NULL,
            error TEXT NOT NULL,
            PRIMARY KEY (job_id, position)
        )"""),
    Migration(3, "a batch job belongs to the API key that submitted it", _add_column("batch_jobs", "owner", "TEXT")),
    Migration(4, "API keys (the digest of each secret, never the secret)", """
        CREATE TABLE IF NOT EXISTS api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            secret_sha256 TEXT NOT NULL,
            scopes TEXT NOT NULL,
            created_at REAL NOT NULL,
            revoked_at REAL
        )"""),
    Migration(5, "OpenAlex entities kept per work: bylines with institutions, topics, funding; author and institution "
                 "records; profiles waiting to be derived; files already ingested", """
        CREATE TABLE authorships_v5 (
            researcher_id TEXT NOT NULL,
            publication_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            author_position TEXT,
            is_corresponding INTEGER,
            author_name TEXT,
            orcid TEXT,
            countries TEXT,
            PRIMARY KEY (researcher_id, publication_id)
        ) WITHOUT ROWID;
        INSERT INTO authorships_v5 (researcher_id, publication_id, position)
            SELECT researcher_id, publication_id, position FROM authorships;
        DROP TABLE authorships;
        ALTER TABLE authorships_v5 RENAME TO authorships;
        CREATE INDEX authorships_by_publication ON authorships(publication_id);
        ALTER TABLE publications ADD COLUMN doi TEXT;
        ALTER TABLE publications ADD COLUMN type TEXT;
        ALTER TABLE publications ADD COLUMN language TEXT;
        ALTER TABLE publications ADD COLUMN fwci REAL;
        ALTER TABLE publications ADD COLUMN topic_id TEXT;
        ALTER TABLE publications ADD COLUMN updated_date TEXT;
        ALTER TABLE publications ADD COLUMN record_hash TEXT;
        CREATE TABLE authorship_institutions (
            publication_id TEXT NOT NULL,
            researcher_id TEXT NOT NULL,
            rank INTEGER NOT NULL,
            institution_id TEXT NOT NULL,
            PRIMARY KEY (researcher_id, publication_id, rank)
        ) WITHOUT ROWID;
        CREATE INDEX authorship_institutions_by_institution ON authorship_institutions(institution_id);
        CREATE TABLE institutions (
            id TEXT PRIMARY KEY,
            display_name TEXT,
            ror TEXT,
            country_code TEXT,
            type TEXT,
            updated_date TEXT,
            record_hash TEXT,
            described_at TEXT
        );
        CREATE TABLE topics (
            id TEXT PRIMARY KEY,
            display_name TEXT,
            subfield_id TEXT, subfield_name TEXT,
            field_id TEXT, field_name TEXT,
            domain_id TEXT, domain_name TEXT,
            described_at TEXT
        );
        CREATE TABLE funders (
            id TEXT PRIMARY KEY,
            display_name TEXT,
            ror TEXT,
            described_at TEXT
        );
        CREATE TABLE work_funding (
            publication_id TEXT NOT NULL,
            funder_id TEXT NOT NULL,
            award_id TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (publication_id, funder_id, award_id)
        ) WITHOUT ROWID;
        CREATE TABLE openalex_authors (
            id TEXT PRIMARY KEY,
            display_name TEXT,
            orcid TEXT,
            institution_id TEXT,
            institution_name TEXT,
            institution_country TEXT,
            h_index INTEGER,
            i10_index INTEGER,
            works_count INTEGER,
            cited_by_count INTEGER,
            updated_date TEXT,
            record_hash TEXT NOT NULL
        );
        CREATE INDEX openalex_authors_by_institution ON openalex_authors(institution_id);
        CREATE TABLE profiles_to_derive (
            researcher_id TEXT PRIMARY KEY
        ) WITHOUT ROWID;
        CREATE TABLE ingested_files (
            sha256 TEXT NOT NULL,
            slice TEXT NOT NULL,
            path TEXT NOT NULL,
            manifest_entry TEXT,
            records INTEGER NOT NULL,
            finished_at REAL NOT NULL,
            PRIMARY KEY (sha256, slice)
        )"""),
    Migration(6, "leases on shared work (a batch job, the index build) with a heartbeat; batch jobs listed from "
                 "their options, without their queries; a job's last turn of the worker, for round-robin between keys", """
        CREATE TABLE IF NOT EXISTS leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            until REAL NOT NULL
        ) WITHOUT ROWID;
        ALTER TABLE batch_jobs ADD COLUMN options TEXT;
        ALTER TABLE batch_jobs ADD COLUMN last_turn_at REAL;
        UPDATE batch_jobs SET options = json_extract(request, '$.options');
        CREATE INDEX IF NOT EXISTS batch_jobs_by_owner ON batch_jobs(owner, created_at)"""),
    Migration(7, "for conflicts of interest: the institutions each institution is part of (OpenAlex's lineage), "
                 "and the institution a house record declares by id", """
        CREATE TABLE IF NOT EXISTS institution_lineage (
            institution_id TEXT NOT NULL,
            ancestor_id TEXT NOT NULL,
            PRIMARY KEY (institution_id, ancestor_id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS declared_institutions (
            researcher_id TEXT PRIMARY KEY,
            institution_id TEXT NOT NULL
        ) WITHOUT ROWID"""),
    Migration(8, "screening lists (each load a dated version), institutions' other names; a user's saved searches and "
                 "shortlists, owned by an API key or a browser", """
        CREATE TABLE IF NOT EXISTS screening_lists (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            as_of TEXT NOT NULL,
            format TEXT NOT NULL,
            file TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            entries INTEGER NOT NULL,
            loaded_at REAL NOT NULL
        );
        CREATE TABLE IF NOT EXISTS screening_entries (
            list_id INTEGER NOT NULL REFERENCES screening_lists(id) ON DELETE CASCADE,
            entry_no INTEGER NOT NULL,
            entry_id TEXT NOT NULL,
            name TEXT NOT NULL,
            aliases TEXT NOT NULL,
            country TEXT,
            address TEXT,
            remarks TEXT,
            PRIMARY KEY (list_id, entry_no)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS institution_aliases (
            institution_id TEXT NOT NULL,
            alias TEXT NOT NULL,
            PRIMARY KEY (institution_id, alias)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS saved_searches (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            name TEXT NOT NULL,
            params TEXT NOT NULL,
            created_at REAL NOT NULL,
            last_run_at REAL,
            last_seen TEXT NOT NULL DEFAULT '[]',
            UNIQUE (owner, name)
        );
        CREATE TABLE IF NOT EXISTS shortlists (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (owner, name)
        );
        CREATE TABLE IF NOT EXISTS shortlist_items (
            shortlist_id TEXT NOT NULL REFERENCES shortlists(id) ON DELETE CASCADE,
            researcher_id TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            added_at REAL NOT NULL,
            PRIMARY KEY (shortlist_id, researcher_id)
        ) WITHOUT ROWID"""),
)
LATEST = MIGRATIONS[-1].number


def _open(path: Path, check_same_thread: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=check_same_thread)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, where: Path) -> None:
    """Applies the migrations the store lacks, each in its own transaction."""
    if schema_version(conn) >= LATEST:
        _refuse_newer(conn, where)
        return
    conn.execute("PRAGMA journal_mode=WAL")
    for migration in MIGRATIONS:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) < migration.number:  # another process may have applied it meanwhile
                migration.apply(conn)
                conn.execute(f"PRAGMA user_version = {migration.number}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _refuse_newer(conn: sqlite3.Connection, where: Path) -> None:
    found = schema_version(conn)
    if found > LATEST:
        raise StoreUnusable(
            f"the store at {where} has schema version {found}, written by a newer Kakehashi; this one knows versions "
            f"up to {LATEST}. Upgrade Kakehashi, or point KAKEHASHI_DATA_DIR at another directory."
        )


def open_store(path: Path) -> sqlite3.Connection:
    """A long-lived connection to the store (any thread may use it), migrated to the latest schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = _open(path, check_same_thread=False)
    try:
        migrate(conn, path)
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to a store or a copy of one (an index version's catalog)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    _refuse_newer(conn, path)
    return conn


def ensure(path: Path) -> None:
    """The store exists and has the latest schema (for modules that connect per call)."""
    open_store(path).close()


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A short-lived connection (autocommit, rows by name, foreign keys on), for tables in the store's
    file that other threads and processes use too (batch jobs, API keys)."""
    conn = _open(path)
    try:
        yield conn
    finally:
        conn.close()


_CREATE = re.compile(r'^\s*CREATE\s+(TABLE|INDEX)\s+(?:IF\s+NOT\s+EXISTS\s+)?("?)(\w+)\2', re.IGNORECASE)


def _in_schema(sql: str, schema: str) -> str:
    """A table's or index's stored definition, creating it in the attached `schema` instead."""
    return _CREATE.sub(lambda m: f'CREATE {m.group(1)} {schema}."{m.group(3)}"', sql, count=1)


SERVED_TABLES = ("researchers", "publications", "authorships")  # what an index version's catalog holds, copied
# and, derived at export: each researcher's works with a co-author in Japan (the authorship's countries
# name JP, or, where the work does not say, the co-author's profile is in Japan), one row per co-author
JAPAN_TIES = """CREATE TABLE served.japan_ties (
    researcher_id TEXT NOT NULL,
    publication_id TEXT NOT NULL,
    year INTEGER,
    coauthor_id TEXT NOT NULL,
    coauthor_name TEXT,
    coauthor_institution TEXT,
    PRIMARY KEY (researcher_id, publication_id, coauthor_id)
) WITHOUT ROWID"""
# and each researcher's funders, from their works' funding records (OpenAlex `funders`, `awards`, `grants`)
RESEARCHER_FUNDERS = """CREATE TABLE served.researcher_funders (
    researcher_id TEXT NOT NULL,
    funder_id TEXT NOT NULL,
    name TEXT,
    ror TEXT,
    works INTEGER NOT NULL,
    PRIMARY KEY (researcher_id, funder_id)
) WITHOUT ROWID"""
# the institutions each researcher has been at (OpenAlex ids): their works' affiliations with
# the latest such work's year, and the last known institution of their author record or the one a
# house record declares (year 9999); and what those institutions are part of (OpenAlex's lineage)
RESEARCHER_INSTITUTIONS = """CREATE TABLE served.researcher_institutions (
    researcher_id TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    institution_name TEXT,
    last_year INTEGER NOT NULL,
    PRIMARY KEY (researcher_id, institution_id)
) WITHOUT ROWID;
CREATE INDEX served.researcher_institutions_by_institution ON researcher_institutions(institution_id);
CREATE TABLE served.institution_lineage (
    institution_id TEXT NOT NULL,
    ancestor_id TEXT NOT NULL,
    PRIMARY KEY (institution_id, ancestor_id)
) WITHOUT ROWID;
CREATE INDEX served.institution_lineage_by_ancestor ON institution_lineage(ancestor_id);
CREATE TABLE served.institution_names (
    institution_id TEXT NOT NULL,
    name TEXT NOT NULL,
    country TEXT,
    PRIMARY KEY (institution_id, name)
) WITHOUT ROWID"""
CURRENT = 9999  # the year of an author record's last known institution
CATALOG_TABLES = (*SERVED_TABLES, "japan_ties", "researcher_funders", "researcher_institutions", "institution_lineage",
                  "institution_names")  # every table of an index version's catalog
_IN_JAPAN = "(instr(',' || a.countries || ',', ',JP,') > 0 OR (a.countries IS NULL AND r.country = 'JP'))"


@contextmanager
def _attached_transaction(conn: sqlite3.Connection, path: Path, alias: str) -> Iterator[None]:
    """Another database file attached as `alias`, for one transaction (rolled back on error)."""
    conn.execute(f"ATTACH DATABASE ? AS {alias}", (str(path),))
    try:
        conn.execute("BEGIN")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute(f"DETACH DATABASE {alias}")


_ONLY = {  # the rows of each served table that belong to the researchers in temp.export_ids
    "researchers": "WHERE id IN (SELECT id FROM temp.export_ids)",
    "authorships": "WHERE researcher_id IN (SELECT id FROM temp.export_ids)",
    "publications": "WHERE id IN (SELECT publication_id FROM main.authorships WHERE researcher_id IN (SELECT id FROM temp.export_ids))",
}


def export_served(conn: sqlite3.Connection, target: Path, researcher_ids: Sequence[str] | None = None) -> None:
    """A consistent copy of the tables that serving reads into a new file `target` (an index
    version's catalog), with their indexes and the schema version: never batch jobs, their results,
    API keys or ingest records. Read in one transaction, so writers may go on meanwhile.
    `researcher_ids`: only these researchers, their authorships and publications (a delta segment)."""
    with _attached_transaction(conn, target, "served"):
        if researcher_ids is not None:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS export_ids (id TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM temp.export_ids")
            conn.executemany("INSERT OR IGNORE INTO temp.export_ids VALUES (?)", ((i,) for i in researcher_ids))
        definitions = conn.execute(
            f"SELECT type, name, sql FROM main.sqlite_master WHERE tbl_name IN ({','.join('?' * len(SERVED_TABLES))}) "
            "AND sql IS NOT NULL ORDER BY type = 'index'", SERVED_TABLES).fetchall()
        for kind, name, sql in definitions:
            if kind == "table":
                conn.execute(_in_schema(sql, "served"))
                conn.execute(f"INSERT INTO served.{name} SELECT * FROM main.{name} {_ONLY[name] if researcher_ids is not None else ''}")
        for kind, _, sql in definitions:
            if kind == "index":
                conn.execute(_in_schema(sql, "served"))
        _export_japan_ties(conn, only_exported=researcher_ids is not None)
        conn.execute(RESEARCHER_FUNDERS)
        conn.execute(
            "INSERT INTO served.researcher_funders SELECT a.researcher_id, f.funder_id, d.display_name, d.ror, COUNT(DISTINCT f.publication_id) "
            "FROM main.work_funding f JOIN main.authorships a ON a.publication_id = f.publication_id "
            "LEFT JOIN main.funders d ON d.id = f.funder_id"
            + (" WHERE a.researcher_id IN (SELECT id FROM temp.export_ids)" if researcher_ids is not None else "")
            + " GROUP BY a.researcher_id, f.funder_id")
        for statement in RESEARCHER_INSTITUTIONS.split(";"):
            conn.execute(statement)
        only = " AND {column} IN (SELECT id FROM temp.export_ids)" if researcher_ids is not None else ""
        conn.execute(
            "INSERT INTO served.researcher_institutions SELECT researcher_id, institution_id, i.display_name, MAX(last_year) FROM ("
            f"SELECT ai.researcher_id, ai.institution_id, COALESCE(p.year, 0) AS last_year FROM main.authorship_institutions ai "
            f"JOIN main.publications p ON p.id = ai.publication_id WHERE 1{only.format(column='ai.researcher_id')} "
            f"UNION ALL SELECT o.id, o.institution_id, {CURRENT} FROM main.openalex_authors o JOIN main.researchers r ON r.id = o.id "
            f"WHERE o.institution_id IS NOT NULL{only.format(column='o.id')} "
            f"UNION ALL SELECT d.researcher_id, d.institution_id, {CURRENT} FROM main.declared_institutions d "
            f"WHERE 1{only.format(column='d.researcher_id')}) "
            "LEFT JOIN main.institutions i ON i.id = institution_id GROUP BY researcher_id, institution_id")
        conn.execute("INSERT INTO served.institution_lineage SELECT * FROM main.institution_lineage WHERE institution_id IN "
                     "(SELECT DISTINCT institution_id FROM served.researcher_institutions)")
        served = "(SELECT DISTINCT institution_id FROM served.researcher_institutions)"
        conn.execute(  # each institution's names for screening: its display name and what its record calls it otherwise
            "INSERT OR IGNORE INTO served.institution_names SELECT id, display_name, country_code FROM main.institutions "
            f"WHERE id IN {served} AND display_name IS NOT NULL")
        conn.execute("INSERT OR IGNORE INTO served.institution_names SELECT a.institution_id, a.alias, i.country_code "
                     f"FROM main.institution_aliases a JOIN main.institutions i ON i.id = a.institution_id WHERE a.institution_id IN {served}")
        conn.execute(f"PRAGMA served.user_version = {schema_version(conn)}")
        if researcher_ids is not None:
            conn.execute("DELETE FROM temp.export_ids")


def _export_japan_ties(conn: sqlite3.Connection, only_exported: bool) -> None:
    """The `japan_ties` rows of the exported researchers (all, or those in temp.export_ids), from
    the whole store: a work's co-authors in Japan are found among all its authorships. Costs the
    authorships in Japan, not the store: they are found first, and only their works are joined."""
    conn.execute("DROP TABLE IF EXISTS temp.in_japan")
    conn.execute(f"CREATE TEMP TABLE in_japan AS SELECT a.publication_id, a.researcher_id, COALESCE(a.author_name, r.name) AS name, "
                 f"r.institution FROM main.authorships a JOIN main.researchers r ON r.id = a.researcher_id WHERE {_IN_JAPAN}")
    conn.execute("CREATE INDEX temp.in_japan_by_publication ON in_japan(publication_id)")
    conn.execute(JAPAN_TIES)
    conn.execute(
        "INSERT INTO served.japan_ties SELECT a.researcher_id, a.publication_id, p.year, j.researcher_id, j.name, j.institution "
        "FROM temp.in_japan j JOIN main.authorships a ON a.publication_id = j.publication_id AND a.researcher_id != j.researcher_id "
        "JOIN main.publications p ON p.id = a.publication_id"
        + (" WHERE a.researcher_id IN (SELECT id FROM temp.export_ids)" if only_exported else ""))
    conn.execute("DROP TABLE temp.in_japan")


def served_changes(conn: sqlite3.Connection, base_catalog: Path) -> tuple[list[str], list[str]]:
    """What changed in the served tables since `base_catalog` (an index version's catalog) was
    exported: the researchers to write anew (new or rewritten ones, and the co-authors of any
    publication whose text, year or citations changed) and the base's researchers that are gone or
    superseded. Both sorted."""
    with _attached_transaction(conn, base_catalog, "base"):  # read only: nothing below writes to it
        rewritten = {r[0] for r in conn.execute(
            "SELECT s.id FROM main.researchers s LEFT JOIN base.researchers b ON b.id = s.id "
            "WHERE b.id IS NULL OR b.content_hash IS NOT s.content_hash OR b.updated_at IS NOT s.updated_at")}
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS rewritten_ids (id TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM temp.rewritten_ids")
        conn.executemany("INSERT INTO temp.rewritten_ids VALUES (?)", ((i,) for i in rewritten))
        coauthors = {r[0] for r in conn.execute(
            "SELECT DISTINCT other.researcher_id FROM main.authorships mine "
            "JOIN main.publications p ON p.id = mine.publication_id JOIN base.publications bp ON bp.id = p.id "
            "JOIN main.authorships other ON other.publication_id = p.id "
            "WHERE mine.researcher_id IN (SELECT id FROM temp.rewritten_ids) "
            "AND (bp.text_hash IS NOT p.text_hash OR bp.title IS NOT p.title OR bp.year IS NOT p.year "
            "OR bp.cited_by_count IS NOT p.cited_by_count)")}
        gone = {r[0] for r in conn.execute(
            "SELECT b.id FROM base.researchers b LEFT JOIN main.researchers s ON s.id = b.id WHERE s.id IS NULL")}
        changed = rewritten | coauthors
        in_base = {r[0] for r in select_in(conn, "SELECT id FROM base.researchers WHERE id IN ({ids})", sorted(changed))}
        conn.execute("DELETE FROM temp.rewritten_ids")
    return sorted(changed), sorted(in_base | gone)


IN_CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on parameters


def select_in(conn: sqlite3.Connection, sql: str, ids: Sequence[str]) -> list[sqlite3.Row]:
    """The rows of `sql` for all `ids`, queried a chunk at a time; `sql` holds `{ids}` where the
    placeholders go (`... WHERE id IN ({ids})`)."""
    rows: list[sqlite3.Row] = []
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start:start + IN_CHUNK]
        rows.extend(conn.execute(sql.format(ids=",".join("?" * len(chunk))), chunk))
    return rows


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken at once (BEGIN IMMEDIATE), rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
