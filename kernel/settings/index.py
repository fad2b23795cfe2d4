"""The publication index: which FAISS index is built, and how often the service looks for a newer version."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AnnSettings(BaseModel):
    """The publication index (indexer/ann.py): exact up to `exact_max_publications`, then HNSW, or
    IVF with 8-bit scalar quantisation where HNSW would exceed the memory budget. Decided by size
    and budget only, so that the same corpus gets the same index on any machine."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["auto", "flat", "hnsw", "ivf_sq8"] = "auto"
    exact_max_publications: int = Field(100_000, ge=0, description="Exact search up to this many publications (about 15 ms a query "
                                        "at k=1000 on 2 cores at 100k; 143 ms at 1M, docs/performance.md).")
    memory_budget_mb: int | None = Field(8192, ge=1, description="For the index; HNSW is chosen only if it fits (None: no limit). "
                                         "8 GiB: 10M publications get IVF-SQ8 (about 3.9 GB), 1M get HNSW (about 1.7 GB).")
    min_recall: float = Field(0.95, gt=0, le=1, description="recall@10 against exact search that an approximate index is tuned to reach.")
    hnsw_m: int = Field(32, ge=4, le=128)
    hnsw_ef_construction: int = Field(80, ge=16, le=1000)
    mmap_min_mb: int = Field(512, ge=0, description="Index files at least this large are memory-mapped, not read into memory.")


class IndexSettings(BaseModel):
    ann: AnnSettings = AnnSettings()
    index_poll_seconds: float = Field(5.0, ge=0)
    keep_versions: int = Field(3, ge=1, description="Index versions kept after a build (the newest; a served one is never deleted).")
    incremental_min_publications: int = Field(50_000, ge=0, description="A build over a base of at least this many publications "
                                              "writes only what changed, beside the base's files hard-linked (below it a full build takes seconds).")
    incremental_max_share: float = Field(0.05, ge=0, le=1, description="A full build instead once the changed researchers' "
                                         "publications pass this share of the base's (the delta is searched exactly).")
