"""The order of a multi-aspect query's results: the first positions cover every need that has good
candidates (xQuAD, Santos, Macdonald and Ounis 2010), the rest follow by score.

Pure functions over arrays aligned with the ranked candidates: their scores for the whole query and
for each aspect, and their topical score for each aspect. A candidate's coverage of an aspect is 0 below the fair
threshold (service/matching/cutoff.py) and rises to `most` (KAKEHASHI_ASPECT_COVERAGE) for the aspect's best candidate, so a
need that no one serves fairly asks for nothing, and one good candidate leaves a need half asked
for: the first page takes turns among the needs rather than one from each, then the whole query's
order (a need's best candidate is its relevant one only about half the time, docs/evaluation.md)."""

from __future__ import annotations

import numpy as np

DEPTH = 50  # the positions ordered for coverage (five pages of ten); the rest by score


def coverage(aspect_topical: np.ndarray, fair: float, most: float = 0.5) -> np.ndarray:
    """(candidates, aspects) topical scores -> how far each candidate serves each aspect, in [0, most]."""
    best = aspect_topical.max(axis=0, initial=fair) if len(aspect_topical) else np.full(aspect_topical.shape[1], fair)
    span = np.maximum(best - fair, 1e-9)
    return most * np.clip((aspect_topical - fair) / span, 0.0, 1.0)


def xquad(relevance: np.ndarray, covers: np.ndarray, depth: int, diversity: float) -> np.ndarray:
    """The first `depth` picks, greedily: each maximises (1 - diversity) x its relevance (scaled to
    the best) + diversity x the mean over aspects of its coverage times how little the picks so far
    cover that aspect. Then the others by relevance. Returns positions into `relevance`."""
    n = len(relevance)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    top = float(np.max(relevance))
    rel = relevance / top if top > 0 else np.zeros(n)
    aspects = covers.shape[1] if covers.ndim == 2 else 0
    uncovered = np.ones(aspects)
    free = np.ones(n, dtype=bool)
    picks: list[int] = []
    for _ in range(min(depth, n)):
        gain = (covers * uncovered).sum(axis=1) / aspects if aspects else np.zeros(n)
        value = np.where(free, (1 - diversity) * rel + diversity * gain, -np.inf)
        best = int(np.argmax(value))  # ties: the earlier position, which the caller ordered by score
        picks.append(best)
        free[best] = False
        if aspects:
            uncovered *= 1 - covers[best]
    rest = np.flatnonzero(free)
    rest = rest[np.argsort(-relevance[rest], kind="stable")]
    return np.concatenate([np.array(picks, dtype=np.int64), rest])


def aspect_order(order: np.ndarray, scores: np.ndarray, aspect_scores: np.ndarray, aspect_topical: np.ndarray, fair: float,
                 diversity: float, depth: int = DEPTH, most: float = 0.5) -> np.ndarray:
    """`order` (positions of the kept candidates, best score first) reordered so that its first
    `depth` cover the needs that someone serves fairly (a need no candidate serves fairly takes
    no part, and with fewer than two such needs the order stays the whole query's). Drawn from the
    best `depth` by score and the best `depth` for each need, so that a need the whole query ranks
    low still reaches the first page; a candidate's relevance is the best of its score for the
    whole and for each served need (`scores`, `aspect_scores`: weighted as the whole)."""
    if aspect_topical.shape[1] == 0 or len(order) == 0 or diversity == 0:
        return order
    served = np.flatnonzero(aspect_topical[order].max(axis=0) >= fair)
    if len(served) < 2:
        return order
    topical, relevance = aspect_topical[:, served], np.maximum(scores, aspect_scores[:, served].max(axis=1))
    seen = {int(i) for i in order[:depth]}
    for a in range(len(served)):
        seen.update(int(i) for i in order[np.argsort(-topical[order, a], kind="stable")[:depth]])
    pool = np.array([i for i in order if int(i) in seen], dtype=np.int64)  # by score, as `order` has them
    picked = pool[xquad(relevance[pool], coverage(topical[pool], fair, most), depth, diversity)]
    head = picked[:depth]
    taken = {int(i) for i in head}
    return np.concatenate([head, np.array([i for i in order if int(i) not in taken], dtype=np.int64)])
