"""Loading an index version into memory: vectors, FAISS index, catalog, derived fields and
country strength. The newest complete version that loads cleanly and matches the model is served."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer import ann
from indexer.errors import IndexUnusable, NotReady
from indexer.index_build import MANIFEST, file_sha256, read_manifest, version_dirs
from indexer.records import embedding_text
from indexer.store import StoredResearcher, researcher_from_row
from service.fields import publication_fields, researcher_fields
from service.lexical import LexicalIndex
from service.strength import StrengthTable, country_strength

log = logging.getLogger("kakehashi.snapshot")


@dataclass(frozen=True)
class ResearcherInfo(StoredResearcher):
    fields: tuple[tuple[str, float], ...]  # inferred from the publications: (field, share), largest first


@dataclass(frozen=True)
class PublicationInfo:
    id: str
    title: str
    year: int | None
    cited_by_count: int | None


@dataclass(frozen=True)
class MultilingualSpace:
    """Publication titles and field descriptions embedded with the multilingual model."""

    model: str
    vectors: np.ndarray  # one row per publication, as in Snapshot.vectors
    field_vectors: np.ndarray
    goal_vectors: np.ndarray


@dataclass
class Snapshot:
    """One loaded index version. Immutable once built; swapped whole when a newer one appears."""

    path: Path
    manifest: dict[str, Any]
    vectors: np.ndarray
    index: faiss.Index
    publications: list[PublicationInfo]
    pub_years: np.ndarray  # 0 where unknown
    pub_fields: np.ndarray
    pub_authors: list[np.ndarray]  # publication row -> researcher rows
    researchers: list[ResearcherInfo]
    researcher_row: dict[str, int]
    researcher_pubs: list[np.ndarray]  # researcher row -> publication rows
    pub_counts: np.ndarray  # researcher row -> how many publications
    countries: np.ndarray  # researcher row -> country code or ''
    h_index: np.ndarray  # -1 where unknown
    field_ids: list[str]
    field_vectors: np.ndarray
    goal_ids: list[int]
    goal_vectors: np.ndarray
    strength: StrengthTable
    lexical: LexicalIndex | None  # BM25 over publication texts, when the ranking uses it
    multilingual: MultilingualSpace | None  # for Japanese queries, when the version has it

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def model(self) -> str:
        return self.manifest["model"]

    @property
    def search(self) -> dict[str, int]:
        """The approximate index's search breadth (efSearch or nprobe) tuned at build time."""
        return self.manifest.get("ann", {}).get("search", {})


def _verify(path: Path, manifest: dict[str, Any]) -> None:
    for name, expected in manifest.get("files", {}).items():
        file = path / name
        if not file.is_file():
            raise IndexUnusable(f"index version {path.name}: file {name} is missing")
        if file_sha256(file) != expected:
            raise IndexUnusable(f"index version {path.name}: file {name} is corrupt or truncated (checksum mismatch)")


