import itertools

import numpy as np
import pytest

from service.evaluation import metrics


def _brute_force_loss(scores: np.ndarray, grades: np.ndarray) -> float:
    cost = total = 0.0
    for i, j in itertools.combinations(range(len(scores)), 2):
        if grades[i] == grades[j]:
            continue
        hi, lo = (i, j) if grades[i] > grades[j] else (j, i)
        diff = grades[hi] - grades[lo]
        total += diff
        cost += diff if scores[hi] < scores[lo] else diff / 2 if scores[hi] == scores[lo] else 0
    return cost / total


def test_pairwise_ordering_loss_matches_the_definition() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        grades = rng.integers(0, 4, size=40).astype(float)
        scores = rng.integers(0, 10, size=40).astype(float)  # many ties
        assert metrics.pairwise_ordering_loss(scores, grades) == pytest.approx(_brute_force_loss(scores, grades))
    grades = np.array([3.0, 2, 1, 0])
    assert metrics.pairwise_ordering_loss(np.array([4.0, 3, 2, 1]), grades) == 0.0
    assert metrics.pairwise_ordering_loss(np.array([1.0, 2, 3, 4]), grades) == 1.0
    assert metrics.pairwise_ordering_loss(np.ones(4), grades) == 0.5


def test_ranks_hits_mrr_ndcg() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    relevant = np.array([False, False, True, False])
    first = metrics.first_relevant(scores, relevant)
    assert (first.hits(1), first.hits(3), first.hits(5)) == (0.0, 1.0, 1.0)
    assert first.reciprocal_rank() == pytest.approx(1 / 3)
    assert metrics.first_relevant(scores, np.zeros(4, bool)) is None
    assert metrics.ndcg_at(scores, np.array([3.0, 2, 1, 0])) == pytest.approx(1.0)
    assert metrics.ndcg_at(scores, np.array([0.0, 1, 2, 3])) < 0.7


def _mean_over_tie_orders(scores: np.ndarray, relevant: np.ndarray, grades: np.ndarray) -> tuple[float, float, float]:
    """Reciprocal rank, hits@2 and nDCG@2 averaged over every order of the candidates that keeps
    the scores sorted (brute force)."""
    results = []
    for order in itertools.permutations(range(len(scores))):
        ordered = scores[list(order)]
        if any(ordered[i] < ordered[i + 1] for i in range(len(ordered) - 1)):
            continue
        rank = next(i + 1 for i, c in enumerate(order) if relevant[c])
        fixed = np.arange(len(scores), 0, -1, dtype=float)[np.argsort(order)]  # this order, without ties
        results.append((1 / rank, float(rank <= 2), metrics.ndcg_at(fixed, grades, k=2)))
    return tuple(np.mean(results, axis=0))


def test_ties_count_as_the_mean_over_random_orders() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        scores = rng.integers(0, 3, size=6).astype(float)
        relevant = rng.random(6) < 0.4
        relevant[rng.integers(6)] = True
        grades = rng.integers(0, 4, size=6).astype(float)
        first = metrics.first_relevant(scores, relevant)
        rr, hits2, ndcg2 = _mean_over_tie_orders(scores, relevant, grades)
        assert first.reciprocal_rank() == pytest.approx(rr)
        assert first.hits(2) == pytest.approx(hits2)
        assert metrics.ndcg_at(scores, grades, k=2) == pytest.approx(ndcg2)
    # a relevant researcher tied with two others at the top: found first one time in three
    assert metrics.first_relevant(np.array([1.0, 1.0, 1.0, 0.0]), np.array([False, True, False, False])).hits(1) == pytest.approx(1 / 3)


def test_paired_bootstrap_interval() -> None:
    better = np.array([0.5, 0.6, 0.7, 0.8] * 25)
    mean, low, high = metrics.paired_bootstrap(better + 0.1, better)
    assert (mean, low, high) == pytest.approx((0.1, 0.1, 0.1))
    mean, low, high = metrics.paired_bootstrap(np.tile([1.0, 0.0], 50), np.tile([0.0, 1.0], 50))
    assert mean == 0.0 and low < 0 < high
