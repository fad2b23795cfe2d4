"""The pure ranking functions."""

import numpy as np
import pytest

from kernel.settings import RankingConfig, RankingWeights
from service.matching import ranking
from service.matching.strength import country_strength

# three candidates: [0.8, 0.1, 0.1], [0.75, 0.7, 0.7, 0.2], [0.6]
SIMS = np.array([0.1, 0.8, 0.1, 0.7, 0.2, 0.75, 0.7, 0.6])
SEG = ranking.Segments(np.array([3, 4, 1]))


def topical(sims: np.ndarray, seg: ranking.Segments, aggregation: str, norms: np.ndarray | None = None, **options) -> np.ndarray:
    return ranking.topical(sims, seg, RankingConfig(aggregation=aggregation, **options), norms)


def test_aggregations() -> None:
    harmonic = topical(SIMS, SEG, "harmonic3")
    assert harmonic[1] > harmonic[0]  # several matching papers beat one
    assert harmonic[0] == pytest.approx((0.8 + 0.1 / 2 + 0.1 / 3) / (1 + 1 / 2 + 1 / 3))
    assert harmonic[2] == pytest.approx(0.6)  # fewer papers are not penalised
    assert list(topical(SIMS, SEG, "max")) == pytest.approx([0.8, 0.75, 0.6])
    norms = np.array([0.5, 1.0, 1.0])
    assert topical(SIMS, SEG, "profile", norms)[0] == pytest.approx(1.0 / 3 / 0.5)
    assert topical(SIMS, SEG, "hybrid", norms, profile_share=0.7)[2] == pytest.approx(0.6)
    assert topical(-SIMS, SEG, "max").min() == 0.0  # clipped to [0, 1]


def test_logsumexp_is_a_smooth_maximum_that_counts_sustained_work() -> None:
    t = 0.05
    scores = topical(SIMS, SEG, "logsumexp", temperature=t)
    assert scores[2] == pytest.approx(0.6)  # one paper: its similarity
    assert scores[0] == pytest.approx(0.8, abs=1e-5)  # papers far below the best add next to nothing
    # 0.75, 0.7, 0.7 (and 0.2): two papers close behind the best lift the researcher above 0.75,
    # but not above one clearly better paper
    expected = t * np.log(np.exp(0.75 / t) + 2 * np.exp(0.7 / t) + np.exp(0.2 / t))
    assert scores[1] == pytest.approx(expected) and 0.75 < scores[1] < scores[0]
    # equal papers: each doubling adds t * log 2, and only the best `aggregate_top` count
    equal = np.full(40, 0.5)
    volume = topical(equal, ranking.Segments(np.array([40])), "logsumexp", temperature=t, aggregate_top=10)
    assert volume[0] == pytest.approx(0.5 + t * np.log(10))
    assert topical(np.array([0.99, 0.99]), ranking.Segments(np.array([2])), "logsumexp")[0] == 1.0  # clipped


def test_order_within_segments() -> None:
    order, ranks = ranking.order_within(SIMS, SEG)
    assert list(SIMS[order]) == [0.8, 0.1, 0.1, 0.75, 0.7, 0.7, 0.2, 0.6]
    assert list(ranks) == [0, 1, 2, 0, 1, 2, 3, 0]


def test_unknown_components_give_their_weight_to_the_others() -> None:
    weights = RankingWeights(topical=3, strength=1, impact=1, recency=0)
    comps = {"topical": np.array([0.5, 0.5]), "strength": np.array([0.5, 0.5]),
             "impact": np.array([np.nan, 1.0]), "recency": np.array([np.nan, np.nan])}
    mean = ranking.combine(comps, weights, "weighted_mean")
    assert list(mean) == pytest.approx([0.5, (1.5 + 0.5 + 1.0) / 5])
    gated = ranking.combine(comps, weights, "gated")
    assert list(gated) == pytest.approx([0.5 * (3 + 0.5) / 4, 0.5 * (3 + 0.5 + 1.0) / 5])


def test_gating_keeps_unrelated_researchers_low() -> None:
    weights = RankingWeights(topical=0.75, strength=0.1, impact=0.1, recency=0.05)
    unrelated = {"topical": np.array([0.05]), "strength": np.array([1.0]), "impact": np.array([1.0]), "recency": np.array([1.0])}
    assert ranking.combine(unrelated, weights, "gated")[0] <= 0.05
    assert ranking.combine(unrelated, weights, "weighted_mean")[0] > 0.25


def test_impact_and_recency_are_bounded() -> None:
    assert list(ranking.impact(np.array([0, 10_000]))) == [0.0, 1.0]
    assert np.isnan(ranking.impact(np.array([-1]))[0])
    assert list(ranking.recency(np.array([2026, 2018]), 2026, 8)) == pytest.approx([1.0, 0.5])
    assert np.isnan(ranking.recency(np.array([0]), 2026, 8)[0])


def test_country_strength_measures_share_and_specialization() -> None:
    fields = ["chips", "bio"]
    # country A: 3 chip papers; B: 1 chip paper, 4 bio papers (the last with two B authors and one of
    # unknown country: counted once, for B)
    pub_fields = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    authors = np.array(["A", "A", "A", "B", "B", "B", "B", "B", "B", ""])
    offsets = np.array([0, 1, 2, 3, 4, 5, 6, 7, 10])
    names, codes = np.unique(authors, return_inverse=True)
    table = country_strength(pub_fields, offsets, np.arange(10), codes, names, np.full(8, -1), fields)
    assert table["A"]["chips"].share == 0.75 and table["B"]["chips"].share == 0.25
    assert table["A"]["chips"].strength > table["B"]["chips"].strength
    assert table["A"]["chips"].specialization > 1 > table["B"]["chips"].specialization
    assert table["A"]["chips"].citation_share is None
    assert table["A"]["bio"].strength == 0.0
