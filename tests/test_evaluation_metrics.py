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
    rank = metrics.first_relevant_rank(scores, relevant)
    assert rank == 3
    assert (metrics.hits_at(rank, 1), metrics.hits_at(rank, 5)) == (0.0, 1.0)
    assert metrics.reciprocal_rank(rank) == pytest.approx(1 / 3)
    assert metrics.first_relevant_rank(scores, np.zeros(4, bool)) is None
    assert metrics.ndcg_at(scores, np.array([3.0, 2, 1, 0])) == pytest.approx(1.0)
    assert metrics.ndcg_at(scores, np.array([0.0, 1, 2, 3])) < 0.7
