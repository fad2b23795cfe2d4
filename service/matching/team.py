"""A team of k partners that together cover a query's needs, chosen optimally with integer
programming (HiGHS through scipy.optimize.milp, as the batch assignment is).

Pure: over candidates with a score, the aspects each covers (a fair or strong match for it), a
country and whether their country's route is direct. Lexicographic objective: first as many
aspects covered as the rules allow, then (where asked) as many members in direct-route countries,
then the highest total score; rules: at most k members, at most `max_per_country` from a country."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from service.matching.query import TeamRules


@dataclass(frozen=True)
class TeamCandidate:
    score: float  # in [0, 1]
    covers: frozenset[int]  # the aspects it is a fair or strong match for
    country: str  # '' where unknown: no country limit applies
    direct: bool  # its country's route for the query's fields is direct


@dataclass(frozen=True)
class Team:
    members: tuple[int, ...]  # positions into the candidates, best score first
    covered_by: dict[int, tuple[int, ...]]  # aspect -> the members that cover it
    uncovered: tuple[int, ...]  # aspects no member covers (no candidate does, or the rules leave them out)
    total: float


def suggest_team(candidates: Sequence[TeamCandidate], aspects: int, rules: TeamRules) -> Team:
    """The optimal team under the rules (the module's lexicographic objective, by tier weights)."""
    n = len(candidates)
    if n == 0:
        return Team((), {}, tuple(range(aspects)), 0.0)
    scores = np.clip(np.array([c.score for c in candidates], dtype=float), 0.0, 1.0)
    k = rules.size
    # tier weights: any aspect more outweighs every direct member and score; a direct member every score
    score_tier, direct_tier = 1.0, k + 1.0
    aspect_tier = (direct_tier * (k + 1) if rules.prefer_direct else 1.0) * (k + 1)
    objective = np.concatenate([
        -(score_tier * scores + (direct_tier * np.array([c.direct for c in candidates], float) if rules.prefer_direct else 0.0)),
        -np.full(aspects, aspect_tier),
    ])
    rows: list[tuple[list[int], list[float], float, float]] = [(list(range(n)), [1.0] * n, 0, k)]
    for a in range(aspects):  # z_a <= sum of the members that cover a
        members = [i for i, c in enumerate(candidates) if a in c.covers]
        rows.append(([n + a] + members, [1.0] + [-1.0] * len(members), -np.inf, 0))
    if rules.max_per_country is not None:
        by_country: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(candidates):
            if c.country:
                by_country[c.country].append(i)
        rows += [(idx, [1.0] * len(idx), 0, rules.max_per_country) for idx in by_country.values() if len(idx) > rules.max_per_country]
    matrix = coo_matrix(([v for _, vals, _, _ in rows for v in vals],
                         ([r for r, (cols, _, _, _) in enumerate(rows) for _ in cols], [c for cols, _, _, _ in rows for c in cols])),
                        shape=(len(rows), n + aspects)).tocsr()
    result = milp(objective, constraints=LinearConstraint(matrix, [lo for *_, lo, _ in rows], [hi for *_, hi in rows]),
                  integrality=np.ones(n + aspects), bounds=Bounds(np.zeros(n + aspects), np.ones(n + aspects)))
    if result.x is None:
        raise RuntimeError(f"the team solver failed: {result.message}")
    chosen = sorted((i for i in range(n) if result.x[i] > 0.5), key=lambda i: (-scores[i], i))
    covered_by = {a: tuple(i for i in chosen if a in candidates[i].covers) for a in range(aspects)}
    return Team(tuple(chosen), {a: m for a, m in covered_by.items() if m}, tuple(a for a, m in covered_by.items() if not m),
                round(float(scores[chosen].sum()), 4))
