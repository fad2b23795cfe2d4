"""Ranking metrics as pure functions of scores and relevance grades over all candidates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def ranking_order(scores: np.ndarray) -> np.ndarray:
    """Best first; ties keep the candidates' order."""
    return np.argsort(-scores, kind="stable")


@dataclass(frozen=True)
class FirstRelevant:
    """Where the first relevant candidate lands when tied scores are put in random order (the
    expectation over all tie orders, as in McSherry & Najork 2008, so that a configuration gains
    nothing from the order in which candidates happen to be stored): `ahead` candidates score
    strictly higher, and `probabilities[j]` is the chance that it is at rank `ahead + j + 1`."""

    ahead: int
    probabilities: np.ndarray

    @property
    def _ranks(self) -> np.ndarray:
        return self.ahead + 1 + np.arange(len(self.probabilities))

    def hits(self, k: int) -> float:
        return float(self.probabilities[self._ranks <= k].sum())

    def reciprocal_rank(self) -> float:
        return float((self.probabilities / self._ranks).sum())


def first_relevant(scores: np.ndarray, relevant: np.ndarray) -> FirstRelevant | None:
    """None if no candidate is relevant."""
    if not relevant.any():
        return None
    best = scores[relevant].max()
    tied_relevant = int((scores[relevant] == best).sum())
    tied_other = int((scores[~relevant] == best).sum())
    # P(the first i tied candidates are all non-relevant), then P(the next one is relevant)
    i = np.arange(tied_other + 1)
    all_other = np.concatenate(([1.0], np.cumprod((tied_other - i[:-1]) / (tied_other + tied_relevant - i[:-1]))))
    return FirstRelevant(int((scores > best).sum()), all_other * tied_relevant / (tied_other + tied_relevant - i))


def ndcg_at(scores: np.ndarray, grades: np.ndarray, k: int = 10) -> float:
    """Normalised discounted cumulative gain with gains 2^grade - 1; tied candidates share their
    group's mean gain (the expectation over tie orders)."""
    order = ranking_order(scores)
    ordered = scores[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    sizes = np.diff(np.append(starts, len(ordered)))
    gains = np.repeat(np.add.reduceat(2.0 ** grades[order] - 1, starts) / sizes, sizes)[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
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


def paired_bootstrap(values: np.ndarray, baseline: np.ndarray, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean per-query difference `values - baseline` and its 95% bootstrap interval (queries
    resampled with replacement, the same resample for both, seeded: reproducible)."""
    diff = np.asarray(values, dtype=float) - np.asarray(baseline, dtype=float)
    if len(diff) == 0:
        return 0.0, 0.0, 0.0
    samples = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    means = diff[samples].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))
