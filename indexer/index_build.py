"""`kakehashi index build`: embed what changed, write a new index version (indexer/version.py owns
its layout), publish it atomically, and prune old versions beyond `keep_versions`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer import ann, version
from indexer.columns import build_columns
from indexer.embedder import Embedder, ProgressFn
from indexer.lexical import LexicalIndex
from indexer.store import Store, StoredPublication
from indexer.vector_cache import lookup as vector_cache_lookup
from kernel.errors import IndexUnusable
from kernel.reference import Reference
from kernel.settings import AnnSettings

METRIC = "inner_product"  # cosine: every vector is L2-normalised
ProgressFactory = Callable[[str, int], ProgressFn]


@dataclass(frozen=True)
class BuildResult:
    version: str
    path: Path
    manifest: dict[str, Any]
    embedded: int
    reused: int
    skipped: bool  # nothing changed since the newest version: no new version written


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


MAIN = Space("main", "model", version.VECTORS, version.EMBEDDING_KEYS)
MULTILINGUAL = Space("multilingual", "multilingual_model", version.MULTILINGUAL_VECTORS, version.MULTILINGUAL_KEYS)


def _reusable_vectors(index_root: Path, model: str, space: Space, precision: str | None = None) -> dict[str, np.ndarray]:
    """embedding key -> vector, from the newest version whose space was built with the same model
    (and, for the main space, at the same precision)."""
    for path in reversed(version.versions(index_root)):
        try:
            manifest = version.read_manifest(path)
            if manifest.get(space.model_key) != model or (space is MAIN and (manifest.get("encoder_precision") or "fp32") != (precision or "fp32")):
                continue
            keys = version.read_json(path / space.keys_file)
            vectors = np.load(path / space.vectors_file, mmap_mode="r")
        except (OSError, ValueError, IndexUnusable):
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
    keep_versions: int | None = None,
) -> BuildResult:
    """`multilingual`, where given, also embeds every publication's title into a second space
    that Japanese queries are matched in. `vector_cache`: a shipped cache to take vectors from
    (indexer/vector_cache.py). `keep_versions`: prune to that many after publishing (None: keep all)."""
    ann_settings = ann_settings or AnnSettings()
    version.remove_stale_builds(index_root)
    precision = getattr(embedder, "precision", None)  # a sentence-transformers model's; None for the others
    digest = data_hash(store, embedder.name + (f"@{precision}" if precision and precision != "fp32" else ""),
                       embed_text + (f"+{multilingual.name}" if multilingual else ""))
    existing = version.versions(index_root)
    if existing and not force:
        newest = version.read_manifest(existing[-1])
        if newest.get("data_hash") == digest and newest.get("model") == embedder.name:
            return BuildResult(newest["version"], existing[-1], newest, 0, 0, skipped=True)

    tmp = version.new_build(index_root)
    try:
        return _build(store, reference, embedder, index_root, tmp, digest, progress, embed_text, multilingual,
                      ann_settings, vector_cache, keep_versions, precision)
    except BaseException:
        version.discard(tmp)
        raise


def _build(
    store: Store, reference: Reference, embedder: Embedder, index_root: Path, tmp: Path, digest: str,
    progress: ProgressFactory | None, embed_text: str, multilingual: Embedder | None, ann_settings: AnnSettings,
    vector_cache: Path | None, keep_versions: int | None, precision: str | None,
) -> BuildResult:
    store.export_served(tmp / version.CATALOG)  # first: everything below reads this one consistent copy
    catalog = Store(tmp / version.CATALOG, read_only=True)
    try:
        publications = catalog.publications()  # in id order: the rows of every array
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
        pub_ids = [p.id for p in publications]
        build_columns(catalog, pub_ids, vectors, field_vectors).save(tmp / version.COLUMNS)
        LexicalIndex.build([p.text("title_abstract") for p in publications]).save(tmp / version.LEXICAL)
        researcher_count = catalog.researcher_count()
    finally:
        catalog.close()
    del publications
    built_at = datetime.now(UTC)
    name = f"v{built_at.strftime('%Y%m%dT%H%M%S%f')}-{digest[:8]}"
    np.save(tmp / version.VECTORS, vectors)
    np.save(tmp / version.FIELDS, field_vectors)
    np.save(tmp / version.GOALS, goal_vectors)
    index, ann_entry = ann.build_and_tune(vectors, ann_settings)
    faiss.write_index(index, str(tmp / version.INDEX))
    index_type = type(index).__name__
    del index
    version.write_json(tmp / version.PUBLICATION_IDS, pub_ids)
    version.write_json(tmp / MAIN.keys_file, keys)
    if multilingual is not None:
        np.save(tmp / MULTILINGUAL.vectors_file, ml_vectors)
        np.save(tmp / version.MULTILINGUAL_FIELDS, multilingual.encode(field_texts))
        np.save(tmp / version.MULTILINGUAL_GOALS, multilingual.encode([g.text for g in reference.goals]))
        version.write_json(tmp / MULTILINGUAL.keys_file, ml_keys)
    version.write_json(tmp / version.FIELD_IDS, list(reference.field_ids))
    version.write_json(tmp / version.GOAL_IDS, [g.id for g in reference.goals])
    manifest = {
        "version": name,
        "model": embedder.name,
        "dimension": embedder.dimension,
        "metric": METRIC,
        "index_type": index_type,
        "embedding_engine": getattr(embedder, "engine", "local"),
        "encoder_precision": precision,
        "ann": ann_entry,
        "embed_text": embed_text,
        "counts": {
            "publications": len(pub_ids),
            "researchers": researcher_count,
            "fields": len(reference.fields),
            "goals": len(reference.goals),
            "embedded": embedded,
            "reused": len(pub_ids) - embedded,
            "multilingual_embedded": ml_embedded if multilingual is not None else 0,
        },
        "multilingual_model": multilingual.name if multilingual is not None else None,
        "data_hash": digest,
        "built_at": built_at.isoformat(),
    }
    final = version.publish(tmp, index_root, manifest)
    manifest = version.read_manifest(final)
    if keep_versions is not None:
        version.prune(index_root, keep_versions, protect={name})
    store.record_index_version(name, final, manifest)
    return BuildResult(name, final, manifest, embedded, len(pub_ids) - embedded, skipped=False)
