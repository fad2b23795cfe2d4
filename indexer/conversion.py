"""What each input record becomes before it is stored, in this process or in worker processes.

Reading a file (gunzip, JSON, Parquet) and turning its records into rows costs more than storing
them. For a large input on a machine with cores to spare, worker processes do it, a file each at a
time, and hand the rows back a batch a message through one bounded queue, so memory stays bounded.
The files of one phase (consecutive files of one entity: a snapshot's work parts) are read at once
and their batches interleave; phases follow each other in the plan's order. Within an entity the
order does not matter: a record older than the stored copy is skipped whenever it comes
(indexer/openalex_writes.py), and the authors come after all the works they may be kept for.
The same workers then compute the profiles to derive from the store, a chunk each, while the ingest
writes them."""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import sqlite3
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Union

from indexer import profiles, schema
from indexer.records import Rejection
from indexer.slicing import Slice
from indexer.sources.files import iter_json_records
from indexer.sources.house import read_house_csv
from indexer.sources.openalex import AuthorRow, InstitutionRow, WorkRow, author_row, institution_row, kind_of, work_row
from indexer.sources.parquet import iter_parquet_records
from indexer.sources.snapshot import InputFile

TRANSFER_BATCH = 1000  # records per message from a worker
QUEUED_BATCHES = 4  # per worker: what the workers hold in memory is bounded by it
# parsed records hold no reference cycles: collecting after every 700 new objects (the default) only costs time
GC_THRESHOLDS = (50_000, 50, 50)
WORKERS_MIN_BYTES = 32 << 20  # smaller inputs are read in this process (starting workers costs about a second)


@dataclass(frozen=True)
class LeftOut:
    rule: str  # the slice rule that leaves a work out


@dataclass(frozen=True)
class HouseRecord:
    raw: Any  # validated when it is stored (duplicates within the input are found there)


# what a record becomes: a row to store, a rejection, a work the slice leaves out, or a house record
Converted = Union[WorkRow, AuthorRow, InstitutionRow, Rejection, LeftOut, HouseRecord]  # noqa: UP007 (a runtime alias)


def convert(where: str, raw: Any, kind: str | None, slice_: Slice) -> Converted:
    """One record as its rows; `kind` is what the layout says the file holds, if it says."""
    if isinstance(raw, Rejection):
        return raw
    if not isinstance(raw, dict):
        return HouseRecord(raw)  # and rejected as one: not an object
    kind = kind or kind_of(raw)
    if kind == "work":
        work = work_row(raw, where)
        if isinstance(work, Rejection):
            return work
        rule = slice_.rule_against(work)
        return LeftOut(rule) if rule else work
    if kind == "author":
        return author_row(raw) or Rejection(where, "id", "not an OpenAlex author id")
    if kind == "institution":
        return institution_row(raw, raw.get("updated_date") or "") or Rejection(where, "id", "not an OpenAlex institution id")
    return HouseRecord(raw)


def _records(file: InputFile) -> Iterator[tuple[str, Any]]:
    if file.format == "parquet":
        return iter_parquet_records(file.path)
    if file.format == "csv":
        return read_house_csv(file.path)
    return iter_json_records(file.path)


def converted(file: InputFile, slice_: Slice) -> Iterator[tuple[str, Converted]]:
    """(location, what the record becomes) per record of the file, in order."""
    for where, raw in _records(file):
        yield where, convert(where, raw, file.kind, slice_)


Batches = Iterator[tuple[int, list[tuple[str, Converted]] | None]]  # (file index, records), (file index, None) at its end


def batches_here(files: list[InputFile], slice_: Slice) -> Batches:
    """The files read and converted in this process, one after the other."""
    for index, file in enumerate(files):
        batch: list[tuple[str, Converted]] = []
        for item in converted(file, slice_):
            batch.append(item)
            if len(batch) >= TRANSFER_BATCH:
                yield index, batch
                batch = []
        yield index, batch
        yield index, None


