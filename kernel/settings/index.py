"""The publication index: which FAISS index is built, and how often the service looks for a newer version."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AnnSettings(BaseModel):
    """The publication index (indexer/ann.py): exact while its search meets the latency target,
    then HNSW, or IVF with 8-bit scalar quantisation where HNSW would exceed the memory budget."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["auto", "flat", "hnsw", "ivf_sq8"] = "auto"
    latency_target_ms: float = Field(15.0, gt=0, description="Median single-query exact search time above which an approximate index is built.")
    memory_budget_mb: int | None = Field(None, ge=1, description="For the index; HNSW is chosen only if it fits.")
    min_recall: float = Field(0.95, gt=0, le=1, description="recall@10 against exact search that an approximate index is tuned to reach.")
    hnsw_m: int = Field(32, ge=4, le=128)
    hnsw_ef_construction: int = Field(80, ge=16, le=1000)
    mmap_min_mb: int = Field(512, ge=0, description="Index files at least this large are memory-mapped, not read into memory.")


class IndexSettings(BaseModel):
    ann: AnnSettings = AnnSettings()
    index_poll_seconds: float = Field(5.0, ge=0)
