"""Scores of some publication rows, none for the rest: what a search returns (the dense search's
similarities, BM25's non-zero scores), looked up by row without an array over the whole corpus."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RowScores:
    rows: np.ndarray  # int64, ascending, distinct
    values: np.ndarray

    @staticmethod
    def of(rows: np.ndarray, values: np.ndarray) -> RowScores:
        order = np.argsort(rows, kind="stable")
        return RowScores(np.asarray(rows, dtype=np.int64)[order], np.asarray(values)[order])

    @staticmethod
    def empty(dtype: type = np.float32) -> RowScores:
        return RowScores(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=dtype))

    def __len__(self) -> int:
        return len(self.rows)

    def lookup(self, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Writes the scores of `rows` that are here into `out`; which of them were here."""
        if not len(self.rows):
            return np.zeros(len(rows), dtype=bool)
        at = np.minimum(np.searchsorted(self.rows, rows), len(self.rows) - 1)
        have = self.rows[at] == rows
        out[have] = self.values[at[have]]
        return have

    def at(self, rows: np.ndarray) -> np.ndarray:
        """The score of each of `rows`, zero where it has none."""
        out = np.zeros(len(rows), dtype=self.values.dtype)
        self.lookup(rows, out)
        return out

    def top(self, k: int) -> np.ndarray:
        """The rows of the `k` highest scores (all of them where there are fewer), ascending."""
        if len(self.rows) <= k:
            return self.rows
        return np.sort(self.rows[np.argpartition(-self.values, k - 1)[:k]])

    def then(self, other: RowScores, offset: int) -> RowScores:
        """These rows, then `other`'s shifted by `offset` (a segment after this one)."""
        return RowScores(np.concatenate((self.rows, other.rows + offset)), np.concatenate((self.values, other.values)))
