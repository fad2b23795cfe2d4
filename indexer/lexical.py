"""BM25 over publication texts, with scores normalised to [0, 1] per query: a publication's BM25
score divided by the best score any publication reaches on each query term, summed. The figure is
absolute in the sense that it does not depend on the other candidates.

BM25 as Lucene scores it (k1 = 1.5, b = 0.75; idf = ln(1 + (N - df + 0.5) / (df + 0.5)); term
weight idf * tf / (tf + k1 * (1 - b + b * length / mean length))), the figures of bm25s's default,
which this module replaced: bm25s held every document's tokens as Python strings while indexing
(21 GB at a million abstracts). Here a build holds one compact posting (term, row, tf) per distinct
term of a text, and the saved index is postings by term (CSC), memory-mapped when served: a query
reads the postings of its terms only.

Files, under `lexical/` in a version (indexer/version.py names the directory):

  vocabulary.npy   the terms, sorted (a term's id is its position)
  indptr.npy       term id -> its postings' range
  rows.npy         publication rows, by term
  weights.npy      BM25 term weights (float32), by term
  token_max.npy    each term's highest weight (the normaliser)
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from indexer.sparse import RowScores

_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_STOP = frozenset(STOPWORDS_EN)
MAX_TERM = 48  # longer "words" are sequences, identifiers or run-together noise: not indexed
K1, B = 1.5, 0.75
EMPTY = "-"  # the one term of a text without words, so that every row has a posting
FILES = ("vocabulary", "indptr", "rows", "weights", "token_max")


def tokenize(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and 1 < len(w) <= MAX_TERM]


class LexicalIndex:
    def __init__(self, vocabulary: np.ndarray, indptr: np.ndarray, rows: np.ndarray, weights: np.ndarray,
                 token_max: np.ndarray, size: int) -> None:
        self.vocabulary, self.indptr, self.rows, self.weights = vocabulary, indptr, rows, weights
        self.token_max, self.size = token_max, size

    @classmethod
    def build(cls, texts: Iterable[str]) -> LexicalIndex:
        """One pass over the texts (an iterator is enough); memory: the postings and the vocabulary."""
        ids: dict[str, int] = {}
        terms, rows, tfs, lengths = array("i"), array("i"), array("i"), array("i")
        for row, text in enumerate(texts):
            tokens = tokenize(text) or [EMPTY]
            lengths.append(len(tokens))
            for term, tf in Counter(tokens).items():
                terms.append(ids.setdefault(term, len(ids)))
                rows.append(row)
                tfs.append(tf)
        n = len(lengths)
        if n == 0:
            empty = np.zeros(0, dtype=np.int32)
            return cls(np.zeros(0, dtype="<U1"), np.zeros(1, dtype=np.int64), empty, np.zeros(0, np.float32), np.zeros(0), 0)
        term = np.frombuffer(terms, dtype=np.int32)
        row_of = np.frombuffer(rows, dtype=np.int32)
        tf = np.frombuffer(tfs, dtype=np.int32).astype(np.float64)
        length = np.frombuffer(lengths, dtype=np.int32)
        df = np.bincount(term, minlength=len(ids))
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = K1 * ((1 - B) + B * length[row_of] / length.mean())
        weight = (idf[term].astype(np.float64) * (tf / (norm + tf))).astype(np.float32)
        vocabulary = np.array(sorted(ids), dtype=str)
        sorted_id = np.empty(len(ids), dtype=np.int32)
        sorted_id[np.fromiter(ids.values(), dtype=np.int64, count=len(ids))] = np.searchsorted(vocabulary, np.array(list(ids), dtype=str))
        term = sorted_id[term]
        order = np.lexsort((row_of, term))
        indptr = np.concatenate(([0], np.cumsum(np.bincount(term, minlength=len(ids))))).astype(np.int64)
        weights = weight[order]
        nonempty = indptr[1:] > indptr[:-1]
        token_max = np.zeros(len(ids))
        token_max[nonempty] = np.maximum.reduceat(weights, indptr[:-1][nonempty])
        return cls(vocabulary, indptr, row_of[order], weights, token_max, n)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            np.save(directory / f"{name}.npy", getattr(self, name), allow_pickle=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in FILES}
        size = int(arrays["rows"].max(initial=-1)) + 1 if len(arrays["rows"]) else 0
        return cls(**arrays, size=size)

    def _term_ids(self, text: str) -> list[int]:
        """The text's distinct terms that the index knows, as ids, in the order they appear."""
        wanted = list(dict.fromkeys(tokenize(text)))
        if not wanted or not len(self.vocabulary):
            return []
        at = np.minimum(np.searchsorted(self.vocabulary, np.array(wanted, dtype=str)), len(self.vocabulary) - 1)
        return [int(i) for i, term in zip(at, wanted) if self.vocabulary[i] == term]

    def scores(self, text: str) -> RowScores:
        """Normalised BM25 of the publications that hold a term of this text (none when no term is
        known). The terms' postings are summed in a scratch array over the rows (4 bytes a
        publication, for this query only); what is returned is the non-zero rows alone."""
        terms = self._term_ids(text)
        best = float(sum(self.token_max[t] for t in terms))
        if not terms or best <= 0:
            return RowScores.empty(np.float64)
        raw = np.zeros(self.size, dtype=np.float32)
        for t in terms:  # each term's rows are distinct: a plain fancy-index add
            start, end = int(self.indptr[t]), int(self.indptr[t + 1])
            raw[self.rows[start:end]] += self.weights[start:end]
        rows = np.flatnonzero(raw)
        return RowScores(rows, raw[rows].astype(np.float64) / best)
