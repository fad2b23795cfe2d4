"""The publication index: exact up to a size, approximate beyond, chosen by size and memory budget.

- `flat`: exact inner-product search (IndexFlatIP), the reference; chosen up to
  `exact_max_publications`.
- `hnsw`: a graph over the full vectors (IndexHNSWFlat); about 4·d + 8·M bytes per publication.
- `ivf_sq8`: inverted lists of 8-bit scalar-quantised vectors (IndexIVFScalarQuantizer) over an
  HNSW coarse quantizer; about d + 8 bytes per publication, for when HNSW does not fit the memory
  budget (10M publications: about 3.9 GB).

The choice depends on the corpus's size and the settings alone, never on a timing: the same corpus
gets the same index on an idle machine and a busy one. An approximate index is tuned when it is
built: its search breadth (efSearch, nprobe) is raised until recall@10 against exact search, on
queries near the corpus, reaches `min_recall` (recall, unlike latency, does not depend on the
machine's load). The kind, its parameters and the measured recall go into the manifest, and the
served index searches with them."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from kernel.settings import AnnSettings

RECALL_K = 10
IVF_TRAIN_PER_LIST = 40  # training vectors per inverted list (FAISS warns below 39)
IVF_TRAIN_ITERATIONS = 10
HNSW_QUANTIZER_MIN_LISTS = 8192  # from 4.2M publications


@dataclass(frozen=True)
class AnnPlan:
    kind: str  # flat, hnsw or ivf_sq8
    build: dict[str, int]  # construction parameters
    reason: str


def hnsw_bytes(n: int, dim: int, hnsw_m: int) -> int:
    """HNSW's size estimate: the full vectors plus about 2·M links a node."""
    return n * (4 * dim + 8 * hnsw_m + 16)


def plan(n: int, dim: int, settings: AnnSettings) -> AnnPlan:
    """Which index for n publications: the configured kind, else exact up to
    `exact_max_publications`, else HNSW within the memory budget, else IVF-SQ8."""
    budget = settings.memory_budget_mb * 2**20 if settings.memory_budget_mb else None
    if settings.kind != "auto":
        kind, reason = settings.kind, f"set by KAKEHASHI_ANN__KIND={settings.kind}"
    elif n <= settings.exact_max_publications:
        kind, reason = "flat", f"{n:,} publications <= exact_max_publications ({settings.exact_max_publications:,}): exact search"
    elif budget is None or hnsw_bytes(n, dim, settings.hnsw_m) <= budget:
        kind = "hnsw"
        reason = (f"{n:,} publications > exact_max_publications ({settings.exact_max_publications:,}); HNSW (about "
                  f"{hnsw_bytes(n, dim, settings.hnsw_m) / 2**20:,.0f} MB) fits the budget"
                  + ("" if budget is None else f" of {settings.memory_budget_mb:,} MB"))
    else:
        kind = "ivf_sq8"
        reason = (f"{n:,} publications > exact_max_publications ({settings.exact_max_publications:,}); HNSW (about "
                  f"{hnsw_bytes(n, dim, settings.hnsw_m) / 2**20:,.0f} MB) would exceed the budget of {settings.memory_budget_mb:,} MB")
    build = {"flat": {}, "hnsw": {"M": settings.hnsw_m, "efConstruction": settings.hnsw_ef_construction},
             "ivf_sq8": {"nlist": max(16, int(4 * math.sqrt(n)))}}[kind]
    return AnnPlan(kind, build, reason)


def build(vectors: np.ndarray, chosen: AnnPlan) -> faiss.Index:
    dim = vectors.shape[1]
    if chosen.kind == "flat":
        index: faiss.Index = faiss.IndexFlatIP(dim)
    elif chosen.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, chosen.build["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = chosen.build["efConstruction"]
    else:
        # Beyond HNSW_QUANTIZER_MIN_LISTS lists the coarse quantizer is itself an HNSW graph over
        # the centroids ("IVF{nlist}_HNSW32,SQ8"): k-means and adding then find a vector's list in a
        # few hundred comparisons, not nlist (at 10M, 12,649 lists: exact assignment would take most
        # of an hour on 2 cores). Below it, exact assignment is the faster.
        nlist = chosen.build["nlist"]
        picked = np.sort(np.random.default_rng(0).choice(len(vectors), min(len(vectors), IVF_TRAIN_PER_LIST * nlist), replace=False))
        sample = np.ascontiguousarray(vectors[picked], dtype=np.float32)
        if nlist >= HNSW_QUANTIZER_MIN_LISTS:
            clustering = faiss.Clustering(dim, nlist)
            clustering.niter, clustering.seed = IVF_TRAIN_ITERATIONS, 0
            clustering.train(sample, faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT))  # k-means, assigning through a graph
            quantizer: faiss.Index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            quantizer.add(faiss.vector_to_array(clustering.centroids).reshape(nlist, dim))
            quantizer.hnsw.efSearch = 32  # while adding: the nearest list, near enough
        else:
            quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = IVF_TRAIN_ITERATIONS
        index.train(sample)  # k-means and the 8-bit codes; with the graph quantizer (holding its centroids), the codes alone
    for start in range(0, len(vectors), 100_000):  # in slices: the vectors may be memory-mapped
        index.add(np.ascontiguousarray(vectors[start:start + 100_000], dtype=np.float32))
    coarse = faiss.downcast_index(index.quantizer) if isinstance(index, faiss.IndexIVF) else None
    if isinstance(coarse, faiss.IndexHNSW):
        coarse.hnsw.efSearch = 128  # saved with the index: searches probe the nearest lists
    return index


