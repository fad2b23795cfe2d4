"""Loading an index version into memory: vectors, FAISS index, catalog, derived fields and
country strength. The newest complete version that loads cleanly and matches the model is served.

A `Snapshot` answers what the rest of the service asks of the corpus it serves (counts, a
researcher, their publications, a country's researchers and strength); the arrays behind those
answers are read by the matching package alone (retrieval and ranking)."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer import version
from indexer.records import embedding_text
from indexer.store import Store, StoredResearcher
from kernel.errors import IndexUnusable, NotFound, NotReady
from service.matching.fields import publication_fields, researcher_fields
from service.matching.lexical import LexicalIndex
from service.matching.strength import Strength, StrengthTable, country_strength

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
    field: str  # inferred from its vector


@dataclass(frozen=True)
class MultilingualSpace:
    """Publication titles and field descriptions embedded with the multilingual model."""

    model: str
    vectors: np.ndarray  # one row per publication, as in Snapshot.vectors
    field_vectors: np.ndarray
    goal_vectors: np.ndarray


class Snapshot:
    """One loaded index version. Immutable once built; swapped whole when a newer one appears."""

    def __init__(
        self, path: Path, manifest: dict[str, Any], vectors: np.ndarray, index: faiss.Index,
        publications: list[PublicationInfo], researchers: list[ResearcherInfo], researcher_pubs: list[np.ndarray],
        field_ids: list[str], field_vectors: np.ndarray, goal_ids: list[int], goal_vectors: np.ndarray,
        pub_fields: np.ndarray, lexical: LexicalIndex | None, multilingual: MultilingualSpace | None,
    ) -> None:
        self.path, self.manifest = path, manifest
        # --- read by the matching package: one row per publication ---
        self.vectors, self.index = vectors, index
        self.publications = publications
        self.pub_years = np.array([p.year or 0 for p in publications], dtype=np.int32)  # 0 where unknown
        self.pub_fields = pub_fields
        self.lexical = lexical  # BM25 over publication texts, when the ranking uses it
        self.multilingual = multilingual  # for Japanese queries, when the version has it
        # --- one row per researcher ---
        self.researchers: Sequence[ResearcherInfo] = researchers
        self.researcher_row = {r.id: i for i, r in enumerate(researchers)}
        self.researcher_pubs = researcher_pubs  # researcher row -> publication rows
        self.pub_counts = np.array([len(p) for p in researcher_pubs], dtype=np.int64)
        self.countries = np.array([r.country or "" for r in researchers], dtype=object)  # '' where unknown
        self.h_index = np.array([r.h_index if r.h_index is not None else -1 for r in researchers])  # -1 where unknown
        authors_of: list[list[int]] = [[] for _ in publications]
        for r, prows in enumerate(researcher_pubs):
            for p in prows:
                authors_of[p].append(r)
        self.pub_authors = [np.asarray(a, dtype=np.int64) for a in authors_of]  # publication row -> researcher rows
        # --- the reference data, embedded ---
        self.field_ids, self.field_vectors = field_ids, field_vectors
        self.goal_ids, self.goal_vectors = goal_ids, goal_vectors
        pub_countries = [[self.countries[a] for a in authors if self.countries[a]] for authors in authors_of]
        citations = np.array([p.cited_by_count if p.cited_by_count is not None else -1 for p in publications])
        self.strength: StrengthTable = country_strength(pub_fields, pub_countries, citations, field_ids)

    # --- what the served version is ---------------------------------------------------------

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

    @property
    def researcher_count(self) -> int:
        return len(self.researchers)

    @property
    def publication_count(self) -> int:
        return len(self.publications)

    # --- researchers and their publications -----------------------------------------------------

    def row(self, researcher_id: str) -> int:
        """The researcher's row, or NotFound."""
        row = self.researcher_row.get(researcher_id)
        if row is None:
            raise NotFound(f"no researcher with id {researcher_id!r} in index version {self.version}")
        return row

    def researcher(self, researcher_id: str) -> ResearcherInfo:
        return self.researchers[self.row(researcher_id)]

    def publications_of(self, researcher_id: str) -> list[PublicationInfo]:
        """In the order the researcher's record gives them."""
        return [self.publications[p] for p in self.researcher_pubs[self.row(researcher_id)]]

    def publication_rows(self, row: int, since_year: int | None = None) -> np.ndarray:
        """The researcher's publication rows, those from `since_year` on where given."""
        pubs = self.researcher_pubs[row]
        return pubs if since_year is None else pubs[self.pub_years[pubs] >= since_year]

    def authors_of(self, publication_row: int) -> np.ndarray:
        return self.pub_authors[publication_row]

    def without_publication(self, publication_row: int) -> Snapshot:
        """A view in which no researcher has this publication (the evaluation's held-out work)."""
        view = copy.copy(self)
        view.researcher_pubs = list(self.researcher_pubs)
        for author in self.pub_authors[publication_row]:
            view.researcher_pubs[author] = view.researcher_pubs[author][view.researcher_pubs[author] != publication_row]
        view.pub_counts = np.array([len(p) for p in view.researcher_pubs], dtype=np.int64)
        return view

    def abstracts(self) -> dict[str, str | None]:
        """Publication id -> abstract, read from the version's catalog (not held in memory)."""
        with Store(self.path / version.CATALOG, read_only=True) as catalog:
            return {p.id: p.abstract for p in catalog.publications()}

    # --- countries ------------------------------------------------------------------------------

    @cached_property
    def _country_counts(self) -> Counter[str]:
        return Counter(str(c) for c in self.countries if c)

    def country_counts(self) -> Counter[str]:
        """Researchers per country code (researchers without a known country are not counted);
        counted once per snapshot, which never changes."""
        return self._country_counts

    def main_field_counts(self) -> Counter[str]:
        """Researchers per inferred main field (their largest share of publications)."""
        return Counter(r.fields[0][0] for r in self.researchers if r.fields)

    def strength_in(self, country: str) -> dict[str, Strength]:
        """The country's measured strength per field (empty where it has no publications)."""
        return self.strength.get(country, {})


