"""Ranking as pure functions: aggregate publication similarities, compute the score components,
combine them with weights. Every component is an absolute figure in [0, 1] (or unknown), so
scores are comparable across queries."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from indexer.settings import RankingWeights

HARMONIC_TOP = 3
IMPACT_H_INDEX_SCALE = 100  # an h-index of 100 counts as full impact


def topical(similarities: np.ndarray) -> float:
    """Weighted top-k of a researcher's publication similarities: (s1 + s2/2 + s3/3) / (1 + 1/2 + 1/3),
    over the publications they have. One strong paper counts; several count more."""
    if len(similarities) == 0:
        return 0.0
    top = np.sort(similarities)[::-1][:HARMONIC_TOP]
    weights = 1.0 / np.arange(1, len(top) + 1)
    full = 1.0 / np.arange(1, HARMONIC_TOP + 1)
    # Researchers with fewer than k publications are not penalised for the missing ones.
    return float(np.clip((top @ weights) / full[: len(top)].sum(), 0.0, 1.0))


def impact(h_index: int | None) -> float | None:
    if h_index is None or h_index < 0:
        return None
    return min(1.0, math.log1p(h_index) / math.log1p(IMPACT_H_INDEX_SCALE))


def recency(evidence_years: list[int], reference_year: int, half_life: float) -> float | None:
    """Halves every `half_life` years of age of the best-matching publications (mean over them)."""
    known = [y for y in evidence_years if y]
    if not known:
        return None
    return float(np.mean([0.5 ** (max(0, reference_year - y) / half_life) for y in known]))


@dataclass(frozen=True)
class Components:
    topical: float
    strength: float | None
    impact: float | None
    recency: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {k: (None if v is None else round(v, 4)) for k, v in self.__dict__.items()}


def combine(components: Components, weights: RankingWeights) -> float:
    """Weighted mean over the known components; an unknown one gives its weight to the others."""
    total = weight_sum = 0.0
    for name, value in components.__dict__.items():
        w = getattr(weights, name)
        if value is not None and w > 0:
            total += w * value
            weight_sum += w
    return total / weight_sum if weight_sum > 0 else 0.0
