"""`kakehashi ingest`: read files, validate every record, store the valid ones, report the rest."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.records import Rejection, ResearcherRecord, validate_researcher
from indexer.sources.files import base_suffix, iter_json_records, list_inputs
from indexer.sources.house import read_house_csv
from indexer.sources.openalex import OpenAlexBatch, kind_of
from indexer.store import Store
from kernel.errors import InvalidInput

BATCH = 500


@dataclass
class IngestReport:
    path: str
    files: list[str] = field(default_factory=list)
    records_read: int = 0
    profiles_derived: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return self.added + self.updated

    def summary(self) -> dict[str, Any]:
        return {
            "path": self.path, "files": self.files, "records_read": self.records_read,
            "profiles_derived": self.profiles_derived,
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
            "rejected": len(self.rejections),
        }


def _raw_records(files: list[Path], openalex: OpenAlexBatch) -> Iterator[tuple[str, Any]]:
    """House records and rejections pass through; OpenAlex entities are kept aside in `openalex`."""
    for path in files:
        reader = read_house_csv if base_suffix(path) == ".csv" else iter_json_records
        for where, obj in reader(path):
            kind = kind_of(obj)
            if kind:
                openalex.add(where, obj, kind)
            else:
                yield where, obj


def ingest(
    path: Path,
    store: Store,
    known_fields: set[str],
    on_progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Valid records are stored in batches of one transaction each, even when others are rejected.
    Re-ingesting the same input changes nothing; a changed record replaces the stored one by id."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or directory")
    files = list_inputs(path)
    if not files:
        raise InvalidInput(f"{path}: no .jsonl, .json or .csv files (optionally .gz) found")
    started = time.time()
    report = IngestReport(path=str(path), files=[f.name for f in files])
    openalex = OpenAlexBatch()
    pending: list[ResearcherRecord] = []
    seen: set[str] = set()

    def accept(where: str, raw: Any) -> None:
        if isinstance(raw, Rejection):
            report.rejections.append(raw)
            return
        result = validate_researcher(raw, where, known_fields)
        if isinstance(result, list):
            report.rejections.extend(result)
            return
        if result.id in seen:
            report.rejections.append(Rejection(where, "id", f"duplicate id {result.id!r} in this input; the first one was kept"))
            return
        seen.add(result.id)
        pending.append(result)
        if len(pending) >= BATCH:
            flush()

    def flush() -> None:
        counts = store.upsert_researchers(pending)
        report.added += counts.added
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        if on_progress:
            on_progress(len(pending))
        pending.clear()

    for where, raw in _raw_records(files, openalex):
        report.records_read += 1
        accept(where, raw)
    if openalex:
        report.records_read += openalex.size
        derived, rejections = openalex.derive()
        report.profiles_derived = len(derived)
        report.rejections.extend(rejections)
        for where, raw in derived:
            accept(where, raw)
    if pending:
        flush()
    if report.records_read == 0:
        raise InvalidInput(f"{path}: no records found (the input is empty)")
    store.record_ingest_run(str(path), started, report.summary())
    return report
