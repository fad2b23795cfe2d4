"""Matching: resolve the query to a vector and fields, retrieve candidate publications, score the
candidate researchers (service.matching.ranking), explain the best ones and flag their funding route."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from indexer.columns import distinct
from indexer.embedder import Embedder
from indexer.sparse import RowScores
from kernel.errors import InvalidInput, NotFound
from kernel.reference import Reference
from kernel.settings import RankingWeights, Settings
from service.matching import ranking
from service.matching.aspects import Aspect
from service.matching.conflicts import Conflict, conflicts_of, pi_row
from service.matching.cutoff import MatchStrength, match_strength, strength_counts, thresholds
from service.matching.diversify import DEPTH, aspect_order
from service.matching.funding import FundingHistory, funding_history
from service.matching.query import Filters, Query, TeamRules, Weights
from service.matching.resolve import AnsweredIn, QueryResolver, ResolvedQuery, answered_in
from service.matching.routes import FundingRoute, funding_route
from service.matching.screening import EMPTY, ListVersion, Screener, ScreeningHit
from service.matching.snapshot import ResearcherInfo, Snapshot, gather
from service.matching.strength import Strength
from service.matching.team import TeamCandidate, suggest_team
from service.matching.ties import JapanTies, ties_at, ties_component, ties_mask
from service.matching.timing import Stages

TOPICAL_ONLY = RankingWeights(topical=1, strength=0, impact=0, recency=0)
PUBLICATIONS_PER_MATCH = 20  # publications retrieved per match asked for, beyond candidate_publications
MAX_POOL = 100_000  # the deepest search a page may ask for (offset 5,000)
MIN_CANDIDATES, CANDIDATES_PER_MATCH = 1000, 50  # researchers ranked in full, at least and per match asked for


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
    ties: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AspectFit:
    """How a researcher serves one need of the query: its topical score, strength and best work for it."""

    aspect: int  # position in the query's aspects
    topical: float
    strength: MatchStrength
    evidence: Evidence | None

    @property
    def covered(self) -> bool:
        return self.strength != "weak"


@dataclass(frozen=True)
class Match:
    researcher: ResearcherInfo
    score: float
    components: Components
    evidence: list[Evidence]
    strength: dict[str, Strength]  # per query field, the candidate country's figures
    ties: JapanTies  # works co-authored with authors in Japan
    funding: FundingHistory  # their funders, linked to the registry
    route: FundingRoute
    conflict: Conflict | None = None  # with the query's PI, where one was named (shown only with include_conflicts)
    screening: tuple[ScreeningHit, ...] = ()  # their institutions' hits on the loaded screening lists
    match_strength: MatchStrength = "fair"  # strong, fair or weak by the topical score (service/matching/cutoff.py)
    aspects: tuple[AspectFit, ...] = ()  # per need of a multi-aspect query


@dataclass(frozen=True)
class Ranked:
    rows: np.ndarray  # researcher rows
    scores: np.ndarray
    components: dict[str, np.ndarray]  # name -> value per row, NaN where unknown


@dataclass(frozen=True)
class CountryCount:
    """How many of the matching researchers are in a country, and its route for the query's fields."""

    country: str | None
    count: int
    route: FundingRoute


@dataclass(frozen=True)
class MatchPage:
    matches: list[Match]
    count: int
    query: ResolvedQuery
    weights: RankingWeights
    answered: AnsweredIn  # the space, the model and whether the scores compare with an English query's
    stages_ms: dict[str, float] = dataclasses.field(default_factory=dict)  # where the time went
    countries: tuple[CountryCount, ...] = ()  # where all `count` matching researchers are, most first
    screened_against: tuple[ListVersion, ...] = ()  # the screening list versions the results were checked against
    strengths: dict[str, int] = dataclasses.field(default_factory=dict)  # of the `count` matches, how many are strong, fair, weak
    aspect_strengths: tuple[dict[str, int], ...] = ()  # per need of the query (query.aspects), the same counts
    team: SuggestedTeam | None = None  # a team suggested over the first results, where asked for


