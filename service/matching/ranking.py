"""Ranking as pure, vectorised functions over candidate researchers.

Candidates come as segments: the publication rows of researcher i are
`pubs[starts[i] : starts[i] + lengths[i]]`, and `sims` holds one similarity per publication row.
Every component is an absolute figure in [0, 1] (NaN where unknown), so scores are comparable
across queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from kernel.settings import Combination, RankingConfig, RankingWeights

HARMONIC_TOP = 3
IMPACT_H_INDEX_SCALE = 100  # an h-index of 100 counts as full impact
_HARMONIC = 1.0 / np.arange(1, HARMONIC_TOP + 1)


@dataclass(frozen=True)
class Segments:
    lengths: np.ndarray  # publications per candidate (all > 0)

    @cached_property
    def starts(self) -> np.ndarray:
        return np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)

    @cached_property
    def ids(self) -> np.ndarray:
        """The candidate index of every publication position."""
        return np.repeat(np.arange(len(self.lengths)), self.lengths)


def order_within(sims: np.ndarray, seg: Segments) -> tuple[np.ndarray, np.ndarray]:
    """Positions that sort `sims` descending inside each segment, and each position's rank there."""
    order = np.lexsort((-sims, seg.ids))
    ranks = np.arange(len(sims)) - np.repeat(seg.starts, seg.lengths)
    return order, ranks


def topical(sims: np.ndarray, seg: Segments, config: RankingConfig, profile_norms: np.ndarray | None = None) -> np.ndarray:
    """One topical similarity per candidate, in [0, 1], by `config.aggregation`:

    - profile:   cosine to the researcher's mean publication vector (one profile vector);
    - max:       the best publication;
    - harmonic3: (s1 + s2/2 + s3/3) / (1 + 1/2 + 1/3) over the best three, normalised over the
                 publications the researcher has (fewer papers are not penalised);
    - logsumexp: t * log(sum(exp(s_i / t))) over the best `aggregate_top` publications, t the
                 temperature: a smooth maximum that adds a little for every further paper about as
                 good as the best (at most t * log(aggregate_top)) and next to nothing for papers
                 far below it, so sustained work on the topic counts and volume alone does not;
                 temperature 0 is the plain maximum;
    - hybrid:    profile_share * profile + (1 - profile_share) * logsumexp: the best papers count,
                 but a prolific author with many unrelated papers does not win on one lucky match,
                 and among equal best matches the researcher focused on the topic comes first.
    """
    if len(seg.lengths) == 0:
        return np.zeros(0)
    method = config.aggregation
    if method == "hybrid":
        share = config.profile_share
        out = share * _profile(sims, seg, profile_norms) + (1 - share) * _logsumexp(sims, seg, config.temperature, config.aggregate_top)
    elif method == "max":
        out = np.maximum.reduceat(sims, seg.starts)
    elif method == "profile":
        out = _profile(sims, seg, profile_norms)
    elif method == "harmonic3":
        order, ranks = order_within(sims, seg)
        weights = np.where(ranks < HARMONIC_TOP, 1.0 / (ranks + 1), 0.0)
        numerator = np.bincount(seg.ids, weights=sims[order] * weights, minlength=len(seg.lengths))
        denominator = np.cumsum(_HARMONIC)[np.minimum(seg.lengths, HARMONIC_TOP) - 1]
        out = numerator / denominator
    elif method == "logsumexp":
        out = _logsumexp(sims, seg, config.temperature, config.aggregate_top)
    else:
        raise ValueError(f"unknown aggregation {method!r}")
    return np.clip(out, 0.0, 1.0)


def _logsumexp(sims: np.ndarray, seg: Segments, temperature: float, top: int) -> np.ndarray:
    best = np.maximum.reduceat(sims, seg.starts)
    if temperature == 0:
        return best
    order, ranks = order_within(sims, seg)
    counted = ranks < top
    # shifted by each candidate's best similarity: exp never overflows and the best term is 1
    terms = np.exp((sims[order] - best[seg.ids]) / temperature)
    return best + temperature * np.log(np.bincount(seg.ids[counted], weights=terms[counted], minlength=len(seg.lengths)))


def _profile(sims: np.ndarray, seg: Segments, profile_norms: np.ndarray | None) -> np.ndarray:
    """Cosine to the mean publication vector: the mean similarity over the mean vector's norm."""
    if profile_norms is None:
        raise ValueError("profile aggregation needs the norms of the mean publication vectors")
    return np.add.reduceat(sims, seg.starts) / seg.lengths / np.maximum(profile_norms, 1e-12)


def impact(h_index: np.ndarray) -> np.ndarray:
    """log-scaled h-index in [0, 1]; NaN where unknown (negative)."""
    h = np.asarray(h_index, dtype=float)
    return np.where(h >= 0, np.minimum(1.0, np.log1p(np.maximum(h, 0)) / math.log1p(IMPACT_H_INDEX_SCALE)), np.nan)


def recency(years: np.ndarray, reference_year: int, half_life: float) -> np.ndarray:
    """Halves every `half_life` years of age; NaN where the year is unknown (0)."""
    y = np.asarray(years, dtype=float)
    return np.where(y > 0, 0.5 ** (np.maximum(0, reference_year - y) / half_life), np.nan)


def segment_mean(values: np.ndarray, seg_ids: np.ndarray, count: int) -> np.ndarray:
    """Mean of the known (finite) values per segment; NaN where none is known."""
    known = np.isfinite(values)
    total = np.bincount(seg_ids[known], weights=values[known], minlength=count)
    n = np.bincount(seg_ids[known], minlength=count)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


COMPONENTS = ("topical", "strength", "impact", "recency", "ties")


def combine(components: dict[str, np.ndarray], weights: RankingWeights, mode: Combination) -> np.ndarray:
    """weighted_mean: the weighted mean of the known components (an unknown one gives its weight to
    the others). gated: topical times that mean with topical counted as 1, so that no other signal
    can lift a researcher whose work does not match: score in [topical * w_t / sum(w), topical]."""
    topical_values = components["topical"]
    numerator = np.zeros_like(topical_values)
    denominator = np.zeros_like(topical_values)
    for name in COMPONENTS:
        w = getattr(weights, name)
        if w <= 0:
            continue
        values = np.ones_like(topical_values) if (mode == "gated" and name == "topical") else components[name]
        known = np.isfinite(values)
        numerator += np.where(known, w * np.nan_to_num(values), 0.0)
        denominator += np.where(known, w, 0.0)
    mean = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
    return topical_values * mean if mode == "gated" else mean
