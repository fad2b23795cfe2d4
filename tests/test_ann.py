"""The index choice: exact while fast enough, HNSW beyond, IVF-SQ8 within a tight memory budget;
each approximate index tuned to the recall target, recorded in the manifest, and served."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from indexer import ann
from indexer.version import versions as version_dirs
from kernel.settings import AnnSettings
from service.http.app import create_app
from service.matching.query import Filters, Query
from service.matching.snapshot import load_snapshot
from tests.conftest import copy_state, fake_runtime


def clustered(n: int, dim: int = 64, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """Vectors in clusters on the unit sphere, like text embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    points = centres[rng.integers(0, clusters, n)] + rng.normal(0, 0.35, (n, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_exact_search_up_to_its_size_limit() -> None:
    index, entry = ann.build_and_tune(clustered(2000), AnnSettings(exact_max_publications=2000))
    assert entry["kind"] == "flat" and entry["recall_at_10"] == 1.0 and "exact_max_publications" in entry["reason"]


@pytest.mark.parametrize("settings, kind, parameter", [
    (AnnSettings(exact_max_publications=1000), "hnsw", "efSearch"),  # beyond the exact limit: HNSW
    (AnnSettings(exact_max_publications=1000, memory_budget_mb=1), "ivf_sq8", "nprobe"),  # HNSW over the budget
])
def test_an_approximate_index_is_tuned_to_the_recall_target(settings: AnnSettings, kind: str, parameter: str) -> None:
    vectors = clustered(20_000)
    index, entry = ann.build_and_tune(vectors, settings)
    assert entry["kind"] == kind and parameter in entry["search"] and entry["recall_at_10"] >= 0.95
    # an independent check on other queries: the tuned breadth holds its recall
    queries = ann.probe_queries(vectors, 100, seed=9)
    _, found = index.search(queries, 10, params=ann.search_parameters(index, entry["search"]))
    assert ann.recall_at(found, ann.exact_neighbours(vectors, queries)) >= 0.93


def test_many_inverted_lists_are_found_through_a_graph_quantizer_that_is_saved_with_the_index(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ann, "HNSW_QUANTIZER_MIN_LISTS", 64)  # as at 4.2M publications and beyond
    vectors = clustered(20_000)
    index, entry = ann.build_and_tune(vectors, AnnSettings(kind="ivf_sq8"))
    assert entry["build"]["nlist"] >= 64 and entry["recall_at_10"] >= 0.95
    ann.faiss.write_index(index, str(tmp_path / "ivf.faiss"))
    loaded = ann.read(str(tmp_path / "ivf.faiss"), mmap=False)
    coarse = ann.faiss.downcast_index(loaded.quantizer)
    assert isinstance(coarse, ann.faiss.IndexHNSWFlat) and coarse.ntotal == entry["build"]["nlist"] and coarse.hnsw.efSearch == 128
    queries = ann.probe_queries(vectors, 100, seed=9)
    _, found = loaded.search(queries, 10, params=ann.search_parameters(loaded, entry["search"]))
    assert ann.recall_at(found, ann.exact_neighbours(vectors, queries)) >= 0.93


def test_the_exact_reference_agrees_with_numpy() -> None:
    vectors, queries = clustered(5000), clustered(20, seed=3)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    assert ann.recall_at(ann.exact_neighbours(vectors, queries), truth) == 1.0


def test_an_hnsw_index_is_recorded_served_memory_mapped_and_ranks_like_exact(tmp_path: Path, demo_state: Path) -> None:
    copy_state(demo_state, tmp_path / "state")
    exact_version = version_dirs(tmp_path / "state" / "indexes")[-1]
    runtime = fake_runtime(tmp_path / "state", ann=AnnSettings(kind="hnsw", hnsw_m=16, mmap_min_mb=0))
    built = runtime.build_index(force=True)
    assert built.manifest["index_type"] == "IndexHNSWFlat" and built.manifest["ann"]["recall_at_10"] >= 0.95
    with TestClient(create_app(runtime)) as client:
        assert client.get("/v1/index").json()["index_version"] == built.version
    approximate = runtime.snapshot()
    exact = load_snapshot(exact_version, runtime.settings.model, lexical=True)
    assert approximate.search == built.manifest["ann"]["search"] and exact.search == {}
    for text in ("quantum error correction with surface codes", "gallium nitride power transistors", "deep learning for weather forecasting"):
        query = Query(text=text)
        ids = [[m.researcher.id for m in runtime.matcher.match(snap, query, Filters(), None, 10, 0).matches] for snap in (approximate, exact)]
        assert len(set(ids[0]) & set(ids[1])) >= 8, text
