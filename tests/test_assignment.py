"""Constrained assignment: the rules hold in the output, infeasibility is explained, optimal >= greedy."""

from collections import Counter

import numpy as np
import pytest

from service.batch.assignment import Candidate, assign, greedy
from service.batch.inputs import AssignmentRules, ExcludedPair


def random_candidates(projects: int, researchers: int, per_project: int, seed: int) -> list[Candidate]:
    rng = np.random.default_rng(seed)
    countries = ["DE", "FR", "US", "KR", "IN", "BR"]
    home = {f"r{i}": countries[i % len(countries)] for i in range(researchers)}
    out = []
    for p in range(projects):
        for r in rng.choice(researchers, size=per_project, replace=False):
            out.append(Candidate(f"p{p}", f"r{r}", home[f"r{r}"], float(rng.uniform(0.2, 0.9))))
    return out


def test_greedy_is_beaten_where_taking_the_best_pair_first_blocks_a_better_whole() -> None:
    # r1 is the best for both projects but may serve one; greedy gives it to p1 (0.9) and leaves
    # p2 with r3 (0.1); the optimum gives r1 to p2 (0.85) and r2 to p1 (0.8)
    candidates = [Candidate("p1", "r1", "DE", 0.9), Candidate("p1", "r2", "FR", 0.8),
                  Candidate("p2", "r1", "DE", 0.85), Candidate("p2", "r3", "US", 0.1)]
    rules = AssignmentRules(partners_per_project=1, max_projects_per_researcher=1, candidates_per_project=2)
    result = assign(candidates, ["p1", "p2"], rules)
    assert {(c.project, c.researcher) for c in result.chosen} == {("p1", "r2"), ("p2", "r1")}
    assert result.total == pytest.approx(1.65) and result.greedy_total == pytest.approx(1.0)
    assert result.top_k_total == pytest.approx(1.75) and result.top_k_violations == 1  # r1 twice
    assert result.feasible


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_capacities_and_country_limits_hold_and_optimal_is_at_least_greedy(seed: int) -> None:
    candidates = random_candidates(projects=30, researchers=60, per_project=20, seed=seed)
    rules = AssignmentRules(partners_per_project=4, max_projects_per_researcher=2, max_per_country=2, min_countries=3,
                            candidates_per_project=20)
    projects = [f"p{p}" for p in range(30)]
    result = assign(candidates, projects, rules)
    assert result.feasible, result.shortfalls
    places = Counter(c.project for c in result.chosen)
    assert all(places[p] == 4 for p in projects)
    assert max(Counter(c.researcher for c in result.chosen).values()) <= 2
    assert max(Counter((c.project, c.country) for c in result.chosen).values()) <= 2
    assert all(len({c.country for c in result.chosen if c.project == p}) >= 3 for p in projects)
    # greedy keeps the hard limits too, and the optimum is never below it
    plain = AssignmentRules(partners_per_project=4, max_projects_per_researcher=2, max_per_country=2, candidates_per_project=20)
    chosen = greedy(candidates, plain)
    assert max(Counter(c.researcher for c in chosen).values()) <= 2
    optimum = assign(candidates, projects, plain)
    assert optimum.total >= optimum.greedy_total - 1e-9
    assert optimum.total <= optimum.top_k_total + 1e-9


def test_infeasible_rules_say_which_rule_where_and_by_how_much() -> None:
    # three projects want 2 partners each; only 4 researchers, each for at most one project
    candidates = [Candidate(p, r, "DE" if r in ("r1", "r2") else "FR", s)
                  for p in ("p1", "p2", "p3") for r, s in (("r1", 0.9), ("r2", 0.8), ("r3", 0.7), ("r4", 0.6))]
    rules = AssignmentRules(partners_per_project=2, max_projects_per_researcher=1, candidates_per_project=4)
    result = assign(candidates, ["p1", "p2", "p3"], rules)
    assert not result.feasible
    assert len(result.chosen) == 4  # the best partial assignment fills every place it can
    assert sum(s.missing for s in result.shortfalls) == 2
    assert {s.rule for s in result.shortfalls} == {"partners_per_project"}
    assert all("max_projects_per_researcher" in s.reason for s in result.shortfalls)
    summary = result.summary()
    assert summary["feasible"] is False and summary["shortfalls"][0]["missing"] >= 1

    # a project whose candidates all come from one country cannot reach two countries
    one_country = [Candidate("p1", f"r{i}", "DE", 0.5) for i in range(5)]
    rules = AssignmentRules(partners_per_project=2, min_countries=2, candidates_per_project=5)
    result = assign(one_country, ["p1"], rules)
    (short,) = result.shortfalls
    assert (short.rule, short.required, short.achieved) == ("min_countries", 2, 1)
    assert "only 1 countries" in short.reason
    assert len(result.chosen) == 2  # still the best partial assignment


def test_excluded_pairs_are_never_assigned() -> None:
    candidates = [Candidate("p1", "r1", "DE", 0.9), Candidate("p1", "r2", "FR", 0.5)]
    rules = AssignmentRules(partners_per_project=1, candidates_per_project=2,
                            excluded_pairs=[ExcludedPair(query_id="p1", researcher_id="r1")])
    result = assign(candidates, ["p1"], rules)
    assert [c.researcher for c in result.chosen] == ["r2"]
