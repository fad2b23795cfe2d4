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
from indexer.centring import joined
from indexer.columns import build_columns
from indexer.embedder import Embedder, ProgressFn
from indexer.lexical import LexicalIndex
from indexer.store import Store, StoredPublication
from indexer.vector_cache import lookup as vector_cache_lookup
from kernel.errors import IndexUnusable
from kernel.reference import Reference
from kernel.settings import MULTILINGUAL_TEXT, AnnSettings

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
MULTILINGUAL = Space("multilingual", "multilingual_model", version.MULTILINGUAL_VECTORS, version.MULTILINGUAL_KEYS)  # titles
MULTILINGUAL_LEAD = Space("multilingual_lead", "multilingual_model", version.MULTILINGUAL_LEAD_VECTORS, version.MULTILINGUAL_LEAD_KEYS)
MULTILINGUAL_PARTS = {"title": MULTILINGUAL, "title_lead": MULTILINGUAL_LEAD}  # text mode -> its embedding


def _reusable_vectors(index_root: Path, model: str, space: Space, wanted: set[str], precision: str | None = None) -> dict[str, np.ndarray]:
    """Of the `wanted` embedding keys, those that the newest version whose space was built with the
    same model (and, for the main space, at the same precision) holds: key -> vector. Only the wanted
    rows are read, so memory follows what is asked for, not the store."""
    for path in reversed(version.versions(index_root)):
        try:
            manifest = version.read_manifest(path)
            if manifest.get(space.model_key) != model or (space is MAIN and (manifest.get("encoder_precision") or "fp32") != (precision or "fp32")):
                continue
            found: dict[str, np.ndarray] = {}
            for segment in (path, version.delta_of(path)):
                if segment is None:
                    continue
                keys = version.read_json(segment / space.keys_file)
                vectors = np.load(segment / space.vectors_file, mmap_mode="r")
                if len(keys) != len(vectors):
                    raise ValueError(f"{len(keys)} keys for {len(vectors)} vectors")
                rows = [i for i, key in enumerate(keys) if key in wanted]
                found.update(zip((keys[i] for i in rows), np.asarray(vectors[rows])))
        except (OSError, ValueError, IndexUnusable):
            continue  # a damaged old version only costs re-embedding
        return found
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
    cache = _reusable_vectors(index_root, embedder.name, space, set(keys), precision)
    missing = [i for i, key in enumerate(keys) if key not in cache]
    if missing:
        cache.update(vector_cache_lookup(vector_cache, space.name, embedder, precision, text_mode,
                                         {keys[i]: publications[i].text(text_mode) for i in missing}))
        missing = [i for i in missing if keys[i] not in cache]
    vectors = np.zeros((len(keys), embedder.dimension), dtype=np.float32)
    for i, key in enumerate(keys):
        if key in cache:
            vectors[i] = cache[key]
    del cache
    # a text that several publications share (the same title and abstract under two ids) is embedded once
    first: dict[str, int] = {}
    copy_of = [first.setdefault(keys[i], i) for i in missing]
    unique = list(first.values())
    if unique:
        vectors[unique] = embedder.encode([publications[i].text(text_mode) for i in unique], advance(len(unique)) if advance else None)
        vectors[missing] = vectors[copy_of]
    return vectors, keys, len(unique)


JOIN_ROWS = 100_000  # rows joined at a time: the joined space is never whole in memory beside its parts


def _save_joined(path: Path, parts: list[np.ndarray], centres: np.ndarray) -> None:
    rows = len(parts[0])
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, sum(p.shape[1] for p in parts)))
    for start in range(0, rows, JOIN_ROWS):
        out[start : start + JOIN_ROWS] = joined([p[start : start + JOIN_ROWS] for p in parts], centres)
    out.flush()
    del out


@dataclass(frozen=True)
class Incremental:
    """When a build writes only what changed (a delta beside the base's files, indexer/version.py)."""

    min_publications: int  # the base holds at least this many
    max_share: float  # and the delta's publications stay within this share of the base's


@dataclass(frozen=True)
class Segment:
    """What `_write_segment` wrote: the rows' vectors, and how many texts were embedded anew."""

    vectors: np.ndarray
    publications: int
    researchers: int
    embedded: int
    multilingual_embedded: int


