"""Labelled evaluation sets, each over the snapshot of its own evaluation state:

- held_out:    real OpenAlex records; each work of an author with two or more works is held out of
               every profile in turn, and its title and abstract must find the author among all authors;
- goal_field:  each Moonshot goal against the demo corpus, relevant = a researcher whose main
               field is one of the goal's fields;
- graded:      natural-language project descriptions against the demo corpus, graded 0-3 from the
               corpus's ground-truth labels (see data/evaluation/graded_queries.json);
- crosslingual_en / _ja: project descriptions written by hand for 40 real works of the OpenAlex
               sample, once in English and once in Japanese with the same content
               (data/evaluation/crosslingual_queries.json); each work held out as in held_out.
- multi_aspect: two held-out works of the OpenAlex sample from different fields described
               together in one query (their titles and abstracts), both held out; relevant = the
               authors of either, each work's authors one aspect (coverage@10, MRR per aspect).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.records import embedding_text
from kernel.reference import Reference
from service.matching.query import Query
from service.matching.snapshot import Snapshot


@dataclass(frozen=True)
class EvalQuery:
    id: str
    grades: np.ndarray  # per researcher row
    text: str | None = None
    goal_id: int | None = None
    held_out: tuple[int, ...] = ()  # publication rows left out of every profile
    aspects: tuple[np.ndarray, ...] = ()  # per need of a multi-aspect query, its relevant researchers (a mask)

    @property
    def query(self) -> Query:
        return Query(text=self.text, goal_id=self.goal_id)


@dataclass(frozen=True)
class EvalSet:
    name: str
    snapshot: Snapshot
    queries: list[EvalQuery]
    graded: bool  # grades 0-3 (pairwise ordering loss applies) rather than relevant / not
    multilingual: bool = False  # queries in Japanese, matched in the multilingual space


def read_labels(path: Path) -> dict[str, dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return {row["id"]: row for row in map(json.loads, handle)}


def goal_field_set(snap: Snapshot, reference: Reference, labels: dict[str, dict]) -> EvalSet:
    main_field = np.array([labels.get(r.id, {}).get("field") for r in snap.researchers], dtype=object)
    queries = [
        EvalQuery(f"goal {g.id}", np.isin(main_field, list(g.fields)).astype(float), goal_id=g.id)
        for g in reference.goals
    ]
    return EvalSet("goal_field", snap, queries, graded=False)


def grade(label: dict | None, target: str) -> float:
    if not label:
        return 0.0
    if target in label["focus"]:
        return 3.0
    if target in label["publications"].values():
        return 2.0
    field = target.split("/")[0]
    return 1.0 if field in (label["field"], label["second_field"]) else 0.0


def graded_set(snap: Snapshot, queries_path: Path, labels: dict[str, dict], japanese: bool = False) -> EvalSet:
    doc = json.loads(queries_path.read_text(encoding="utf-8"))
    queries = [
        EvalQuery(q["id"], np.array([grade(labels.get(r.id), q["target"]) for r in snap.researchers]), text=q["ja" if japanese else "text"])
        for q in doc["queries"]
    ]
    return EvalSet("graded_ja" if japanese else "graded", snap, queries, graded=True, multilingual=japanese)


def held_out_set(snap: Snapshot, limit: int | None = None) -> EvalSet:
    """Every work with at least one author who has another work is held out in turn: one query
    per work, its title and abstract, with the work removed from every profile. Relevant: its
    authors who keep at least one other work. So each work of every author with two or more
    works is held out once (a single held-out work per author gave too few queries to tell
    configurations apart)."""
    abstracts = snap.abstracts()
    queries: list[EvalQuery] = []
    for row, pub in enumerate(snap.publications):
        grades = _held_out_grades(snap, row)
        if grades is None:
            continue
        queries.append(EvalQuery(pub.id, grades, text=embedding_text(pub.title, abstracts.get(pub.id)), held_out=(row,)))
        if limit is not None and len(queries) >= limit:
            break
    return EvalSet("held_out", snap, queries, graded=False)


def _held_out_grades(snap: Snapshot, row: int) -> np.ndarray | None:
    """Relevant for a held-out work: its authors who keep another work (None where there is none)."""
    authors = [a for a in snap.authors_of(np.array([row])) if snap.pub_counts[a] >= 2]
    if not authors:
        return None
    grades = np.zeros(snap.researcher_count)
    grades[authors] = 1.0
    return grades


def crosslingual_set(snap: Snapshot, queries_path: Path, japanese: bool, split: str | None = None) -> EvalSet:
    """The same works described in English or in Japanese: one query per description (of `split`
    only, where given), the work held out of every profile; relevant as in held_out."""
    doc = json.loads(queries_path.read_text(encoding="utf-8"))
    row_of = {p.id: row for row, p in enumerate(snap.publications)}
    queries = []
    for q in doc["queries"]:
        if split is not None and q["split"] != split:
            continue
        row = row_of.get(q["work"])
        grades = _held_out_grades(snap, row) if row is not None else None
        if grades is None:
            raise ValueError(f"{queries_path.name}: work {q['work']} is not in the evaluation corpus with an author who has another work")
        queries.append(EvalQuery(q["work"], grades, text=q["ja" if japanese else "en"], held_out=(row,)))
    return EvalSet(f"crosslingual_{'ja' if japanese else 'en'}{'_' + split if split else ''}", snap, queries, graded=False,
                   multilingual=japanese)


MULTI_ASPECT_QUERIES = 40
MULTI_ASPECT_SEED = 20261207


def multi_aspect_set(snap: Snapshot, limit: int | None = None) -> EvalSet:
    """Pairs of held-out works from different fields with no author in common, drawn with a fixed
    seed: one query per pair, both works' titles and abstracts, both works left out of every
    profile. Relevant: the authors of either (who keep another work); each work's, one aspect."""
    abstracts = snap.abstracts()
    candidates = [row for row in range(len(snap.publications)) if _held_out_grades(snap, row) is not None]
    order = np.random.default_rng(MULTI_ASPECT_SEED).permutation(len(candidates))
    pool = [candidates[i] for i in order]
    queries: list[EvalQuery] = []
    used: set[int] = set()
    wanted = limit or MULTI_ASPECT_QUERIES
    for a in pool:
        if a in used or len(queries) >= wanted:
            continue
        first = _held_out_grades(snap, a)
        for b in pool:
            if b in used or b == a or int(snap.pub_fields[b]) == int(snap.pub_fields[a]):
                continue
            second = _held_out_grades(snap, b)
            assert first is not None and second is not None
            if np.any((first > 0) & (second > 0)):
                continue
            used.update((a, b))
            pa, pb = snap.publications[a], snap.publications[b]
            text = embedding_text(pa.title, abstracts.get(pa.id)) + "\n\n" + embedding_text(pb.title, abstracts.get(pb.id))
            queries.append(EvalQuery(f"{pa.id}+{pb.id}", np.maximum(first, second), text=text, held_out=(a, b),
                                     aspects=(first > 0, second > 0)))
            break
    return EvalSet("multi_aspect", snap, queries, graded=False)
