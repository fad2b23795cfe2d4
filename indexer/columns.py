"""The arrays that matching reads, computed once at build time and memory-mapped when a version is
served: one row per publication and one per researcher, links as flat offset arrays (CSR), fields
inferred from the vectors, the norms of the researchers' mean publication vectors. Display fields
(names, titles, institutions) are not here: they are read from the version's catalog for the rows
a page shows (service/matching/snapshot.py).

Files, under `columns/` in a version (indexer/version.py names the directory):

  pub_year.npy  pub_cited.npy  pub_field.npy          per publication row (0 / -1 where unknown)
  pub_author_offsets.npy  pub_author_rows.npy         publication row -> researcher rows
  researcher_ids.npy  researcher_country.npy  researcher_h_index.npy  researcher_profile_norm.npy
  researcher_pub_offsets.npy  researcher_pub_rows.npy researcher row -> publication rows, newest first
  researcher_field.npy  researcher_field_share.npy    (rows, MAX_RESEARCHER_FIELDS), -1 / 0 padded
  researcher_japan_ties.npy  researcher_japan_ties_year.npy   works with a co-author in Japan, the latest one's year
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from indexer.store import Store

RESEARCHER_FIELD_MIN_SHARE = 0.25  # a field holding at least a quarter of the publications (the top one always)
MAX_RESEARCHER_FIELDS = 4  # at most four fields hold a quarter each
CHUNK = 65536  # publication rows a step, so that memory stays bounded by the chunk


LATER_COLUMNS = {"researcher_japan_ties": (np.int32, 0), "researcher_japan_ties_year": (np.int16, -1)}  # name: (dtype, empty)


@dataclass(frozen=True)
class Columns:
    pub_year: np.ndarray  # int32, 0 where unknown
    pub_cited: np.ndarray  # int64, -1 where unknown
    pub_field: np.ndarray  # int16, index into the version's field ids
    pub_author_offsets: np.ndarray  # int64, publications + 1
    pub_author_rows: np.ndarray  # int32
    researcher_ids: np.ndarray  # str, sorted (the catalog's order)
    researcher_country: np.ndarray  # str, '' where unknown
    researcher_h_index: np.ndarray  # int32, -1 where unknown
    researcher_profile_norm: np.ndarray  # float32: |mean publication vector|, 0 without publications
    researcher_pub_offsets: np.ndarray  # int64, researchers + 1
    researcher_pub_rows: np.ndarray  # int32
    researcher_field: np.ndarray  # int16 (researchers, MAX_RESEARCHER_FIELDS), -1 padded, largest share first
    researcher_field_share: np.ndarray  # float32, same shape
    researcher_japan_ties: np.ndarray  # int32: works with a co-author in Japan (0 in a version from before they were counted)
    researcher_japan_ties_year: np.ndarray  # int16: the latest of those works' years, -1 where none or unknown

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for f in fields(self):
            np.save(directory / f"{f.name}.npy", getattr(self, f.name), allow_pickle=False)

    @classmethod
    def load(cls, directory: Path) -> Columns:
        """Memory-mapped: pages are read as matching touches them. A column that a version from before
        it was written lacks is its empty value (LATER_COLUMNS)."""
        loaded = {f.name: np.load(directory / f"{f.name}.npy", mmap_mode="r", allow_pickle=False)
                  for f in fields(cls) if (directory / f"{f.name}.npy").exists() or f.name not in LATER_COLUMNS}
        researchers = len(loaded["researcher_ids"])
        for name, (dtype, empty) in LATER_COLUMNS.items():
            loaded.setdefault(name, np.full(researchers, empty, dtype=dtype))
        return cls(**loaded)


    def merged(self, delta: Columns, superseded: np.ndarray) -> Columns:
        """This base's arrays with a delta's (indexer/version.py): the delta's publications appended
        as rows after the base's; the base's `superseded` researcher rows dropped and the delta's
        researchers placed among the rest in id order, so that rows still follow the ids. Costs a
        pass over the arrays, in memory; the result is not memory-mapped."""
        n_base_pubs = len(self.pub_year)
        keep = np.ones(len(self.researcher_ids), dtype=bool)
        keep[superseded] = False
        kept = np.flatnonzero(keep)
        # new rows: a kept base researcher moves down by the delta researchers whose ids sort before it
        at = np.searchsorted(self.researcher_ids[kept], delta.researcher_ids)
        delta_rows = at + np.arange(len(at))
        kept_rows = np.arange(len(kept)) + np.searchsorted(at, np.arange(len(kept)), side="right")
        n = len(kept) + len(delta_rows)
        base_map = np.full(len(self.researcher_ids), -1, dtype=np.int64)
        base_map[kept] = kept_rows

        def researcher_column(base: np.ndarray, extra: np.ndarray) -> np.ndarray:
            out = np.empty((n, *base.shape[1:]), dtype=np.result_type(base.dtype, extra.dtype))
            out[kept_rows], out[delta_rows] = base[kept], extra
            return out

        # researcher -> publications: each one's list taken whole from its segment
        base_lengths, delta_lengths = np.diff(self.researcher_pub_offsets), np.diff(delta.researcher_pub_offsets)
        lengths = researcher_column(base_lengths, delta_lengths)
        starts = researcher_column(self.researcher_pub_offsets[:-1], delta.researcher_pub_offsets[:-1] + len(self.researcher_pub_rows))
        values = np.concatenate((self.researcher_pub_rows, np.asarray(delta.researcher_pub_rows) + n_base_pubs)).astype(np.int32)
        researcher_pub_rows = values[ranges(starts, lengths)]
        # publication -> researchers: the base's entries of dropped researchers go, the rest are renumbered
        base_pub = np.repeat(np.arange(n_base_pubs), np.diff(self.pub_author_offsets))
        base_author = base_map[self.pub_author_rows]
        alive = base_author >= 0
        delta_pub = np.repeat(np.arange(len(delta.pub_year)), np.diff(delta.pub_author_offsets)) + n_base_pubs
        pubs = np.concatenate((base_pub[alive], delta_pub))
        n_pubs = n_base_pubs + len(delta.pub_year)
        return Columns(
            pub_year=np.concatenate((self.pub_year, delta.pub_year)),
            pub_cited=np.concatenate((self.pub_cited, delta.pub_cited)),
            pub_field=np.concatenate((self.pub_field, delta.pub_field)),
            pub_author_offsets=np.concatenate(([0], np.cumsum(np.bincount(pubs, minlength=n_pubs)))).astype(np.int64),
            pub_author_rows=np.concatenate((base_author[alive], delta_rows[np.asarray(delta.pub_author_rows)])).astype(np.int32),
            researcher_ids=researcher_column(self.researcher_ids, delta.researcher_ids),
            researcher_country=researcher_column(self.researcher_country, delta.researcher_country),
            researcher_h_index=researcher_column(self.researcher_h_index, delta.researcher_h_index),
            researcher_profile_norm=researcher_column(self.researcher_profile_norm, delta.researcher_profile_norm),
            researcher_pub_offsets=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
            researcher_pub_rows=researcher_pub_rows,
            researcher_field=researcher_column(self.researcher_field, delta.researcher_field),
            researcher_field_share=researcher_column(self.researcher_field_share, delta.researcher_field_share),
            researcher_japan_ties=researcher_column(self.researcher_japan_ties, delta.researcher_japan_ties),
            researcher_japan_ties_year=researcher_column(self.researcher_japan_ties_year, delta.researcher_japan_ties_year),
        )


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices start, start+1, ... of each (start, length), concatenated."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return shift + np.arange(total)


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending: np.unique by a sort, which numpy 2's hashed unique is
    several times slower than on the tens of thousands of rows of one query."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def publication_fields(vectors: np.ndarray, field_vectors: np.ndarray) -> np.ndarray:
    """Index of the best-matching field per publication row."""
    out = np.empty(len(vectors), dtype=np.int16)
    for start in range(0, len(vectors), CHUNK):
        out[start : start + CHUNK] = np.argmax(np.asarray(vectors[start : start + CHUNK]) @ field_vectors.T, axis=1)
    return out


def researcher_fields(pub_field: np.ndarray, offsets: np.ndarray, rows: np.ndarray, n_fields: int) -> tuple[np.ndarray, np.ndarray]:
    """Per researcher, the fields that hold at least a quarter of their publications (always the
    top one) with their shares, largest first; ties in field order."""
    n = len(offsets) - 1
    counts = np.zeros((n, n_fields), dtype=np.float32)
    owner = np.repeat(np.arange(n), np.diff(offsets))
    np.add.at(counts, (owner, pub_field[rows]), 1)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    order = np.argsort(-shares, axis=1, kind="stable")[:, :MAX_RESEARCHER_FIELDS]
    top = np.take_along_axis(shares, order, axis=1)
    kept = (top > 0) & ((np.arange(MAX_RESEARCHER_FIELDS) == 0) | (top >= RESEARCHER_FIELD_MIN_SHARE))
    return np.where(kept, order, -1).astype(np.int16), np.where(kept, np.round(top, 3), 0).astype(np.float32)


def profile_norms(vectors: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """|mean of the researcher's publication vectors|, computed researcher range by range."""
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.float32)
    start = 0
    while start < n:  # a span of researchers holding about CHUNK publications
        end = max(start + 1, int(np.searchsorted(offsets, offsets[start] + CHUNK, side="right")) - 1)
        end = min(end, n)
        lo, hi = int(offsets[start]), int(offsets[end])
        if hi > lo:
            lengths = np.diff(offsets[start : end + 1])
            present = lengths > 0
            sums = np.add.reduceat(np.asarray(vectors[rows[lo:hi]], dtype=np.float64),
                                   (offsets[start:end] - lo)[present], axis=0)
            out[start:end][present] = np.linalg.norm(sums / lengths[present, None], axis=1)
        start = end
    return out


