"""How a query becomes ranked researchers: candidate retrieval, the similarity floors, the
aggregation of publication similarities and the weights of the score components."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    ties: float = Field(0.0, ge=0, le=10)  # works co-authored with authors in Japan (service/matching/ties.py)


Aggregation = Literal["profile", "max", "harmonic3", "hybrid", "logsumexp"]
Combination = Literal["weighted_mean", "gated"]


class RankingConfig(BaseModel):
    """How publication similarities become a researcher's score; see service/matching/ranking.py
    and docs/evaluation.md for what each choice measured."""

    model_config = ConfigDict(frozen=True)

    aggregation: Aggregation = "hybrid"
    profile_share: float = Field(0.7, ge=0, le=1, description="Share of the profile vector in the hybrid aggregation.")
    temperature: float = Field(0.05, ge=0, le=1, description="Temperature of the logsumexp aggregation (also in hybrid): 0 is the best paper alone.")
    aggregate_top: int = Field(10, ge=1, le=1000, description="How many of a researcher's best publications the logsumexp aggregation adds up.")
    combination: Combination = "gated"
    lexical_weight: float = Field(0.2, ge=0, le=1, description="Share of normalised BM25 in each publication's similarity.")


class MatchingSettings(BaseModel):
    weights: RankingWeights = RankingWeights()
    ranking: RankingConfig = RankingConfig()
    candidate_publications: int = Field(1000, ge=10)
    min_similarity: float = Field(0.15, ge=-1, le=1)
    # the floor of a Japanese query's topical score in the centred multilingual space, whose similarities
    # are about half the main model's (docs/evaluation.md); the logsumexp temperature scales with the two floors
    multilingual_min_similarity: float = Field(0.08, ge=-1, le=1)
    # a match's strength (service/matching/cutoff.py): strong from this topical score, fair from the
    # next, weak below; calibrated by `kakehashi evaluate --calibrate` (docs/evaluation.md)
    strong_similarity: float = Field(0.498, ge=-1, le=1)
    fair_similarity: float = Field(0.33, ge=-1, le=1)
    multilingual_strong_similarity: float = Field(0.232, ge=-1, le=1)
    multilingual_fair_similarity: float = Field(0.131, ge=-1, le=1)
    # a text query's needs (service/matching/aspects.py): found unless off; pieces merge into one need
    # while this alike; the first page diversified over the needs by xQuAD with this weight of coverage,
    # a need's best candidate taken to cover it this far (service/matching/diversify.py)
    aspects: bool = True
    aspect_merge_similarity: float = Field(0.2, ge=-1, le=1)
    aspect_diversity: float = Field(0.75, ge=0, le=1)
    aspect_coverage: float = Field(0.5, gt=0, le=1)
    evidence_count: int = Field(3, ge=1, le=10)
    recency_half_life_years: float = Field(8.0, gt=0)
    max_fields_per_query: int = Field(2, ge=1, le=5)
    conflict_years: int = Field(3, ge=0, le=50)  # co-authorship with the PI within this many years is a conflict of interest
    # a candidate's institutions screened: their works' affiliations of this many years and their current one
    screening_years: int = Field(3, ge=0, le=50)
    # RapidFuzz token sort ratio (0-100) from which a name matches a screening list entry (bench/screening_quality.py)
    screening_threshold: float = Field(85.0, ge=50, le=100)
    max_query_chars: int = Field(20_000, ge=100)
