"""`kakehashi ingest`: read files or an OpenAlex snapshot in a stream, validate every record, store
the valid ones a batch per transaction, report the rest, and derive the profiles that changed.

Memory is bounded by a batch: OpenAlex works, authors and institutions are stored as they are read
(indexer/openalex_writes.py) and profiles are derived from the store afterwards (indexer/profiles.py).
A large input is read and converted by worker processes while this one writes (indexer/conversion.py).
A file whose content was ingested before under the same slice is skipped; so is an unchanged record
in a changed file. House records (JSON Lines, CSV) carry their publications and are stored whole."""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer import openalex_writes
from indexer.checksums import file_sha256
from indexer.conversion import GC_THRESHOLDS, Converted, ConvertingWorkers, LeftOut, batches_here, worker_count
from indexer.embedder import ProgressFn
from indexer.records import Rejection, ResearcherRecord, validate_researcher
from indexer.slicing import Slice
from indexer.sources.openalex import ENTITIES, AuthorRow, InstitutionRow, WorkRow
from indexer.sources.snapshot import InputFile, plan_inputs
from indexer.store import Store
from kernel.errors import InvalidInput

HOUSE_BATCH = 500
OPENALEX_BATCH = 20_000  # works, authors or institutions per transaction (at 1M works 5,000 took 16% longer)
KEPT_REJECTIONS = 1000  # in the report; all of them go to `on_rejection`
ProgressFactory = Callable[[str, int], ProgressFn]


@dataclass
class IngestReport:
    path: str
    files: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)  # ingested before, unchanged
    records_read: int = 0
    profiles_derived: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    openalex: dict[str, openalex_writes.RecordCounts] = field(default_factory=lambda: {e: openalex_writes.RecordCounts() for e in ENTITIES})
    left_out: Counter[str] = field(default_factory=Counter)  # by slice rule, and "authors" without a kept work
    problems: list[str] = field(default_factory=list)  # the input disagrees with its manifest
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)  # the first KEPT_REJECTIONS

    @property
    def stored(self) -> int:
        return self.added + self.updated

    @property
    def all_rejected(self) -> bool:
        return self.records_read > 0 and self.rejected == self.records_read

    def summary(self) -> dict[str, Any]:
        return {
            "path": self.path, "files": len(self.files), "files_skipped": len(self.files_skipped),
            "records_read": self.records_read, "profiles_derived": self.profiles_derived,
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged, "removed": self.removed,
            "openalex": {e: c.as_dict() for e, c in self.openalex.items() if any(c.as_dict().values())},
            "left_out": dict(self.left_out), "problems": self.problems, "rejected": self.rejected,
        }


class _Run:
    """One ingest: the batches waiting to be written and the report they add to."""

    def __init__(self, store: Store, known_fields: set[str], slice_: Slice, report: IngestReport,
                 on_progress: ProgressFn | None, on_rejection: Callable[[Rejection], None] | None) -> None:
        self.store, self.known_fields, self.slice, self.report = store, known_fields, slice_, report
        self.on_progress, self.on_rejection = on_progress, on_rejection
        self.house: list[ResearcherRecord] = []
        self.house_ids: set[str] = set()
        self.house_sources: dict[str, str] = {}  # researcher id -> where its record was read, for the batch waiting
        self.works: list[WorkRow] = []
        self.authors: list[AuthorRow] = []
        self.institutions: list[InstitutionRow] = []
        self.unflushed = 0

    def reject(self, rejection: Rejection) -> None:
        self.report.rejected += 1
        if len(self.report.rejections) < KEPT_REJECTIONS:
            self.report.rejections.append(rejection)
        if self.on_rejection:
            self.on_rejection(rejection)

    def add(self, where: str, item: Converted) -> None:
        self.report.records_read += 1
        self.unflushed += 1
        if isinstance(item, Rejection):
            self.reject(item)
        elif isinstance(item, LeftOut):
            self.report.left_out[item.rule] += 1
        elif isinstance(item, WorkRow):
            self.works.append(item)
        elif isinstance(item, AuthorRow):
            self.authors.append(item)
        elif isinstance(item, InstitutionRow):
            self.institutions.append(item)
        else:
            self._house(where, item.raw)
        if max(len(self.works), len(self.authors), len(self.institutions)) >= OPENALEX_BATCH or len(self.house) >= HOUSE_BATCH:
            self.flush()

    def _house(self, where: str, raw: Any) -> None:
        result = validate_researcher(raw, where, self.known_fields)
        if isinstance(result, list):
            for rejection in result:
                self.reject(rejection)
        elif result.id in self.house_ids:
            self.reject(Rejection(where, "id", f"duplicate id {result.id!r} in this input; the first one was kept"))
        else:
            self.house_ids.add(result.id)
            self.house_sources[result.id] = where
            self.house.append(result)

    def flush(self, done: tuple[InputFile, str, int] | None = None) -> None:
        """Writes what is waiting in one transaction; `done`: (the file it finishes, its sha256, its
        record count), recorded in the same transaction so that a rerun skips it."""
        report = self.report
        if self.house:
            counts = self.store.upsert_researchers(self.house)
            report.added += counts.added
            report.updated += counts.updated
            report.unchanged += counts.unchanged
            for refused in counts.refused:
                self.reject(Rejection(self.house_sources[refused.researcher_id], f"publications.{refused.position}", refused.reason))
            self.house_sources.clear()
            self.house.clear()
        with self.store.transaction() as conn:
            if self.institutions:
                report.openalex["institutions"].add(openalex_writes.write_institutions(conn, self.institutions))
            if self.works:
                report.openalex["works"].add(openalex_writes.write_works(conn, self.works))
            if self.authors:
                counts, left_out = openalex_writes.write_authors(conn, self.authors, only_with_works=self.slice.active)
                report.openalex["authors"].add(counts)
                report.left_out["authors"] += left_out
            if done is not None:
                file, digest, records = done
                self.store.record_ingested_file(conn, digest, self.slice.signature, file.name, records, file.manifest_entry)
        self.works.clear()
        self.authors.clear()
        self.institutions.clear()
        if self.on_progress and self.unflushed:
            self.on_progress(self.unflushed)
        self.unflushed = 0


