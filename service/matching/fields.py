"""A query's fields, from its embedding against the embedded field descriptions (publications' and
researchers' fields are inferred at build time: indexer/columns.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

QUERY_FIELD_MARGIN = 0.05


def query_fields(vector: np.ndarray, field_vectors: np.ndarray, field_ids: Sequence[str], limit: int) -> list[str]:
    """The best field, plus the next ones within a small margin of it."""
    sims = field_vectors @ vector
    order = np.argsort(-sims, kind="stable")
    best = sims[order[0]]
    return [field_ids[i] for i in order[:limit] if sims[i] >= best - QUERY_FIELD_MARGIN]
