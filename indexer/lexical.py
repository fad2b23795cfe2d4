"""BM25 over publication texts (bm25s), with scores normalised to [0, 1] per query: a
publication's BM25 score divided by the best score any publication reaches on each query term,
summed. The figure is absolute in the sense that it does not depend on the other candidates.

Built once with the index version and saved in it (`LexicalIndex.build(texts).save(dir)`); a
served version loads it memory-mapped (`LexicalIndex.load(dir)`): the postings are read from disk as
queries touch them."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_STOP = frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


TOKEN_MAX = "token_max.npy"


class LexicalIndex:
    def __init__(self, bm25: bm25s.BM25, token_max: np.ndarray, size: int) -> None:
        self._bm25, self._token_max, self.size = bm25, token_max, size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        bm25 = bm25s.BM25()
        bm25.index([tokenize(t) or ["-"] for t in texts], show_progress=False)
        data, indptr = np.asarray(bm25.scores["data"]), np.asarray(bm25.scores["indptr"])
        token_max = np.zeros(len(indptr) - 1)
        nonempty = indptr[1:] > indptr[:-1]
        token_max[nonempty] = np.maximum.reduceat(data, indptr[:-1][nonempty])
        return cls(bm25, token_max, len(texts))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(directory), show_progress=False)
        np.save(directory / TOKEN_MAX, self._token_max)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        bm25 = bm25s.BM25.load(str(directory), mmap=True, show_progress=False)
        return cls(bm25, np.load(directory / TOKEN_MAX), int(bm25.scores["num_docs"]))

    def scores(self, text: str) -> np.ndarray:
        """Normalised BM25 of every publication for this text (zeros when no term is known)."""
        vocab = self._bm25.vocab_dict
        terms = [t for t in dict.fromkeys(tokenize(text)) if t in vocab]
        if not terms:
            return np.zeros(self.size)
        best = float(sum(self._token_max[vocab[t]] for t in terms))
        raw = np.asarray(self._bm25.get_scores(terms), dtype=float)
        return raw / best if best > 0 else raw