def _write_segment(
    directory: Path, embedder: Embedder, multilingual: Embedder | None, embed_text: str, field_vectors: np.ndarray,
    index_root: Path, vector_cache: Path | None, progress: ProgressFactory | None, multilingual_text: str = MULTILINGUAL_TEXT,
    multilingual_centres: np.ndarray | None = None,
) -> Segment:
    """From the catalog already exported into `directory`: the publications' vectors (reused where
    an earlier version holds them), keys and ids, the arrays that ranking reads, the BM25 index.
    The multilingual space is embedded once per text mode of `multilingual_text` ("title+title_lead")
    and served joined (indexer/centring.py): each part centred on `multilingual_centres` (a delta:
    its base's), else on the mean of its rows, written beside them."""
    with Store(directory / version.CATALOG, read_only=True) as catalog:
        publications = catalog.publications()  # in id order: the rows of every array
        vectors, keys, embedded = _embed_publications(
            embedder, MAIN, embed_text, publications, index_root, vector_cache,
            (lambda n: progress("Embedding publications", n)) if progress else None,
        )
        ml_embedded = 0
        if multilingual is not None:
            parts = []
            for mode in multilingual_text.split("+"):
                space = MULTILINGUAL_PARTS[mode]
                part, part_keys, part_embedded = _embed_publications(
                    multilingual, space, mode, publications, index_root, vector_cache,
                    (lambda n, mode=mode: progress(f"Embedding publications for Japanese queries ({mode})", n)) if progress else None,
                )
                np.save(directory / space.vectors_file, part)
                version.write_json(directory / space.keys_file, part_keys)
                parts.append(part)
                ml_embedded += part_embedded
            if multilingual_centres is None:
                multilingual_centres = np.stack([p.mean(axis=0) if len(p) else np.zeros(multilingual.dimension) for p in parts]).astype(np.float32)
                np.save(directory / version.MULTILINGUAL_CENTRE, multilingual_centres)
            _save_joined(directory / version.MULTILINGUAL_CENTRED, parts, multilingual_centres)
            del parts
        if progress:
            progress("Writing the index version", 0)
        pub_ids = [p.id for p in publications]
        build_columns(catalog, pub_ids, vectors, field_vectors).save(directory / version.COLUMNS)
        LexicalIndex.build(p.text("title_abstract") for p in publications).save(directory / version.LEXICAL)
        np.save(directory / version.VECTORS, vectors)
        version.write_json(directory / version.PUBLICATION_IDS, pub_ids)
        version.write_json(directory / MAIN.keys_file, keys)
        return Segment(vectors, len(pub_ids), catalog.researcher_count(), embedded, ml_embedded)


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
    incremental: Incremental | None = None,
    multilingual_text: str = MULTILINGUAL_TEXT,
) -> BuildResult:
    """`multilingual`, where given, also embeds every publication into a second space that Japanese
    queries are matched in (`multilingual_text`: its title and, apart, its title and abstract lead;
    or its title alone). `vector_cache`: a shipped cache to take vectors from
    (indexer/vector_cache.py). `keep_versions`: prune to that many after publishing (None: keep all).
    `incremental`: when to write a delta on the newest version instead of a full one (None: never)."""
    ann_settings = ann_settings or AnnSettings()
    version.remove_stale_builds(index_root)
    precision = getattr(embedder, "precision", None)  # a sentence-transformers model's; None for the others
    digest = data_hash(store, embedder.name + (f"@{precision}" if precision and precision != "fp32" else ""),
                       embed_text + (f"+{multilingual.name}:{multilingual_text}" if multilingual else ""))
    existing = version.versions(index_root)
    if existing and not force:
        newest = version.read_manifest(existing[-1])
        if newest.get("data_hash") == digest and newest.get("model") == embedder.name:
            return BuildResult(newest["version"], existing[-1], newest, 0, 0, skipped=True)

    ml_text = multilingual_text if multilingual is not None else None
    base = _delta_base(index_root, reference, embedder.name, precision, embed_text, multilingual, ml_text, incremental) if not force else None
    tmp = version.new_build(index_root)
    try:
        if base is not None:
            assert incremental is not None  # a base is found only then
            result = _build_delta(store, embedder, multilingual, index_root, base, tmp, digest, embed_text, precision,
                                  incremental, vector_cache, progress, multilingual_text)
            if result is not None:
                return _published(store, index_root, result, keep_versions)
            version.discard(tmp)  # too much changed: a new base instead
            tmp = version.new_build(index_root)
        result = _build(store, reference, embedder, index_root, tmp, digest, progress, embed_text, multilingual,
                        ann_settings, vector_cache, precision, multilingual_text)
        return _published(store, index_root, result, keep_versions)
    except BaseException:
        version.discard(tmp)
        raise


def _published(store: Store, index_root: Path, result: BuildResult, keep_versions: int | None) -> BuildResult:
    if keep_versions is not None:
        version.prune(index_root, keep_versions, protect={result.version})
    store.record_index_version(result.version, result.path, result.manifest)
    return result


def _version_name(digest: str) -> tuple[str, datetime]:
    built_at = datetime.now(UTC)
    return f"v{built_at.strftime('%Y%m%dT%H%M%S%f')}-{digest[:8]}", built_at


