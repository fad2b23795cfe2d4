"""Which OpenAlex works an ingest keeps: a slice by year, field and country (`kakehashi ingest
--since --fields --countries`). A work is kept when it is recent enough, one of its topics lies in
a wanted field, and at least one of its authorships is in a wanted country; the kept work keeps all
its authorships (its Japan-side co-authors too: they are its ties to Japan)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from indexer.sources.openalex import WorkRow
from kernel.errors import InvalidInput
from kernel.reference import Reference, country_code

RULES = ("since", "fields", "countries")  # checked in this order; a work is counted under the first it fails


@dataclass(frozen=True)
class Slice:
    since: int | None = None
    topic_ids: frozenset[str] = frozenset()  # OpenAlex 'fields/N' and 'subfields/N'
    countries: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return self.since is not None or bool(self.topic_ids) or bool(self.countries)

    @property
    def signature(self) -> str:
        """'' for everything; otherwise the slice in a canonical form (a file ingested under one slice
        is read again under another)."""
        if not self.active:
            return ""
        return json.dumps({"since": self.since, "fields": sorted(self.topic_ids), "countries": sorted(self.countries)})

    def rule_against(self, work: WorkRow) -> str | None:
        """The first rule that leaves the work out, or None when it is kept."""
        if self.since is not None and (work.year is None or work.year < self.since):
            return "since"
        if self.topic_ids and not (work.topic_ids & self.topic_ids):
            return "fields"
        if self.countries and not (work.countries & self.countries):
            return "countries"
        return None


_OPENALEX_ID = re.compile(r"^(?:https://openalex\.org/)?(fields|subfields)/(\d{1,4})$")


def topic_ids_for(names: list[str], reference: Reference) -> frozenset[str]:
    """The project's field ids ('semiconductors'), OpenAlex ids ('subfields/1702', a full URL), or
    bare numbers (two digits a field, four a subfield) as OpenAlex field and subfield ids."""
    ids: set[str] = set()
    for name in names:
        name = name.strip()
        known = reference.field(name)
        match = _OPENALEX_ID.match(name)
        if known is not None:
            ids.update(known.openalex)
        elif match:
            ids.add(f"{match.group(1)}/{match.group(2)}")
        elif name.isdigit() and len(name) in (2, 4):
            ids.add(f"{'fields' if len(name) == 2 else 'subfields'}/{name}")
        else:
            raise InvalidInput(
                f"--fields: {name!r} is neither a field ({', '.join(reference.field_ids)}) nor an OpenAlex field or "
                "subfield id (fields/17, subfields/1702)"
            )
    return frozenset(ids)


def make_slice(reference: Reference, since: int | None = None, fields: list[str] | None = None,
               countries: list[str] | None = None) -> Slice:
    codes: set[str] = set()
    for name in countries or []:
        code = country_code(name)
        if code is None:
            raise InvalidInput(f"--countries: {name!r} is not a country (use ISO 3166-1 alpha-2 codes such as DE)")
        codes.add(code)
    if since is not None and not 1800 <= since <= 2100:
        raise InvalidInput(f"--since: {since} is not a publication year")
    return Slice(since, topic_ids_for(fields or [], reference), frozenset(codes))