@dataclass(frozen=True)
class SuggestedTeam:
    """A team over the first results (diversify.DEPTH) that covers the query's needs under the rules."""

    rules: TeamRules
    members: list[Match]
    ranks: tuple[int, ...]  # each member's rank in the results
    covers: tuple[frozenset[int], ...]  # each member's needs (positions in query.aspects; 0: the whole query)
    uncovered: tuple[int, ...]  # the needs no member covers
    pool: int  # how many of the first results it was chosen from (no conflict, no screening hit)
    coverable: frozenset[int]  # the needs that someone in the pool covers

    def explanation(self, needs: Sequence[str]) -> list[str]:
        """Who covers which need, and what no one covers, in sentences (`needs`: the aspects' labels,
        or the whole query's description where it has one need)."""
        lines = []
        for m, covered in zip(self.members, self.covers):
            covers = [needs[a] for a in sorted(covered)]
            where = m.researcher.country or "country unknown"
            lines.append(f"{m.researcher.name} ({where}, {m.route.route} route): "
                         + (f"covers {', '.join(covers)}" if covers else "covers no need fairly; the best remaining by score"))
        for a in self.uncovered:
            lines.append(f"No one covers {needs[a]}: " + ("the team's rules leave out those who would" if a in self.coverable else
                                                          f"no fair or strong match for it among the first {self.pool} results"))
        if len(self.members) < self.rules.size:
            lines.append(f"{len(self.members)} of {self.rules.size} places filled: the rules leave no other candidate")
        return lines


@dataclass(frozen=True)
class GoalFit:
    goal_id: int
    short_name: str
    score: float
    strength: MatchStrength  # by the match thresholds of the space the score was taken in