def _finish_file(run: _Run, file: InputFile, digest: str, read: int) -> None:
    """The file's records are all added: the next batch records it as done, when it is whole."""
    report = run.report
    if not file.complete:
        run.flush()  # its size disagrees with the manifest (already reported): read again next time
    elif file.expected_records is not None and read != file.expected_records:
        report.problems.append(
            f"{file.name}: the manifest lists {file.expected_records} records, the file holds {read} "
            "(an incomplete download?); what it holds is stored, and it is read again next time"
        )
        run.flush()
    else:
        run.flush(done=(file, digest, read))


def ingest(
    path: Path,
    store: Store,
    known_fields: set[str],
    progress: ProgressFactory | None = None,
    slice_: Slice | None = None,
    on_rejection: Callable[[Rejection], None] | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Valid records are stored in batches of one transaction each, even when others are rejected.
    Re-ingesting the same input changes nothing; a changed record replaces the stored one by id.
    `progress(step, total)` (total 0 when unknown) returns the function that advances the step."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or directory")
    plan = plan_inputs(path)
    if not plan.files:
        raise InvalidInput(f"{path}: no .jsonl, .json, .csv (optionally .gz) or .parquet files found, and no OpenAlex snapshot")
    started = time.time()
    slice_ = slice_ or Slice()
    report = IngestReport(path=str(path), files=[f.name for f in plan.files], problems=list(plan.problems))
    on_progress = progress("Reading records", sum(f.expected_records or 0 for f in plan.files)) if progress else None
    run = _Run(store, known_fields, slice_, report, on_progress, on_rejection)
    todo: list[tuple[InputFile, str]] = []
    for file in plan.files:
        digest = file_sha256(file.path)
        if not store.ingested_file(digest, slice_.signature):
            todo.append((file, digest))
            continue
        report.files_skipped.append(file.name)
        if on_progress and file.expected_records:
            on_progress(file.expected_records)
    files = [file for file, _ in todo]
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    n_workers = worker_count(files, workers)
    pool = ConvertingWorkers(slice_, n_workers, store.path) if n_workers else None
    read = Counter[int]()
    try:
        for index, batch in pool.batches(files) if pool else batches_here(files, slice_):
            if batch is None:
                _finish_file(run, *todo[index], read[index])
                continue
            read[index] += len(batch)
            for where, item in batch:
                run.add(where, item)
        queued = store.queued_profiles()
        counts = store.derive_profiles(progress("Deriving researcher profiles", queued) if progress and queued else None,
                                       pool.compute_profiles if pool else None)
    finally:
        gc.set_threshold(*thresholds)
        if pool is not None:
            pool.close()
    report.profiles_derived = counts.added + counts.updated + counts.unchanged
    report.added += counts.added
    report.updated += counts.updated
    report.unchanged += counts.unchanged
    report.removed += counts.removed
    if report.records_read == 0 and not report.files_skipped:
        raise InvalidInput(f"{path}: no records found (the input is empty)")
    store.record_ingest_run(str(path), started, report.summary())
    return report
