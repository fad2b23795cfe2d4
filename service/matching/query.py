"""What a caller may ask: the query, its filters and weights. Shared by the API, the CLI and batch."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kernel.reference import is_country_code
from kernel.settings import RankingWeights

JAPAN = "JP"
Id = Annotated[str, Field(min_length=1, max_length=200)]


def _countries(values: list[str]) -> list[str]:
    out = []
    for value in values:
        code = value.strip().upper()
        if not is_country_code(code):
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. 'DE', 'US')")
        out.append(code)
    return out


class Query(BaseModel):
    """Exactly one of: free text, a Moonshot goal id, a researcher id ("more like this")."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, min_length=1, description="Project description, any length up to the configured limit.")
    goal_id: int | None = Field(None, ge=1, description="Moonshot goal id, 1-10.")
    researcher_id: Id | None = Field(None, description="Find researchers whose work resembles this researcher's.")
    aspects: list[Annotated[str, Field(min_length=1, max_length=2000)]] | None = Field(
        None, min_length=2, max_length=4,
        description="The project's needs, 2-4 phrases, each matched on its own; by default a text's needs are found in it.")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("text is blank")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Query:
        given = [k for k in ("text", "goal_id", "researcher_id") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of text, goal_id, researcher_id (got {given or 'none'})")
        return self


class Filters(BaseModel):
    """Who may appear in the results. Researchers in Japan are excluded unless `include_japan` is
    true or JP is named in `countries`."""

    model_config = ConfigDict(extra="forbid")

    countries: list[str] = Field(default_factory=list, max_length=300, description="Only these countries (ISO alpha-2).")
    exclude_countries: list[str] = Field(default_factory=list, max_length=300)
    fields: list[str] = Field(default_factory=list, max_length=50, description="Only researchers working in these fields; also sets the query's fields.")
    min_h_index: int | None = Field(None, ge=0, le=1000, description="Researchers with an unknown h-index are left out when set.")
    since_year: int | None = Field(None, ge=1800, le=2100, description="Only publications from this year on count, and researchers need at least one.")
    exclude_institutions: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(default_factory=list, max_length=500, description="Case-insensitive substrings of institution names.")
    exclude_researchers: list[Id] = Field(default_factory=list, max_length=10_000)
    include_japan: bool = False
    japan_ties: Literal["any", "none"] | Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        None, description="Ties to Japan: any (a work co-authored with authors in Japan), none, or at least N such works.")
    pi: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="The query's PI (OpenAlex author id, ORCID or researcher id): candidates with a conflict of interest "
                          "(recent co-authors, the same institution) are left out, or flagged with `include_conflicts`.")
    include_conflicts: bool = Field(False, description="Show candidates with a conflict of interest with the PI, flagged.")
    screened: Literal["flag", "exclude"] = Field(
        "flag", description="Candidates whose institution matches an entry of a loaded screening list (METI's End User List, the US "
                            "Consolidated Screening List, ...): flag shows them with the hit, exclude leaves them out.")

    _codes = field_validator("countries", "exclude_countries")(_countries)

    def excluded_countries(self) -> set[str]:
        excluded = set(self.exclude_countries)
        if not self.include_japan and JAPAN not in self.countries:
            excluded.add(JAPAN)
        return excluded


class Weights(BaseModel):
    """Per-request weights; omitted ones take the configured defaults."""

    model_config = ConfigDict(extra="forbid")

    topical: float | None = Field(None, ge=0, le=10)
    strength: float | None = Field(None, ge=0, le=10)
    impact: float | None = Field(None, ge=0, le=10)
    recency: float | None = Field(None, ge=0, le=10)
    ties: float | None = Field(None, ge=0, le=10, description="Works co-authored with authors in Japan.")

    def over(self, defaults: RankingWeights) -> RankingWeights:
        merged = defaults.model_copy(update={k: v for k, v in self.model_dump().items() if v is not None})
        if merged.topical + merged.strength + merged.impact + merged.recency + merged.ties <= 0:
            raise ValueError("at least one weight must be positive")
        return merged


class TeamRules(BaseModel):
    """What a suggested team must respect (the API's `team`, the page's form, a batch row's columns)."""

    model_config = ConfigDict(extra="forbid")

    size: int = Field(3, ge=2, le=8, description="How many partners the team has at most")
    max_per_country: int | None = Field(1, ge=1, le=8, description="At most this many members from one country (null: no limit)")
    prefer_direct: bool = Field(False, description="Among teams that cover as much, prefer members in direct-route countries")