class Matcher:
    def __init__(
        self, settings: Settings, reference: Reference, embedder: Callable[[], Embedder],
        multilingual: Callable[[], Embedder] | None = None, screening: Callable[[], Screener] | None = None,
    ) -> None:
        """The embedders are called only when a text must be embedded (see QueryResolver);
        `screening` gives the current screening lists (none: nothing is screened)."""
        self.settings, self.reference = settings, reference
        self.resolver = QueryResolver(settings, reference, embedder, multilingual)
        self._screening = screening or (lambda: EMPTY)

    # --- filters and retrieval ----------------------------------------------------------------

    def _allowed(self, snap: Snapshot, filters: Filters) -> np.ndarray:
        """Boolean mask over researcher rows."""
        mask = np.ones(snap.researcher_count, dtype=bool)
        if filters.countries:
            mask &= snap.country_mask(filters.countries)
        excluded = filters.excluded_countries()
        if excluded:
            mask &= ~snap.country_mask(list(excluded))
        if filters.min_h_index is not None:
            mask &= snap.h_index >= filters.min_h_index
        if filters.fields:
            wanted = [snap.field_ids.index(f) for f in filters.fields if f in snap.field_ids]
            mask &= np.isin(snap.columns.researcher_field, wanted).any(axis=1)
        if filters.exclude_institutions:
            for needle in filters.exclude_institutions:
                mask &= np.char.find(snap.institutions, needle.lower()) < 0
        rows = snap.find_rows(filters.exclude_researchers)
        mask[rows[rows >= 0]] = False
        if filters.since_year is not None:
            mask &= snap.latest_years >= filters.since_year
        if filters.japan_ties is not None:
            mask &= ties_mask(snap.japan_ties, filters.japan_ties)
        return mask

    def _candidates(self, snap: Snapshot, query: ResolvedQuery, allowed: np.ndarray, shown: int) -> tuple[np.ndarray, RowScores]:
        """Researcher rows whose publications come near the query (dense, and lexical where used),
        among the allowed ones; and what the dense search found, with its similarities. The pool
        grows with the deepest match asked for (`shown`: offset + limit), so that a later page
        is drawn from as deep a search as the first."""
        pool = max(self.settings.candidate_publications, min(PUBLICATIONS_PER_MATCH * shown, MAX_POOL))
        count = int(np.count_nonzero(allowed))
        broad = 2 * count >= snap.researcher_count
        if not broad or count <= pool or query.multilingual:  # (a broad filter's rows, a million, are not listed)
            rows = np.flatnonzero(allowed)
            if int(snap.pub_counts[rows].sum()) <= pool:
                return rows, RowScores.empty()  # few enough to score them all exactly
        k = min(pool, snap.publication_count)
        if query.multilingual:  # no FAISS index in that space: brute force over the allowed publications
            allowed_pubs, _ = snap.publications_of_rows(rows)
            sims = np.asarray(self._space(snap, query)[allowed_pubs]) @ query.vector
            found = allowed_pubs[np.argpartition(-sims, min(k, len(sims)) - 1)[:k]]
            authors = snap.authors_of(found)
            return authors[allowed[authors]], RowScores.empty()
        if broad:
            # Most researchers are allowed (the default leaves out only Japan): one plain search, a
            # little deeper by the share left out, whose other papers are dropped below. Listing the
            # allowed publications for a filtered search would cost more than the search at a million.
            deeper = min(snap.publication_count, math.ceil(k * snap.researcher_count / max(count, 1)))
            found, sims = snap.nearest(query.vector, deeper)
        else:
            found, sims = snap.nearest(query.vector, k, among=distinct(snap.publications_of_rows(rows)[0]))
        dense = RowScores.of(found, sims) if snap.exact_distances else RowScores.empty()
        if query.lexical is not None:
            found = distinct(np.concatenate((found, query.lexical.top(k))))
        return self._best_authors(snap, query, found, allowed, shown, dense), dense

    def _best_authors(self, snap: Snapshot, query: ResolvedQuery, found: np.ndarray, allowed: np.ndarray, shown: int,
                      dense: RowScores) -> np.ndarray:
        """The allowed authors of the publications found; where they are more than the page needs
        (CANDIDATES_PER_MATCH a match asked for, at least MIN_CANDIDATES), those whose best found
        publication comes nearest, so that ranking's cost follows the page, not the author lists
        (a few thousand works with hundreds of authors each would otherwise bring tens of
        thousands of researchers and all their publications into every query)."""
        if not len(found):
            return np.zeros(0, np.int64)
        entries, lengths = gather(snap.pub_author_offsets, snap.pub_author_rows, found)
        keep = allowed[entries]
        authors = distinct(entries[keep])
        wanted = max(MIN_CANDIDATES, CANDIDATES_PER_MATCH * shown)
        if len(authors) <= wanted:
            return authors
        best = np.full(snap.researcher_count, -np.inf)
        np.maximum.at(best, entries[keep], np.repeat(self._similarities(snap, found, query, dense), lengths)[keep])
        return np.sort(authors[np.argpartition(-best[authors], wanted - 1)[:wanted]])

    # --- scoring ------------------------------------------------------------------------------

    @staticmethod
    def _space(snap: Snapshot, query: ResolvedQuery) -> np.ndarray:
        """The publication vectors that the query's vector lives with."""
        return snap.multilingual.vectors if query.multilingual and snap.multilingual is not None else snap.vectors

    def _similarities(self, snap: Snapshot, pubs: np.ndarray, query: ResolvedQuery, known: RowScores | None = None) -> np.ndarray:
        """Each publication's similarity to the query: the search's where it returned them (`known`),
        computed for the rest; blended with BM25 where the ranking uses it."""
        sims = np.empty(len(pubs), dtype=np.float32)
        have = known.lookup(pubs, sims) if known is not None else np.zeros(len(pubs), dtype=bool)
        rest = np.flatnonzero(~have)
        if len(rest):
            sims[rest] = np.asarray(self._space(snap, query)[pubs[rest]]) @ query.vector
        if query.lexical is not None:
            alpha = self.settings.ranking.lexical_weight
            return (1 - alpha) * sims + alpha * query.lexical.at(pubs)
        return sims.astype(np.float64)

    def rank(
        self, snap: Snapshot, query: ResolvedQuery, rows: np.ndarray, since_year: int | None, weights: RankingWeights,
        known: RowScores | None = None,
    ) -> Ranked:
        """Scores of the given researcher rows; rows without publications in range are dropped."""
        rows = np.asarray(rows, dtype=np.int64)
        pubs, lengths = snap.publications_of_rows(rows)
        if since_year is not None:
            recent = snap.pub_years[pubs] >= since_year
            lengths = np.bincount(np.repeat(np.arange(len(rows)), lengths)[recent], minlength=len(rows))
            pubs = pubs[recent]
        rows, lengths = rows[lengths > 0], lengths[lengths > 0]
        if len(rows) == 0:
            return Ranked(rows, np.zeros(0), {name: np.zeros(0) for name in ranking.COMPONENTS})
        seg = ranking.Segments(lengths)
        sims = self._similarities(snap, pubs, query, known)
        config = self.settings.ranking
        if query.multilingual:  # the centred e5 similarities sit lower: the temperature scales with the floors
            scale = self.settings.multilingual_min_similarity / self.settings.min_similarity if self.settings.min_similarity > 0 else 1.0
            config = config.model_copy(update={"temperature": config.temperature * max(scale, 0.0)})
        norms = None
        if config.aggregation in ("profile", "hybrid"):
            if since_year is None and not query.multilingual and snap.profile_norms is not None:
                norms = np.asarray(snap.profile_norms[rows], dtype=np.float64)  # computed at build time
            else:
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
            "ties": ties_component(snap.japan_ties[rows]),
        }
        return Ranked(rows, ranking.combine(components, weights, config.combination), components)

    @staticmethod
    def _strengths(snap: Snapshot, rows: np.ndarray, fields: Sequence[str]) -> np.ndarray:
        """The country's best strength figure over the query's fields; NaN where unknown."""
        by_country = {
            country: max((table[f].strength for f in fields if f in table), default=np.nan)
            for country, table in snap.strength.items()
        }
        per_code = np.array([by_country.get(str(c), np.nan) for c in snap.country_names], dtype=float)
        return per_code[snap.country_codes[rows]]

    def _explain(self, snap: Snapshot, ranked: Ranked, positions: Sequence[int], query: ResolvedQuery, since_year: int | None,
                 known: RowScores | None = None, aspects: Sequence[ResolvedQuery] = (), aspect_topical: np.ndarray | None = None,
                 ) -> list[Match]:
        """The matches at these positions of `ranked`, with their evidence, and per need of the query
        (`aspects`, their scores `aspect_topical` aligned with `ranked`) its score and best work;
        names and titles read for them only."""
        rows = [int(ranked.rows[i]) for i in positions]
        researchers = snap.researchers.many(rows)
        evidence_rows: list[tuple[np.ndarray, np.ndarray]] = []
        aspect_best: list[list[tuple[int, float]]] = []  # per match, per aspect: its best publication and similarity
        for row in rows:
            pubs = snap.publication_rows(row, since_year)
            sims = self._similarities(snap, pubs, query, known)
            best = np.argsort(-sims, kind="stable")[: self.settings.evidence_count]
            evidence_rows.append((pubs[best], sims[best]))
            per_aspect = []
            for aspect in aspects:
                aspect_sims = self._similarities(snap, pubs, aspect)
                top = int(np.argmax(aspect_sims))
                per_aspect.append((int(pubs[top]), float(aspect_sims[top])))
            aspect_best.append(per_aspect)
        wanted = sorted({int(p) for pubs, _ in evidence_rows for p in pubs} | {p for fits in aspect_best for p, _ in fits})
        catalog = dict(zip(wanted, snap.publications.many(wanted)))  # one catalog read for the page
        funders = snap.funders_of([r.id for r in researchers])
        matches = []
        for i, researcher, (pubs, sims), per_aspect in zip(positions, researchers, evidence_rows, aspect_best):
            titles = [catalog[int(p)] for p in pubs]
            country_table = snap.strength.get(researcher.country or "", {})
            values = {name: float(ranked.components[name][i]) for name in ranking.COMPONENTS}
            matches.append(Match(
                researcher=researcher,
                score=round(float(ranked.scores[i]), 4),
                components=Components(**{k: (None if np.isnan(v) else round(v, 4)) for k, v in values.items()}),  # type: ignore[arg-type]
                evidence=[Evidence(p.id, p.title, p.year, round(float(sim), 4)) for p, sim in zip(titles, sims)],
                strength={f: country_table[f] for f in query.fields if f in country_table},
                ties=ties_at(snap.japan_ties, snap.japan_ties_year, int(ranked.rows[i])),
                funding=funding_history(funders.get(researcher.id, []), query.fields, self.reference),
                route=funding_route(researcher.country, query.fields, self.reference),
                match_strength=match_strength(max([values["topical"], *(aspect_topical[i] if aspect_topical is not None else ())]),
                                              query.multilingual, self.settings),
                aspects=tuple(self._aspect_fit(a, float(aspect_topical[i, a]), catalog[p], sim, query.multilingual)  # type: ignore[index]
                              for a, (p, sim) in enumerate(per_aspect)),
            ))
        return matches

    def _aspect_fit(self, aspect: int, topical: float, publication: Any, similarity: float, multilingual: bool) -> AspectFit:
        strength = match_strength(topical, multilingual, self.settings)
        evidence = Evidence(publication.id, publication.title, publication.year, round(similarity, 4))
        return AspectFit(aspect, round(topical, 4), strength, evidence if strength != "weak" else None)

    @staticmethod
    def aspect_query(snap: Snapshot, query: ResolvedQuery, aspect: Aspect) -> ResolvedQuery:
        """One need of the query as a query of its own (BM25 too, where the whole query uses it)."""
        lexical = snap.lexical.scores(aspect.text) if query.lexical is not None and snap.lexical is not None else None
        return dataclasses.replace(query, vector=aspect.vector, lexical=lexical, aspects=())

    def order_for_needs(self, order: np.ndarray, scores: np.ndarray, aspect_scores: np.ndarray, aspect_topical: np.ndarray,
                        multilingual: bool) -> np.ndarray:
        """`order` (positions into the ranked candidates, best first) with its first places covering
        the query's needs, by the settings (service/matching/diversify.py)."""
        return aspect_order(order, scores, aspect_scores, aspect_topical, thresholds(multilingual, self.settings)[1],
                            self.settings.aspect_diversity, most=self.settings.aspect_coverage)

    def aspect_scores(self, snap: Snapshot, aspects: Sequence[ResolvedQuery], rows: np.ndarray, since_year: int | None,
                      weights: RankingWeights, known: Sequence[RowScores] = ()) -> tuple[np.ndarray, np.ndarray]:
        """(rows, aspects) twice: each row's topical score and its score (weighted as the whole) for
        each need; `known`: per need, the similarities its search returned."""
        topical, scores = np.empty((len(rows), len(aspects))), np.empty((len(rows), len(aspects)))
        for a, aspect in enumerate(aspects):
            ranked = self.rank(snap, aspect, rows, since_year, weights, known[a] if known else None)
            assert np.array_equal(ranked.rows, rows), "every row ranked for the whole has publications for each need"
            topical[:, a], scores[:, a] = ranked.components["topical"], ranked.scores
        return topical, scores

    # --- public operations --------------------------------------------------------------------

    def match(
        self, snap: Snapshot, query: Query, filters: Filters | None = None, weights: Weights | None = None,
        limit: int = 10, offset: int = 0, team: TeamRules | None = None,
    ) -> MatchPage:
        """A page of matches. A query with several needs (aspects) draws candidates for each, scores
        each candidate per need, and orders its first results to cover every need that has good
        candidates (service/matching/diversify.py); `team` also suggests a team over the first results."""
        filters = filters or Filters()
        stages = Stages()
        resolved = self.resolver.resolve(snap, query, filters, stages)
        stages.mark("resolve")  # what is left of resolving: a goal or researcher vector, the fields
        used_weights = self.resolver.weights(weights)
        allowed = self._allowed(snap, filters)
        if resolved.exclude_row is not None:
            allowed[resolved.exclude_row] = False
        conflicts: dict[int, Conflict] = {}
        if filters.pi is not None:
            pi = pi_row(snap, filters.pi)
            conflicts = conflicts_of(snap, pi, self._conflicts_since())
            allowed[pi] = False  # never the PI's own partner
            if not filters.include_conflicts:
                allowed[list(conflicts)] = False
        stages.mark("filter")
        depth = max(offset + limit, DEPTH) if team is not None else offset + limit  # a team is chosen from the first DEPTH
        candidates, known = self._candidates(snap, resolved, allowed, depth)
        aspects = [self.aspect_query(snap, resolved, a) for a in resolved.aspects]
        aspects_known = []
        for aspect in aspects:  # each need's own candidates, or one the whole query ranks low never reaches the page
            found, dense = self._candidates(snap, aspect, allowed, depth)
            candidates = distinct(np.concatenate((candidates, found)))
            aspects_known.append(dense)
        stages.mark("search")
        ranked = self.rank(snap, resolved, candidates, filters.since_year, used_weights, known)
        aspect_topical, aspect_scores = self.aspect_scores(snap, aspects, ranked.rows, filters.since_year, used_weights, aspects_known)
        topical = np.maximum(ranked.components["topical"], aspect_topical.max(axis=1)) if aspects else ranked.components["topical"]
        floor = self.settings.multilingual_min_similarity if resolved.multilingual else self.settings.min_similarity
        kept = np.flatnonzero(topical >= floor)
        order = kept[np.lexsort((ranked.rows[kept], -ranked.scores[kept]))]  # ties: rows follow id order
        order = self.order_for_needs(order, ranked.scores, aspect_scores, aspect_topical, resolved.multilingual)
        stages.mark("rank")
        screener = self._screening()
        if screener and filters.screened == "exclude":  # every match screened, so that the count and the pages leave them out
            listed = self.screen(snap, screener, [int(r) for r in ranked.rows[order]])
            order = order[[not listed[int(r)] for r in ranked.rows[order]]]
        stages.mark("screen")

        def explain(positions: Sequence[int]) -> list[Match]:
            shown = self._explain(snap, ranked, [int(i) for i in positions], resolved, filters.since_year, known, aspects, aspect_topical)
            hits = self.screen(snap, screener, [snap.row(m.researcher.id) for m in shown]) if screener else {}
            return [dataclasses.replace(m, conflict=conflicts.get(row), screening=hits.get(row, ()))
                    for m, row in ((m, snap.row(m.researcher.id)) for m in shown)]

        matches = explain(order[offset : offset + limit])
        stages.mark("explain")
        suggested = None
        if team is not None:
            suggested = self._team(snap, order[:DEPTH], resolved, team, conflicts, explain)
            stages.mark("team")
        countries = self._by_country(snap, ranked.rows[order], resolved.fields)
        strengths = strength_counts(topical[order], resolved.multilingual, self.settings)
        per_aspect = tuple(strength_counts(aspect_topical[order, a], resolved.multilingual, self.settings) for a in range(len(aspects)))
        return MatchPage(matches, len(order), resolved, used_weights, answered_in(snap, resolved), stages.ms, countries,
                         screener.versions, strengths, per_aspect, suggested)

    @staticmethod
    def _team(snap: Snapshot, pool: np.ndarray, query: ResolvedQuery, rules: TeamRules, conflicts: dict[int, Conflict],
              explain: Callable[[Sequence[int]], list[Match]]) -> SuggestedTeam:
        """The best team among the first results: never a researcher in conflict with the PI, nor
        one whose institution is on a screening list (they stay in the results, flagged)."""
        usable = [(rank, m) for rank, m in enumerate(explain(pool), start=1) if snap.row(m.researcher.id) not in conflicts and not m.screening]
        matches = [m for _, m in usable]
        aspects = max(len(query.aspects), 1)
        candidates = [
            TeamCandidate(
                score=m.score,
                covers=frozenset(f.aspect for f in m.aspects if f.covered) if query.aspects else
                frozenset({0} if m.match_strength != "weak" else ()),
                country=m.researcher.country or "", direct=m.route.route == "direct")
            for m in matches
        ]
        chosen = suggest_team(candidates, aspects, rules)
        return SuggestedTeam(rules, [matches[i] for i in chosen.members], tuple(usable[i][0] for i in chosen.members),
                             tuple(candidates[i].covers for i in chosen.members), chosen.uncovered, len(matches),
                             frozenset().union(*(c.covers for c in candidates)))

    def screened(self, snap: Snapshot, researcher_id: str) -> tuple[tuple[ScreeningHit, ...], tuple[ListVersion, ...]]:
        """One researcher's screening hits, and the list versions they were screened against."""
        screener, row = self._screening(), snap.row(researcher_id)
        return (self.screen(snap, screener, [row])[row] if screener else ()), screener.versions

    def screen(self, snap: Snapshot, screener: Screener, rows: Sequence[int]) -> dict[int, tuple[ScreeningHit, ...]]:
        """Per researcher row, the screening hits of their recent institutions (by OpenAlex's names
        of them, else the name on their profile), in their institution's country."""
        researchers = snap.researchers.many(list(rows))
        names = snap.institution_names_of([r.id for r in researchers], date.today().year - self.settings.screening_years)
        found: dict[int, tuple[ScreeningHit, ...]] = {}
        for row, researcher in zip(rows, researchers):
            by_institution: dict[str, tuple[list[str], str | None]] = {}
            for institution_id, name, country in names.get(researcher.id, []):
                by_institution.setdefault(institution_id, ([], country or researcher.country))[0].append(name)
            if not by_institution and researcher.institution:
                by_institution[""] = ([researcher.institution], researcher.country)
            hits = [h for named, country in by_institution.values() for h in screener.screen(named, country)]
            found[row] = tuple(sorted({(h.list_id, h.entry_id): h for h in sorted(hits, key=lambda h: h.score)}.values(),
                                      key=lambda h: (-h.score, h.list_name, h.entry_id)))
        return found

    def _conflicts_since(self) -> int:
        return date.today().year - self.settings.conflict_years

    def conflict_with(self, snap: Snapshot, researcher_id: str, pi: str) -> tuple[str, Conflict | None]:
        """The PI's researcher id (`pi` as `Filters.pi` takes it) and the researcher's conflict of
        interest with them, if any."""
        row, found = snap.row(researcher_id), pi_row(snap, pi)
        return str(snap.researcher_ids[found]), conflicts_of(snap, found, self._conflicts_since()).get(row)

    def _by_country(self, snap: Snapshot, rows: np.ndarray, fields: Sequence[str]) -> tuple[CountryCount, ...]:
        counts = np.bincount(snap.country_codes[rows], minlength=len(snap.country_names))
        found = sorted(((str(snap.country_names[i]) or None, int(n)) for i, n in enumerate(counts) if n),
                       key=lambda c: (-c[1], c[0] or "~"))  # unknown last among equals
        return tuple(CountryCount(country, n, funding_route(country, fields, self.reference)) for country, n in found)

    def score(
        self, snap: Snapshot, query: Query, researcher_ids: Sequence[str], weights: Weights | None = None,
    ) -> MatchPage:
        """Scores for the given researchers, in the given order, whatever the filters would say."""
        found = snap.find_rows(list(researcher_ids))
        unknown = [rid for rid, row in zip(researcher_ids, found) if row < 0]
        if unknown:
            shown = ", ".join(map(repr, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
            raise NotFound(f"{len(unknown)} researcher id(s) not in index version {snap.version}: {shown}")
        if query.aspects:
            raise InvalidInput("aspects order a list of matches; scores of given researchers are for the whole query")
        resolved = self.resolver.resolve(snap, query, Filters(include_japan=True), needs=False)
        used_weights = self.resolver.weights(weights)
        ranked = self.rank(snap, resolved, found, None, used_weights)
        matches = self._explain(snap, ranked, list(range(len(ranked.rows))), resolved, None)
        return MatchPage(matches, len(matches), resolved, used_weights, answered_in(snap, resolved))

    def goals_for_researcher(self, snap: Snapshot, researcher_id: str) -> list[GoalFit]:
        """Each goal scored like a query against this researcher's publications (topical only)."""
        row = np.array([snap.row(researcher_id)])
        scores = [
            float(self.rank(snap, ResolvedQuery(vector, [], "goal"), row, None, TOPICAL_ONLY).scores[0])
            for vector in snap.goal_vectors
        ]
        return self._goal_fits(scores, snap, multilingual=False)

    def goals_for_text(self, snap: Snapshot, text: str) -> list[GoalFit]:
        query = self.resolver.text(snap, text)
        goals = self.resolver.multilingual_space(snap).goal_vectors if query.multilingual else snap.goal_vectors
        return self._goal_fits([float(s) for s in goals @ query.vector], snap, query.multilingual)

    def _goal_fits(self, scores: list[float], snap: Snapshot, multilingual: bool) -> list[GoalFit]:
        fits = []
        for goal_id, value in zip(snap.goal_ids, scores):
            goal = self.reference.goal(goal_id)
            fits.append(GoalFit(goal_id, goal.short_name if goal else str(goal_id), round(max(0.0, value), 4),
                                match_strength(value, multilingual, self.settings)))
        return sorted(fits, key=lambda g: -g.score)
