"""Ranking metrics as pure functions of scores and relevance grades over all candidates."""

from __future__ import annotations

import numpy as np


def ranking_order(scores: np.ndarray) -> np.ndarray:
    """Best first; ties keep the candidates' order (a stable, reproducible ranking)."""
    return np.argsort(-scores, kind="stable")


def first_relevant_rank(scores: np.ndarray, relevant: np.ndarray) -> int | None:
    """1-based rank of the first relevant candidate, None if there is none."""
    hits = np.flatnonzero(relevant[ranking_order(scores)])
    return int(hits[0]) + 1 if len(hits) else None


def hits_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    return 1.0 / rank if rank else 0.0


def ndcg_at(scores: np.ndarray, grades: np.ndarray, k: int = 10) -> float:
    """Normalised discounted cumulative gain with gains 2^grade - 1."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    gains = 2.0 ** grades[ranking_order(scores)[:k]] - 1
    ideal = 2.0 ** np.sort(grades)[::-1][:k] - 1
    best = float(ideal @ discounts[: len(ideal)])
    return float(gains @ discounts[: len(gains)]) / best if best > 0 else 0.0


def pairwise_ordering_loss(scores: np.ndarray, grades: np.ndarray) -> float:
    """Over every pair of candidates with different grades: a pair ranked the wrong way costs the
    difference in grade, a tie half of it; divided by the sum of all differences. 0 is perfect,
    lower is better. O(n log n) per pair of grade levels."""
    levels = np.unique(grades)
    cost = total = 0.0
    for i, high in enumerate(levels):
        high_scores = scores[grades == high]
        for low in levels[:i]:
            low_scores = np.sort(scores[grades == low])
            diff = float(high - low)
            # for each higher-graded candidate: lower-graded ones scored above it, and level with it
            above = len(low_scores) - np.searchsorted(low_scores, high_scores, side="right")
            level = np.searchsorted(low_scores, high_scores, side="right") - np.searchsorted(low_scores, high_scores, side="left")
            cost += diff * (above.sum() + 0.5 * level.sum())
            total += diff * len(high_scores) * len(low_scores)
    return cost / total if total > 0 else 0.0
