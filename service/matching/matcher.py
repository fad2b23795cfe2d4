"""Matching: resolve the query to a vector and fields, retrieve candidate publications, score the
candidate researchers (service.matching.ranking), explain the best ones and flag their funding route."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import faiss
import numpy as np

from indexer import ann
from indexer.embedder import Embedder
from kernel.errors import NotFound
from kernel.reference import Reference
from kernel.settings import RankingWeights, Settings
from service.matching import ranking
from service.matching.query import Filters, Query, Weights
from service.matching.resolve import QueryResolver, ResolvedQuery
from service.matching.routes import FundingRoute, funding_route
from service.matching.snapshot import ResearcherInfo, Snapshot
from service.matching.strength import Strength
from service.matching.timing import Stages

TOPICAL_ONLY = RankingWeights(topical=1, strength=0, impact=0, recency=0)


@dataclass(frozen=True)
class Evidence:
    publication_id: str
    title: str
    year: int | None
    similarity: float


@dataclass(frozen=True)
class Components:
    topical: float
    strength: float | None
    impact: float | None
    recency: float | None

    def as_dict(self) -> dict[str, float | None]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Match:
    researcher: ResearcherInfo
    score: float
    components: Components
    evidence: list[Evidence]
    strength: dict[str, Strength]  # per query field, the candidate country's figures
    route: FundingRoute


@dataclass(frozen=True)
class Ranked:
    rows: np.ndarray  # researcher rows
    scores: np.ndarray
    components: dict[str, np.ndarray]  # name -> value per row, NaN where unknown


@dataclass(frozen=True)
class MatchPage:
    matches: list[Match]
    count: int
    query: ResolvedQuery
    weights: RankingWeights
    stages_ms: dict[str, float] = dataclasses.field(default_factory=dict)  # where the time went


@dataclass(frozen=True)
class GoalFit:
    goal_id: int
    short_name: str
    score: float


class Matcher:
    def __init__(
        self, settings: Settings, reference: Reference, embedder: Callable[[], Embedder],
        multilingual: Callable[[], Embedder] | None = None,
    ) -> None:
        """The embedders are called only when a text must be embedded (see QueryResolver)."""
        self.settings, self.reference = settings, reference
        self.resolver = QueryResolver(settings, reference, embedder, multilingual)

    # --- filters and retrieval ----------------------------------------------------------------

    def _allowed(self, snap: Snapshot, filters: Filters) -> np.ndarray:
        """Boolean mask over researcher rows."""
        mask = np.ones(len(snap.researchers), dtype=bool)
        if filters.countries:
            mask &= np.isin(snap.countries, filters.countries)
        excluded = filters.excluded_countries()
        if excluded:
            mask &= ~np.isin(snap.countries, list(excluded))
        if filters.min_h_index is not None:
            mask &= snap.h_index >= filters.min_h_index
        if filters.fields:
            wanted = set(filters.fields)
            mask &= np.array([any(f in wanted for f, _ in r.fields) for r in snap.researchers], dtype=bool)
        if filters.exclude_institutions:
            needles = [n.lower() for n in filters.exclude_institutions]
            mask &= np.array([not any(n in (r.institution or "").lower() for n in needles) for r in snap.researchers], dtype=bool)
        for rid in filters.exclude_researchers:
            row = snap.researcher_row.get(rid)
            if row is not None:
                mask[row] = False
        if filters.since_year is not None:
            mask &= np.array([bool((snap.pub_years[p] >= filters.since_year).any()) for p in snap.researcher_pubs], dtype=bool)
        return mask

    def _candidates(self, snap: Snapshot, query: ResolvedQuery, allowed: np.ndarray) -> np.ndarray:
        """Researcher rows whose publications come near the query (dense, and lexical where used),
        among the allowed ones."""
        rows = np.flatnonzero(allowed)
        pool = self.settings.candidate_publications
        if int(snap.pub_counts[rows].sum()) <= pool:
            return rows  # few enough to score them all exactly
        k = min(pool, snap.index.ntotal)
        if query.multilingual:  # no FAISS index in that space: brute force over the allowed publications
            allowed_pubs = np.concatenate([snap.researcher_pubs[r] for r in rows])
            sims = np.asarray(self._space(snap, query)[allowed_pubs]) @ query.vector
            found = allowed_pubs[np.argpartition(-sims, min(k, len(sims)) - 1)[:k]]
            authors = np.unique(np.concatenate([snap.pub_authors[p] for p in found]))
            return authors[allowed[authors]]
        if 2 * len(rows) >= len(snap.researchers):
            # Most researchers are allowed (the default leaves out only Japan): one plain search, a
            # little deeper by the share left out, whose other papers are dropped below. Listing the
            # allowed publications for a filtered search would cost more than the search at a million.
            deeper = min(snap.index.ntotal, math.ceil(k * len(snap.researchers) / max(len(rows), 1)))
            _, hits = snap.index.search(query.vector[None, :], deeper, params=ann.search_parameters(snap.index, snap.search))
        else:
            selector = faiss.IDSelectorBatch(np.unique(np.concatenate([snap.researcher_pubs[r] for r in rows])))
            _, hits = snap.index.search(query.vector[None, :], k, params=ann.search_parameters(snap.index, snap.search, selector))
        found = hits[0][hits[0] >= 0]
        if query.lexical is not None:
            lexical_hits = np.argpartition(-query.lexical, k - 1)[:k]
            found = np.union1d(found, lexical_hits[query.lexical[lexical_hits] > 0])
        authors = np.unique(np.concatenate([snap.pub_authors[p] for p in found])) if len(found) else np.zeros(0, np.int64)
        return authors[allowed[authors]]

    # --- scoring ------------------------------------------------------------------------------

    @staticmethod
    def _space(snap: Snapshot, query: ResolvedQuery) -> np.ndarray:
        """The publication vectors that the query's vector lives with."""
        return snap.multilingual.vectors if query.multilingual and snap.multilingual is not None else snap.vectors

    def _similarities(self, snap: Snapshot, pubs: np.ndarray, query: ResolvedQuery) -> np.ndarray:
        sims = np.asarray(self._space(snap, query)[pubs]) @ query.vector
        if query.lexical is not None:
            alpha = self.settings.ranking.lexical_weight
            sims = (1 - alpha) * sims + alpha * query.lexical[pubs]
        return sims

    def rank(
        self, snap: Snapshot, query: ResolvedQuery, rows: np.ndarray, since_year: int | None, weights: RankingWeights,
    ) -> Ranked:
        """Scores of the given researcher rows; rows without publications in range are dropped."""
        pub_lists = [snap.publication_rows(int(r), since_year) for r in rows]
        lengths = np.array([len(p) for p in pub_lists], dtype=np.int64)
        rows, lengths = np.asarray(rows)[lengths > 0], lengths[lengths > 0]
        if len(rows) == 0:
            return Ranked(rows, np.zeros(0), {name: np.zeros(0) for name in ranking.COMPONENTS})
        seg = ranking.Segments(lengths)
        pubs = np.concatenate([p for p in pub_lists if len(p)])
        sims = self._similarities(snap, pubs, query)
        config = self.settings.ranking
        if query.multilingual:  # e5 similarities sit in a narrower band: scale the temperature to it
            span = (1 - self.settings.multilingual_min_similarity) / max(1 - self.settings.min_similarity, 1e-6)
            config = config.model_copy(update={"temperature": config.temperature * span})
        norms = None
        if config.aggregation in ("profile", "hybrid"):
            sums = np.add.reduceat(np.asarray(self._space(snap, query)[pubs], dtype=np.float64), seg.starts, axis=0)
            norms = np.linalg.norm(sums / lengths[:, None], axis=1)
        order, ranks = ranking.order_within(sims, seg)
        best = order[ranks < self.settings.evidence_count]  # the evidence shown: recency is judged on it
        recency = ranking.recency(snap.pub_years[pubs[best]], date.today().year, self.settings.recency_half_life_years)
        components = {
            "topical": ranking.topical(sims, seg, config, norms),
            "strength": self._strengths(snap, rows, query.fields),
            "impact": ranking.impact(snap.h_index[rows]),
            "recency": ranking.segment_mean(recency, seg.ids[best], len(rows)),
        }
        return Ranked(rows, ranking.combine(components, weights, config.combination), components)

    @staticmethod
    def _strengths(snap: Snapshot, rows: np.ndarray, fields: Sequence[str]) -> np.ndarray:
        """The country's best strength figure over the query's fields; NaN where unknown."""
        by_country = {
            country: max((table[f].strength for f in fields if f in table), default=np.nan)
            for country, table in snap.strength.items()
        }
        return np.array([by_country.get(snap.countries[r], np.nan) for r in rows], dtype=float)

    def _explain(self, snap: Snapshot, ranked: Ranked, i: int, query: ResolvedQuery, since_year: int | None) -> Match:
        row = int(ranked.rows[i])
        pubs = snap.publication_rows(row, since_year)
        sims = self._similarities(snap, pubs, query)
        best = np.argsort(-sims, kind="stable")[: self.settings.evidence_count]
        researcher = snap.researchers[row]
        country_table = snap.strength.get(researcher.country or "", {})
        values = {name: float(ranked.components[name][i]) for name in ranking.COMPONENTS}
        return Match(
            researcher=researcher,
            score=round(float(ranked.scores[i]), 4),
            components=Components(**{k: (None if np.isnan(v) else round(v, 4)) for k, v in values.items()}),  # type: ignore[arg-type]
            evidence=[
                Evidence(snap.publications[pubs[j]].id, snap.publications[pubs[j]].title, snap.publications[pubs[j]].year, round(float(sims[j]), 4))
                for j in best
            ],
            strength={f: country_table[f] for f in query.fields if f in country_table},
            route=funding_route(researcher.country, query.fields, self.reference),
        )

    # --- public operations --------------------------------------------------------------------

    def match(
        self, snap: Snapshot, query: Query, filters: Filters | None = None, weights: Weights | None = None,
        limit: int = 10, offset: int = 0,
    ) -> MatchPage:
        filters = filters or Filters()
        stages = Stages()
        resolved = self.resolver.resolve(snap, query, filters, stages)
        stages.mark("resolve")  # what is left of resolving: a goal or researcher vector, the fields
        used_weights = self.resolver.weights(weights)
        allowed = self._allowed(snap, filters)
        if resolved.exclude_row is not None:
            allowed[resolved.exclude_row] = False
        stages.mark("filter")
        candidates = self._candidates(snap, resolved, allowed)
        stages.mark("search")
        ranked = self.rank(snap, resolved, candidates, filters.since_year, used_weights)
        floor = self.settings.multilingual_min_similarity if resolved.multilingual else self.settings.min_similarity
        kept = np.flatnonzero(ranked.components["topical"] >= floor)
        order = kept[np.lexsort((ranked.rows[kept], -ranked.scores[kept]))]  # ties: rows follow id order
        stages.mark("rank")
        matches = [self._explain(snap, ranked, int(i), resolved, filters.since_year) for i in order[offset : offset + limit]]
        stages.mark("explain")
        return MatchPage(matches, len(order), resolved, used_weights, stages.ms)

    def score(
        self, snap: Snapshot, query: Query, researcher_ids: Sequence[str], weights: Weights | None = None,
    ) -> MatchPage:
        """Scores for the given researchers, in the given order, whatever the filters would say."""
        unknown = [rid for rid in researcher_ids if rid not in snap.researcher_row]
        if unknown:
            shown = ", ".join(map(repr, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
            raise NotFound(f"{len(unknown)} researcher id(s) not in index version {snap.version}: {shown}")
        resolved = self.resolver.resolve(snap, query, Filters(include_japan=True))
        used_weights = self.resolver.weights(weights)
        rows = np.array([snap.researcher_row[rid] for rid in researcher_ids], dtype=np.int64)
        ranked = self.rank(snap, resolved, rows, None, used_weights)
        matches = [self._explain(snap, ranked, i, resolved, None) for i in range(len(ranked.rows))]
        return MatchPage(matches, len(matches), resolved, used_weights)

    def goals_for_researcher(self, snap: Snapshot, researcher_id: str) -> list[GoalFit]:
        """Each goal scored like a query against this researcher's publications (topical only)."""
        row = np.array([snap.row(researcher_id)])
        scores = [
            float(self.rank(snap, ResolvedQuery(vector, [], "goal"), row, None, TOPICAL_ONLY).scores[0])
            for vector in snap.goal_vectors
        ]
        return self._goal_fits(scores, snap)

    def goals_for_text(self, snap: Snapshot, text: str) -> list[GoalFit]:
        query = self.resolver.text(snap, text)
        goals = self.resolver.multilingual_space(snap).goal_vectors if query.multilingual else snap.goal_vectors
        return self._goal_fits([float(s) for s in goals @ query.vector], snap)

    def _goal_fits(self, scores: list[float], snap: Snapshot) -> list[GoalFit]:
        fits = []
        for goal_id, value in zip(snap.goal_ids, scores):
            goal = self.reference.goal(goal_id)
            fits.append(GoalFit(goal_id, goal.short_name if goal else str(goal_id), round(max(0.0, value), 4)))
        return sorted(fits, key=lambda g: -g.score)
