"""The pure ranking functions."""

import numpy as np
import pytest

from indexer.settings import RankingWeights
from service import ranking
from service.strength import country_strength


def test_topical_rewards_several_matching_papers_over_one() -> None:
    one_strong = ranking.topical(np.array([0.8, 0.1, 0.1]))
    several = ranking.topical(np.array([0.75, 0.7, 0.7]))
    assert several > one_strong
    assert ranking.topical(np.array([0.6])) == pytest.approx(0.6)  # fewer papers are not penalised
    assert ranking.topical(np.array([])) == 0.0


def test_unknown_components_give_their_weight_to_the_others() -> None:
    weights = RankingWeights(topical=3, strength=1, impact=1, recency=0)
    known = ranking.Components(topical=0.5, strength=0.5, impact=None, recency=None)
    assert ranking.combine(known, weights) == pytest.approx(0.5)
    full = ranking.Components(topical=0.5, strength=0.5, impact=1.0, recency=None)
    assert ranking.combine(full, weights) == pytest.approx((1.5 + 0.5 + 1.0) / 5)


def test_impact_and_recency_are_bounded() -> None:
    assert ranking.impact(None) is None
    assert ranking.impact(0) == 0.0
    assert ranking.impact(10_000) == 1.0
    assert ranking.recency([2026], 2026, 8) == 1.0
    assert ranking.recency([2018], 2026, 8) == pytest.approx(0.5)
    assert ranking.recency([0, 0], 2026, 8) is None


def test_country_strength_measures_share_and_specialization() -> None:
    fields = ["chips", "bio"]
    # country A: 3 chip papers; B: 1 chip paper, 4 bio papers
    pub_fields = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    countries = [["A"], ["A"], ["A"], ["B"], ["B"], ["B"], ["B"], ["B"]]
    table = country_strength(pub_fields, countries, np.full(8, -1), fields)
    assert table["A"]["chips"].share == 0.75 and table["B"]["chips"].share == 0.25
    assert table["A"]["chips"].strength > table["B"]["chips"].strength
    assert table["A"]["chips"].specialization > 1 > table["B"]["chips"].specialization
    assert table["A"]["chips"].citation_share is None
    assert table["A"]["bio"].strength == 0.0
