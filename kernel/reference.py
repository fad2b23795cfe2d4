"""Reference data from data/: fields, Moonshot goals, the counterpart agency registry.

Validated at load; an error names the file and the entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pycountry
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kernel.errors import ReferenceDataError

ANY_FIELD = "*"


def is_country_code(code: str) -> bool:
    """ISO 3166-1 alpha-2 (upper case), e.g. 'DE'."""
    return len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code) is not None


COUNTRY_ALIASES = {"UK": "GB", "KOREA": "KR"}  # common names that ISO leaves ambiguous or spells otherwise


def country_code(text: str) -> str | None:
    """The alpha-2 code for a code or a name ('de', 'DEU', 'Germany', 'Korea, Republic of'); None if unknown."""
    text = text.strip()
    alias = COUNTRY_ALIASES.get(text.upper())
    if alias:
        return alias
    if len(text) == 2:
        return text.upper() if is_country_code(text.upper()) else None
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


def country_name(code: str) -> str:
    if code == "EU":
        return "European Union"
    found = pycountry.countries.get(alpha_2=code)
    return getattr(found, "common_name", None) or (found.name if found else code)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldDef(_Strict):
    id: str = Field(pattern=r"^[a-z_]+$")
    label: str = Field(min_length=1)
    description: str = Field(min_length=20)
    openalex: tuple[str, ...] = ()  # OpenAlex field and subfield ids ('fields/25', 'subfields/1702') of this field's works

    @field_validator("openalex")
    @classmethod
    def _openalex_ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        bad = [i for i in ids if not re.fullmatch(r"(fields|subfields)/\d{2,4}", i)]
        if bad:
            raise ValueError(f"{bad} are not OpenAlex field or subfield ids (fields/N, subfields/N)")
        return ids


class Goal(_Strict):
    id: int = Field(ge=1)
    short_name: str = Field(min_length=1)
    title: str = Field(min_length=1)
    title_note: str | None = None
    target_year: int = Field(ge=2025, le=2100)
    managing_agency: str = Field(min_length=1)
    set_on: str
    fields: tuple[str, ...] = Field(min_length=1)
    description: str = Field(min_length=50)
    source: str = Field(min_length=1)

    @property
    def text(self) -> str:
        """What the embedder reads for this goal."""
        return f"{self.short_name}. {self.description}"


class Agency(_Strict):
    acronym: str = Field(min_length=1)
    name: str = Field(min_length=1)
    fields: tuple[str, ...] = Field(min_length=1)
    # the ids a work's funder record names it by: OpenAlex funder ids ("F4320306076") and ROR
    # ("https://ror.org/021nxhr62"); how a candidate's funders are linked to the registry, never by name
    ids: tuple[str, ...] = ()


class Arrangement(_Strict):
    japanese_agency: str = Field(min_length=1)
    partner_agencies: tuple[str, ...] = Field(min_length=1)
    program: str = Field(min_length=1)
    fields: tuple[str, ...] = Field(min_length=1)
    confidence: str = Field(pattern=r"^(documented|uncertain)$")  # of the field scope
    # standing: an agreement under which calls or funding recur; call: joint calls, the last in
    # `last_call_year`; one_off: a single past project or call (evidence of collaboration, not a route)
    kind: str = Field("standing", pattern=r"^(standing|call|one_off)$")
    last_call_year: int | None = Field(None, ge=1990, le=2100)
    source: str | None = None  # where this arrangement was read, where it is not the entry's source
    note: str | None = None

    def covers(self, field: str) -> bool:
        return ANY_FIELD in self.fields or field in self.fields


class CountryEntry(_Strict):
    country: str
    agencies: tuple[Agency, ...]
    arrangements: tuple[Arrangement, ...] = ()
    members: tuple[str, ...] = ()
    domestic: bool = False
    government_channel: bool = True
    note: str | None = None
    source: str = Field(min_length=1)
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")

    @field_validator("country")
    @classmethod
    def _code(cls, value: str) -> str:
        if value != "EU" and not is_country_code(value):
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 code")
        return value


@dataclass(frozen=True)
class Reference:
    fields: tuple[FieldDef, ...]
    goals: tuple[Goal, ...]
    registry: dict[str, CountryEntry]

    @property
    def field_ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.fields)

    def goal(self, goal_id: int) -> Goal | None:
        return next((g for g in self.goals if g.id == goal_id), None)

    def field(self, field_id: str) -> FieldDef | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def supranational_for(self, country: str) -> list[CountryEntry]:
        return [e for e in self.registry.values() if country in e.members]


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReferenceDataError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise ReferenceDataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ReferenceDataError(f"{path}: expected a JSON object at the top level")
    return doc


def _entries(path: Path, doc: dict[str, Any], key: str, model: type[BaseModel], name_key: str) -> list[Any]:
    raw = doc.get(key)
    if not isinstance(raw, list) or not raw:
        raise ReferenceDataError(f"{path}: expected a non-empty list under {key!r}")
    out = []
    for i, item in enumerate(raw):
        label = item.get(name_key, f"#{i}") if isinstance(item, dict) else f"#{i}"
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(entry)'}: {e['msg']}" for e in exc.errors())
            raise ReferenceDataError(f"{path}: entry {label} ({key}[{i}]): {problems}") from None
    return out


def _check_fields(path: Path, where: str, used: tuple[str, ...], known: set[str], allow_any: bool = False) -> None:
    for field in used:
        if field == ANY_FIELD and allow_any:
            continue
        if field not in known:
            raise ReferenceDataError(f"{path}: {where}: unknown field {field!r} (known: {', '.join(sorted(known))})")


def load_reference(directory: Path) -> Reference:
    fields_path, goals_path, agencies_path = directory / "fields.json", directory / "goals.json", directory / "agencies.json"
    fields = _entries(fields_path, _read(fields_path), "fields", FieldDef, "id")
    known = {f.id for f in fields}
    if len(known) != len(fields):
        raise ReferenceDataError(f"{fields_path}: duplicate field ids")

    goals = _entries(goals_path, _read(goals_path), "goals", Goal, "id")
    if sorted(g.id for g in goals) != list(range(1, len(goals) + 1)):
        raise ReferenceDataError(f"{goals_path}: goal ids must be 1..{len(goals)} without gaps or duplicates")
    for goal in goals:
        _check_fields(goals_path, f"goal {goal.id}", goal.fields, known)

    entries = _entries(agencies_path, _read(agencies_path), "countries", CountryEntry, "country")
    registry: dict[str, CountryEntry] = {}
    for entry in entries:
        if entry.country in registry:
            raise ReferenceDataError(f"{agencies_path}: entry {entry.country}: duplicate country")
        acronyms = {a.acronym for a in entry.agencies}
        for agency in entry.agencies:
            _check_fields(agencies_path, f"entry {entry.country}, agency {agency.acronym}", agency.fields, known, True)
        for arrangement in entry.arrangements:
            where = f"entry {entry.country}, arrangement {arrangement.program!r}"
            _check_fields(agencies_path, where, arrangement.fields, known, True)
            missing = set(arrangement.partner_agencies) - acronyms
            if missing:
                raise ReferenceDataError(f"{agencies_path}: {where}: partner agencies {sorted(missing)} are not listed under agencies")
        for member in entry.members:
            if not is_country_code(member):
                raise ReferenceDataError(f"{agencies_path}: entry {entry.country}: member {member!r} is not an ISO code")
        registry[entry.country] = entry
    return Reference(tuple(fields), tuple(goals), registry)


@lru_cache(maxsize=4)
def cached_reference(directory: Path) -> Reference:
    return load_reference(directory)
