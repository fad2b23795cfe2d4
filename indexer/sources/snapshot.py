"""What an ingest reads, in which order: one file, a directory of files, or an OpenAlex snapshot.

A snapshot is read as published: the layout of 2026 with parallel trees `data/jsonl/<entity>/` and
`data/parquet/<entity>/` (the Parquet copy is read when both are there), each entity's partitions
`updated_date=YYYY-MM-DD/part_NNNN.gz` (or `.parquet`) listed in its `manifest.json` (`files`), or
the older layout `data/<entity>/updated_date=.../NNNN_part_00.gz` with a `manifest` (`entries`),
which the 2026 snapshot keeps under `legacy-data/`. Entities are read institutions, then works, then
authors (a sliced ingest keeps the records of authors whose works it kept); partitions in date order,
so that a newer copy of a record replaces an older one. Each entity's manifest is checked against
the files: a listed part that is missing, a part that is not listed, or one whose size differs is a
problem the report names; a part whose record count differs is found while reading it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from indexer.sources.files import SUFFIXES, base_suffix, iter_json_records
from indexer.sources.openalex import ENTITY_KINDS, kind_of
from indexer.sources.parquet import iter_parquet_records

KIND_ORDER = {"institution": 0, "work": 1, "author": 2, None: 3}
_PARTITION = re.compile(r"^updated_date=(\d{4}-\d{2}-\d{2})$")
_PART_NUMBER = re.compile(r"(\d+)")


@dataclass(frozen=True)
class InputFile:
    path: Path
    name: str  # as reports name it: relative to what was given
    format: str  # jsonl, json, csv or parquet
    kind: str | None = None  # work, author or institution, where the layout says so
    expected_records: int | None = None  # the manifest's record count
    manifest_entry: dict[str, Any] | None = None
    complete: bool = True  # False: its size disagrees with the manifest; read, but not recorded as done
    group: str | None = None  # what it holds as far as the plan knows (its layout, or its first record): works,
    # authors or institutions; consecutive files of one group may be read in parallel, in any order


@dataclass
class InputPlan:
    files: list[InputFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _format(path: Path) -> str | None:
    if path.suffix == ".parquet":
        return "parquet"
    suffix = base_suffix(path)
    if suffix in SUFFIXES:
        return {".csv": "csv", ".json": "json"}.get(suffix, "jsonl")
    return None


def plan_inputs(path: Path) -> InputPlan:
    if path.is_file():
        return InputPlan([InputFile(path, path.name, _format(path) or "jsonl")])
    snapshot = _snapshot(path)
    if snapshot is not None:
        return snapshot
    files = [InputFile(p, p.name, fmt) for p in sorted(path.iterdir())
             if p.is_file() and not p.name.startswith(".") and (fmt := _format(p))]  # not a harvest's state, nor a temporary file
    grouped = [replace(f, group=_first_kind(f)) for f in files]
    # institutions first, authors after the works: the same order as a snapshot's
    return InputPlan(sorted(grouped, key=lambda f: KIND_ORDER[f.group]))


def _first_kind(file: InputFile) -> str | None:
    """The kind of a file's first record (None for house records, or an unreadable file)."""
    if file.format == "csv":
        return None
    records = iter_parquet_records(file.path) if file.format == "parquet" else iter_json_records(file.path)
    first = next(records, None)
    records.close()
    return kind_of(first[1]) if first else None


def _entity_dirs(root: Path) -> list[tuple[Path, str]] | None:
    """(the directory of an entity's partitions, its kind) under a snapshot root, or None when `root` is not one."""
    for base in ("data/parquet", "data/jsonl", "parquet", "jsonl", "data", "legacy-data", "."):
        found = [(root / base / name, kind) for name, kind in ENTITY_KINDS if _has_partitions(root / base / name)]
        if found:
            return found
    return None


def _has_partitions(path: Path) -> bool:
    return path.is_dir() and any(_PARTITION.match(p.name) for p in path.iterdir() if p.is_dir())


def _snapshot(root: Path) -> InputPlan | None:
    if _has_partitions(root):  # one entity's directory
        kind = dict(ENTITY_KINDS).get(root.name)
        entities = [(root, kind)] if kind else None
    else:
        entities = _entity_dirs(root)
    if not entities:
        return None
    plan = InputPlan()
    for directory, kind in entities:
        _plan_entity(directory, kind, root, plan)
    return plan


def _part_key(path: Path) -> tuple[str, int, str]:
    number = _PART_NUMBER.search(path.name)
    return (path.parent.name, int(number.group(1)) if number else -1, path.name)


def _plan_entity(directory: Path, kind: str, root: Path, plan: InputPlan) -> None:
    parts = sorted(
        (p for partition in directory.iterdir() if partition.is_dir() and _PARTITION.match(partition.name)
         for p in partition.iterdir() if p.is_file() and not p.name.startswith(".")),
        key=_part_key,
    )
    entries = _manifest(directory, plan)
    for part in parts:
        relative = f"{part.parent.name}/{part.name}"
        name = str(part.relative_to(root)) if part.is_relative_to(root) else relative
        fmt = "parquet" if part.suffix == ".parquet" else "jsonl"
        if entries is None:
            plan.files.append(InputFile(part, name, fmt, kind, group=kind))
            continue
        entry = entries.pop(relative, None)
        if entry is None:
            plan.problems.append(f"{name}: not listed in its manifest; read anyway")
            plan.files.append(InputFile(part, name, fmt, kind, group=kind))
            continue
        meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
        length, count = meta.get("content_length"), meta.get("record_count")
        complete = not isinstance(length, int) or part.stat().st_size == length
        if not complete:
            plan.problems.append(
                f"{name}: {part.stat().st_size} bytes, the manifest says {length} (an incomplete download?); "
                "what it holds is stored, and it is read again next time"
            )
        plan.files.append(InputFile(part, name, fmt, kind, count if isinstance(count, int) else None, entry, complete, kind))
    for relative in sorted(entries or {}):
        plan.problems.append(f"{directory.name}/{relative}: listed in the manifest, but the file is missing")


def _manifest(directory: Path, plan: InputPlan) -> dict[str, dict[str, Any]] | None:
    """Manifest entries by 'updated_date=.../part_NNNN.gz', or None without a (readable) manifest."""
    path = next((p for p in (directory / "manifest.json", directory / "manifest") if p.is_file()), None)
    if path is None:
        plan.problems.append(f"{directory.name}: no manifest; its parts are read without a check of their record counts")
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        entries = doc["files"] if "files" in doc else doc["entries"]
        found = {}
        for entry in entries:
            url = str(entry["url"])
            partition, part = url.rstrip("/").split("/")[-2:]
            found[f"{partition}/{part}"] = entry
        return found
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        plan.problems.append(f"{directory.name}/{path.name}: unreadable ({exc}); its parts are read without a check")
        return None
