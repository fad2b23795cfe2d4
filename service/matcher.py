"""Matching: resolve the query to a vector and fields, retrieve candidate publications from FAISS,
aggregate per researcher, rank, explain, flag the funding route."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import faiss
import numpy as np

from indexer.embedder import Embedder
from indexer.errors import InvalidInput, NotFound
from indexer.reference import Reference
from indexer.settings import RankingWeights, Settings
from service import ranking
from service.fields import query_fields
from service.query import Filters, Query, Weights
from service.routes import FundingRoute, funding_route
from service.snapshot import ResearcherInfo, Snapshot
from service.strength import Strength


@dataclass(frozen=True)
class Evidence:
    publication_id: str
    title: str
    year: int | None
    similarity: float


@dataclass(frozen=True)
class Match:
    researcher: ResearcherInfo
    score: float
    components: ranking.Components
    evidence: list[Evidence]
    strength: dict[str, Strength]  # per query field, the candidate country's figures
    route: FundingRoute


@dataclass(frozen=True)
class ResolvedQuery:
    vector: np.ndarray
    fields: list[str]
    description: str
    exclude_row: int | None = None  # the researcher of a "more like this" query


@dataclass(frozen=True)
class MatchPage:
    matches: list[Match]
    count: int
    query: ResolvedQuery
    weights: RankingWeights


@dataclass(frozen=True)
class GoalFit:
    goal_id: int
    short_name: str
    score: float


class Matcher:
    def __init__(self, settings: Settings, reference: Reference, embedder: Callable[[], Embedder]) -> None:
        """`embedder` is called only when a text must be embedded: goal and researcher queries
        never load the model."""
        self.settings, self.reference, self._embedder = settings, reference, embedder

    # --- the query --------------------------------------------------------------------------

    def _embed(self, text: str) -> np.ndarray:
        if len(text) > self.settings.max_query_chars:
            raise InvalidInput(f"query text is {len(text)} characters; the limit is {self.settings.max_query_chars}")
        return self._embedder().encode([text])[0]

    def researcher_row(self, snap: Snapshot, researcher_id: str) -> int:
        row = snap.researcher_row.get(researcher_id)
        if row is None:
            raise NotFound(f"no researcher with id {researcher_id!r} in index version {snap.version}")
        return row

    def resolve(self, snap: Snapshot, query: Query, filters: Filters) -> ResolvedQuery:
        self._check_fields(filters.fields)
        if query.text is not None:
            vector = self._embed(query.text)
            fields = query_fields(vector, snap.field_vectors, snap.field_ids, self.settings.max_fields_per_query)
            resolved = ResolvedQuery(vector, fields, "text")
        elif query.goal_id is not None:
            goal = self.reference.goal(query.goal_id)
            if goal is None:
                raise NotFound(f"no Moonshot goal {query.goal_id}; goals are 1-{len(self.reference.goals)}")
            vector = snap.goal_vectors[snap.goal_ids.index(goal.id)]
            resolved = ResolvedQuery(vector, list(goal.fields), f"goal {goal.id}: {goal.short_name}")
        else:
            row = self.researcher_row(snap, query.researcher_id or "")
            vecs = np.asarray(snap.vectors[snap.researcher_pubs[row]])
            mean = vecs.mean(axis=0)
            vector = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
            fields = [f for f, _ in snap.researchers[row].fields][: self.settings.max_fields_per_query]
            resolved = ResolvedQuery(vector, fields, f"more like {query.researcher_id}", exclude_row=row)
        if filters.fields:
            resolved = ResolvedQuery(resolved.vector, list(filters.fields), resolved.description, resolved.exclude_row)
        return resolved

    def _check_fields(self, fields: Sequence[str]) -> None:
        unknown = [f for f in fields if f not in self.reference.field_ids]
        if unknown:
            raise InvalidInput(f"unknown field(s) {unknown}; known fields: {', '.join(self.reference.field_ids)}")

    def weights(self, override: Weights | None) -> RankingWeights:
        if override is None:
            return self.settings.weights
        try:
            return override.over(self.settings.weights)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None

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
            recent = np.array([bool((snap.pub_years[p] >= filters.since_year).any()) for p in snap.researcher_pubs], dtype=bool)
            mask &= recent
        return mask

    def _candidates(self, snap: Snapshot, vector: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """Researcher rows whose publications come near the query, among the allowed ones."""
        rows = np.flatnonzero(allowed)
        pool = self.settings.candidate_publications
        allowed_pubs = np.concatenate([snap.researcher_pubs[r] for r in rows]) if len(rows) else np.zeros(0, np.int64)
        if len(allowed_pubs) <= pool:
            return rows  # few enough to score them all exactly
        k = min(pool, snap.index.ntotal)
        if len(rows) == len(snap.researchers):
            _, hits = snap.index.search(vector[None, :], k)
        else:
            selector = faiss.IDSelectorBatch(np.unique(allowed_pubs))
            _, hits = snap.index.search(vector[None, :], k, params=faiss.SearchParameters(sel=selector))
        found = hits[0][hits[0] >= 0]
        authors = np.unique(np.concatenate([snap.pub_authors[p] for p in found])) if len(found) else np.zeros(0, np.int64)
        return authors[allowed[authors]]

    # --- scoring ------------------------------------------------------------------------------

    def _score(
        self, snap: Snapshot, row: int, query: ResolvedQuery, filters: Filters, weights: RankingWeights,
    ) -> Match | None:
        pubs = snap.researcher_pubs[row]
        if filters.since_year is not None:
            pubs = pubs[snap.pub_years[pubs] >= filters.since_year]
        if len(pubs) == 0:
            return None
        sims = np.asarray(snap.vectors[pubs]) @ query.vector
        order = np.argsort(-sims, kind="stable")[: self.settings.evidence_count]
        evidence = [
            Evidence(snap.publications[pubs[i]].id, snap.publications[pubs[i]].title, snap.publications[pubs[i]].year, round(float(sims[i]), 4))
            for i in order
        ]
        researcher = snap.researchers[row]
        strengths = {f: snap.strength[researcher.country][f] for f in query.fields if researcher.country in snap.strength}
        components = ranking.Components(
            topical=ranking.topical(sims),
            strength=max((s.strength for s in strengths.values()), default=None) if researcher.country else None,
            impact=ranking.impact(researcher.h_index),
            recency=ranking.recency([e.year or 0 for e in evidence], date.today().year, self.settings.recency_half_life_years),
        )
        return Match(
            researcher=researcher,
            score=round(ranking.combine(components, weights), 4),
            components=components,
            evidence=evidence,
            strength=strengths,
            route=funding_route(researcher.country, query.fields, self.reference),
        )

    # --- public operations --------------------------------------------------------------------

    def match(
        self, snap: Snapshot, query: Query, filters: Filters | None = None, weights: Weights | None = None,
        limit: int = 10, offset: int = 0,
    ) -> MatchPage:
        filters = filters or Filters()
        resolved = self.resolve(snap, query, filters)
        used_weights = self.weights(weights)
        allowed = self._allowed(snap, filters)
        if resolved.exclude_row is not None:
            allowed[resolved.exclude_row] = False
        ranked = []
        for row in self._candidates(snap, resolved.vector, allowed):
            found = self._score(snap, int(row), resolved, filters, used_weights)
            if found is not None and found.components.topical >= self.settings.min_similarity:
                ranked.append(found)
        ranked.sort(key=lambda m: (-m.score, m.researcher.id))
        return MatchPage(ranked[offset : offset + limit], len(ranked), resolved, used_weights)

    def score(
        self, snap: Snapshot, query: Query, researcher_ids: Sequence[str], weights: Weights | None = None,
    ) -> MatchPage:
        """Scores for the given researchers, in the given order, whatever the filters would say."""
        unknown = [rid for rid in researcher_ids if rid not in snap.researcher_row]
        if unknown:
            shown = ", ".join(map(repr, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
            raise NotFound(f"{len(unknown)} researcher id(s) not in index version {snap.version}: {shown}")
        filters = Filters(include_japan=True)
        resolved = self.resolve(snap, query, filters)
        used_weights = self.weights(weights)
        scored = [self._score(snap, snap.researcher_row[rid], resolved, filters, used_weights) for rid in researcher_ids]
        matches = [m for m in scored if m is not None]
        return MatchPage(matches, len(matches), resolved, used_weights)

    def goals_for_researcher(self, snap: Snapshot, researcher_id: str) -> list[GoalFit]:
        row = self.researcher_row(snap, researcher_id)
        sims = np.asarray(snap.vectors[snap.researcher_pubs[row]]) @ snap.goal_vectors.T  # pubs x goals
        return self._goal_fits([ranking.topical(sims[:, g]) for g in range(len(snap.goal_ids))], snap)

    def goals_for_text(self, snap: Snapshot, text: str) -> list[GoalFit]:
        sims = snap.goal_vectors @ self._embed(text)
        return self._goal_fits([float(s) for s in sims], snap)

    def _goal_fits(self, scores: list[float], snap: Snapshot) -> list[GoalFit]:
        fits = []
        for goal_id, value in zip(snap.goal_ids, scores):
            goal = self.reference.goal(goal_id)
            fits.append(GoalFit(goal_id, goal.short_name if goal else str(goal_id), round(max(0.0, value), 4)))
        return sorted(fits, key=lambda g: -g.score)
