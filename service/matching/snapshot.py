"""Loading an index version to serve it: the FAISS index, the arrays ranking reads
(indexer/columns.py, memory-mapped), BM25, the reference data embedded, country strength; for an
incremental version, its delta merged in (rows in id order, superseded researchers dropped). The
newest complete version that loads cleanly and matches the model is served.

A `Snapshot` answers what the rest of the service asks of the corpus it serves (counts, a
researcher, their publications, a country's researchers and strength, the nearest publications);
names and titles are read from the version's catalogs for the rows shown, never all held."""

from __future__ import annotations

import copy
import heapq
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, overload

import faiss
import numpy as np

from indexer import ann, version
from indexer.centring import joined_like
from indexer.columns import Columns, build_columns, distinct, ranges
from indexer.lexical import LexicalIndex
from indexer.records import embedding_text
from indexer.sparse import RowScores
from indexer.store import Store, StoredPublication, StoredResearcher
from kernel.errors import IndexUnusable, NotFound, NotReady
from service.matching.strength import Strength, StrengthTable, country_strength
from service.matching.ties import TieWork, tie_works

log = logging.getLogger("kakehashi.snapshot")
COUNTRY_MASKS_KEPT = 8


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
    """The publications, field descriptions and goals embedded with the multilingual model, each
    part centred and the parts joined (indexer/centring.py); a query is joined the same way."""

    model: str
    vectors: np.ndarray | SegmentedVectors  # one row per publication, as in Snapshot.vectors
    field_vectors: np.ndarray
    goal_vectors: np.ndarray
    centres: np.ndarray  # one row per part; zeros for a version from before the space was centred
    text: str  # what it embeds of a publication: "title+title_lead" or "title"

    def joined_query(self, vector: np.ndarray) -> np.ndarray:
        return joined_like(vector[None, :], self.centres)[0]


class SegmentedVectors:
    """The base's vector rows, then the delta's, read as one array by row (an incremental version)."""

    def __init__(self, base: np.ndarray, delta: np.ndarray) -> None:
        self.base, self.delta = base, delta
        self.shape = (len(base) + len(delta), base.shape[1])
        self.dtype = base.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: Any) -> np.ndarray:
        rows = np.arange(len(self))[rows] if isinstance(rows, slice) else np.asarray(rows, dtype=np.int64)
        if rows.ndim == 0:
            return self[rows[None]][0]
        if not len(rows) or rows.max() < len(self.base):  # the usual case: no row of the delta
            return np.asarray(self.base[rows])
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        low = rows < len(self.base)
        out[low] = self.base[rows[low]]
        out[~low] = self.delta[rows[~low] - len(self.base)]
        return out


class SegmentedLexical:
    """BM25 over the base's publications, then the delta's: each segment normalised on its own."""

    def __init__(self, base: LexicalIndex, delta: LexicalIndex) -> None:
        self.base, self.delta = base, delta
        self.size = base.size + delta.size

    def scores(self, text: str) -> RowScores:
        return self.base.scores(text).then(self.delta.scores(text), self.base.size)


