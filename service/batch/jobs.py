"""Batch jobs kept in the store: submission, progress, cancellation, results, retention; and the
worker that runs them. A job survives a restart: each query's results and the progress count are
written in one transaction, and a job found `running` is resumed from its first unfinished query.

Several service processes may share a store: a worker runs a job only under the job's lease
(service/leases.py), so one process runs it, and another takes it over if that one dies. Between
callers the worker takes turns: it runs a job for a slice of time, then, if another key's job is
waiting, lets that one run (round-robin by key, the key served longest ago first), so a key's
10,000-query job does not hold up another key's single query. Each key has a limit on the queries
it may have waiting; finished jobs and their results are deleted after the retention period."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer import schema
from indexer.schema import connect
from kernel.errors import Conflict, KakehashiError, NotFound, NotReady, QuotaExceeded
from service.batch.assignment import Candidate, assign
from service.batch.inputs import BatchRequest
from service.leases import Leases
from service.matching.row import batch_row
from service.runtime import Runtime

log = logging.getLogger("kakehashi.batch")

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)


@dataclass(frozen=True)
class Job:
    """A job's state and options, as the job list reads them (its queries are read apart: `JobStore.request`)."""

    id: str
    state: str
    owner: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    total: int
    done: int
    failed_queries: int
    error: str | None
    summary: dict[str, Any] | None
    options: dict[str, Any]

    @property
    def assignment(self) -> bool:
        return self.options.get("assignment") is not None

    def view(self) -> dict[str, Any]:
        """What the API and the CLI show of a job."""
        end = self.finished_at or (time.time() if self.started_at else None)
        return {
            "id": self.id, "state": self.state,
            "progress": {"done": self.done, "total": self.total, "failed_queries": self.failed_queries},
            "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at,
            "elapsed_seconds": round(end - self.started_at, 3) if end and self.started_at else None,
            "error": self.error, "assignment": self.summary, "options": self.options,
        }


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


_SUMMARY_COLUMNS = "id, state, owner, created_at, started_at, finished_at, total, done, failed_queries, error, summary, options"
_RUNNABLE = f"state IN ('{QUEUED}', '{RUNNING}')"
_LEASE_FREE = "NOT EXISTS (SELECT 1 FROM leases l WHERE l.name = 'job:' || j.id AND l.until >= ?)"


def lease_name(job_id: str) -> str:
    return f"job:{job_id}"


