"""`kakehashi index build`: embed what changed, write a new index version, publish it atomically.

A version is a directory under `<data_dir>/indexes/`:
  manifest.json        model, dimension, metric, counts, data hash, build time, file checksums
  vectors.npy          one L2-normalised float32 row per publication
  publications.faiss   FAISS inner-product index over those rows: exact, or approximate (indexer/ann.py)
  publication_ids.json row -> publication id
  fields.npy goals.npy the field descriptions and Moonshot goals, embedded with the same model
  catalog.sqlite       a consistent copy of the store at build time (researchers, publications)
  multilingual.npy     optional: titles embedded with the multilingual model, for Japanese queries
  multilingual_fields.npy, multilingual_goals.npy  the field descriptions and goals in that space
It is written under a temporary name and renamed into place, so a reader sees all of it or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer import ann
from indexer.checksums import file_sha256
from indexer.embedder import Embedder, ProgressFn
from indexer.store import Store, StoredPublication
from indexer.vector_cache import lookup as vector_cache_lookup
from kernel.reference import Reference
from kernel.settings import AnnSettings

FORMAT = 1
METRIC = "inner_product"  # cosine: every vector is L2-normalised
MANIFEST = "manifest.json"
ProgressFactory = Callable[[str, int], ProgressFn]


@dataclass(frozen=True)
class BuildResult:
    version: str
    path: Path
    manifest: dict[str, Any]
    embedded: int
    reused: int
    skipped: bool  # nothing changed since the newest version: no new version written


def version_dirs(index_root: Path) -> list[Path]:
    """Complete versions, oldest first. Temporary directories start with a dot and are ignored."""
    if not index_root.is_dir():
        return []
    return sorted(p for p in index_root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file())


def read_manifest(path: Path) -> dict[str, Any]:
    return json.loads((path / MANIFEST).read_text(encoding="utf-8"))


def remove_stale_builds(index_root: Path, older_than_seconds: float = 3600) -> list[Path]:
    """Temporary directories left by builds that crashed (older than an hour: no live build is that slow to touch them)."""
    if not index_root.is_dir():
        return []
    cutoff = time.time() - older_than_seconds
    stale = [p for p in index_root.glob(".building-*") if p.is_dir() and p.stat().st_mtime < cutoff]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def data_hash(store: Store, model: str, embed_text: str) -> str:
    digest = hashlib.sha256(f"{model}\0{embed_text}".encode())
    for rid, content in store.content_hashes():
        digest.update(f"{rid}\0{content}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Space:
    """One embedding of the publications: the main one, or the multilingual one for Japanese queries."""

    name: str  # also its file in a shipped vector cache (indexer/vector_cache.py)
    model_key: str  # the manifest entry that names its model
    vectors_file: str
    keys_file: str


MAIN = Space("main", "model", "vectors.npy", "embedding_keys.json")
MULTILINGUAL = Space("multilingual", "multilingual_model", "multilingual.npy", "multilingual_keys.json")


def _reusable_vectors(index_root: Path, model: str, space: Space, precision: str | None = None) -> dict[str, np.ndarray]:
    """embedding key -> vector, from the newest version whose space was built with the same model
    (and, for the main space, at the same precision)."""
    for path in reversed(version_dirs(index_root)):
        try:
            manifest = read_manifest(path)
            if manifest.get(space.model_key) != model or (space is MAIN and (manifest.get("encoder_precision") or "fp32") != (precision or "fp32")):
                continue
            keys = json.loads((path / space.keys_file).read_text())
            vectors = np.load(path / space.vectors_file, mmap_mode="r")
        except (OSError, ValueError):
            continue  # a damaged old version only costs re-embedding
        if len(keys) != len(vectors):
            continue
        return {key: vectors[i] for i, key in enumerate(keys)}
    return {}


def _embed_publications(
    embedder: Embedder, space: Space, text_mode: str, publications: list[StoredPublication], index_root: Path,
    vector_cache: Path | None, advance: Callable[[int], ProgressFn] | None,
) -> tuple[np.ndarray, list[str], int]:
    """Vectors and embedding keys for all publications, embedding only the texts that neither an
    earlier version with the same model nor the shipped vector cache holds (same text, same model:
    same vector)."""
    precision = getattr(embedder, "precision", None)  # a sentence-transformers model's; None for the others
    keys = [f"{text_mode}:{p.text_hash}" for p in publications]
    texts = [p.text(text_mode) for p in publications]
    cache = _reusable_vectors(index_root, embedder.name, space, precision)
    missing = [i for i, key in enumerate(keys) if key not in cache]
    if missing:
        cache.update(vector_cache_lookup(vector_cache, space.name, embedder, precision, text_mode, {keys[i]: texts[i] for i in missing}))
        missing = [i for i in missing if keys[i] not in cache]
    if not missing and keys:
        return np.stack([cache[key] for key in keys]).astype(np.float32), keys, 0
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    for i, key in enumerate(keys):
        if key in cache:
            vectors[i] = cache[key]
    if missing:
        vectors[missing] = embedder.encode([texts[i] for i in missing], advance(len(missing)) if advance else None)
    return vectors, keys, len(missing)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")


def build_index(
    store: Store,
    reference: Reference,
    embedder: Embedder,
    index_root: Path,
    progress: ProgressFactory | None = None,
    force: bool = False,
    embed_text: str = "title_abstract",
    multilingual: Embedder | None = None,
    ann_settings: AnnSettings | None = None,
    vector_cache: Path | None = None,
) -> BuildResult:
    """`multilingual`, where given, also embeds every publication's title into a second space
    that Japanese queries are matched in. `vector_cache`: a shipped cache to take vectors from
    (indexer/vector_cache.py)."""
    ann_settings = ann_settings or AnnSettings()
    remove_stale_builds(index_root)
    precision = getattr(embedder, "precision", None)  # a sentence-transformers model's; None for the others
    digest = data_hash(store, embedder.name + (f"@{precision}" if precision and precision != "fp32" else ""),
                       embed_text + (f"+{multilingual.name}" if multilingual else ""))
    existing = version_dirs(index_root)
    if existing and not force:
        newest = read_manifest(existing[-1])
        if newest.get("data_hash") == digest and newest.get("model") == embedder.name:
            return BuildResult(newest["version"], existing[-1], newest, 0, 0, skipped=True)

    publications = store.publications()
    field_texts = [f"{f.label}. {f.description}" for f in reference.fields]
    vectors, keys, embedded = _embed_publications(
        embedder, MAIN, embed_text, publications, index_root, vector_cache,
        (lambda n: progress("Embedding publications", n)) if progress else None,
    )
    field_vectors = embedder.encode(field_texts)
    goal_vectors = embedder.encode([g.text for g in reference.goals])
    if multilingual is not None:
        ml_vectors, ml_keys, ml_embedded = _embed_publications(
            multilingual, MULTILINGUAL, "title", publications, index_root, vector_cache,
            (lambda n: progress("Embedding titles for Japanese queries", n)) if progress else None,
        )

    if progress:
        progress("Writing the index version", 0)
    built_at = datetime.now(UTC)
    version = f"v{built_at.strftime('%Y%m%dT%H%M%S%f')}-{digest[:8]}"
    index_root.mkdir(parents=True, exist_ok=True)
    tmp = index_root / f".building-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        np.save(tmp / MAIN.vectors_file, vectors)
        np.save(tmp / "fields.npy", field_vectors)
        np.save(tmp / "goals.npy", goal_vectors)
        index, ann_entry = ann.build_and_tune(vectors, ann_settings)
        faiss.write_index(index, str(tmp / "publications.faiss"))
        index_type = type(index).__name__
        del index
        _write_json(tmp / "publication_ids.json", [p.id for p in publications])
        _write_json(tmp / MAIN.keys_file, keys)
        if multilingual is not None:
            np.save(tmp / MULTILINGUAL.vectors_file, ml_vectors)
            np.save(tmp / "multilingual_fields.npy", multilingual.encode(field_texts))
            np.save(tmp / "multilingual_goals.npy", multilingual.encode([g.text for g in reference.goals]))
            _write_json(tmp / MULTILINGUAL.keys_file, ml_keys)
        _write_json(tmp / "field_ids.json", list(reference.field_ids))
        _write_json(tmp / "goal_ids.json", [g.id for g in reference.goals])
        with sqlite3.connect(tmp / "catalog.sqlite") as catalog:
            store.backup_to(catalog)
        catalog.close()
        files = {p.name: file_sha256(p) for p in sorted(tmp.iterdir())}
        manifest = {
            "format": FORMAT,
            "version": version,
            "model": embedder.name,
            "dimension": embedder.dimension,
            "metric": METRIC,
            "index_type": index_type,
            "embedding_engine": getattr(embedder, "engine", "local"),
            "encoder_precision": precision,
            "ann": ann_entry,
            "embed_text": embed_text,
            "counts": {
                "publications": len(publications),
                "researchers": store.researcher_count(),
                "fields": len(reference.fields),
                "goals": len(reference.goals),
                "embedded": embedded,
                "reused": len(publications) - embedded,
                "multilingual_embedded": ml_embedded if multilingual is not None else 0,
            },
            "multilingual_model": multilingual.name if multilingual is not None else None,
            "data_hash": digest,
            "built_at": built_at.isoformat(),
            "files": files,
        }
        _write_json(tmp / MANIFEST, manifest)
        for path in tmp.iterdir():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(tmp)
        final = index_root / version
        os.rename(tmp, final)
        _fsync_dir(index_root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    store.record_index_version(version, final, manifest)
    return BuildResult(version, final, manifest, embedded, len(publications) - embedded, skipped=False)
