"""An index version on disk: its layout, manifest, checksums, publishing, listing, opening, retention.

This module alone names the files of a version. A version is a directory under `<data_dir>/indexes/`:

  manifest.json        model, dimension, metric, counts, data hash, build time, every file's size and sha256
  vectors.npy          one L2-normalised float32 row per publication
  publications.faiss   FAISS inner-product index over those rows: exact, or approximate (indexer/ann.py)
  publication_ids.json row -> publication id
  embedding_keys.json  row -> "<text mode>:<text hash>", to reuse the vectors of unchanged texts
  fields.npy goals.npy the field descriptions and Moonshot goals, embedded with the same model
  field_ids.json goal_ids.json
  catalog.sqlite       what serving reads of the store at build time: researchers, publications,
                       authorships; never batch jobs, their results or API keys
  columns/             what ranking reads, as arrays: links (CSR), years, citations, fields, norms (indexer/columns.py)
  lexical/             BM25 over the publications' texts, memory-mapped when served (indexer/lexical.py)
  multilingual.npy     optional, for Japanese queries: the titles embedded with the multilingual model
  multilingual_lead.npy     and the titles with the abstracts' leads (each with its keys file, reused by later builds)
  multilingual_centred.npy  what serving reads: those parts, each centred on its mean and renormalised,
                       side by side (indexer/centring.py; centring takes away the direction every
                       text shares, which made a few publications the nearest to every query)
  multilingual_centre.npy   the parts' centres, one row each (a full build's means; a delta keeps its base's)
  multilingual_keys.json multilingual_lead_keys.json multilingual_fields.npy multilingual_goals.npy

An incremental version is its base's files, hard-linked (no bytes of their own), plus `delta/`:
the researchers that changed since the base was built, their publications and those publications'
vectors, laid out as above (catalog.sqlite, columns/, lexical/, vectors.npy, publication_ids.json,
embedding_keys.json, the multilingual parts, their keys and multilingual_centred.npy), and `superseded.json`, the base's
researchers that the delta replaces or that are gone. The delta is cumulative against the base, so
a version has at most one; a full build starts a new base when it grows past a share of it.

A version is written under a temporary name and renamed into place, so a reader sees all of it or
none. Retention keeps the newest `keep_versions` and every version a running process serves (each
serving process names its version under `.readers/<pid>`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer import ann
from indexer.checksums import file_sha256
from kernel.errors import IndexUnusable

FORMAT = 2  # 2: the catalog holds the served tables only; files are recorded with size and sha256 (1: sha256 only, still read)
MANIFEST = "manifest.json"
VECTORS = "vectors.npy"
INDEX = "publications.faiss"
PUBLICATION_IDS = "publication_ids.json"
EMBEDDING_KEYS = "embedding_keys.json"
FIELDS, GOALS = "fields.npy", "goals.npy"
FIELD_IDS, GOAL_IDS = "field_ids.json", "goal_ids.json"
CATALOG = "catalog.sqlite"
COLUMNS, LEXICAL = "columns", "lexical"
DELTA, SUPERSEDED = "delta", "superseded.json"
MULTILINGUAL_VECTORS, MULTILINGUAL_KEYS = "multilingual.npy", "multilingual_keys.json"
MULTILINGUAL_LEAD_VECTORS, MULTILINGUAL_LEAD_KEYS = "multilingual_lead.npy", "multilingual_lead_keys.json"
MULTILINGUAL_CENTRED, MULTILINGUAL_CENTRE = "multilingual_centred.npy", "multilingual_centre.npy"
MULTILINGUAL_FIELDS, MULTILINGUAL_GOALS = "multilingual_fields.npy", "multilingual_goals.npy"
READERS_DIR = ".readers"
VERIFY_MAX_BYTES = 64 * 2**20  # larger files are checked by size when a version is opened (a checksum of GBs would delay serving)


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_publication_ids(path: Path) -> np.ndarray:
    """Row -> publication id, as a NumPy string array (sorted: the rows follow the ids)."""
    return np.array(read_json(path / PUBLICATION_IDS), dtype=str)


def read_index(path: Path, mmap_min_bytes: int) -> faiss.Index:
    index_file = path / INDEX
    return ann.read(str(index_file), mmap=index_file.stat().st_size >= mmap_min_bytes)


# --- versions -------------------------------------------------------------------------------------


def versions(index_root: Path) -> list[Path]:
    """Complete versions, oldest first. Temporary directories start with a dot and are ignored."""
    if not index_root.is_dir():
        return []
    return sorted(p for p in index_root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file())


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        return read_json(path / MANIFEST)
    except (OSError, ValueError) as exc:
        raise IndexUnusable(f"index version {path.name}: unreadable {MANIFEST} ({exc})") from None


def verify(path: Path, manifest: dict[str, Any], full: bool = False) -> None:
    """Every file present at its recorded size; the checksums of files up to VERIFY_MAX_BYTES (all, if `full`)."""
    if manifest.get("format") not in (1, FORMAT):
        raise IndexUnusable(f"index version {path.name} has format {manifest.get('format')}, this service reads formats 1 and "
                            f"{FORMAT}; rebuild it with `kakehashi index build`")
    for name, entry in manifest.get("files", {}).items():
        entry = entry if isinstance(entry, dict) else {"sha256": entry}  # format 1
        file = path / name
        if not file.is_file():
            raise IndexUnusable(f"index version {path.name}: file {name} is missing")
        size = file.stat().st_size
        if "bytes" in entry and size != entry["bytes"]:
            raise IndexUnusable(f"index version {path.name}: file {name} is truncated or overwritten (size mismatch)")
        if (full or size <= VERIFY_MAX_BYTES) and file_sha256(file) != entry["sha256"]:
            raise IndexUnusable(f"index version {path.name}: file {name} is corrupt or truncated (checksum mismatch)")


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def new_build(index_root: Path) -> Path:
    """A temporary directory to write a version into (removed if the build fails or is stale)."""
    index_root.mkdir(parents=True, exist_ok=True)
    tmp = index_root / f".building-{uuid.uuid4().hex}"
    tmp.mkdir()
    return tmp


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def link_base(base: Path, tmp: Path) -> dict[str, dict[str, Any]]:
    """Hard-links the base's own files (not its delta, not its manifest) into a version being built;
    their manifest entries, which `publish` takes as they are instead of reading the files again."""
    entries = read_manifest(base).get("files", {})
    linked: dict[str, dict[str, Any]] = {}
    for name, entry in entries.items():
        if name == MANIFEST or name.startswith(f"{DELTA}/") or not isinstance(entry, dict):
            continue
        target = tmp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(base / name, target)
        linked[name] = entry
    return linked


def delta_of(path: Path) -> Path | None:
    """The version's delta directory, if it is an incremental version."""
    return path / DELTA if (path / DELTA).is_dir() else None


