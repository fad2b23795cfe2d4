"""Run ranking configurations over the evaluation sets and tabulate the metrics."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexer.embedder import Embedder, ProgressFn
from kernel.paths import CROSSLINGUAL_QUERIES, DEMO_LABELS, GRADED_QUERIES, OPENALEX_SAMPLE
from kernel.settings import RankingConfig, RankingWeights, Settings
from service.evaluation import metrics
from service.evaluation.sets import EvalSet, crosslingual_set, goal_field_set, graded_set, held_out_set, multi_aspect_set, read_labels
from service.matching import cutoff
from service.matching.matcher import TOPICAL_ONLY, Matcher
from service.matching.query import Filters
from service.matching.snapshot import Snapshot, load_newest
from service.runtime import Runtime

DEFAULT = RankingConfig()
COMPONENT_WEIGHTS = RankingWeights(topical=0.75, strength=0.10, impact=0.10, recency=0.05)


@dataclass(frozen=True)
class Configuration:
    name: str
    description: str
    ranking: RankingConfig = field(default_factory=RankingConfig)
    weights: RankingWeights = TOPICAL_ONLY
    embed_text: str = "title_abstract"


DENSE = {"lexical_weight": 0.0}
CONFIGURATIONS = [
    Configuration("profile", "baseline: one profile vector per researcher (mean of publication vectors)",
                  RankingConfig(aggregation="profile", **DENSE)),
    Configuration("max", "the best single publication", RankingConfig(aggregation="max", **DENSE)),
    Configuration("harmonic3", "(s1 + s2/2 + s3/3) / (1 + 1/2 + 1/3) over the best three publications",
                  RankingConfig(aggregation="harmonic3", **DENSE)),
    Configuration("logsumexp", "0.05 log(sum exp(s / 0.05)) over the best ten publications (a smooth maximum)",
                  RankingConfig(aggregation="logsumexp", **DENSE)),
    Configuration("hybrid-max", "0.7 profile + 0.3 max", RankingConfig(temperature=0, **DENSE)),
    Configuration("hybrid", "0.7 profile + 0.3 logsumexp", RankingConfig(**DENSE)),
    Configuration("profile+bm25", "profile over 0.8 dense + 0.2 normalised BM25 per publication",
                  RankingConfig(aggregation="profile")),
    Configuration("hybrid-max+bm25", "hybrid-max over 0.8 dense + 0.2 normalised BM25 per publication",
                  RankingConfig(temperature=0)),
    Configuration("default", "hybrid over 0.8 dense + 0.2 normalised BM25 per publication (the default)", DEFAULT),
    Configuration("default-title", "the default with publications embedded by title only", DEFAULT, embed_text="title"),
    Configuration("default+recency", "the default with a recency component (weights 0.9 / 0.1, gated)",
                  DEFAULT, RankingWeights(topical=0.9, strength=0, impact=0, recency=0.1)),
    Configuration("default+ties", "the default with ties to Japan (works co-authored with authors in Japan; 0.9 / 0.1, gated)",
                  DEFAULT, RankingWeights(topical=0.9, strength=0, impact=0, recency=0, ties=0.1)),
    Configuration("default+signals-mean", "the default with country strength, impact, recency (0.75/0.10/0.10/0.05), weighted mean",
                  RankingConfig(combination="weighted_mean"), COMPONENT_WEIGHTS),
    Configuration("default+signals-gated", "the same signals, gated: topical x weighted mean of the others",
                  DEFAULT, COMPONENT_WEIGHTS),
]
BASELINE = "profile"
CALIBRATION_TOP = 20


@dataclass(frozen=True)
class Row:
    configuration: str
    set: str
    queries: int
    hits1: float
    hits5: float
    hits10: float
    mrr: float
    ndcg10: float
    loss: float | None
    index_version: str
    model: str
    distinct_first: int = 0  # how many different researchers come first over the set's queries (hubness: few is bad)
    # the set's main figure (pair loss on graded sets, else MRR) minus the baseline's, paired over
    # the same queries, with a 95% bootstrap interval; None when the baseline was not run
    versus_baseline: tuple[float, float, float] | None = None
    coverage10: float | None = None  # multi-aspect sets: the share of queries with a relevant researcher of every aspect in the first 10
    aspect_mrr: float | None = None  # and the reciprocal rank of each aspect's first relevant researcher, averaged
    split_share: float = 0.0  # the share of queries in which several needs were found (and the order diversified)


class MemoEmbedder:
    """An embedder that keeps every query vector it made: each configuration resolves its queries
    through the production resolver, and no query text is embedded twice."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder, self.name = embedder, embedder.name
        self.precision = getattr(embedder, "precision", None)  # the index build keys reused vectors by it
        self._queries: dict[str, np.ndarray] = {}

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    def encode(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        return self.embedder.encode(texts, progress)

    def encode_query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = self.embedder.encode_query(text)
        return self._queries[text]


class States:
    """Evaluation states (store + index) under `<data_dir>/evaluation/`, built once and reused."""

    def __init__(self, settings: Settings, embedder: Embedder, multilingual: Embedder, progress: Callable | None = None) -> None:
        self.settings, self.embedder, self.multilingual, self.progress = settings, embedder, multilingual, progress
        self.root = settings.data_dir / "evaluation"
        self._snapshots: dict[tuple[str, str], Snapshot] = {}

    def snapshot(self, corpus: str, source: Path, embed_text: str, multilingual: bool = False) -> Snapshot:
        key = (corpus, embed_text)
        if key not in self._snapshots:
            settings = self.settings.model_copy(update={
                "data_dir": self.root / f"{corpus}-{embed_text}", "embed_text": embed_text, "multilingual": multilingual,
            })
            runtime = Runtime(settings, self.embedder, self.multilingual)
            runtime.ingest(source)
            runtime.build_index(self.progress)
            snap, problems = load_newest(settings.index_root, self.embedder.name, lexical=True)
            if snap is None:
                raise RuntimeError(f"evaluation state {corpus}-{embed_text} has no usable index: {problems}")
            self._snapshots[key] = snap
        return self._snapshots[key]


def demo_subset(source: Path, target: Path, researchers: int) -> Path:
    """The first `researchers` records of the demo corpus, for the quick tier."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        lines = [line for _, line in zip(range(researchers), handle)]
    target.write_text("".join(lines), encoding="utf-8")
    return target


def _same_path(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


class Evaluation:
    def __init__(self, runtime: Runtime, openalex: Path | None, quick: bool, progress: Callable | None = None,
                 split: str | None = None) -> None:
        """`split`: only that half (dev or test) of the cross-lingual set."""
        self.runtime = runtime
        self.quick = quick
        self.split = split
        self.openalex = openalex
        self.embedder, self.multilingual = MemoEmbedder(runtime.embedder), MemoEmbedder(runtime.multilingual)
        self.states = States(runtime.settings, self.embedder, self.multilingual, progress)
        self.labels = read_labels(DEMO_LABELS)
        self.demo = runtime.demo_corpus if not quick else demo_subset(
            runtime.demo_corpus, self.states.root / "demo-quick.jsonl", researchers=300)
        self._sets: dict[tuple[str, str], EvalSet] = {}
        # per (configuration, set): (topical score, relevant) of each query's first results, for the match strength's calibration
        self.shown: defaultdict[tuple[str, str], list[tuple[float, bool]]] = defaultdict(list)
        self.relevant_topical: defaultdict[tuple[str, str], list[float]] = defaultdict(list)  # every relevant researcher's

    def sets(self, embed_text: str) -> list[EvalSet]:
        names = (["held_out", "multi_aspect"] if self.openalex else []) + ["goal_field", "graded"]
        if embed_text == "title_abstract":  # the sets in Japanese, and their English twins
            # the cross-lingual set describes works of the shipped OpenAlex sample: only over that corpus
            names += ["graded_ja"] + (["crosslingual_en", "crosslingual_ja"] if self.openalex and _same_path(self.openalex, OPENALEX_SAMPLE) else [])
        return [self._set(name, embed_text) for name in names]

    def _set(self, name: str, embed_text: str) -> EvalSet:
        key = (name, embed_text)
        if key not in self._sets:
            corpus = "demo-quick" if self.quick else "demo"
            demo = self.states.snapshot(corpus, self.demo, embed_text, multilingual=embed_text == "title_abstract")
            if name in ("held_out", "multi_aspect", "crosslingual_en", "crosslingual_ja"):
                snap = self.states.snapshot("openalex", self.openalex, embed_text, multilingual=embed_text == "title_abstract")  # type: ignore[arg-type]
                if name == "held_out":
                    self._sets[key] = held_out_set(snap, limit=60 if self.quick else None)
                elif name == "multi_aspect":
                    self._sets[key] = multi_aspect_set(snap, limit=10 if self.quick else None)
                else:
                    self._sets[key] = crosslingual_set(snap, CROSSLINGUAL_QUERIES, japanese=name.endswith("_ja"), split=self.split)
            elif name == "goal_field":
                self._sets[key] = goal_field_set(demo, self.runtime.reference, self.labels)
            else:
                self._sets[key] = graded_set(demo, GRADED_QUERIES, self.labels, japanese=name == "graded_ja")
        return self._sets[key]

    def run(self, configurations: list[Configuration], only: Sequence[str] = (), settings: Settings | None = None) -> list[Row]:
        """Every set (or `only` these) under each configuration; `settings`: other than the runtime's."""
        results: list[tuple[Row, np.ndarray]] = []
        for config in configurations:
            chosen = (settings or self.runtime.settings).model_copy(update={"ranking": config.ranking, "weights": config.weights})
            matcher = Matcher(chosen, self.runtime.reference, lambda: self.embedder, lambda: self.multilingual)
            for eval_set in self.sets(config.embed_text):
                if not only or eval_set.name in only:
                    results.append(self._evaluate(matcher, config, eval_set))
        baselines = {row.set: main for row, main in results if row.configuration == BASELINE}
        return [
            dataclasses.replace(row, versus_baseline=tuple(round(x, 4) for x in metrics.paired_bootstrap(main, baselines[row.set])))
            if row.set in baselines and row.configuration != BASELINE else row
            for row, main in results
        ]

    def _evaluate(self, matcher: Matcher, config: Configuration, eval_set: EvalSet) -> tuple[Row, np.ndarray]:
        """The set's row, and the per-query values of its main figure (pair loss or reciprocal rank)."""
        base = eval_set.snapshot
        everyone = np.arange(base.researcher_count)
        per_query: list[tuple[float, ...]] = []
        losses: list[float] = []
        firsts: set[int] = set()
        coverage: list[float] = []
        aspect_rr: list[float] = []
        split = 0  # queries found to have several needs
        for query in eval_set.queries:
            snap = base
            for row in query.held_out:
                snap = snap.without_publication(row)
            resolved = matcher.resolver.resolve(snap, query.query, Filters())
            ranked = matcher.rank(snap, resolved, everyone, None, config.weights)  # every researcher, unfiltered
            scores = np.full(len(everyone), -np.inf)
            topical = np.full(len(everyone), -1.0)
            topical[ranked.rows] = ranked.components["topical"]
            if resolved.aspects:  # as the matcher orders them: covering the needs first
                split += 1
                aspect_topical, aspect_scores = matcher.aspect_scores(
                    snap, [matcher.aspect_query(snap, resolved, a) for a in resolved.aspects], ranked.rows, None, config.weights)
                topical[ranked.rows] = np.maximum(ranked.components["topical"], aspect_topical.max(axis=1))
                order = matcher.order_for_needs(np.lexsort((ranked.rows, -ranked.scores)), ranked.scores, aspect_scores, aspect_topical,
                                                resolved.multilingual)
                scores[ranked.rows[order]] = -np.arange(len(order), dtype=float) / max(len(order), 1)  # the order, as scores
            else:
                scores[ranked.rows] = ranked.scores
            relevant = query.grades >= (3 if eval_set.graded else 1)
            finite = np.where(np.isfinite(scores), scores, -1.0)
            shown = np.argsort(-finite, kind="stable")[:CALIBRATION_TOP]  # what a user sees: the first results
            self.shown[(config.name, eval_set.name)] += [(float(topical[i]), bool(relevant[i])) for i in shown if finite[i] > -1.0]
            self.relevant_topical[(config.name, eval_set.name)] += [float(t) for t in topical[relevant] if t > -1.0]
            if np.isfinite(scores).any():  # a query that ranks no one has no first researcher
                firsts.add(int(np.argmax(finite)))
            first = metrics.first_relevant(finite, relevant)
            per_query.append((*(first.hits(k) if first else 0.0 for k in (1, 5, 10)),
                              first.reciprocal_rank() if first else 0.0, metrics.ndcg_at(finite, query.grades)))
            if eval_set.graded:
                losses.append(metrics.pairwise_ordering_loss(finite, query.grades))
            if query.aspects:
                firsts_by_aspect = [metrics.first_relevant(finite, aspect) for aspect in query.aspects]
                coverage.append(float(np.prod([f.hits(10) if f else 0.0 for f in firsts_by_aspect])))  # ties counted by chance
                aspect_rr += [f.reciprocal_rank() if f else 0.0 for f in firsts_by_aspect]
        means = np.mean(per_query, axis=0) if per_query else np.zeros(5)
        row = Row(config.name, eval_set.name, len(per_query), *(round(float(m), 4) for m in means),
                  loss=round(float(np.mean(losses)), 4) if losses else None,
                  index_version=base.version,
                  model=base.multilingual.model if eval_set.multilingual and base.multilingual else base.model,
                  distinct_first=len(firsts), coverage10=round(float(np.mean(coverage)), 4) if coverage else None,
                  aspect_mrr=round(float(np.mean(aspect_rr)), 4) if aspect_rr else None,
                  split_share=round(split / len(eval_set.queries), 4) if eval_set.queries else 0.0)
        return row, np.array(losses) if eval_set.graded else np.array([q[3] for q in per_query])


def rows_json(rows: list[Row]) -> str:
    return json.dumps([r.__dict__ for r in rows], indent=1)


CALIBRATED_ON = ("held_out", "graded", "crosslingual_en")  # text queries, as users write them
CALIBRATED_ON_MULTILINGUAL = ("graded_ja", "crosslingual_ja")


def calibration_report(evaluation: Evaluation, configuration: str, settings: Settings) -> dict[str, Any]:
    """The match strength's thresholds from the relevant researchers' topical scores (pooled over
    the sets that calibrate each space): strong from the score that half of them reach, fair from
    the one that nine in ten reach; and per set, with the thresholds in force, how many of each
    query's first results got each label and the share of them that were relevant."""
    proposed = {}
    for space, names in (("main", CALIBRATED_ON), ("multilingual", CALIBRATED_ON_MULTILINGUAL)):
        pooled = [t for name in names for t in evaluation.relevant_topical.get((configuration, name), [])]
        proposed[space] = ({"strong": round(float(np.percentile(pooled, 100 * (1 - cutoff.STRONG_REACHED))), 3),
                            "fair": round(float(np.percentile(pooled, 100 * (1 - cutoff.FAIR_REACHED))), 3), "relevant": len(pooled)}
                           if pooled else None)
    per_set = {}
    for (config, name), pairs in sorted(evaluation.shown.items()):
        if config != configuration:
            continue
        strong, fair = cutoff.thresholds(name.endswith("_ja"), settings)
        per_set[name] = {label: dict(zip(("results", "relevant_share"), cutoff.share_relevant(pairs, low, high)))
                         for label, low, high in (("strong", strong, np.inf), ("fair", fair, strong), ("weak", -np.inf, fair))}
    return {"configuration": configuration, "first_results_per_query": CALIBRATION_TOP,
            "relevant_reaching": {"strong": cutoff.STRONG_REACHED, "fair": cutoff.FAIR_REACHED},
            "proposed": proposed, "in_force": {"main": list(cutoff.thresholds(False, settings)),
                                               "multilingual": list(cutoff.thresholds(True, settings))},
            "per_set": per_set}
