"""BM25 over publication texts (bm25s), with scores normalised to [0, 1] per query: a
publication's BM25 score divided by the best score any publication reaches on each query term,
summed. The figure is absolute in the sense that it does not depend on the other candidates."""

from __future__ import annotations

import re
from collections.abc import Sequence

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_STOP = frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


class LexicalIndex:
    def __init__(self, texts: Sequence[str]) -> None:
        self._bm25 = bm25s.BM25()
        self._bm25.index([tokenize(t) or ["-"] for t in texts], show_progress=False)
        scores = self._bm25.scores
        data, indptr = np.asarray(scores["data"]), np.asarray(scores["indptr"])
        self._token_max = np.zeros(len(indptr) - 1)
        nonempty = indptr[1:] > indptr[:-1]
        self._token_max[nonempty] = np.maximum.reduceat(data, indptr[:-1][nonempty])
        self.size = len(texts)

    def scores(self, text: str) -> np.ndarray:
        """Normalised BM25 of every publication for this text (zeros when no term is known)."""
        vocab = self._bm25.vocab_dict
        terms = [t for t in dict.fromkeys(tokenize(text)) if t in vocab]
        if not terms:
            return np.zeros(self.size)
        best = float(sum(self._token_max[vocab[t]] for t in terms))
        raw = np.asarray(self._bm25.get_scores(terms), dtype=float)
        return raw / best if best > 0 else raw
