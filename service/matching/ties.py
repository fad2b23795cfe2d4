"""Ties to Japan: a researcher's works co-authored with authors in Japan (derived at export,
indexer/schema.py `japan_ties`; counted per researcher at build, indexer/columns.py). What a match
says of them, the `japan_ties` filter and the `ties` ranking component."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIES_SCALE = 3.0  # the component reaches 1 - 1/e at three such works


@dataclass(frozen=True)
class JapanTies:
    works: int  # works with a co-author in Japan
    latest_year: int | None


@dataclass(frozen=True)
class Coauthor:
    id: str
    name: str | None
    institution: str | None


@dataclass(frozen=True)
class TieWork:
    publication_id: str
    title: str
    year: int | None
    coauthors: tuple[Coauthor, ...]  # those in Japan


def ties_at(counts: np.ndarray, years: np.ndarray, row: int) -> JapanTies:
    year = int(years[row])
    return JapanTies(int(counts[row]), year if year > 0 else None)


def ties_mask(counts: np.ndarray, wanted: str | int) -> np.ndarray:
    """The `japan_ties` filter: "any" (at least one such work), "none", or at least N works."""
    if wanted == "none":
        return np.asarray(counts) == 0
    return np.asarray(counts) >= (1 if wanted == "any" else int(wanted))


def ties_component(counts: np.ndarray) -> np.ndarray:
    """In [0, 1): 0 without ties, rising with each work and saturating (1 - exp(-works / 3))."""
    return 1.0 - np.exp(-np.asarray(counts, dtype=float) / TIES_SCALE)


def tie_works(rows: list[tuple]) -> list[TieWork]:
    """From the catalog's rows (publication_id, title, year, coauthor_id, coauthor_name, coauthor_institution),
    newest first: one work each, with its co-authors in Japan."""
    works: dict[str, TieWork] = {}
    for pid, title, year, cid, name, institution in rows:
        work = works.get(pid) or TieWork(pid, title, year, ())
        works[pid] = TieWork(pid, title, year, (*work.coauthors, Coauthor(cid, name, institution)))
    return list(works.values())
