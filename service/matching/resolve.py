"""The one query resolver: what a query (a text, a Moonshot goal, a researcher) and its filters
become before retrieval and ranking: a vector in the space it is matched in, the query's fields,
the BM25 scores of a text, the researcher to leave out of "more like this". The matcher and
`kakehashi evaluate` both resolve through here, so the evaluation measures the production path."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from indexer.embedder import ENGLISH_ONLY_MODELS, Embedder
from indexer.sparse import RowScores
from kernel.errors import InvalidInput, NotFound
from kernel.reference import Reference
from kernel.settings import RankingWeights, Settings
from service.matching.aspects import Aspect, find_aspects, given_aspects
from service.matching.fields import query_fields
from service.matching.language import is_japanese
from service.matching.query import Filters, Query, Weights
from service.matching.snapshot import MultilingualSpace, Snapshot
from service.matching.timing import Stages


@dataclass(frozen=True)
class ResolvedQuery:
    vector: np.ndarray
    fields: list[str]
    description: str
    exclude_row: int | None = None  # the researcher of a "more like this" query
    lexical: RowScores | None = None  # normalised BM25 of the publications holding a term, for text queries
    multilingual: bool = False  # a Japanese query, matched in the multilingual space
    aspects: tuple[Aspect, ...] = ()  # its needs, where it states several (service/matching/aspects.py)


@dataclass(frozen=True)
class AnsweredIn:
    """Which space answered a query, said with every answer: the model that embedded the query and
    the publications it was compared with, what that model read of them, and whether the scores
    stand on the same scale as an English query's (a Japanese query's do not: another model)."""

    space: str  # "main" or "multilingual"
    model: str
    publication_text: str  # the main space's "title_abstract" or "title"; the multilingual space's "title+title_lead" or "title"
    comparable_with_english: bool

    @property
    def note(self) -> str:
        if self.comparable_with_english:
            return ""
        return (f"Matched in the multilingual space ({self.model}, over each publication's "
                f"{'title, and its title with the lead of its abstract' if self.publication_text == 'title+title_lead' else 'title'}): "
                "its scores are on that model's scale and do not compare with those of English queries.")


def answered_in(snap: Snapshot, query: ResolvedQuery) -> AnsweredIn:
    if query.multilingual and snap.multilingual is not None:
        return AnsweredIn("multilingual", snap.multilingual.model, snap.multilingual.text, comparable_with_english=False)
    return AnsweredIn("main", snap.model, snap.manifest.get("embed_text", "title_abstract"), comparable_with_english=True)


MEANINGFUL = re.compile(r"[^\W\d_]{2,}|[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")  # a word of two letters, or one CJK or Hangul character


class QueryResolver:
    def __init__(
        self, settings: Settings, reference: Reference, embedder: Callable[[], Embedder],
        multilingual: Callable[[], Embedder] | None = None,
    ) -> None:
        """The embedders are called only when a text must be embedded: goal and researcher
        queries never load a model, English ones never the multilingual one."""
        self.settings, self.reference, self._embedder, self._multilingual = settings, reference, embedder, multilingual

    def resolve(self, snap: Snapshot, query: Query, filters: Filters, stages: Stages | None = None, needs: bool = True) -> ResolvedQuery:
        """`needs`: also the query's needs (aspects), given or found in its text."""
        self._check_fields(filters.fields)
        if query.text is not None:
            resolved = self.text(snap, query.text, stages)
        elif query.goal_id is not None:
            goal = self.reference.goal(query.goal_id)
            if goal is None:
                raise NotFound(f"no Moonshot goal {query.goal_id}; goals are 1-{len(self.reference.goals)}")
            vector = snap.goal_vectors[snap.goal_ids.index(goal.id)]
            resolved = ResolvedQuery(vector, list(goal.fields), f"goal {goal.id}: {goal.short_name}")
        else:
            row = snap.row(query.researcher_id or "")
            mean = np.asarray(snap.vectors[snap.publication_rows(row)]).mean(axis=0)
            vector = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
            fields = [f for f, _ in snap.researchers[row].fields][: self.settings.max_fields_per_query]
            resolved = ResolvedQuery(vector, fields, f"more like {query.researcher_id}", exclude_row=row)
        if needs and query.aspects:
            if not resolved.multilingual and self.settings.model in ENGLISH_ONLY_MODELS and any(is_japanese(a) for a in query.aspects):
                raise InvalidInput("aspects in Japanese need a query in Japanese (the English model cannot read them): "
                                   "write the needs in the query's language")
            resolved = dataclasses.replace(resolved, aspects=tuple(given_aspects(query.aspects, self._encoder(snap, resolved.multilingual))))
        elif needs and query.text is not None and self.settings.aspects:
            found = find_aspects(query.text, self._encoder(snap, resolved.multilingual), self.settings.aspect_merge_similarity)
            resolved = dataclasses.replace(resolved, aspects=tuple(found))
        if filters.fields:
            resolved = dataclasses.replace(resolved, fields=list(filters.fields))
        return resolved

    def _encoder(self, snap: Snapshot, multilingual: bool) -> Callable[[list[str]], np.ndarray]:
        """Texts to query vectors in the space the query is matched in."""
        if multilingual:
            space, model = self.multilingual_space(snap), self._multilingual()  # type: ignore[misc]
            return lambda texts: np.stack([space.joined_query(model.encode_query(t)) for t in texts])
        embedder = self._embedder()
        return lambda texts: embedder.encode(texts)

    def text(self, snap: Snapshot, text: str, stages: Stages | None = None) -> ResolvedQuery:
        """English (or any text the main model reads) in the main space; Japanese, where the main
        model reads English only, in the multilingual space."""
        if len(text) > self.settings.max_query_chars:
            raise InvalidInput(f"query text is {len(text)} characters; the limit is {self.settings.max_query_chars}")
        if not MEANINGFUL.search(text):
            raise InvalidInput("the description has no words to match (only symbols, emoji, numbers or single letters): "
                               "describe the project in words, in English or Japanese")
        if self.settings.model in ENGLISH_ONLY_MODELS and is_japanese(text):
            space = self.multilingual_space(snap)
            vector = space.joined_query(self._multilingual().encode_query(text))  # type: ignore[misc]
            fields = query_fields(vector, space.field_vectors, snap.field_ids, self.settings.max_fields_per_query)
            return ResolvedQuery(vector, fields, "text (Japanese: multilingual model)", multilingual=True)
        vector = self._embedder().encode_query(text)
        if stages:
            stages.mark("embed")
        fields = query_fields(vector, snap.field_vectors, snap.field_ids, self.settings.max_fields_per_query)
        lexical = snap.lexical.scores(text) if snap.lexical is not None and self.settings.ranking.lexical_weight > 0 else None
        if stages:
            stages.mark("lexical")
        return ResolvedQuery(vector, fields, "text", lexical=lexical)

    def multilingual_space(self, snap: Snapshot) -> MultilingualSpace:
        space = snap.multilingual
        if space is None or self._multilingual is None or space.model != self.settings.multilingual_model:
            raise InvalidInput(
                f"the query is in Japanese, but the embedding model {self.settings.model!r} reads English only and index "
                f"version {snap.version} has no multilingual space for Japanese queries; describe the project in English, "
                "or set KAKEHASHI_MULTILINGUAL=true and run `kakehashi index build`"
            )
        return space

    def weights(self, override: Weights | None) -> RankingWeights:
        if override is None:
            return self.settings.weights
        try:
            return override.over(self.settings.weights)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None

    def _check_fields(self, fields: Sequence[str]) -> None:
        unknown = [f for f in fields if f not in self.reference.field_ids]
        if unknown:
            raise InvalidInput(f"unknown field(s) {unknown}; known fields: {', '.join(self.reference.field_ids)}")