def publish(tmp: Path, index_root: Path, manifest: dict[str, Any], linked: dict[str, dict[str, Any]] | None = None) -> Path:
    """Checksums the files, writes the manifest, makes it all durable and renames it into place.
    `linked`: files hard-linked from a published version, with their entries (already durable)."""
    linked = linked or {}
    files: dict[str, dict[str, Any]] = {}
    for file in _files(tmp):
        name = file.relative_to(tmp).as_posix()
        if name in linked and file.stat().st_size == linked[name]["bytes"]:
            files[name] = linked[name]
            continue
        files[name] = {"bytes": file.stat().st_size, "sha256": file_sha256(file)}
        with file.open("rb") as handle:
            os.fsync(handle.fileno())
    manifest = {**manifest, "format": FORMAT, "files": files}
    write_json(tmp / MANIFEST, manifest)
    with (tmp / MANIFEST).open("rb") as handle:
        os.fsync(handle.fileno())
    _fsync_dir(tmp)
    final = index_root / manifest["version"]
    os.rename(tmp, final)
    _fsync_dir(index_root)
    return final


def discard(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_builds(index_root: Path, older_than_seconds: float = 3600) -> list[Path]:
    """Temporary directories left by builds that crashed (older than an hour: no live build is that slow to touch them)."""
    if not index_root.is_dir():
        return []
    cutoff = time.time() - older_than_seconds
    stale = [p for p in index_root.glob(".building-*") if p.is_dir() and p.stat().st_mtime < cutoff]
    for path in stale:
        discard(path)
    return stale


# --- readers and retention ------------------------------------------------------------------------


def mark_reading(index_root: Path, version: str) -> None:
    """Records that this process serves `version`, so that no other process's retention deletes it."""
    readers = index_root / READERS_DIR
    readers.mkdir(parents=True, exist_ok=True)
    tmp = readers / f".{os.getpid()}.tmp"
    tmp.write_text(version, encoding="utf-8")
    os.replace(tmp, readers / str(os.getpid()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def versions_in_use(index_root: Path) -> set[str]:
    """Versions that running processes serve (entries of processes that are gone are removed)."""
    used: set[str] = set()
    readers = index_root / READERS_DIR
    if not readers.is_dir():
        return used
    for entry in readers.iterdir():
        if not entry.name.isdigit():
            continue
        if _alive(int(entry.name)):
            try:
                used.add(entry.read_text(encoding="utf-8").strip())
            except OSError:
                continue
        else:
            entry.unlink(missing_ok=True)
    return used


def prune(index_root: Path, keep: int, protect: Iterable[str] = ()) -> list[str]:
    """Deletes all but the newest `keep` versions, never one in `protect` or one that a running
    process serves. Shared files live on in the versions that keep them (hard links)."""
    kept = {p.name for p in versions(index_root)[-keep:]} | set(protect) | versions_in_use(index_root)
    removed = []
    for path in versions(index_root):
        if path.name not in kept:
            discard(path)
            removed.append(path.name)
    return removed
