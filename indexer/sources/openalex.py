"""OpenAlex records (snapshot JSON Lines or Parquet, API pages) as the rows the store keeps.

A work becomes a publication with its byline (each authorship: author, place, name as printed,
ORCID, countries, institutions), its primary topic and its funding; an author record gives the
author's name, ORCID, last known institution and impact figures; an institution record its name,
ROR and country. Every function here is pure: one record in, rows (or the reason it was rejected)
out. Schema drift between OpenAlex releases is absorbed here (`last_known_institution` and
`last_known_institutions`, `grants` and `awards`, works with `concepts` but no `topics`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any

import orjson

from indexer.records import Rejection, clean_text, normal_orcid, text_hash
from kernel.reference import is_country_code

OPENALEX = "https://openalex.org/"
MAX_ABSTRACT = 10_000  # some records carry whole papers in the inverted index; the model reads far less
MAX_TITLE = 2000
# the entities Kakehashi reads, by their snapshot folder and API path, in the order an ingest reads them
ENTITY_KINDS = (("institutions", "institution"), ("works", "work"), ("authors", "author"))
ENTITIES = tuple(name for name, _ in ENTITY_KINDS)


def short_id(value: Any) -> str | None:
    """'https://openalex.org/W123' -> 'W123'; 'https://openalex.org/subfields/1702' -> 'subfields/1702'."""
    if not isinstance(value, str) or not value:
        return None
    return value.removeprefix(OPENALEX)


def kind_of(record: Any) -> str | None:
    """'work', 'author', 'institution', or None when the record is not an OpenAlex entity."""
    ident = record.get("id") if isinstance(record, dict) else None
    if not isinstance(ident, str) or not ident.startswith(OPENALEX):
        return None
    return {"W": "work", "A": "author", "I": "institution"}.get(ident[len(OPENALEX):len(OPENALEX) + 1])


def rebuild_abstract(inverted: Any) -> str | None:
    """Words back in order from `abstract_inverted_index` ({word: [positions]}); None for anything
    else (a position that is not a number, a list that is not one)."""
    if not isinstance(inverted, dict) or not inverted:
        return None
    try:
        slots = {pos: word for word, positions in inverted.items() for pos in positions}
        order = sorted(slots)
    except TypeError:
        return None
    if not order or not isinstance(order[0], int) or not isinstance(order[-1], int):
        return None
    if order[0] < 0:
        order = [i for i in order if i >= 0]
    return " ".join(map(slots.__getitem__, order)) or None


def record_hash(*parts: Any) -> str:
    """Changes when anything the store keeps of a record changes."""
    return hashlib.blake2b(orjson.dumps(parts), digest_size=12).hexdigest()


def _int(value: Any, low: int = 0) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= low else None


def _text(value: Any, limit: int = 500) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = clean_text(value)
    return cleaned[:limit] if cleaned else None


def _token(value: Any, limit: int = 200) -> str | None:
    """A value without inner spaces (an id, a ROR, a DOI, a type): trimmed only, which is cheaper."""
    if not isinstance(value, str):
        return None
    return value.strip()[:limit] or None


_known_country = lru_cache(maxsize=1024)(is_country_code)


def _country(value: Any) -> str | None:
    if isinstance(value, str) and len(value) == 2 and _known_country(value.upper()):
        return value.upper()
    return None


def _date(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class InstitutionRow:
    """An institution as a record gives it (`updated_date` set) or as a work's authorship names it."""

    id: str
    display_name: str | None
    ror: str | None
    country_code: str | None
    type: str | None
    updated_date: str | None = None
    lineage: tuple[str, ...] = ()  # the institutions it is part of (OpenAlex's lineage, without itself)
    aliases: tuple[str, ...] = ()  # its acronyms and other names, as its own record gives them

    def described(self) -> tuple[str | None, ...]:
        return (self.id, self.display_name, self.ror, self.country_code, self.type)

    def values(self) -> tuple[Any, ...]:
        return (*self.described(), self.updated_date, record_hash(*self.described(), *self.lineage, '|', *self.aliases))


def institution_row(raw: dict[str, Any], updated_date: str | None = None) -> InstitutionRow | None:
    """None without an OpenAlex institution id."""
    if updated_date is None:  # as a work or an author names it: the same few thousand institutions over and over
        try:
            return _named_institution(raw.get("id"), raw.get("display_name"), raw.get("ror"), raw.get("country_code"), raw.get("type"),
                                      _lineage(raw.get("lineage")))
        except TypeError:  # a value that cannot be a cache key (a list where a name goes): no such institution
            return None
    row = _institution(raw.get("id"), raw.get("display_name"), raw.get("ror"), raw.get("country_code"), raw.get("type"),
                       _lineage(raw.get("lineage")), updated_date)
    return replace(row, aliases=_aliases(raw, row.display_name)) if row else None