def _build(
    store: Store, reference: Reference, embedder: Embedder, index_root: Path, tmp: Path, digest: str,
    progress: ProgressFactory | None, embed_text: str, multilingual: Embedder | None, ann_settings: AnnSettings,
    vector_cache: Path | None, precision: str | None, multilingual_text: str,
) -> BuildResult:
    """A full version (a base): every publication, its own FAISS index."""
    store.export_served(tmp / version.CATALOG)  # first: everything below reads this one consistent copy
    field_texts = [f"{f.label}. {f.description}" for f in reference.fields]
    field_vectors = embedder.encode(field_texts)
    segment = _write_segment(tmp, embedder, multilingual, embed_text, field_vectors, index_root, vector_cache, progress, multilingual_text)
    np.save(tmp / version.FIELDS, field_vectors)
    np.save(tmp / version.GOALS, embedder.encode([g.text for g in reference.goals]))
    index, ann_entry = ann.build_and_tune(segment.vectors, ann_settings)
    faiss.write_index(index, str(tmp / version.INDEX))
    index_type = type(index).__name__
    del index
    if multilingual is not None:
        np.save(tmp / version.MULTILINGUAL_FIELDS, multilingual.encode(field_texts))
        np.save(tmp / version.MULTILINGUAL_GOALS, multilingual.encode([g.text for g in reference.goals]))
    version.write_json(tmp / version.FIELD_IDS, list(reference.field_ids))
    version.write_json(tmp / version.GOAL_IDS, [g.id for g in reference.goals])
    name, built_at = _version_name(digest)
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
            "publications": segment.publications,
            "researchers": segment.researchers,
            "fields": len(reference.fields),
            "goals": len(reference.goals),
            "embedded": segment.embedded,
            "reused": segment.publications - segment.embedded,
            "multilingual_embedded": segment.multilingual_embedded,
        },
        "multilingual_model": multilingual.name if multilingual is not None else None,
        "multilingual_text": multilingual_text if multilingual is not None else None,
        "data_hash": digest,
        "built_at": built_at.isoformat(),
    }
    final = version.publish(tmp, index_root, manifest)
    return BuildResult(name, final, version.read_manifest(final), segment.embedded, segment.publications - segment.embedded, skipped=False)


def _delta_base(
    index_root: Path, reference: Reference, model: str, precision: str | None, embed_text: str,
    multilingual: Embedder | None, multilingual_text: str | None, incremental: Incremental | None,
) -> Path | None:
    """The newest version, if the next one may be a delta on it: large enough, built the same way
    (model, precision, texts, multilingual space, the same fields and goals) and with its arrays."""
    existing = version.versions(index_root)
    if incremental is None or not existing:
        return None
    base = existing[-1]
    try:
        manifest = version.read_manifest(base)
        same = (
            manifest.get("format") == version.FORMAT and manifest.get("model") == model
            and (manifest.get("encoder_precision") or "fp32") == (precision or "fp32") and manifest.get("embed_text") == embed_text
            and manifest.get("multilingual_model") == (multilingual.name if multilingual is not None else None)
            and manifest.get("multilingual_text") == multilingual_text
            and version.read_json(base / version.FIELD_IDS) == list(reference.field_ids)
            and version.read_json(base / version.GOAL_IDS) == [g.id for g in reference.goals]
            and (base / version.COLUMNS).is_dir()
        )
        base_publications = manifest.get("base", {}).get("publications", manifest.get("counts", {}).get("publications", 0))
    except (OSError, ValueError, IndexUnusable):
        return None
    return base if same and base_publications >= incremental.min_publications else None


def _build_delta(
    store: Store, embedder: Embedder, multilingual: Embedder | None, index_root: Path, base: Path, tmp: Path, digest: str,
    embed_text: str, precision: str | None, incremental: Incremental, vector_cache: Path | None, progress: ProgressFactory | None,
    multilingual_text: str,
) -> BuildResult | None:
    """An incremental version: the base's files hard-linked, and a delta holding the researchers
    that changed since the base was built (cumulative: against the base's own catalog). None when
    the delta would pass the share of the base that makes a full build the better choice."""
    base_manifest = version.read_manifest(base)
    base_counts = base_manifest.get("base") or {
        "version": base.name, "publications": base_manifest["counts"]["publications"], "researchers": base_manifest["counts"]["researchers"]}
    changed, superseded = store.served_changes(base / version.CATALOG)
    delta = tmp / version.DELTA
    delta.mkdir()
    store.export_served(delta / version.CATALOG, changed)
    with Store(delta / version.CATALOG, read_only=True) as catalog:
        delta_publications = catalog.publication_count()
    if delta_publications > incremental.max_share * base_counts["publications"]:
        return None
    centres = np.load(base / version.MULTILINGUAL_CENTRE) if multilingual is not None else None
    segment = _write_segment(delta, embedder, multilingual, embed_text, np.load(base / version.FIELDS),
                             index_root, vector_cache, progress, multilingual_text, centres)
    version.write_json(delta / version.SUPERSEDED, superseded)
    linked = version.link_base(base, tmp)
    name, built_at = _version_name(digest)
    manifest = {
        **{k: v for k, v in base_manifest.items() if k not in ("files", "format", "delta")},
        "version": name,
        "base": base_counts,
        "delta": {"researchers": segment.researchers, "publications": segment.publications, "superseded": len(superseded)},
        "counts": {
            **base_manifest["counts"],
            "publications": base_counts["publications"] + segment.publications,
            "researchers": store.researcher_count(),
            "embedded": segment.embedded,
            "reused": segment.publications - segment.embedded,
            "multilingual_embedded": segment.multilingual_embedded,
        },
        "data_hash": digest,
        "built_at": built_at.isoformat(),
    }
    final = version.publish(tmp, index_root, manifest, linked)
    return BuildResult(name, final, version.read_manifest(final), segment.embedded, segment.publications - segment.embedded, skipped=False)