class JobStore:
    """The jobs' tables (indexer/schema.py), in the same SQLite file as the corpus. One connection
    per call, so any thread may use it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        schema.ensure(path)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with connect(self.path) as conn, schema.transaction(conn):
            yield conn

    @staticmethod
    def _job(row: sqlite3.Row) -> Job:
        return Job(
            id=row["id"], state=row["state"], owner=row["owner"], created_at=row["created_at"], started_at=row["started_at"],
            finished_at=row["finished_at"], total=row["total"], done=row["done"], failed_queries=row["failed_queries"],
            error=row["error"], summary=json.loads(row["summary"]) if row["summary"] else None,
            options=_without_nulls(json.loads(row["options"] or "{}")),
        )

    def create(self, request: BatchRequest, owner: str | None = None, max_queued: int | None = None,
               leases: Leases | None = None) -> Job:
        """`owner`: the id of the API key that submitted the job (None from the CLI). `max_queued`:
        the queries that key may have waiting, this job's included (QuotaExceeded beyond).
        `leases`: the job is created with its lease held by them (a caller that runs it itself)."""
        job_id = uuid.uuid4().hex
        with self._transaction() as conn:
            if owner is not None and max_queued is not None:
                waiting = conn.execute(f"SELECT COALESCE(SUM(total - done), 0) FROM batch_jobs WHERE owner = ? AND {_RUNNABLE}",
                                       (owner,)).fetchone()[0]
                if waiting + len(request.queries) > max_queued:
                    raise QuotaExceeded(
                        f"this key has {waiting:,} queries waiting in its batch jobs; with these {len(request.queries):,} it would "
                        f"pass its limit of {max_queued:,}. Submit them once some of its jobs have finished (or cancel one).")
            conn.execute(
                "INSERT INTO batch_jobs (id, state, created_at, total, request, owner, options) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job_id, QUEUED, time.time(), len(request.queries), request.model_dump_json(), owner,
                 request.options.model_dump_json(exclude_none=True)),
            )
            if leases is not None:
                leases.acquire(lease_name(job_id), conn)
        return self.get(job_id)

    def get(self, job_id: str, owner: str | None = None) -> Job:
        """With `owner`, only that key's job: another's is not found (its existence is not told)."""
        with connect(self.path) as conn:
            row = conn.execute(f"SELECT {_SUMMARY_COLUMNS} FROM batch_jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or (owner is not None and row["owner"] != owner):
            raise NotFound(f"no batch job {job_id!r}")
        return self._job(row)

    def request(self, job_id: str) -> BatchRequest:
        """The job's queries and options, as submitted."""
        with connect(self.path) as conn:
            row = conn.execute("SELECT request FROM batch_jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise NotFound(f"no batch job {job_id!r}")
        return BatchRequest.model_validate_json(row["request"])

    def state(self, job_id: str) -> str:
        with connect(self.path) as conn:
            row = conn.execute("SELECT state FROM batch_jobs WHERE id = ?", (job_id,)).fetchone()
        return row["state"] if row else CANCELLED

    def count(self, state: str) -> int:
        with connect(self.path) as conn:
            return conn.execute("SELECT COUNT(*) FROM batch_jobs WHERE state = ?", (state,)).fetchone()[0]

    def list(self, limit: int, offset: int, state: str | None = None, owner: str | None = None) -> tuple[list[Job], int]:
        """Newest first, from the stored summaries (a job's queries are not read)."""
        conditions = [(c, v) for c, v in (("state = ?", state), ("owner = ?", owner)) if v is not None]
        where = ("WHERE " + " AND ".join(c for c, _ in conditions)) if conditions else ""
        args = tuple(v for _, v in conditions)
        with connect(self.path) as conn:
            count = conn.execute(f"SELECT COUNT(*) FROM batch_jobs {where}", args).fetchone()[0]
            rows = conn.execute(f"SELECT {_SUMMARY_COLUMNS} FROM batch_jobs {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                                (*args, limit, offset)).fetchall()
        return [self._job(r) for r in rows], count

    def claim_next(self, leases: Leases) -> Job | None:
        """The next job to run, its lease taken: of the runnable jobs no one holds, those of the key
        whose last turn is oldest (a key never served first), that key's oldest job first."""
        with connect(self.path) as conn:
            rows = conn.execute(
                f"""SELECT j.id FROM batch_jobs j WHERE j.{_RUNNABLE} AND {_LEASE_FREE}
                    ORDER BY (SELECT COALESCE(MAX(o.last_turn_at), 0) FROM batch_jobs o WHERE o.owner IS j.owner), j.created_at, j.id
                    LIMIT 8""", (time.time(),)).fetchall()
        for row in rows:
            if leases.acquire(lease_name(row["id"])):
                with connect(self.path) as conn:
                    conn.execute("UPDATE batch_jobs SET last_turn_at = ? WHERE id = ?", (time.time(), row["id"]))
                return self.get(row["id"])
        return None

    def others_waiting(self, owner: str | None) -> bool:
        """Whether another key's job is waiting to run (not held by any worker)."""
        with connect(self.path) as conn:
            return conn.execute(f"SELECT 1 FROM batch_jobs j WHERE j.{_RUNNABLE} AND j.owner IS NOT ? AND {_LEASE_FREE} LIMIT 1",
                                (owner, time.time())).fetchone() is not None

    PRUNE_CHUNK = 20  # jobs a transaction: their results can be 100,000s of rows, and writers wait meanwhile

    def prune(self, retention_seconds: float) -> int:
        """Deletes the jobs finished more than `retention_seconds` ago, with their results, a few jobs
        a transaction (a store upgraded with a long history keeps its write lock short); how many."""
        cutoff, pruned = time.time() - retention_seconds, 0
        while True:
            with self._transaction() as conn:
                deleted = conn.execute(
                    f"DELETE FROM batch_jobs WHERE id IN (SELECT id FROM batch_jobs WHERE state IN ({','.join('?' * len(FINISHED))}) "
                    "AND finished_at < ? LIMIT ?)", (*FINISHED, cutoff, self.PRUNE_CHUNK)).rowcount
            pruned += deleted
            if deleted < self.PRUNE_CHUNK:
                return pruned

    def start(self, job_id: str) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE batch_jobs SET state = ?, started_at = COALESCE(started_at, ?) WHERE id = ? AND state IN (?, ?)",
                         (RUNNING, time.time(), job_id, QUEUED, RUNNING))
            # a query cut off by a crash left nothing behind (it is written in one transaction), but be sure
            conn.execute("DELETE FROM batch_results WHERE job_id = ? AND position >= (SELECT done FROM batch_jobs WHERE id = ?)", (job_id, job_id))

    def record(self, job_id: str, position: int, query_id: str, rows: list[dict[str, Any]], error: str | None) -> None:
        """One query's results (or its error) and the progress count, in one transaction; a
        position already recorded is left as it is."""
        with self._transaction() as conn:
            done = conn.execute("SELECT done FROM batch_jobs WHERE id = ?", (job_id,)).fetchone()
            if done is None or done["done"] != position:
                return
            conn.executemany("INSERT INTO batch_results (job_id, position, rank, row) VALUES (?, ?, ?, ?)",
                             [(job_id, position, r["rank"], json.dumps(r)) for r in rows])
            if error is not None:
                conn.execute("INSERT INTO batch_query_errors VALUES (?, ?, ?, ?)", (job_id, position, query_id, error))
            conn.execute("UPDATE batch_jobs SET done = done + 1, failed_queries = failed_queries + ? WHERE id = ?",
                         (int(error is not None), job_id))

    def finish(self, job_id: str, state: str, error: str | None = None, summary: dict[str, Any] | None = None,
               assigned: list[tuple[int, int]] | None = None) -> None:
        with self._transaction() as conn:
            if assigned is not None:
                conn.execute("UPDATE batch_results SET assigned = 0 WHERE job_id = ?", (job_id,))
                conn.executemany("UPDATE batch_results SET assigned = 1 WHERE job_id = ? AND position = ? AND rank = ?",
                                 [(job_id, p, r) for p, r in assigned])
            conn.execute(
                "UPDATE batch_jobs SET state = ?, finished_at = ?, error = ?, summary = COALESCE(?, summary) WHERE id = ? AND state NOT IN (?, ?, ?)",
                (state, time.time(), error, json.dumps(summary) if summary else None, job_id, *FINISHED),
            )

    def cancel(self, job_id: str, owner: str | None = None) -> Job:
        job = self.get(job_id, owner)
        if job.state in FINISHED:
            raise Conflict(f"batch job {job_id} has already {job.state}; only a queued or running job can be cancelled")
        self.finish(job_id, CANCELLED)
        return self.get(job_id)

    def query_errors(self, job_id: str) -> list[dict[str, Any]]:
        with connect(self.path) as conn:
            rows = conn.execute("SELECT position, query_id, error FROM batch_query_errors WHERE job_id = ? ORDER BY position", (job_id,))
            return [dict(r) for r in rows]

    def results(self, job_id: str) -> Iterator[dict[str, Any]]:
        """Result rows in query order then rank; for an assignment job, the assigned pairs only."""
        job = self.get(job_id)
        assigned_only = job.assignment and job.state == SUCCEEDED
        with connect(self.path) as conn:
            rows = conn.execute(
                "SELECT row, assigned FROM batch_results WHERE job_id = ?"
                + (" AND assigned = 1" if assigned_only else "") + " ORDER BY position, rank",
                (job_id,),
            )
            for row in rows:
                out = json.loads(row["row"])
                out["assigned"] = None if row["assigned"] is None else bool(row["assigned"])
                yield out


def run_job(runtime: Runtime, jobs: JobStore, job_id: str, stop: Callable[[], bool] = lambda: False,
            on_query: Callable[[int, int], None] | None = None, request: BatchRequest | None = None) -> Job:
    """Runs (or resumes) one job to its end, unless it is cancelled or `stop()` says so (a shutdown,
    or the end of its turn: the job stays running and resumes later). Raises NotReady, leaving the
    job as it is, while no index is loaded. The caller holds the job's lease, where there is one;
    `request`: the job's queries, where the caller has them already."""
    job = jobs.get(job_id)
    if job.state in FINISHED:
        return job
    snap = runtime.snapshot()
    jobs.start(job_id)
    job = jobs.get(job_id)
    request = request or jobs.request(job_id)
    options = request.options
    depth = options.assignment.candidates_per_project if options.assignment else options.limit
    try:
        for position in range(job.done, job.total):
            if stop() or jobs.state(job_id) != RUNNING:
                return jobs.get(job_id)
            query = request.queries[position]
            try:
                page = runtime.matcher.match(snap, query.query, query.filters, options.weights, limit=depth, team=options.team)
                members = {m.researcher.id: rank for m, rank in zip(page.team.members, page.team.ranks)} if page.team else {}
                rows = [batch_row(job_id, query.id, i + 1, m, page, snap.version, (m.researcher.id in members) if page.team else None)
                        for i, m in enumerate(page.matches)]
                if page.team:  # members beyond the rows asked for, with their rank
                    rows += [batch_row(job_id, query.id, members[m.researcher.id], m, page, snap.version, True)
                             for m in page.team.members if members[m.researcher.id] > len(page.matches)]
                jobs.record(job_id, position, query.id, rows, None)
            except KakehashiError as exc:
                jobs.record(job_id, position, query.id, [], f"{exc.title}: {exc.detail}")
            if on_query:
                on_query(position + 1, job.total)
        job = jobs.get(job_id)
        if job.failed_queries == job.total:
            first = jobs.query_errors(job_id)[0]
            jobs.finish(job_id, FAILED, f"all {job.total} queries failed; the first ({first['query_id']!r}): {first['error']}")
        elif options.assignment is not None:
            _assign(jobs, job, request)
        else:
            jobs.finish(job_id, SUCCEEDED)
    except Exception as exc:  # a job never stays running on an unexpected error
        log.exception("batch job %s failed", job_id)
        jobs.finish(job_id, FAILED, f"unexpected error: {type(exc).__name__}: {exc}")
    return jobs.get(job_id)


def _assign(jobs: JobStore, job: Job, request: BatchRequest) -> None:
    rules = request.options.assignment
    assert rules is not None
    rows = list(jobs.results(job.id))
    key = {(r["query_id"], r["researcher_id"]): r for r in rows}
    position = {q.id: i for i, q in enumerate(request.queries)}
    # a pair with a conflict of interest (shown with include_conflicts) is never assigned
    # (a suggested team's members beyond the candidates asked for are not candidates)
    candidates = [Candidate(r["query_id"], r["researcher_id"], r["country"] or "", r["score"]) for r in rows
                  if not r.get("conflict") and r["rank"] <= rules.candidates_per_project]
    result = assign(candidates, [q.id for q in request.queries], rules)
    chosen = [(position[c.project], key[(c.project, c.researcher)]["rank"]) for c in result.chosen]
    summary = result.summary()
    summary["note"] = ("greedy takes the best pair first within k, c and max_per_country (it does not aim at "
                       "min_countries); top_k is each project's k best, ignoring every rule: an upper bound")
    jobs.finish(job.id, SUCCEEDED, summary=summary, assigned=chosen)


class JobWorker:
    """Runs jobs in a background thread, one at a time, each under its lease; interactive queries
    keep the request threads. A job runs for a turn of `turn_seconds`, then gives way where another
    key's job is waiting. Stopping leaves a running job `running`, to be resumed by the next worker
    (of this process or another). Finished jobs older than `retention_seconds` are deleted (0: kept)."""

    REQUESTS_KEPT = 4  # parsed requests of jobs between their turns (a 10,000-query job takes a while to parse)
    PRUNE_EVERY = 600.0

    def __init__(self, runtime: Runtime, jobs: JobStore, poll_seconds: float = 0.5, turn_seconds: float = 2.0,
                 retention_seconds: float = 0.0, leases: Leases | None = None) -> None:
        self.runtime, self.jobs, self.poll_seconds, self.turn_seconds = runtime, jobs, poll_seconds, turn_seconds
        self.retention_seconds = retention_seconds
        self.leases = leases or Leases(jobs.path, runtime.settings.lease_seconds)
        self._requests: dict[str, BatchRequest] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kakehashi-batch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        next_prune = 0.0
        while not self._stop.is_set():
            if self.retention_seconds > 0 and time.monotonic() >= next_prune:
                self._prune()
                next_prune = time.monotonic() + self.PRUNE_EVERY
            try:
                job = self.jobs.claim_next(self.leases)
                if job is None:
                    self._stop.wait(self.poll_seconds)
                    continue
                self._turn(job)
            except NotReady:
                self._stop.wait(self.poll_seconds)  # no index yet: the job waits in the queue
            except Exception:
                log.exception("batch worker error")
                self._stop.wait(self.poll_seconds)

    def _turn(self, job: Job) -> None:
        """One turn of `job`, whose lease is ours: until it ends, the worker stops, the lease is
        lost, or its time is up while another key's job waits."""
        with self.leases.hold(lease_name(job.id), taken=True) as held:
            began = time.monotonic()

            def over() -> bool:
                return (self._stop.is_set() or held.lost.is_set()
                        or (time.monotonic() - began >= self.turn_seconds and self.jobs.others_waiting(job.owner)))

            request = self._requests.pop(job.id, None) or self.jobs.request(job.id)
            done = run_job(self.runtime, self.jobs, job.id, over, request=request)
            if done.state not in FINISHED:
                self._requests[job.id] = request
                while len(self._requests) > self.REQUESTS_KEPT:
                    del self._requests[next(iter(self._requests))]

    def _prune(self) -> None:
        try:
            pruned = self.jobs.prune(self.retention_seconds)
        except sqlite3.Error as exc:
            log.warning("finished batch jobs not pruned this time: %s", exc)
            return
        if pruned:
            log.info("deleted %d batch jobs finished more than %.0f days ago, with their results", pruned, self.retention_seconds / 86400)
