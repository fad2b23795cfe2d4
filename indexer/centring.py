"""The multilingual space's geometry. Its model embeds each publication once per text mode (the
title; the title and the abstract's lead); each embedding is centred on its corpus mean (which takes
away the direction every text shares, the cause of a few publications sitting nearest to every
query) and renormalised, and the parts are joined side by side, scaled by 1/sqrt(parts), so that a
joined row's inner product with a joined query is the mean of the parts' cosines. The index build
writes the joined rows; serving joins a query, the fields and the goals the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def centred(rows: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Rows less the centre, L2-normalised again (float32)."""
    out = np.asarray(rows, dtype=np.float32) - np.asarray(centre, dtype=np.float32)
    out /= np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-12)
    return out


def joined(parts: Sequence[np.ndarray], centres: np.ndarray) -> np.ndarray:
    """Each part (the same rows embedded from another text) centred on its own centre, side by side."""
    return (np.hstack([centred(part, centre) for part, centre in zip(parts, centres)]) / np.sqrt(len(parts))).astype(np.float32)


def joined_like(rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Rows embedded once (a query, the fields, the goals), joined as the publications' parts are."""
    return joined([rows] * len(centres), centres)