def build_columns(catalog: Store, pub_ids: Sequence[str], vectors: np.ndarray, field_vectors: np.ndarray) -> Columns:
    """From a version's catalog, for publications in `pub_ids` order (the vectors' rows)."""
    pub_row = {pid: i for i, pid in enumerate(pub_ids)}
    n_pubs = len(pub_ids)
    pub_year = np.zeros(n_pubs, dtype=np.int32)
    pub_cited = np.full(n_pubs, -1, dtype=np.int64)
    for p in catalog.publications(abstracts=False):
        row = pub_row.get(p.id)
        if row is not None:
            pub_year[row] = p.year or 0
            pub_cited[row] = p.cited_by_count if p.cited_by_count is not None else -1
    stored = catalog.researchers()
    researcher_row = {r.id: i for i, r in enumerate(stored)}
    owners, pubs = [], []
    for rid, pid in catalog.authorships():  # each researcher's newest first
        r, p = researcher_row.get(rid), pub_row.get(pid)
        if r is not None and p is not None:
            owners.append(r)
            pubs.append(p)
    owner = np.asarray(owners, dtype=np.int64)
    pub_rows = np.asarray(pubs, dtype=np.int32)
    order = np.argsort(owner, kind="stable")  # grouped by researcher, each one's order kept
    owner, pub_rows = owner[order], pub_rows[order]
    researcher_pub_offsets = np.concatenate(([0], np.cumsum(np.bincount(owner, minlength=len(stored))))).astype(np.int64)
    by_pub = np.lexsort((owner, pub_rows))
    pub_author_offsets = np.concatenate(([0], np.cumsum(np.bincount(pub_rows, minlength=n_pubs)))).astype(np.int64)
    pub_field = publication_fields(vectors, field_vectors)
    field, share = researcher_fields(pub_field, researcher_pub_offsets, pub_rows, len(field_vectors))
    ties = np.zeros(len(stored), dtype=np.int32)
    ties_year = np.full(len(stored), -1, dtype=np.int16)
    for rid, works, latest in catalog.japan_tie_counts():
        row = researcher_row.get(rid)
        if row is not None:
            ties[row], ties_year[row] = works, latest if latest is not None else -1
    return Columns(
        pub_year=pub_year, pub_cited=pub_cited, pub_field=pub_field,
        pub_author_offsets=pub_author_offsets, pub_author_rows=owner[by_pub].astype(np.int32),
        researcher_ids=np.array([r.id for r in stored], dtype=str),
        researcher_country=np.array([r.country or "" for r in stored], dtype=str),
        researcher_h_index=np.array([r.h_index if r.h_index is not None else -1 for r in stored], dtype=np.int32),
        researcher_profile_norm=profile_norms(vectors, researcher_pub_offsets, pub_rows),
        researcher_pub_offsets=researcher_pub_offsets, researcher_pub_rows=pub_rows,
        researcher_field=field, researcher_field_share=share,
        researcher_japan_ties=ties, researcher_japan_ties_year=ties_year,
    )
