"""Funding history: a candidate's funders, from their works' funding records (derived at export,
indexer/schema.py `researcher_funders`), counted and linked by id (OpenAlex funder id or ROR, never
by name) to the counterpart agency registry, so that a result can say "funded by DFG on 7 of
their works; DFG has an arrangement with JST in this field", or that no funder has one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kernel.reference import Reference

SHOWN = 5  # funders named in a summary


@dataclass(frozen=True)
class Funder:
    id: str
    name: str | None
    ror: str | None
    works: int  # of the candidate's works that name this funder
    agency: str | None = None  # the registry agency it is (its acronym), linked by id
    agency_country: str | None = None  # that agency's registry entry (a country, or EU)
    arrangement: str | None = None  # its Japanese arrangement covering the fields, standing or by call

    @property
    def label(self) -> str:
        return self.agency or self.name or self.id


@dataclass(frozen=True)
class FundingHistory:
    funders: tuple[Funder, ...]  # most works first

    @property
    def with_arrangement(self) -> tuple[Funder, ...]:
        return tuple(f for f in self.funders if f.arrangement)

    @property
    def summary(self) -> str:
        if not self.funders:
            return "No funder is recorded on their works."
        linked = self.with_arrangement
        if linked:
            return "; ".join(f"Funded by {f.label} on {f.works} of their works; {f.label} has an arrangement with a Japanese agency in "
                             f"this field ({f.arrangement})" for f in linked[:SHOWN]) + "."
        named = ", ".join(f"{f.label} ({f.works})" for f in self.funders[:SHOWN]) + (" and more" if len(self.funders) > SHOWN else "")
        return f"Funded by {named}: no funder with a Japanese arrangement in this field."


def _agencies_by_id(reference: Reference) -> dict[str, tuple[str, str]]:
    """Every id a registry agency is known by -> (its entry, its acronym)."""
    return {i: (entry.country, agency.acronym) for entry in reference.registry.values() for agency in entry.agencies for i in agency.ids}


def funding_history(rows: Sequence[tuple[str, str | None, str | None, int]], fields: Sequence[str], reference: Reference) -> FundingHistory:
    """Pure function of the catalog's rows (funder id, name, ROR, works), the query's fields and the registry."""
    known = _agencies_by_id(reference)
    funders = []
    for funder_id, name, ror, works in rows:
        link = known.get(funder_id) or (known.get(ror) if ror else None)
        arrangement = None
        if link is not None:
            entry = reference.registry[link[0]]
            arrangement = next((f"{a.japanese_agency}: {a.program}" for a in entry.arrangements
                                if link[1] in a.partner_agencies and a.kind != "one_off" and any(a.covers(f) for f in fields)), None)
        funders.append(Funder(funder_id, name, ror, works, link[1] if link else None, link[0] if link else None, arrangement))
    return FundingHistory(tuple(funders))
