"""OpenAlex records (snapshot JSON Lines or API pages): works, authors and institutions.

A researcher profile is derived per author from the works' authorships; author records, where
given, add the last known institution and impact figures; institution records fill in countries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from indexer.records import Rejection

OPENALEX = "https://openalex.org/"
MAX_ABSTRACT = 10_000  # some records carry whole papers in the inverted index; the model reads far less


def short_id(value: Any) -> str | None:
    """'https://openalex.org/W123' -> 'W123'."""
    if not isinstance(value, str) or not value:
        return None
    return value.removeprefix(OPENALEX)


def kind_of(record: Any) -> str | None:
    """'work', 'author', 'institution', or None when the record is not an OpenAlex entity."""
    ident = record.get("id") if isinstance(record, dict) else None
    if not isinstance(ident, str) or not ident.startswith(OPENALEX):
        return None
    return {"W": "work", "A": "author", "I": "institution"}.get(ident.removeprefix(OPENALEX)[:1])


def rebuild_abstract(inverted: Any) -> str | None:
    """Words back in order from `abstract_inverted_index` ({word: [positions]})."""
    if not isinstance(inverted, dict) or not inverted:
        return None
    slots: dict[int, str] = {}
    for word, positions in inverted.items():
        if not isinstance(positions, list):
            return None
        for pos in positions:
            if isinstance(pos, int) and pos >= 0:
                slots[pos] = word
    text = " ".join(slots[i] for i in sorted(slots))
    return text or None


def _last_known_institution(author: dict[str, Any]) -> dict[str, Any] | None:
    many = author.get("last_known_institutions")
    if isinstance(many, list) and many and isinstance(many[0], dict):
        return many[0]
    one = author.get("last_known_institution")
    return one if isinstance(one, dict) else None


@dataclass
class _Profile:
    name: str
    orcid: str | None = None
    publications: dict[str, dict[str, Any]] = field(default_factory=dict)
    affiliations: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (year, institution)


@dataclass
class OpenAlexBatch:
    """Accumulates OpenAlex records of one ingest run, then derives house records."""

    works: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    authors: dict[str, dict[str, Any]] = field(default_factory=dict)
    institutions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, where: str, record: dict[str, Any], kind: str) -> None:
        if kind == "work":
            self.works.append((where, record))
        elif kind == "author":
            self.authors[short_id(record["id"]) or ""] = record
        elif kind == "institution":
            self.institutions[short_id(record["id"]) or ""] = record

    def __bool__(self) -> bool:
        return bool(self.works or self.authors)

    @property
    def size(self) -> int:
        return len(self.works) + len(self.authors) + len(self.institutions)

    def _country(self, institution: dict[str, Any]) -> str | None:
        code = institution.get("country_code")
        if not code:
            known = self.institutions.get(short_id(institution.get("id")) or "")
            code = known.get("country_code") if known else None
        return code.upper() if isinstance(code, str) and code else None

    def _publication(self, where: str, work: dict[str, Any]) -> dict[str, Any] | Rejection:
        wid = short_id(work.get("id"))
        title = work.get("title") or work.get("display_name")
        if not isinstance(title, str) or not title.strip():
            return Rejection(f"{where} (work {wid})", "title", "missing title; the work cannot be embedded")
        pub: dict[str, Any] = {"id": wid, "title": title}
        abstract = rebuild_abstract(work.get("abstract_inverted_index"))
        if abstract:
            pub["abstract"] = abstract[:MAX_ABSTRACT].rsplit(" ", 1)[0] if len(abstract) > MAX_ABSTRACT else abstract
        if isinstance(work.get("publication_year"), int):
            pub["year"] = work["publication_year"]
        if isinstance(work.get("cited_by_count"), int):
            pub["cited_by_count"] = work["cited_by_count"]
        return pub

    def derive(self) -> tuple[list[tuple[str, dict[str, Any]]], list[Rejection]]:
        """(location, raw house record) per author, and the rejections met on the way."""
        rejections: list[Rejection] = []
        profiles: dict[str, _Profile] = {}
        for where, work in self.works:
            pub = self._publication(where, work)
            if isinstance(pub, Rejection):
                rejections.append(pub)
                continue
            authorships = work.get("authorships")
            if not isinstance(authorships, list) or not authorships:
                rejections.append(Rejection(f"{where} (work {pub['id']})", "authorships", "no authors listed"))
                continue
            for authorship in authorships:
                author = authorship.get("author") if isinstance(authorship, dict) else None
                aid = short_id(author.get("id")) if isinstance(author, dict) else None
                if not aid:
                    continue  # anonymous authorship: nothing to attach the work to
                profile = profiles.setdefault(aid, _Profile(name=author.get("display_name") or ""))
                profile.orcid = profile.orcid or author.get("orcid")
                profile.publications[pub["id"]] = pub
                institutions = [i for i in authorship.get("institutions") or [] if isinstance(i, dict) and i.get("display_name")]
                countries = authorship.get("countries") or []
                if institutions:
                    profile.affiliations.append((pub.get("year") or 0, institutions[0]))
                elif countries and isinstance(countries[0], str):
                    profile.affiliations.append((pub.get("year") or 0, {"country_code": countries[0]}))

        records = []
        for aid, profile in profiles.items():
            records.append((f"author {aid}", self._house_record(aid, profile)))
        for aid in self.authors.keys() - profiles.keys():
            rejections.append(Rejection(f"author {aid}", "works", "no works of this author in the input; ingest the author's works too"))
        return records, rejections

    def _house_record(self, aid: str, profile: _Profile) -> dict[str, Any]:
        author = self.authors.get(aid, {})
        institution = _last_known_institution(author)
        if institution is None and profile.affiliations:
            institution = max(profile.affiliations, key=lambda pair: pair[0])[1]
        record: dict[str, Any] = {
            "id": aid,
            "name": author.get("display_name") or profile.name,
            "source": "openalex",
            "publications": sorted(profile.publications.values(), key=lambda p: (-(p.get("year") or 0), p["id"])),
        }
        orcid = author.get("orcid") or profile.orcid
        if orcid:
            record["orcid"] = orcid
        if institution:
            if institution.get("display_name"):
                record["institution"] = institution["display_name"]
            country = self._country(institution)
            if country:
                record["country"] = country
        stats = author.get("summary_stats")
        if isinstance(stats, dict) and isinstance(stats.get("h_index"), int):
            record["h_index"] = stats["h_index"]
        for key in ("works_count", "cited_by_count"):
            if isinstance(author.get(key), int):
                record[key] = author[key]
        return record