def load_snapshot(path: Path, model: str, lexical: bool = False, mmap_min_bytes: int = 2**29) -> Snapshot:
    manifest = version.read_manifest(path)
    if manifest.get("model") != model:
        raise IndexUnusable(
            f"index version {path.name} was built with model {manifest.get('model')!r}, but this service uses "
            f"{model!r}; rebuild it with `kakehashi index build` or set KAKEHASHI_MODEL"
        )
    version.verify(path, manifest)
    vectors = np.load(path / version.VECTORS, mmap_mode="r")
    index = version.read_index(path, mmap_min_bytes)
    pub_ids: list[str] = version.read_json(path / version.PUBLICATION_IDS)
    field_ids: list[str] = version.read_json(path / version.FIELD_IDS)
    goal_ids: list[int] = version.read_json(path / version.GOAL_IDS)
    if index.ntotal != len(pub_ids) or len(vectors) != len(pub_ids):
        raise IndexUnusable(f"index version {path.name}: {index.ntotal} vectors in the index for {len(pub_ids)} publications")
    field_vectors = np.load(path / version.FIELDS)
    pub_fields = publication_fields(vectors, field_vectors)

    pub_row = {pid: i for i, pid in enumerate(pub_ids)}
    publications: list[PublicationInfo | None] = [None] * len(pub_ids)
    texts: list[str] = [""] * len(pub_ids)
    with Store(path / version.CATALOG, read_only=True) as catalog:
        for p in catalog.publications(abstracts=lexical):
            row = pub_row.get(p.id)
            if row is not None:
                publications[row] = PublicationInfo(p.id, p.title, p.year, p.cited_by_count, field_ids[pub_fields[row]])
                if lexical:
                    texts[row] = embedding_text(p.title, p.abstract)
        if any(p is None for p in publications):
            raise IndexUnusable(f"index version {path.name}: catalog lacks publications listed in the index")
        stored = catalog.researchers()
        researcher_row = {r.id: i for i, r in enumerate(stored)}
        pubs_of: list[list[int]] = [[] for _ in stored]
        for rid, pid in catalog.authorships():
            if rid in researcher_row and pid in pub_row:
                pubs_of[researcher_row[rid]].append(pub_row[pid])

    researcher_pubs = [np.asarray(p, dtype=np.int64) for p in pubs_of]
    researchers = [
        ResearcherInfo(**r.__dict__, fields=tuple(researcher_fields(pub_fields[researcher_pubs[i]], field_ids)))
        for i, r in enumerate(stored)
    ]
    return Snapshot(
        path=path, manifest=manifest, vectors=vectors, index=index, publications=publications,  # type: ignore[arg-type]
        researchers=researchers, researcher_pubs=researcher_pubs,
        field_ids=field_ids, field_vectors=field_vectors, goal_ids=goal_ids, goal_vectors=np.load(path / version.GOALS),
        pub_fields=pub_fields, lexical=LexicalIndex(texts) if lexical else None,
        multilingual=MultilingualSpace(
            manifest["multilingual_model"], np.load(path / version.MULTILINGUAL_VECTORS, mmap_mode="r"),
            np.load(path / version.MULTILINGUAL_FIELDS), np.load(path / version.MULTILINGUAL_GOALS),
        ) if manifest.get("multilingual_model") else None,
    )


def load_newest(index_root: Path, model: str, lexical: bool = False, mmap_min_bytes: int = 2**29) -> tuple[Snapshot | None, list[str]]:
    """The newest version that loads; the reasons the newer ones were passed over."""
    problems: list[str] = []
    for path in reversed(version.versions(index_root)):
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
            found = version.versions(self.index_root)
            newest = found[-1].name if found else None
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
                    version.mark_reading(self.index_root, snapshot.path.name)  # kept by every process's retention
                self._snapshot = snapshot

    @property
    def problems(self) -> list[str]:
        """Why newer versions were passed over at the last load (missing, corrupt, another model)."""
        return list(self._problems)

    def current(self) -> Snapshot | None:
        """The served snapshot as it is, without looking for a newer one."""
        return self._snapshot

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