def load_snapshot(path: Path, model: str, lexical: bool = False, mmap_min_bytes: int = 2**29) -> Snapshot:
    try:
        manifest = read_manifest(path)
    except (OSError, ValueError) as exc:
        raise IndexUnusable(f"index version {path.name}: unreadable {MANIFEST} ({exc})") from None
    if manifest.get("model") != model:
        raise IndexUnusable(
            f"index version {path.name} was built with model {manifest.get('model')!r}, but this service uses "
            f"{model!r}; rebuild it with `kakehashi index build` or set KAKEHASHI_MODEL"
        )
    _verify(path, manifest)
    vectors = np.load(path / "vectors.npy", mmap_mode="r")
    index_file = path / "publications.faiss"
    index = ann.read(str(index_file), mmap=index_file.stat().st_size >= mmap_min_bytes)
    pub_ids: list[str] = json.loads((path / "publication_ids.json").read_text())
    field_ids: list[str] = json.loads((path / "field_ids.json").read_text())
    goal_ids: list[int] = json.loads((path / "goal_ids.json").read_text())
    if index.ntotal != len(pub_ids) or len(vectors) != len(pub_ids):
        raise IndexUnusable(f"index version {path.name}: {index.ntotal} vectors in the index for {len(pub_ids)} publications")
    field_vectors = np.load(path / "fields.npy")
    goal_vectors = np.load(path / "goals.npy")
    pub_fields = publication_fields(vectors, field_vectors)

    catalog = sqlite3.connect(f"file:{path / 'catalog.sqlite'}?mode=ro", uri=True)
    catalog.row_factory = sqlite3.Row
    try:
        pub_row = {pid: i for i, pid in enumerate(pub_ids)}
        publications: list[PublicationInfo | None] = [None] * len(pub_ids)
        for r in catalog.execute("SELECT id, title, year, cited_by_count FROM publications"):
            if r["id"] in pub_row:
                publications[pub_row[r["id"]]] = PublicationInfo(r["id"], r["title"], r["year"], r["cited_by_count"])
        if any(p is None for p in publications):
            raise IndexUnusable(f"index version {path.name}: catalog lacks publications listed in the index")
        texts: list[str] = [""] * len(pub_ids)
        if lexical:
            for pid, title, abstract in catalog.execute("SELECT id, title, abstract FROM publications"):
                if pid in pub_row:
                    texts[pub_row[pid]] = embedding_text(title, abstract)
        rows = list(catalog.execute("SELECT * FROM researchers ORDER BY id"))
        researcher_row = {r["id"]: i for i, r in enumerate(rows)}
        pubs_of: list[list[int]] = [[] for _ in rows]
        for rid, pid in catalog.execute("SELECT researcher_id, publication_id FROM authorships ORDER BY researcher_id, position"):
            if rid in researcher_row and pid in pub_row:
                pubs_of[researcher_row[rid]].append(pub_row[pid])
    finally:
        catalog.close()

    researcher_pubs = [np.asarray(p, dtype=np.int64) for p in pubs_of]
    authors_of: list[list[int]] = [[] for _ in pub_ids]
    for r, prows in enumerate(pubs_of):
        for p in prows:
            authors_of[p].append(r)
    researchers = [
        ResearcherInfo(**researcher_from_row(r).__dict__, fields=tuple(researcher_fields(pub_fields[researcher_pubs[i]], field_ids)))
        for i, r in enumerate(rows)
    ]
    countries = np.array([r.country or "" for r in researchers], dtype=object)
    pub_countries = [[countries[a] for a in authors if countries[a]] for authors in authors_of]
    citations = np.array([p.cited_by_count if p.cited_by_count is not None else -1 for p in publications])  # type: ignore[union-attr]
    return Snapshot(
        path=path, manifest=manifest, vectors=vectors, index=index, publications=publications,  # type: ignore[arg-type]
        pub_years=np.array([p.year or 0 for p in publications], dtype=np.int32),  # type: ignore[union-attr]
        pub_fields=pub_fields, pub_authors=[np.asarray(a, dtype=np.int64) for a in authors_of],
        researchers=researchers, researcher_row=researcher_row, researcher_pubs=researcher_pubs,
        pub_counts=np.array([len(p) for p in researcher_pubs], dtype=np.int64),
        countries=countries, h_index=np.array([r.h_index if r.h_index is not None else -1 for r in researchers]),
        field_ids=field_ids, field_vectors=field_vectors, goal_ids=goal_ids, goal_vectors=goal_vectors,
        strength=country_strength(pub_fields, pub_countries, citations, field_ids),
        lexical=LexicalIndex(texts) if lexical else None,
        multilingual=MultilingualSpace(
            manifest["multilingual_model"], np.load(path / "multilingual.npy", mmap_mode="r"),
            np.load(path / "multilingual_fields.npy"), np.load(path / "multilingual_goals.npy"),
        ) if manifest.get("multilingual_model") else None,
    )


def load_newest(index_root: Path, model: str, lexical: bool = False, mmap_min_bytes: int = 2**29) -> tuple[Snapshot | None, list[str]]:
    """The newest version that loads; the reasons the newer ones were passed over."""
    problems: list[str] = []
    for path in reversed(version_dirs(index_root)):
        try:
            return load_snapshot(path, model, lexical, mmap_min_bytes), problems
        except IndexUnusable as exc:
            problems.append(exc.detail)
        except (OSError, ValueError, RuntimeError) as exc:  # faiss raises RuntimeError on damaged files
            problems.append(f"index version {path.name}: cannot be read ({exc})")
    return None, problems


class SnapshotHolder:
    """Holds the served snapshot; picks up newer versions at most every `poll_seconds`.
    Readers take a reference and keep using it; a swap never changes a snapshot in use."""

    def __init__(self, index_root: Path, model: str, poll_seconds: float, lexical: bool = False, mmap_min_bytes: int = 2**29) -> None:
        self.index_root, self.model, self.poll_seconds, self.lexical = index_root, model, poll_seconds, lexical
        self.mmap_min_bytes = mmap_min_bytes
        self._snapshot: Snapshot | None = None
        self._problems: list[str] = []
        self._checked = 0.0
        self._newest_seen: str | None = None
        self._lock = threading.Lock()

    def refresh(self) -> None:
        with self._lock:
            self._checked = time.monotonic()
            versions = version_dirs(self.index_root)
            newest = versions[-1].name if versions else None
            if newest == self._newest_seen:
                return  # nothing new since the last look
            self._newest_seen = newest
            snapshot, problems = load_newest(self.index_root, self.model, self.lexical, self.mmap_min_bytes)
            for problem in problems:
                log.warning("skipping %s", problem)
            self._problems = problems
            if snapshot is not None:
                if self._snapshot is None or snapshot.path.name != self._snapshot.path.name:
                    log.info("serving index version %s", snapshot.version)
                self._snapshot = snapshot

    @property
    def problems(self) -> list[str]:
        """Why newer versions were passed over at the last load (missing, corrupt, another model)."""
        return list(self._problems)

    def peek(self) -> Snapshot | None:
        if time.monotonic() - self._checked >= self.poll_seconds:
            self.refresh()
        return self._snapshot

    def get(self) -> Snapshot:
        snapshot = self.peek()
        if snapshot is None:
            why = "; ".join(self._problems) or f"no index version under {self.index_root}"
            raise NotReady(f"no usable index: {why}. Build one with `kakehashi index build`.")
        return snapshot