def probe_queries(vectors: np.ndarray, count: int = 200, noise: float = 0.6, seed: int = 0) -> np.ndarray:
    """Queries near the corpus but not in it: sampled vectors plus noise, renormalised (cosine to
    their source about 0.85 for 384 dimensions), as a project description sits near, not on, a paper."""
    rng = np.random.default_rng(seed)
    picked = np.asarray(vectors[np.sort(rng.choice(len(vectors), min(count, len(vectors)), replace=False))], dtype=np.float32)
    noisy = picked + rng.normal(0, noise / math.sqrt(vectors.shape[1]), picked.shape).astype(np.float32)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int = RECALL_K) -> np.ndarray:
    """Exact top-k ids by inner product, in slices (the vectors may be memory-mapped)."""
    best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        block = np.asarray(vectors[start:start + 200_000], dtype=np.float32)
        scores = queries @ block.T
        top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, top, axis=1)])
        best_ids = np.hstack([best_ids, top + start])
        keep = np.argsort(-best_scores, axis=1)[:, :k]
        best_scores, best_ids = np.take_along_axis(best_scores, keep, axis=1), np.take_along_axis(best_ids, keep, axis=1)
    return best_ids


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def search_parameters(index: faiss.Index, search: dict[str, int], selector: faiss.IDSelector | None = None) -> faiss.SearchParameters:
    """The parameter object each index kind expects (HNSW and IVF refuse the generic one)."""
    if isinstance(index, faiss.IndexHNSW):
        params: faiss.SearchParameters = faiss.SearchParametersHNSW()
        params.efSearch = search.get("efSearch", 64)
    elif isinstance(index, faiss.IndexIVF):
        params = faiss.SearchParametersIVF()
        params.nprobe = search.get("nprobe", 16)
    else:
        params = faiss.SearchParameters()
    if selector is not None:
        params.sel = selector
    return params


def tune(index: faiss.Index, vectors: np.ndarray, min_recall: float) -> tuple[dict[str, int], float, int]:
    """The narrowest search that reaches `min_recall` at k=10: (search parameters, recall, probe
    queries). An exact index needs none and has recall 1."""
    if isinstance(index, faiss.IndexFlat):
        return {}, 1.0, 0
    queries = probe_queries(vectors)
    truth = exact_neighbours(vectors, queries)
    name, values = ("efSearch", [16, 32, 64, 128, 256, 512, 1024]) if isinstance(index, faiss.IndexHNSW) else \
        ("nprobe", [1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
    recall = 0.0
    for value in values:
        search = {name: value}
        _, found = index.search(queries, RECALL_K, params=search_parameters(index, search))
        recall = recall_at(found, truth)
        if recall >= min_recall:
            break
    return search, recall, len(queries)


def build_and_tune(vectors: np.ndarray, settings: AnnSettings) -> tuple[faiss.Index, dict[str, Any]]:
    """The index and its manifest entry (kind, why, construction and search parameters, recall@10)."""
    chosen = plan(len(vectors), vectors.shape[1], settings)
    started = time.perf_counter()
    index = build(vectors, chosen)
    built = time.perf_counter() - started
    search, recall, probes = tune(index, vectors, settings.min_recall)
    return index, _entry(chosen, search, recall, probes, built)


def _entry(chosen: AnnPlan, search: dict[str, int], recall: float, probes: int, seconds: float) -> dict[str, Any]:
    return {"kind": chosen.kind, "reason": chosen.reason, "build": chosen.build, "search": search,
            "recall_at_10": round(recall, 4), "recall_queries": probes, "build_seconds": round(seconds, 2)}


def read(path: str, mmap: bool) -> faiss.Index:
    """Memory-mapped where asked and the index kind allows it (flat and HNSW do; FAISS reads IVF
    lists into memory): the vectors stay in the page cache, shared and reclaimable."""
    if mmap:
        try:
            return faiss.read_index(path, faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError:
            pass
    return faiss.read_index(path)