def gather(offsets: np.ndarray, values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CSR lists of `rows`, concatenated, and each one's length."""
    rows = np.asarray(rows, dtype=np.int64)
    starts, lengths = offsets[rows], offsets[rows + 1] - offsets[rows]
    return np.asarray(values[ranges(starts, lengths)], dtype=np.int64), lengths


class _Rows(Sequence[Any]):
    """Researchers or publications by row, their display fields read from the catalog for the rows
    asked for (a page's), never all held in memory."""

    def __init__(self, count: int, fetch: Callable[[Sequence[int]], list[Any]], scan: Callable[[], Iterator[Any]]) -> None:
        self._count, self._fetch, self._scan = count, fetch, scan

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> list[Any]: ...

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return self._fetch(range(self._count)[i])
        if not -self._count <= i < self._count:
            raise IndexError(i)
        return self._fetch([i % self._count])[0]

    def many(self, rows: Sequence[int]) -> list[Any]:
        return self._fetch(rows)

    def __iter__(self) -> Iterator[Any]:
        return self._scan()


class Snapshot:
    """One loaded index version. Immutable once built; swapped whole when a newer one appears.
    What ranking reads is memory-mapped arrays (indexer/columns.py); names and titles come from the
    version's catalog for the rows that are shown."""

    def __init__(
        self, path: Path, manifest: dict[str, Any], vectors: np.ndarray | SegmentedVectors, index: faiss.Index, pub_ids: np.ndarray,
        columns: Columns, field_ids: list[str], field_vectors: np.ndarray, goal_ids: list[int], goal_vectors: np.ndarray,
        lexical: LexicalIndex | SegmentedLexical | None, multilingual: MultilingualSpace | None,
        delta: Path | None = None, superseded: frozenset[str] = frozenset(), pub_key: np.ndarray | None = None,
    ) -> None:
        self.path, self.manifest = path, manifest
        self._catalog = Store(path / version.CATALOG, read_only=True)
        self._delta_catalog = Store(delta / version.CATALOG, read_only=True) if delta is not None else None
        self._superseded = superseded  # base researchers that the delta replaces or that are gone
        self._base_publications = index.ntotal  # rows from here on are the delta's
        self._catalog_lock = threading.Lock()
        self.columns = columns
        # --- read by the matching package: one row per publication ---
        self.vectors, self.index = vectors, index
        self.pub_ids = pub_ids
        self.pub_years = columns.pub_year  # 0 where unknown
        self.pub_fields = columns.pub_field
        self.lexical = lexical  # BM25 over publication texts, when the ranking uses it
        self.multilingual = multilingual  # for Japanese queries, when the version has it
        # --- one row per researcher ---
        self.researcher_ids = columns.researcher_ids  # sorted
        self.researcher_pub_offsets, self.researcher_pub_rows = columns.researcher_pub_offsets, columns.researcher_pub_rows
        self.pub_author_offsets, self.pub_author_rows = columns.pub_author_offsets, columns.pub_author_rows
        self.pub_counts = np.diff(self.researcher_pub_offsets)
        self.countries = columns.researcher_country  # '' where unknown
        self.country_names, codes = np.unique(np.asarray(columns.researcher_country), return_inverse=True)
        self.country_codes = codes.astype(np.int16)  # per researcher, an index into country_names: what filters compare
        self._country_masks: dict[frozenset[str], np.ndarray] = {}
        self._masks_lock = threading.Lock()
        self.h_index = columns.researcher_h_index  # -1 where unknown
        self.profile_norms = columns.researcher_profile_norm
        self.japan_ties, self.japan_ties_year = columns.researcher_japan_ties, columns.researcher_japan_ties_year
        # --- the reference data, embedded ---
        self.field_ids, self.field_vectors = field_ids, field_vectors
        self.goal_ids, self.goal_vectors = goal_ids, goal_vectors
        self.strength: StrengthTable = country_strength(
            columns.pub_field, columns.pub_author_offsets, columns.pub_author_rows, self.country_codes, self.country_names,
            columns.pub_cited, field_ids, pub_key,
        )
        self.researchers: _Rows = _Rows(len(self.researcher_ids), self._researchers, self._scan_researchers)
        self.publications: _Rows = _Rows(len(pub_ids), self._publications, self._scan_publications)

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
    def exact_distances(self) -> bool:
        """Whether the index returns exact inner products for what it finds (flat and HNSW do; a
        quantised IVF does not)."""
        return self.manifest.get("ann", {}).get("kind", "flat") in ("flat", "hnsw")

    @property
    def researcher_count(self) -> int:
        return len(self.researcher_ids)

    @property
    def publication_count(self) -> int:
        return len(self.pub_ids)

    # --- display fields, read from the catalog ----------------------------------------------

    def _fields_of(self, row: int) -> tuple[tuple[str, float], ...]:
        field, share = self.columns.researcher_field[row], self.columns.researcher_field_share[row]
        return tuple((self.field_ids[int(f)], float(s)) for f, s in zip(field, share) if f >= 0)

    def _researchers(self, rows: Sequence[int]) -> list[ResearcherInfo]:
        ids = [str(self.researcher_ids[r]) for r in rows]
        with self._catalog_lock:
            stored = self._delta_catalog.researchers_by_id(ids) if self._delta_catalog is not None else {}
            stored.update(self._catalog.researchers_by_id([i for i in ids if i not in stored]))
        return [ResearcherInfo(**stored[rid].__dict__, fields=self._fields_of(int(r))) for rid, r in zip(ids, rows)]

    def _scan_researchers(self) -> Iterator[ResearcherInfo]:
        with self._catalog_lock:  # each catalog in id order; merged, they give the rows' order
            stored: Iterable[StoredResearcher] = [r for r in self._catalog.researchers() if r.id not in self._superseded]
            if self._delta_catalog is not None:
                stored = heapq.merge(stored, self._delta_catalog.researchers(), key=lambda r: r.id)
            return (ResearcherInfo(**r.__dict__, fields=self._fields_of(i)) for i, r in enumerate(list(stored)))

    def _publication(self, row: int, p: StoredPublication) -> PublicationInfo:
        return PublicationInfo(p.id, p.title, p.year, p.cited_by_count, self.field_ids[int(self.pub_fields[row])])

    def _publications(self, rows: Sequence[int]) -> list[PublicationInfo]:
        ids = [str(self.pub_ids[r]) for r in rows]
        in_delta = [int(r) >= self._base_publications for r in rows]
        with self._catalog_lock:
            base = self._catalog.publications_by_id([i for i, d in zip(ids, in_delta) if not d])
            delta = self._delta_catalog.publications_by_id([i for i, d in zip(ids, in_delta) if d]) if self._delta_catalog else {}
        return [self._publication(int(r), (delta if d else base)[pid]) for pid, r, d in zip(ids, rows, in_delta)]

    def _scan_publications(self) -> Iterator[PublicationInfo]:
        with self._catalog_lock:  # the base's rows in id order, then the delta's
            stored = self._catalog.publications(abstracts=False)
            if self._delta_catalog is not None:
                stored += self._delta_catalog.publications(abstracts=False)
        return (self._publication(i, p) for i, p in enumerate(stored))

    def funders_of(self, researcher_ids: Sequence[str]) -> dict[str, list[tuple[str, str | None, str | None, int]]]:
        """Per researcher, their funders (id, name, ROR, works), from the catalog segment that holds them."""
        with self._catalog_lock:
            found = self._delta_catalog.funders_of(researcher_ids) if self._delta_catalog is not None else {}
            in_delta = set(self._delta_catalog.researchers_by_id(list(researcher_ids))) if self._delta_catalog is not None else set()
            found.update(self._catalog.funders_of([r for r in researcher_ids if r not in in_delta]))
        return found

    def researcher_by_orcid(self, orcid: str) -> str | None:
        with self._catalog_lock:
            for catalog in (self._delta_catalog, self._catalog):
                found = catalog.researcher_by_orcid(orcid) if catalog is not None else None
                if found is not None and (catalog is self._delta_catalog or found not in self._superseded):
                    return found
        return None

    def institutions_of(self, researcher_id: str, since_year: int) -> list[str]:
        with self._catalog_lock:
            in_delta = self._delta_catalog is not None and bool(self._delta_catalog.researchers_by_id([researcher_id]))
            catalog = self._delta_catalog if in_delta and self._delta_catalog is not None else self._catalog
            return catalog.institutions_of(researcher_id, since_year)

    def institution_names_of(self, researcher_ids: Sequence[str], since_year: int) -> dict[str, list[tuple[str, str, str | None]]]:
        """Per researcher, (institution id, a name of it, its country) of their recent institutions,
        from the catalog segment that holds the researcher."""
        with self._catalog_lock:
            in_delta = set(self._delta_catalog.researchers_by_id(list(researcher_ids))) if self._delta_catalog is not None else set()
            found = self._catalog.institution_names_of([r for r in researcher_ids if r not in in_delta], since_year)
            if in_delta and self._delta_catalog is not None:
                found.update(self._delta_catalog.institution_names_of(sorted(in_delta), since_year))
        return found

    def institution_parts(self, institution_ids: Sequence[str]) -> set[tuple[str, str]]:
        """(institution, what it is part of) pairs that hold one of these institutions."""
        with self._catalog_lock:
            return {pair for catalog in (self._catalog, self._delta_catalog) if catalog is not None
                    for pair in catalog.institution_parts(institution_ids)}

    def researchers_at(self, institution_ids: Sequence[str], since_year: int) -> list[tuple[str, str, str | None]]:
        """(researcher id, institution id, its name) of the served researchers at these institutions lately."""
        with self._catalog_lock:
            found = [at for at in self._catalog.researchers_at(institution_ids, since_year) if at[0] not in self._superseded]
            if self._delta_catalog is not None:
                found += self._delta_catalog.researchers_at(institution_ids, since_year)
        return found

    def japan_tie_works(self, researcher_id: str) -> list[TieWork]:
        """The researcher's works with co-authors in Japan, newest first, from the catalog segment
        that holds the researcher."""
        with self._catalog_lock:
            in_delta = self._delta_catalog is not None and bool(self._delta_catalog.researchers_by_id([researcher_id]))
            catalog = self._delta_catalog if in_delta and self._delta_catalog is not None else self._catalog
            return tie_works([tuple(r) for r in catalog.japan_ties(researcher_id)])

    @cached_property
    def institutions(self) -> np.ndarray:
        """Every researcher's institution, lower-cased ('' where unknown): read once, when a filter needs it."""
        return np.array([(r.institution or "").lower() for r in self._scan_researchers()], dtype=str)

    @cached_property
    def latest_years(self) -> np.ndarray:
        """Each researcher's latest publication year (0 where none is known)."""
        out = np.zeros(self.researcher_count, dtype=np.int32)
        present = self.pub_counts > 0
        years = np.asarray(self.pub_years)[np.asarray(self.researcher_pub_rows)]
        if len(years):
            out[present] = np.maximum.reduceat(years, self.researcher_pub_offsets[:-1][present])
        return out

    # --- researchers and their publications -----------------------------------------------------

    @staticmethod
    def rows_in(sorted_ids: np.ndarray, wanted_ids: Sequence[str]) -> np.ndarray:
        """The position of each wanted id in `sorted_ids`, -1 where it is not there."""
        if not len(sorted_ids) or not len(wanted_ids):
            return np.full(len(wanted_ids), -1, dtype=np.int64)
        wanted = np.asarray(wanted_ids, dtype=str)
        at = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
        return np.where(sorted_ids[at] == wanted, at, -1).astype(np.int64)

    def find_rows(self, researcher_ids: Sequence[str]) -> np.ndarray:
        """Row per id, -1 where the id is not in this version."""
        return self.rows_in(self.researcher_ids, researcher_ids)

    def row(self, researcher_id: str) -> int:
        """The researcher's row, or NotFound."""
        row = int(self.find_rows([researcher_id])[0])
        if row < 0:
            raise NotFound(f"no researcher with id {researcher_id!r} in index version {self.version}")
        return row

    def researcher(self, researcher_id: str) -> ResearcherInfo:
        return self.researchers[self.row(researcher_id)]

    def publication_rows(self, row: int, since_year: int | None = None) -> np.ndarray:
        """The researcher's publication rows (newest first), those from `since_year` on where given."""
        pubs = np.asarray(self.researcher_pub_rows[self.researcher_pub_offsets[row] : self.researcher_pub_offsets[row + 1]], dtype=np.int64)
        return pubs if since_year is None else pubs[self.pub_years[pubs] >= since_year]

    def publications_of(self, researcher_id: str) -> list[PublicationInfo]:
        """Newest first."""
        return self.publications.many(self.publication_rows(self.row(researcher_id)))

    def publications_of_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The publication rows of these researchers, concatenated, and how many each has."""
        return gather(self.researcher_pub_offsets, self.researcher_pub_rows, rows)

    def authors_of(self, publication_rows: np.ndarray) -> np.ndarray:
        """The researcher rows of these publications (each once, sorted)."""
        return distinct(gather(self.pub_author_offsets, self.pub_author_rows, publication_rows)[0])

    def without_publication(self, publication_row: int) -> Snapshot:
        """A view in which no researcher has this publication (the evaluation's held-out work)."""
        view = copy.copy(self)
        keep = np.asarray(self.researcher_pub_rows) != publication_row
        owner = np.repeat(np.arange(self.researcher_count), self.pub_counts)
        view.researcher_pub_rows = np.asarray(self.researcher_pub_rows)[keep]
        view.researcher_pub_offsets = np.concatenate(([0], np.cumsum(np.bincount(owner[keep], minlength=self.researcher_count))))
        view.pub_counts = np.diff(view.researcher_pub_offsets)
        view.profile_norms = None  # the held-out authors' profiles change: computed per query
        view.__dict__.pop("latest_years", None)
        pid = str(self.pub_ids[publication_row])
        with self._catalog_lock:  # the held-out work is no tie to Japan either
            tied = {r for c in (self._catalog, self._delta_catalog) if c is not None for r in c.japan_tied_by(pid)}
        if tied:
            view.japan_ties = np.array(self.japan_ties, copy=True)
            rows = self.find_rows(sorted(tied))
            view.japan_ties[rows[rows >= 0]] -= 1
        return view

    def abstracts(self) -> dict[str, str | None]:
        """Publication id -> abstract, read from the version's catalogs."""
        with self._catalog_lock:
            found = {p.id: p.abstract for p in self._catalog.publications()}
            if self._delta_catalog is not None:
                found.update((p.id, p.abstract) for p in self._delta_catalog.publications())
        return found

    def nearest(self, vector: np.ndarray, k: int, among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The `k` publication rows nearest to `vector` (among the rows `among`, where given) and
        their inner products: the FAISS index for the base's rows, exact search for a delta's."""
        base_rows = among[among < self._base_publications] if among is not None else None
        found, sims = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if base_rows is None or len(base_rows):
            selector = faiss.IDSelectorBatch(base_rows) if base_rows is not None else None
            distances, hits = self.index.search(vector[None, :], min(k, self.index.ntotal),
                                                params=ann.search_parameters(self.index, self.search, selector))
            returned = hits[0] >= 0
            found, sims = hits[0][returned].astype(np.int64), distances[0][returned]
        if isinstance(self.vectors, SegmentedVectors):
            rows = np.arange(self._base_publications, len(self.vectors)) if among is None else among[among >= self._base_publications]
            found = np.concatenate((found, rows))
            sims = np.concatenate((sims, np.asarray(self.vectors.delta[rows - self._base_publications]) @ vector))
            best = np.argsort(-sims, kind="stable")[:k]
            found, sims = found[best], sims[best]
        return found, sims

    # --- countries ------------------------------------------------------------------------------

    @cached_property
    def _country_counts(self) -> Counter[str]:
        counts = np.bincount(self.country_codes, minlength=len(self.country_names))
        return Counter({str(c): int(n) for c, n in zip(self.country_names, counts) if c and n})

    def country_mask(self, codes: Sequence[str]) -> np.ndarray:
        """Per researcher row, whether their country is one of `codes` (read-only). The last few
        are kept: every default query leaves Japan out, and the mask is a pass over every row."""
        key = frozenset(codes)
        with self._masks_lock:
            mask = self._country_masks.pop(key, None)
        if mask is None:
            mask = np.isin(self.country_names, list(key))[self.country_codes]
            mask.flags.writeable = False
        with self._masks_lock:
            self._country_masks[key] = mask  # the newest last
            while len(self._country_masks) > COUNTRY_MASKS_KEPT:
                del self._country_masks[next(iter(self._country_masks))]
        return mask

    def country_counts(self) -> Counter[str]:
        """Researchers per country code (researchers without a known country are not counted);
        counted once per snapshot, which never changes."""
        return self._country_counts

    def main_field_counts(self) -> Counter[str]:
        """Researchers per inferred main field (their largest share of publications)."""
        main = np.asarray(self.columns.researcher_field[:, 0])
        codes, counts = np.unique(main[main >= 0], return_counts=True)
        return Counter({self.field_ids[int(f)]: int(n) for f, n in zip(codes, counts)})

    def strength_in(self, country: str) -> dict[str, Strength]:
        """The country's measured strength per field (empty where it has no publications)."""
        return self.strength.get(country, {})


def _served_vectors(index: faiss.Index, path: Path) -> np.ndarray:
    """One copy of the vectors: a view of a flat or HNSW index's own storage (memory-mapped with it
    where the index is), else the version's vectors.npy, memory-mapped."""
    storage = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index
    if isinstance(storage, faiss.IndexFlat) and storage.ntotal:
        return faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * storage.d).reshape(storage.ntotal, storage.d)
    return np.load(path / version.VECTORS, mmap_mode="r")


def load_snapshot(path: Path, model: str, lexical: bool = False, mmap_min_bytes: int = 2**29) -> Snapshot:
    manifest = version.read_manifest(path)
    if manifest.get("model") != model:
        raise IndexUnusable(
            f"index version {path.name} was built with model {manifest.get('model')!r}, but this service uses "
            f"{model!r}; rebuild it with `kakehashi index build` or set KAKEHASHI_MODEL"
        )
    version.verify(path, manifest)
    index = version.read_index(path, mmap_min_bytes)
    vectors = _served_vectors(index, path)
    pub_ids = version.read_publication_ids(path)
    field_ids: list[str] = version.read_json(path / version.FIELD_IDS)
    goal_ids: list[int] = version.read_json(path / version.GOAL_IDS)
    if index.ntotal != len(pub_ids) or len(vectors) != len(pub_ids):
        raise IndexUnusable(f"index version {path.name}: {index.ntotal} vectors in the index for {len(pub_ids)} publications")
    field_vectors = np.load(path / version.FIELDS)
    if (path / version.COLUMNS).is_dir():
        columns = Columns.load(path / version.COLUMNS)
    else:  # a version from before the arrays were written at build time: computed now, the same way
        with Store(path / version.CATALOG, read_only=True) as catalog:
            columns = build_columns(catalog, [str(p) for p in pub_ids], vectors, field_vectors)
    if len(columns.pub_year) != len(pub_ids):
        raise IndexUnusable(f"index version {path.name}: its arrays hold {len(columns.pub_year)} publications, its index {len(pub_ids)}")
    lexical_index: LexicalIndex | SegmentedLexical | None = None
    if lexical:
        if (path / version.LEXICAL).is_dir():
            lexical_index = LexicalIndex.load(path / version.LEXICAL)
        else:
            with Store(path / version.CATALOG, read_only=True) as catalog:
                texts = {p.id: embedding_text(p.title, p.abstract) for p in catalog.publications()}
            lexical_index = LexicalIndex.build([texts[str(p)] for p in pub_ids])
    # the centred rows where the version has them (a version from before: the rows as embedded, and no centre)
    multilingual_file = version.MULTILINGUAL_CENTRED if (path / version.MULTILINGUAL_CENTRED).exists() else version.MULTILINGUAL_VECTORS
    multilingual_vectors: np.ndarray | SegmentedVectors | None = (
        np.load(path / multilingual_file, mmap_mode="r") if manifest.get("multilingual_model") else None)
    delta = version.delta_of(path)
    superseded: frozenset[str] = frozenset()
    pub_key = None
    if delta is not None:  # an incremental version: its delta's rows after the base's
        superseded = frozenset(version.read_json(delta / version.SUPERSEDED))
        dead = Snapshot.rows_in(columns.researcher_ids, sorted(superseded))
        dead = dead[dead >= 0]
        delta_ids = version.read_publication_ids(delta)
        columns = columns.merged(Columns.load(delta / version.COLUMNS), dead)
        pub_key = np.arange(len(pub_ids) + len(delta_ids))  # a publication in both segments is counted at its delta row
        if len(delta_ids) and len(pub_ids):
            at = np.minimum(np.searchsorted(pub_ids, delta_ids), len(pub_ids) - 1)
            also_in_base = pub_ids[at] == delta_ids
            pub_key[at[also_in_base]] = len(pub_ids) + np.flatnonzero(also_in_base)
        vectors = SegmentedVectors(vectors, np.load(delta / version.VECTORS, mmap_mode="r"))
        pub_ids = np.concatenate((pub_ids, delta_ids))
        if lexical_index is not None:
            lexical_index = SegmentedLexical(lexical_index, LexicalIndex.load(delta / version.LEXICAL))
        if multilingual_vectors is not None:
            multilingual_vectors = SegmentedVectors(multilingual_vectors, np.load(delta / multilingual_file, mmap_mode="r"))
    return Snapshot(
        path=path, manifest=manifest, vectors=vectors, index=index, pub_ids=pub_ids, columns=columns,
        field_ids=field_ids, field_vectors=field_vectors, goal_ids=goal_ids, goal_vectors=np.load(path / version.GOALS),
        lexical=lexical_index,
        multilingual=_multilingual_space(path, manifest, multilingual_vectors) if multilingual_vectors is not None else None,
        delta=delta, superseded=superseded, pub_key=pub_key,
    )


def _multilingual_space(path: Path, manifest: dict[str, Any], vectors: np.ndarray | SegmentedVectors) -> MultilingualSpace:
    fields, goals = np.load(path / version.MULTILINGUAL_FIELDS), np.load(path / version.MULTILINGUAL_GOALS)
    centres = (np.load(path / version.MULTILINGUAL_CENTRE) if (path / version.MULTILINGUAL_CENTRE).exists()
               else np.zeros((1, fields.shape[1]), np.float32))  # a version from before: one part, not centred
    return MultilingualSpace(manifest["multilingual_model"], vectors, joined_like(fields, centres), joined_like(goals, centres),
                             centres, manifest.get("multilingual_text") or "title")


def load_newest(index_root: Path, model: str, lexical: bool = False, mmap_min_bytes: int = 2**29) -> tuple[Snapshot | None, list[str]]:
    """The newest version that loads; the reasons the newer ones were passed over."""
    problems: list[str] = []
    for path in reversed(version.versions(index_root)):
        try:
            return load_snapshot(path, model, lexical, mmap_min_bytes), problems
        except IndexUnusable as exc:
            problems.append(exc.detail)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:  # faiss raises RuntimeError on damaged files
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
