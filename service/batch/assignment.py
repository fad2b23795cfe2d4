"""Constrained assignment of partners to projects, solved optimally with integer programming
(HiGHS through scipy.optimize.milp), beside the plain top-k ranking and a greedy assignment.

Pure functions over candidate pairs: which researcher could serve which project, with what score.
Where the rules cannot all be met, the solver first fills as many partner places (and distinct
countries) as the rules allow, then maximises the score of that best partial assignment, and the
shortfall says which rule is short, where, and by how much.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from service.batch.inputs import AssignmentRules


@dataclass(frozen=True)
class Candidate:
    project: str
    researcher: str
    country: str  # '' where unknown: counts for no country limit and no country diversity
    score: float


@dataclass(frozen=True)
class Shortfall:
    rule: str  # partners_per_project or min_countries
    project: str
    required: int
    achieved: int
    reason: str

    @property
    def missing(self) -> int:
        return self.required - self.achieved


@dataclass
class Assignment:
    chosen: list[Candidate]
    total: float
    greedy_total: float
    top_k_total: float  # each project's k best, ignoring every other rule: an upper bound
    top_k_violations: int  # places in the plain top-k lists that break a rule
    shortfalls: list[Shortfall] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return not self.shortfalls

    def summary(self) -> dict[str, object]:
        return {
            "feasible": self.feasible,
            "assigned": len(self.chosen),
            "optimal_total": round(self.total, 4),
            "greedy_total": round(self.greedy_total, 4),
            "top_k_total": round(self.top_k_total, 4),
            "top_k_violations": self.top_k_violations,
            "shortfalls": [
                {"rule": s.rule, "query_id": s.project, "required": s.required, "achieved": s.achieved,
                 "missing": s.missing, "reason": s.reason}
                for s in self.shortfalls
            ],
        }


def usable(candidates: Sequence[Candidate], rules: AssignmentRules) -> list[Candidate]:
    """Without the excluded pairs (conflicts of interest)."""
    excluded = {(p.query_id, p.researcher_id) for p in rules.excluded_pairs}
    return [c for c in candidates if (c.project, c.researcher) not in excluded]


def top_k(candidates: Sequence[Candidate], projects: Sequence[str], rules: AssignmentRules) -> tuple[float, int]:
    """Total score of each project's k best candidates, and how many of those places break the
    researcher capacity or the per-country limit."""
    by_project = defaultdict(list)
    for c in candidates:
        by_project[c.project].append(c)
    picked = [c for p in projects for c in sorted(by_project[p], key=lambda c: -c.score)[: rules.partners_per_project]]
    load = Counter(c.researcher for c in picked)
    over_capacity = sum(max(0, n - rules.max_projects_per_researcher) for n in load.values())
    over_country = 0
    if rules.max_per_country is not None:
        per_country = Counter((c.project, c.country) for c in picked if c.country)
        over_country = sum(max(0, n - rules.max_per_country) for n in per_country.values())
    return sum(c.score for c in picked), over_capacity + over_country


def greedy(candidates: Sequence[Candidate], rules: AssignmentRules) -> list[Candidate]:
    """Best pair first, taken while it breaks no limit (k, c, per country); does not aim at
    `min_countries`."""
    places: Counter[str] = Counter()
    load: Counter[str] = Counter()
    per_country: Counter[tuple[str, str]] = Counter()
    chosen = []
    for c in sorted(candidates, key=lambda c: (-c.score, c.project, c.researcher)):
        if places[c.project] >= rules.partners_per_project or load[c.researcher] >= rules.max_projects_per_researcher:
            continue
        if rules.max_per_country is not None and c.country and per_country[(c.project, c.country)] >= rules.max_per_country:
            continue
        chosen.append(c)
        places[c.project] += 1
        load[c.researcher] += 1
        per_country[(c.project, c.country)] += 1
    return chosen


class _Program:
    """The integer program: x (one binary per candidate pair), then per project a partner
    shortfall, then (with min_countries) one binary per project and country and a country shortfall."""

    def __init__(self, candidates: Sequence[Candidate], projects: Sequence[str], rules: AssignmentRules) -> None:
        self.candidates, self.projects, self.rules = candidates, list(projects), rules
        n, p = len(candidates), len(self.projects)
        project_of = {name: i for i, name in enumerate(self.projects)}
        self.pair_project = np.array([project_of[c.project] for c in candidates], dtype=np.int64)
        self.pairs_country = sorted({(c.project, c.country) for c in candidates if c.country})
        diverse = rules.min_countries is not None
        self.n_y = len(self.pairs_country) if diverse else 0
        self.n_vars = n + p + self.n_y + (p if diverse else 0)
        self.partner_short = slice(n, n + p)
        self.country_short = slice(n + p + self.n_y, self.n_vars) if diverse else slice(0, 0)
        rows: list[tuple[list[int], list[float], float, float]] = []
        k = rules.partners_per_project
        members: dict[int, list[int]] = defaultdict(list)
        for i, c in enumerate(candidates):
            members[project_of[c.project]].append(i)
        for j in range(p):  # partners + shortfall = k
            rows.append((members[j] + [n + j], [1.0] * len(members[j]) + [1.0], k, k))
        by_researcher: dict[str, list[int]] = defaultdict(list)
        by_project_country: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, c in enumerate(candidates):
            by_researcher[c.researcher].append(i)
            if c.country:
                by_project_country[(c.project, c.country)].append(i)
        for idx in by_researcher.values():
            if len(idx) > rules.max_projects_per_researcher:
                rows.append((idx, [1.0] * len(idx), 0, rules.max_projects_per_researcher))
        if rules.max_per_country is not None:
            for idx in by_project_country.values():
                if len(idx) > rules.max_per_country:
                    rows.append((idx, [1.0] * len(idx), 0, rules.max_per_country))
        if diverse:
            y_of_project: dict[int, list[int]] = defaultdict(list)
            for t, key in enumerate(self.pairs_country):  # y <= sum of x in that country
                y = n + p + t
                idx = by_project_country[key]
                rows.append(([y] + idx, [1.0] + [-1.0] * len(idx), -np.inf, 0))
                y_of_project[project_of[key[0]]].append(y)
            for j in range(p):  # countries + shortfall >= min_countries
                ys = y_of_project[j]
                rows.append((ys + [self.country_short.start + j], [1.0] * len(ys) + [1.0], rules.min_countries, np.inf))
        self.rows = rows
        self.upper = np.concatenate([np.ones(n), np.full(p, float(k)), np.ones(self.n_y),
                                     np.full(p if diverse else 0, float(rules.min_countries or 0))])
        self.integrality = np.concatenate([np.ones(n), np.zeros(p), np.ones(self.n_y), np.zeros(p if diverse else 0)])

    def constraints(self, extra: list[tuple[list[int], list[float], float, float]]) -> LinearConstraint:
        rows = self.rows + extra
        r_idx = [r for r, (cols, _, _, _) in enumerate(rows) for _ in cols]
        c_idx = [c for cols, _, _, _ in rows for c in cols]
        vals = [v for _, values, _, _ in rows for v in values]
        matrix = coo_matrix((vals, (r_idx, c_idx)), shape=(len(rows), self.n_vars)).tocsr()
        return LinearConstraint(matrix, [lo for *_, lo, _ in rows], [hi for *_, hi in rows])

    def solve(self, objective: np.ndarray, extra: list[tuple[list[int], list[float], float, float]]) -> np.ndarray:
        result = milp(objective, constraints=self.constraints(extra), integrality=self.integrality,
                      bounds=Bounds(np.zeros(self.n_vars), self.upper))
        if result.x is None:
            raise RuntimeError(f"the assignment solver failed: {result.message}")
        return result.x


def _reason(project: str, candidates: Sequence[Candidate], chosen: Sequence[Candidate], rules: AssignmentRules, rule: str) -> str:
    mine = [c for c in candidates if c.project == project]
    countries = {c.country for c in mine if c.country}
    if rule == "min_countries":
        if len(countries) < (rules.min_countries or 0):
            return f"its candidates come from only {len(countries)} countries"
        return "the candidates from other countries are taken by other projects (max_projects_per_researcher)"
    if len(mine) < rules.partners_per_project:
        return f"only {len(mine)} candidates above the minimum similarity, after excluded pairs"
    if rules.max_per_country is not None:
        reachable = sum(min(n, rules.max_per_country) for n in Counter(c.country for c in mine if c.country).values())
        reachable += sum(1 for c in mine if not c.country)
        if reachable < rules.partners_per_project:
            return f"max_per_country {rules.max_per_country} leaves {reachable} usable candidates"
    return "its candidates are taken by other projects up to max_projects_per_researcher"


def assign(candidates: Sequence[Candidate], projects: Sequence[str], rules: AssignmentRules) -> Assignment:
    """The optimal assignment for total score under the rules, or the best partial one with the
    shortfalls explained."""
    pool = usable(candidates, rules)
    top_total, violations = top_k(pool, projects, rules)
    greedy_total = sum(c.score for c in greedy(pool, rules))
    if not projects:
        return Assignment([], 0.0, 0.0, 0.0, 0)
    program = _Program(pool, projects, rules)
    n = len(pool)
    # first: as few missing places (and countries) as the rules allow
    shortfall = np.zeros(program.n_vars)
    shortfall[program.partner_short] = 1.0
    shortfall[program.country_short] = 1.0
    least = float(shortfall @ program.solve(shortfall, []))
    # then: the best total score among those assignments
    score = np.zeros(program.n_vars)
    score[:n] = -np.array([c.score for c in pool])
    cols = list(np.flatnonzero(shortfall))
    x = program.solve(score, [(cols, [1.0] * len(cols), -np.inf, least + 1e-6)] if cols else [])
    chosen = [c for c, v in zip(pool, x[:n]) if v > 0.5]
    shortfalls = []
    got = Counter(c.project for c in chosen)
    got_countries = {p: len({c.country for c in chosen if c.project == p and c.country}) for p in projects}
    for p in projects:
        if got[p] < rules.partners_per_project:
            shortfalls.append(Shortfall("partners_per_project", p, rules.partners_per_project, got[p],
                                        _reason(p, pool, chosen, rules, "partners_per_project")))
        if rules.min_countries is not None and got_countries[p] < rules.min_countries:
            shortfalls.append(Shortfall("min_countries", p, rules.min_countries, got_countries[p],
                                        _reason(p, pool, chosen, rules, "min_countries")))
    return Assignment(chosen, sum(c.score for c in chosen), greedy_total, top_total, violations, shortfalls)