def _work(tasks: multiprocessing.Queue[Any], out: multiprocessing.Queue[Any], slice_: Slice, store_path: Path) -> None:
    """A worker process: takes tasks until None and answers each. ("file", index, file): its records,
    a batch a message, then (index, None); ("profiles", n, ids): those authors' profiles computed
    from the store (read only: the ingest writes)."""
    gc.set_threshold(*GC_THRESHOLDS)
    store: sqlite3.Connection | None = None
    try:
        while (task := tasks.get()) is not None:
            kind, index, what = task
            if kind == "file":
                for _, batch in batches_here([what], slice_):
                    out.put(("file", index, batch))
            else:
                store = store or schema.open_read_only(store_path)
                out.put(("profiles", index, profiles.compute_profiles(store, what)))
    except BaseException:  # noqa: BLE001 (whatever it is, the ingest must hear of it rather than wait)
        out.put(("error", -1, traceback.format_exc()))
    finally:
        if store is not None:
            store.close()


def worker_count(files: list[InputFile], requested: int | None) -> int:
    """`requested` None: one worker a core for an input large enough to repay starting them, else none."""
    if requested is not None:
        return max(0, requested)
    cores = os.cpu_count() or 1
    if cores < 2 or len(files) < 2 or sum(f.path.stat().st_size for f in files) < WORKERS_MIN_BYTES:
        return 0
    return min(len(files), cores)


def _phases(files: list[InputFile]) -> Iterator[list[int]]:
    """Runs of consecutive files of one group (works, authors, institutions), which may be read in
    any order; a file of no known group is a phase of its own."""
    run: list[int] = []
    for index, file in enumerate(files):
        if run and (file.group is None or file.group != files[run[-1]].group):
            yield run
            run = []
        run.append(index)
    if run:
        yield run


class ConvertingWorkers:
    """Worker processes reading and converting files, those of one phase at once, then computing
    the profiles the ingest derives."""

    def __init__(self, slice_: Slice, workers: int, store_path: Path) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that may have threads
        self._tasks: multiprocessing.Queue[Any] = context.Queue()
        self._out: multiprocessing.Queue[Any] = context.Queue(QUEUED_BATCHES * workers)
        self._processes: list[BaseProcess] = [
            context.Process(target=_work, args=(self._tasks, self._out, slice_, store_path), daemon=True,
                            name=f"kakehashi-convert-{n}")
            for n in range(workers)
        ]
        for process in self._processes:
            process.start()

    def batches(self, files: list[InputFile]) -> Batches:
        """Every file's batches: the files of a phase as the workers finish them, interleaved; one
        phase after the other (the authors after the works that a sliced ingest keeps them for)."""
        for phase in _phases(files):
            for index in phase:
                self._tasks.put(("file", index, files[index]))
            open_files = len(phase)
            while open_files:
                index, batch = self._get()
                if batch is None:
                    open_files -= 1
                yield index, batch

    def compute_profiles(self, chunks: Iterator[list[str]]) -> Iterator[list[profiles.Computed]]:
        """Each chunk's profiles, computed by the workers a few chunks ahead of the caller's writes."""
        pending = 0
        for ids in chunks:
            self._tasks.put(("profiles", 0, ids))
            pending += 1
            if pending >= 2 * len(self._processes):
                pending -= 1
                yield self._get()[1]
        for _ in range(pending):
            yield self._get()[1]

    def _get(self) -> tuple[int, Any]:
        while True:
            try:
                kind, index, payload = self._out.get(timeout=5)
            except queue.Empty:
                if not all(p.is_alive() for p in self._processes):
                    raise RuntimeError("a worker converting records stopped") from None
                continue
            if kind == "error":
                raise RuntimeError(f"a worker converting records failed:\n{payload}")
            return index, payload

    def close(self) -> None:
        for _ in self._processes:
            self._tasks.put(None)
        for process in self._processes:
            process.join(timeout=2)
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)
        for q in (self._tasks, self._out):
            q.close()
            q.cancel_join_thread()
