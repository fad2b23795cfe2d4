"""Batch jobs kept in the store: submission, progress, cancellation, results; and the worker that
runs them. A job survives a restart: each query's results and the progress count are written in
one transaction, and a job found `running` at start is resumed from its first unfinished query."""

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
from kernel.errors import Conflict, KakehashiError, NotFound, NotReady
from service.batch.assignment import Candidate, assign
from service.batch.inputs import BatchRequest
from service.matching.row import batch_row
from service.runtime import Runtime

log = logging.getLogger("kakehashi.batch")

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)


@dataclass(frozen=True)
class Job:
    id: str
    state: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    total: int
    done: int
    failed_queries: int
    error: str | None
    summary: dict[str, Any] | None
    request: BatchRequest

    def view(self) -> dict[str, Any]:
        """What the API and the CLI show of a job."""
        end = self.finished_at or (time.time() if self.started_at else None)
        return {
            "id": self.id, "state": self.state,
            "progress": {"done": self.done, "total": self.total, "failed_queries": self.failed_queries},
            "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at,
            "elapsed_seconds": round(end - self.started_at, 3) if end and self.started_at else None,
            "error": self.error, "assignment": self.summary,
            "options": self.request.options.model_dump(exclude_none=True),
        }


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
            id=row["id"], state=row["state"], created_at=row["created_at"], started_at=row["started_at"],
            finished_at=row["finished_at"], total=row["total"], done=row["done"], failed_queries=row["failed_queries"],
            error=row["error"], summary=json.loads(row["summary"]) if row["summary"] else None,
            request=BatchRequest.model_validate_json(row["request"]),
        )

    def create(self, request: BatchRequest, owner: str | None = None) -> Job:
        """`owner`: the id of the API key that submitted the job (None from the CLI)."""
        job_id = uuid.uuid4().hex
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO batch_jobs (id, state, created_at, total, request, owner) VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, QUEUED, time.time(), len(request.queries), request.model_dump_json(), owner),
            )
        return self.get(job_id)

    def get(self, job_id: str, owner: str | None = None) -> Job:
        """With `owner`, only that key's job: another's is not found (its existence is not told)."""
        with connect(self.path) as conn:
            row = conn.execute("SELECT * FROM batch_jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or (owner is not None and row["owner"] != owner):
            raise NotFound(f"no batch job {job_id!r}")
        return self._job(row)

    def state(self, job_id: str) -> str:
        with connect(self.path) as conn:
            row = conn.execute("SELECT state FROM batch_jobs WHERE id = ?", (job_id,)).fetchone()
        return row["state"] if row else CANCELLED

    def count(self, state: str) -> int:
        with connect(self.path) as conn:
            return conn.execute("SELECT COUNT(*) FROM batch_jobs WHERE state = ?", (state,)).fetchone()[0]

    def list(self, limit: int, offset: int, state: str | None = None, owner: str | None = None) -> tuple[list[Job], int]:
        conditions = [(c, v) for c, v in (("state = ?", state), ("owner = ?", owner)) if v is not None]
        where = ("WHERE " + " AND ".join(c for c, _ in conditions)) if conditions else ""
        args = tuple(v for _, v in conditions)
        with connect(self.path) as conn:
            count = conn.execute(f"SELECT COUNT(*) FROM batch_jobs {where}", args).fetchone()[0]
            rows = conn.execute(f"SELECT * FROM batch_jobs {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                                (*args, limit, offset)).fetchall()
        return [self._job(r) for r in rows], count

    def next_runnable(self) -> str | None:
        """A job left running by an earlier process first (to resume it), then the oldest queued."""
        with connect(self.path) as conn:
            row = conn.execute(
                "SELECT id FROM batch_jobs WHERE state IN (?, ?) ORDER BY state = ? DESC, created_at, id LIMIT 1",
                (QUEUED, RUNNING, RUNNING),
            ).fetchone()
        return row["id"] if row else None

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
        assigned_only = job.request.options.assignment is not None and job.state == SUCCEEDED
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
            on_query: Callable[[int, int], None] | None = None) -> Job:
    """Runs (or resumes) one job to its end, unless it is cancelled or `stop()` says so (a shutdown:
    the job stays running and resumes later). Raises NotReady, leaving the job as it is, while no
    index is loaded."""
    job = jobs.get(job_id)
    if job.state in FINISHED:
        return job
    snap = runtime.snapshot()
    jobs.start(job_id)
    job = jobs.get(job_id)
    options = job.request.options
    depth = options.assignment.candidates_per_project if options.assignment else options.limit
    try:
        for position in range(job.done, job.total):
            if stop() or jobs.state(job_id) != RUNNING:
                return jobs.get(job_id)
            query = job.request.queries[position]
            try:
                page = runtime.matcher.match(snap, query.query, query.filters, options.weights, limit=depth)
                rows = [batch_row(job_id, query.id, i + 1, m, page.query.fields, snap.version, snap.model) for i, m in enumerate(page.matches)]
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
            _assign(jobs, job)
        else:
            jobs.finish(job_id, SUCCEEDED)
    except Exception as exc:  # a job never stays running on an unexpected error
        log.exception("batch job %s failed", job_id)
        jobs.finish(job_id, FAILED, f"unexpected error: {type(exc).__name__}: {exc}")
    return jobs.get(job_id)


def _assign(jobs: JobStore, job: Job) -> None:
    rules = job.request.options.assignment
    assert rules is not None
    rows = list(jobs.results(job.id))
    key = {(r["query_id"], r["researcher_id"]): r for r in rows}
    position = {q.id: i for i, q in enumerate(job.request.queries)}
    candidates = [Candidate(r["query_id"], r["researcher_id"], r["country"] or "", r["score"]) for r in rows]
    result = assign(candidates, [q.id for q in job.request.queries], rules)
    chosen = [(position[c.project], key[(c.project, c.researcher)]["rank"]) for c in result.chosen]
    summary = result.summary()
    summary["note"] = ("greedy takes the best pair first within k, c and max_per_country (it does not aim at "
                       "min_countries); top_k is each project's k best, ignoring every rule: an upper bound")
    jobs.finish(job.id, SUCCEEDED, summary=summary, assigned=chosen)


class JobWorker:
    """Runs queued jobs one at a time in a background thread; interactive queries keep the
    request threads. Stopping leaves a running job `running`, to be resumed by the next worker."""

    def __init__(self, runtime: Runtime, jobs: JobStore, poll_seconds: float = 0.5) -> None:
        self.runtime, self.jobs, self.poll_seconds = runtime, jobs, poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kakehashi-batch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            job_id = self.jobs.next_runnable()
            if job_id is None:
                self._stop.wait(self.poll_seconds)
                continue
            try:
                run_job(self.runtime, self.jobs, job_id, self._stop.is_set)
            except NotReady:
                self._stop.wait(self.poll_seconds)  # no index yet: the job waits in the queue
            except Exception:
                log.exception("batch worker error")
                self._stop.wait(self.poll_seconds)
