"""Conflicts of interest: a query may name its PI (an OpenAlex author id, an ORCID or a researcher
id). Candidates who co-authored with the PI within the last `conflict_years` years, or who are at
one of the PI's institutions (by OpenAlex institution id: a work's affiliation in those years, or
the author record's last known institution; never by a name string) are conflicted: flagged with
the reason and the works, and left out unless the query asks to include them. An institution
includes its parts and what it is part of by OpenAlex's lineage (a department and its university
are one); two parts of one body (two institutes of a society) are not one institution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.records import normal_orcid
from kernel.errors import NotFound
from service.matching.snapshot import Snapshot


@dataclass(frozen=True)
class Conflict:
    coauthored: tuple[str, ...] = ()  # publication ids written with the PI in the window
    institutions: tuple[str, ...] = ()  # the candidate's institutions that are the PI's, "name (id)"

    @property
    def short(self) -> str:
        parts = []
        if self.coauthored:
            parts.append(f"co-author of the PI ({len(self.coauthored)} work{'s' if len(self.coauthored) != 1 else ''})")
        if self.institutions:
            parts.append("at the PI's institution")
        return ", ".join(parts)

    @property
    def reason(self) -> str:
        parts = []
        if self.coauthored:
            parts.append(f"co-authored {len(self.coauthored)} work{'s' if len(self.coauthored) != 1 else ''} with the PI "
                         f"({', '.join(self.coauthored[:3])}{', ...' if len(self.coauthored) > 3 else ''})")
        if self.institutions:
            parts.append(f"at the PI's institution ({', '.join(self.institutions)})")
        return "; ".join(parts)


def pi_row(snap: Snapshot, pi: str) -> int:
    """The PI's researcher row, by researcher id, OpenAlex author id (or its URL) or ORCID."""
    text = pi.strip()
    for candidate in (text, text.rsplit("/", 1)[-1]):
        rows = snap.find_rows([candidate])
        if rows[0] >= 0:
            return int(rows[0])
    orcid = normal_orcid(text)
    found = snap.researcher_by_orcid(orcid) if orcid else None
    if found is not None:
        return snap.row(found)
    raise NotFound(f"the PI {pi!r} is not in index version {snap.version} (by researcher id, OpenAlex author id or ORCID), "
                   "so conflicts of interest cannot be checked: give an indexed id, or leave `pi` out")


def conflicts_of(snap: Snapshot, pi: int, since_year: int) -> dict[int, Conflict]:
    """Researcher row -> its conflict with the PI at row `pi` (the PI itself not included)."""
    own = snap.publication_rows(pi)
    recent = own[np.asarray(snap.pub_years)[own] >= since_year]
    coauthored: dict[int, list[str]] = {}
    for pub in recent:
        for author in snap.authors_of(np.array([pub])):
            if int(author) != pi:
                coauthored.setdefault(int(author), []).append(str(snap.pub_ids[pub]))
    shared: dict[int, list[str]] = {}
    for rid, institution, name in snap.researchers_at(_with_lineage(snap, snap.institutions_of(str(snap.researcher_ids[pi]), since_year)),
                                                      since_year):
        row = snap.row(rid)
        if row != pi:
            shared.setdefault(row, []).append(f"{name} ({institution})" if name else institution)
    return {row: Conflict(tuple(coauthored.get(row, ())), tuple(sorted(set(shared.get(row, ())))))
            for row in set(coauthored) | set(shared)}


def _with_lineage(snap: Snapshot, institutions: list[str]) -> list[str]:
    """These institutions, their parts and what they are part of (not their siblings)."""
    return sorted(set(institutions) | {i for pair in snap.institution_parts(institutions) for i in pair})
