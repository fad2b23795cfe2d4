"""Field inference from embeddings: publications, researchers and queries against the embedded
field descriptions. Pure functions over arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RESEARCHER_FIELD_MIN_SHARE = 0.25
QUERY_FIELD_MARGIN = 0.05


def publication_fields(vectors: np.ndarray, field_vectors: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Index of the best-matching field per publication row."""
    out = np.empty(len(vectors), dtype=np.int16)
    for start in range(0, len(vectors), chunk):
        out[start : start + chunk] = np.argmax(vectors[start : start + chunk] @ field_vectors.T, axis=1)
    return out


def researcher_fields(pub_fields: np.ndarray, field_ids: Sequence[str]) -> list[tuple[str, float]]:
    """Fields that hold at least a quarter of the researcher's publications (always the top one),
    with their shares, largest first."""
    if len(pub_fields) == 0:
        return []
    counts = np.bincount(pub_fields, minlength=len(field_ids)) / len(pub_fields)
    order = np.argsort(-counts, kind="stable")
    return [
        (field_ids[i], round(float(counts[i]), 3))
        for rank, i in enumerate(order)
        if counts[i] > 0 and (rank == 0 or counts[i] >= RESEARCHER_FIELD_MIN_SHARE)
    ]


def query_fields(vector: np.ndarray, field_vectors: np.ndarray, field_ids: Sequence[str], limit: int) -> list[str]:
    """The best field, plus the next ones within a small margin of it."""
    sims = field_vectors @ vector
    order = np.argsort(-sims, kind="stable")
    best = sims[order[0]]
    return [field_ids[i] for i in order[:limit] if sims[i] >= best - QUERY_FIELD_MARGIN]
