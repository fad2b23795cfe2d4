"""The house record format and its validation. Every source adapter produces these records."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kernel.reference import is_country_code

_ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
ID_PATTERN = r"^[^\s\x00-\x1f][^\x00-\x1f]{0,199}$"
_ID = ID_PATTERN
MAX_PUBLICATIONS = 2000


LEAD_CHARS = 800  # of the abstract, in the "title_lead" mode


def embedding_text(title: str, abstract: str | None, mode: str = "title_abstract") -> str:
    """What the embedder reads for a publication: the title, then the abstract (mode "title": the
    title alone; "title_lead": the title and the abstract's first LEAD_CHARS characters, cut at a
    word, for the multilingual model, whose cost grows faster than with the text's length)."""
    if not abstract or mode == "title":
        return title
    if mode == "title_lead" and len(abstract) > LEAD_CHARS:
        cut = abstract.rfind(" ", 0, LEAD_CHARS)
        abstract = abstract[: cut if cut > 0 else LEAD_CHARS]
    return f"{title}. {abstract}"


def text_hash(title: str, abstract: str | None) -> str:
    """Changes when the title or the abstract changes (the embedded text)."""
    return hashlib.sha256(embedding_text(title, abstract).encode("utf-8")).hexdigest()[:16]


def clean_text(value: str) -> str:
    """Runs of whitespace (newlines, tabs) as one space, none at the ends."""
    return " ".join(value.split())


def _clean_text(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def normal_orcid(value: Any) -> str | None:
    """'https://orcid.org/0000-0002-1825-0097' -> '0000-0002-1825-0097'; None when it is not an ORCID iD."""
    match = _ORCID.match(value.strip()) if isinstance(value, str) else None
    return match.group(1) if match else None


class FunderRecord(BaseModel):
    """A funder named on a work: its OpenAlex funder id (F...) links it to the registry's agencies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=300)
    ror: str | None = Field(None, max_length=100)


class PublicationRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=2000)
    abstract: str | None = Field(None, max_length=20000)
    year: int | None = Field(None, ge=1800)
    cited_by_count: int | None = Field(None, ge=0)
    funders: tuple[FunderRecord, ...] = Field((), max_length=50)

    _clean = field_validator("title", "abstract", mode="before")(_clean_text)

    @field_validator("year")
    @classmethod
    def _not_future(cls, year: int | None) -> int | None:
        if year is not None and year > date.today().year + 1:
            raise ValueError(f"year {year} is in the future")
        return year

    @property
    def text_hash(self) -> str:
        return text_hash(self.title, self.abstract)


class ResearcherRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=300)
    institution: str | None = Field(None, max_length=500)
    institution_id: str | None = Field(None, pattern=_ID, description="An OpenAlex institution id (I...) or another stable id")
    country: str | None = None
    orcid: str | None = None
    h_index: int | None = Field(None, ge=0, le=1000)
    works_count: int | None = Field(None, ge=0)
    cited_by_count: int | None = Field(None, ge=0)
    fields: tuple[str, ...] = ()
    source: str = "house"
    fictional: bool = False
    publications: tuple[PublicationRecord, ...] = Field(min_length=1, max_length=MAX_PUBLICATIONS)

    _clean = field_validator("name", "institution", mode="before")(_clean_text)

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not is_country_code(value.strip().upper()):
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. 'DE')")
        return value.strip().upper()

    @field_validator("orcid", mode="before")
    @classmethod
    def _orcid(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        match = _ORCID.match(str(value).strip())
        if not match:
            raise ValueError(f"{value!r} is not an ORCID iD (0000-0000-0000-000X)")
        return match.group(1)

    @model_validator(mode="after")
    def _unique_publications(self) -> ResearcherRecord:
        seen: set[str] = set()
        for pub in self.publications:
            if pub.id in seen:
                raise ValueError(f"publication id {pub.id!r} appears twice")
            seen.add(pub.id)
        return self

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Rejection:
    """One record that was not stored: where it came from, which field, why."""

    record: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.record}: {self.field}: {self.reason}"


def validate_researcher(raw: Any, where: str, known_fields: set[str]) -> ResearcherRecord | list[Rejection]:
    """A valid record, or the list of reasons it was rejected. `where` locates it (file:line)."""
    if not isinstance(raw, dict):
        return [Rejection(where, "(record)", f"expected a JSON object, got {type(raw).__name__}")]
    label = f"{where} (id {raw['id']!r})" if isinstance(raw.get("id"), str) else where
    try:
        record = ResearcherRecord.model_validate(raw)
    except ValidationError as exc:
        return [
            Rejection(label, ".".join(map(str, err["loc"])) or "(record)", err["msg"].removeprefix("Value error, "))
            for err in exc.errors()
        ]
    unknown = [f for f in record.fields if f not in known_fields]
    if unknown:
        return [Rejection(label, "fields", f"unknown field(s) {unknown}; known: {sorted(known_fields)}")]
    return record