def _aliases(raw: dict[str, Any], name: str | None) -> tuple[str, ...]:
    """An institution record's acronyms and alternative names (at most 50, each a name's length)."""
    found = []
    for key in ("display_name_acronyms", "display_name_alternatives"):
        value = raw.get(key)
        if isinstance(value, list):
            found += [t for t in (_text(v, 300) for v in value[:50]) if t]
    return tuple(a for a in dict.fromkeys(found) if a != name)[:50]


def _lineage(value: Any) -> tuple[str, ...]:
    """OpenAlex's lineage of an institution (its own id first, then those it is part of) as ids."""
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(i for i in (short_id(v) for v in value[:20]) if i and i.startswith("I")))


def _institution(ident: Any, name: Any, ror: Any, country: Any, kind: Any, lineage: tuple[str, ...],
                 updated_date: str | None) -> InstitutionRow | None:
    iid = short_id(ident)
    if not iid or not iid.startswith("I"):
        return None
    return InstitutionRow(iid, _text(name), _token(ror), _country(country), _token(kind, 40), updated_date,
                          tuple(i for i in lineage if i != iid))


@lru_cache(maxsize=1 << 16)
def _named_institution(ident: Any, name: Any, ror: Any, country: Any, kind: Any, lineage: tuple[str, ...]) -> InstitutionRow | None:
    return _institution(ident, name, ror, country, kind, lineage, None)


@dataclass(slots=True)
class AuthorRow:
    id: str
    display_name: str | None
    orcid: str | None
    institution: InstitutionRow | None  # the last known one, where it has an OpenAlex id
    institution_name: str | None  # the last known one's, as the record gives them
    institution_country: str | None
    h_index: int | None
    i10_index: int | None
    works_count: int | None
    cited_by_count: int | None
    updated_date: str | None

    def values(self) -> tuple[Any, ...]:
        iid = self.institution.id if self.institution else None
        described = (self.display_name, self.orcid, iid, self.institution_name, self.institution_country,
                     self.h_index, self.i10_index, self.works_count, self.cited_by_count)
        return (self.id, *described, self.updated_date, record_hash(*described))


def _last_known_institution(author: dict[str, Any]) -> dict[str, Any] | None:
    many = author.get("last_known_institutions")
    if isinstance(many, list) and many and isinstance(many[0], dict):
        return many[0]
    one = author.get("last_known_institution")
    return one if isinstance(one, dict) else None


def author_row(raw: dict[str, Any]) -> AuthorRow | None:
    aid = short_id(raw.get("id"))
    if not aid:
        return None
    stats = raw.get("summary_stats") if isinstance(raw.get("summary_stats"), dict) else {}
    last = _last_known_institution(raw) or {}
    return AuthorRow(
        aid, _text(raw.get("display_name"), 300), normal_orcid(raw.get("orcid")),
        institution_row(last), _text(last.get("display_name")), _country(last.get("country_code")),
        _int(stats.get("h_index")), _int(stats.get("i10_index")), _int(raw.get("works_count")), _int(raw.get("cited_by_count")),
        _date(raw.get("updated_date")),
    )


@dataclass(slots=True)
class Byline:
    """One authorship of a work."""

    author_id: str
    position: int  # the place in the work's author list, 0 first
    author_position: str | None  # OpenAlex's first, middle, last
    is_corresponding: bool | None
    name: str | None  # as printed on the work
    orcid: str | None
    countries: tuple[str, ...]
    institutions: tuple[InstitutionRow, ...]


@dataclass(slots=True)
class WorkRow:
    id: str
    title: str
    abstract: str | None
    year: int | None
    cited_by_count: int | None
    doi: str | None
    type: str | None
    language: str | None
    fwci: float | None
    topic: tuple[str | None, ...] | None  # (id, name, subfield id, name, field id, name, domain id, name)
    updated_date: str | None
    bylines: list[Byline]
    funding: list[tuple[str, str, str | None, str | None]]  # (funder id, award id or '', funder name, funder ROR)
    topic_ids: frozenset[str] = field(default_factory=frozenset)  # every topic's field and subfield ids, for slicing
    hash: str = ""

    @property
    def countries(self) -> set[str]:
        found: set[str] = set()
        for byline in self.bylines:
            found.update(byline.countries)
            found.update(i.country_code for i in byline.institutions if i.country_code)
        return found

    def publication_values(self) -> tuple[Any, ...]:
        return (self.id, self.title, self.abstract, self.year, self.cited_by_count, text_hash(self.title, self.abstract),
                self.doi, self.type, self.language, self.fwci, self.topic[0] if self.topic else None, self.updated_date, self.hash)


def _topic(raw: Any) -> tuple[str | None, ...] | None:
    if not isinstance(raw, dict) or not short_id(raw.get("id")):
        return None
    parts: list[str | None] = [short_id(raw.get("id")), _text(raw.get("display_name"))]
    for level in ("subfield", "field", "domain"):
        value = raw.get(level) if isinstance(raw.get(level), dict) else {}
        parts += [short_id(value.get("id")), _text(value.get("display_name"))]
    return tuple(parts)


def _topic_ids(work: dict[str, Any]) -> frozenset[str]:
    ids: set[str] = set()
    topics = work.get("topics") if isinstance(work.get("topics"), list) else []
    for topic in [work.get("primary_topic"), *topics]:
        if isinstance(topic, dict):
            for level in ("subfield", "field"):
                value = topic.get(level)
                ident = short_id(value.get("id")) if isinstance(value, dict) else None
                if ident:
                    ids.add(ident)
    return frozenset(ids)


def _funding(work: dict[str, Any]) -> list[tuple[str, str, str | None, str | None]]:
    """(funder id, award id or '', funder name, funder ROR) from `funders`, `awards` and the older `grants`."""
    rows: dict[tuple[str, str], tuple[str, str, str | None, str | None]] = {}
    for funder in work.get("funders") or []:
        fid = short_id(funder.get("id")) if isinstance(funder, dict) else None
        if fid:
            rows.setdefault((fid, ""), (fid, "", _text(funder.get("display_name")), _text(funder.get("ror"))))
    for award in [*(work.get("awards") or []), *(work.get("grants") or [])]:
        if not isinstance(award, dict):
            continue
        fid = short_id(award.get("funder_id") or award.get("funder"))
        if not fid:
            continue
        award_id = _text(award.get("funder_award_id") or award.get("award_id"), 200) or ""
        name = _text(award.get("funder_display_name"))
        known = rows.pop((fid, ""), None)
        rows[(fid, award_id)] = (fid, award_id, name or (known[2] if known else None), known[3] if known else None)
    return list(rows.values())


def _bylines(authorships: list[Any]) -> list[Byline]:
    bylines: list[Byline] = []
    seen: set[str] = set()
    for place, authorship in enumerate(authorships):
        author = authorship.get("author") if isinstance(authorship, dict) else None
        aid = short_id(author.get("id")) if isinstance(author, dict) else None
        if not aid or aid in seen:
            continue  # anonymous, or listed twice: nothing (more) to attach the work to
        seen.add(aid)
        institutions = tuple(
            row for row in (institution_row(i) for i in authorship.get("institutions") or [] if isinstance(i, dict)) if row
        )
        countries = tuple(c for c in (_country(c) for c in authorship.get("countries") or []) if c)
        corresponding = authorship.get("is_corresponding")
        bylines.append(Byline(
            aid, place, _token(authorship.get("author_position"), 10), corresponding if isinstance(corresponding, bool) else None,
            _text(author.get("display_name"), 300) or _text(authorship.get("raw_author_name"), 300),
            normal_orcid(author.get("orcid")), countries, institutions,
        ))
    return bylines


def work_row(raw: dict[str, Any], where: str) -> WorkRow | Rejection:
    """The work's rows, or why it cannot be kept (no title to embed, no identified author)."""
    wid = short_id(raw.get("id")) or ""
    label = f"{where} (work {wid})"
    title = _text(raw.get("title") or raw.get("display_name"), 100_000)
    if not title:
        return Rejection(label, "title", "missing title; the work cannot be embedded")
    if len(title) > MAX_TITLE:
        return Rejection(label, "title", f"longer than {MAX_TITLE} characters ({len(title)}); not a title")
    authorships = raw.get("authorships")
    bylines = _bylines(authorships) if isinstance(authorships, list) else []
    if not bylines:
        return Rejection(label, "authorships", "no identified author listed; the work would be no one's")
    year = _int(raw.get("publication_year"), 1800)
    if year is not None and year > date.today().year + 1:
        return Rejection(label, "publication_year", f"year {year} is in the future")
    abstract = rebuild_abstract(raw.get("abstract_inverted_index"))
    if abstract:
        abstract = clean_text(abstract)
        if len(abstract) > MAX_ABSTRACT:
            abstract = abstract[:MAX_ABSTRACT].rsplit(" ", 1)[0]
    fwci = raw.get("fwci")
    row = WorkRow(
        wid, title, abstract or None, year, _int(raw.get("cited_by_count")),
        _token(raw.get("doi"), 300), _token(raw.get("type"), 40), _token(raw.get("language"), 10),
        float(fwci) if isinstance(fwci, int | float) and not isinstance(fwci, bool) else None,
        _topic(raw.get("primary_topic")), _date(raw.get("updated_date")), bylines, _funding(raw), _topic_ids(raw),
    )
    row.hash = record_hash(
        row.title, row.abstract, row.year, row.cited_by_count, row.doi, row.type, row.language, row.fwci, row.topic,
        [(b.author_id, b.position, b.author_position, b.is_corresponding, b.name, b.orcid, b.countries,
          [i.described() for i in b.institutions]) for b in bylines],
        row.funding,
    )
    return row
