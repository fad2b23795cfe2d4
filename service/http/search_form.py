"""The search form: query-string parameters to the matcher's query, filters and weights, and back.

The URL holds the whole search (GET), so a result list can be shared by link, and a saved search
is that URL's query (the page and the API read it here alike). The form keeps what
the user typed, so a page with an error shows the form as it was sent."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from pydantic import ValidationError

from kernel.errors import InvalidInput
from kernel.reference import Reference, country_code
from service.matching.query import Filters, Query, TeamRules, Weights

PAGE_SIZES = (10, 20, 50)
WEIGHT_NAMES = ("topical", "strength", "impact", "recency", "ties")
MAX_OFFSET = 10_000  # as the API's `offset`
MAX_NEED_CHARS = 2_000  # as the API's `query.aspects`


class FormErrors(InvalidInput):
    """Values the form cannot use, by the name of the control that holds each."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class SearchForm:
    text: str = ""
    goal: str = ""
    like: str = ""  # "more like this researcher": a researcher id
    country: str = ""  # comma-separated codes or names
    exclude: str = ""
    fields: tuple[str, ...] = ()
    min_h: str = ""
    since: str = ""
    ties: str = ""  # the japan_ties filter: "", any, none, or a number of works
    pi: str = ""  # the PI, for conflicts of interest
    conflicts: str = ""  # "1": show conflicted candidates, flagged
    screened: str = ""  # "exclude": leave out candidates on a screening list ("": flag them)
    needs: str = ""  # the project's needs, one a line (else found in the description)
    team: str = ""  # suggest a team of this many partners
    team_per_country: str = ""  # at most this many from a country ("" 1, "any": no limit)
    team_direct: str = ""  # "1": prefer members in direct-route countries
    weights: dict[str, str] = field(default_factory=dict)
    page: str = "1"
    per: str = str(PAGE_SIZES[0])

    @classmethod
    def from_params(cls, params: Mapping[str, str], multi: Mapping[str, Sequence[str]]) -> SearchForm:
        """`params` the last value of each name, `multi` every value (the field checkboxes)."""
        def value(name: str) -> str:
            return params.get(name, "").strip() if name != "q" else params.get(name, "")

        return cls(
            text=value("q"), goal=value("goal"), like=value("like"),
            country=", ".join(v.strip() for v in multi.get("country", ()) if v.strip()),
            exclude=", ".join(v.strip() for v in multi.get("exclude", ()) if v.strip()),
            fields=tuple(dict.fromkeys(v for v in multi.get("field", ()) if v)),
            min_h=value("min_h"), since=value("since"), ties=value("ties"), pi=value("pi"), conflicts=value("conflicts"),
            screened=value("screened"), needs=params.get("needs", "").strip(), team=value("team"),
            team_per_country=value("team_per_country"), team_direct=value("team_direct"), weights={n: value(f"w_{n}") for n in WEIGHT_NAMES if value(f"w_{n}")},
            page=value("page") or "1", per=value("per") or str(PAGE_SIZES[0]),
        )

    @property
    def is_empty(self) -> bool:
        """Nothing to search for yet: the page shows the form alone."""
        return not (self.text.strip() or self.goal or self.like)

    def params(self, **changes: object) -> list[tuple[str, str]]:
        form = dataclasses.replace(self, **changes) if changes else self  # type: ignore[arg-type]
        pairs = [("q", form.text), ("goal", form.goal), ("like", form.like), ("country", form.country), ("exclude", form.exclude)]
        pairs += [("field", f) for f in form.fields]
        pairs += [("min_h", form.min_h), ("since", form.since), ("ties", form.ties), ("pi", form.pi), ("conflicts", form.conflicts)]
        pairs += [("screened", form.screened), ("needs", form.needs), ("team", form.team), ("team_per_country", form.team_per_country),
                  ("team_direct", form.team_direct)]
        pairs += [(f"w_{n}", form.weights[n]) for n in WEIGHT_NAMES if n in form.weights]
        if form.per != str(PAGE_SIZES[0]):
            pairs.append(("per", form.per))
        if form.page != "1":
            pairs.append(("page", form.page))
        return [(k, v) for k, v in pairs if v]

    def url(self, path: str = "/", **changes: object) -> str:
        query = urlencode(self.params(**changes))
        return f"{path}?{query}" if query else path

    # --- to the matcher ------------------------------------------------------------------------

    def to_request(self, reference: Reference) -> SearchRequest:
        """Raises FormErrors naming each control with a value that cannot be used."""
        errors: dict[str, str] = {}
        given = [name for name, v in (("q", self.text.strip()), ("goal", self.goal), ("like", self.like)) if v]
        if len(given) > 1:
            errors["q"] = "Describe the project or pick a Moonshot goal (or a researcher to find others like), not more than one."
        goal_id = None
        if self.goal:
            goal_id = int(self.goal) if self.goal.isdigit() else None
            if goal_id is None or reference.goal(goal_id) is None:
                errors["goal"] = f"There is no Moonshot goal {self.goal!r}; goals are 1-{len(reference.goals)}."
        countries = _countries(self.country, "country", errors)
        excluded = _countries(self.exclude, "exclude", errors)
        unknown_fields = [f for f in self.fields if f not in reference.field_ids]
        if unknown_fields:
            errors["field"] = f"Unknown field(s): {', '.join(unknown_fields)}."
        min_h = _integer(self.min_h, "min_h", "Minimum h-index", 0, 1000, errors)
        since = _integer(self.since, "since", "Since year", 1800, 2100, errors)
        ties: str | int | None = self.ties or None
        if self.ties and self.ties not in ("any", "none"):
            ties = _integer(self.ties, "ties", "Ties to Japan (at least this many works)", 1, 10_000, errors)
        if self.screened not in ("", "flag", "exclude"):
            errors["screened"] = "Screening lists: flag or exclude."
        needs = [line.strip() for line in self.needs.splitlines() if line.strip()]
        if needs and not 2 <= len(needs) <= 4:
            errors["needs"] = f"Name 2 to 4 needs, one a line, or leave this empty to have them found in the description (got {len(needs)})."
        elif any(len(n) > MAX_NEED_CHARS for n in needs):
            errors["needs"] = f"Each need is at most {MAX_NEED_CHARS} characters: a phrase, not a description."
        team_size = _integer(self.team, "team", "The team's size", 2, 8, errors)
        per_country = None if self.team_per_country == "any" else _integer(self.team_per_country, "team_per_country",
                                                                          "Team members per country", 1, 3, errors) or 1
        weights = {n: _number(v, f"w_{n}", f"Weight of {n}", errors) for n, v in self.weights.items()}
        per = _integer(self.per, "per", "Results per page", min(PAGE_SIZES), max(PAGE_SIZES), errors)
        if per is not None and per not in PAGE_SIZES:
            errors["per"] = f"Results per page must be one of {', '.join(map(str, PAGE_SIZES))}."
        page = _integer(self.page, "page", "The page number", 1, MAX_OFFSET + 1, errors)
        if page is not None and per is not None and (page - 1) * per > MAX_OFFSET:
            errors["page"] = f"Page {page} is beyond the last page that can be shown ({MAX_OFFSET // per + 1} at {per} per page)."
        if errors:
            raise FormErrors(errors)
        try:
            query = Query(text=self.text if self.text.strip() else None, goal_id=goal_id, researcher_id=self.like or None,
                          aspects=needs or None)
            filters = Filters(countries=countries, exclude_countries=excluded, fields=list(self.fields), min_h_index=min_h, since_year=since,
                              japan_ties=ties, pi=self.pi or None, include_conflicts=bool(self.conflicts),
                              screened="exclude" if self.screened == "exclude" else "flag")
            chosen = Weights(**weights) if weights else None
            team = TeamRules(size=team_size, max_per_country=per_country, prefer_direct=bool(self.team_direct)) if team_size else None
        except ValidationError as exc:
            raise FormErrors({"q": "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())}) from None
        assert per is not None and page is not None
        return SearchRequest(query, filters, chosen, per, (page - 1) * per, team)


@dataclass(frozen=True)
class SearchRequest:
    query: Query
    filters: Filters
    weights: Weights | None
    limit: int
    offset: int
    team: TeamRules | None = None

    @property
    def last_page_allowed(self) -> int:
        return MAX_OFFSET // self.limit + 1


def _countries(text: str, name: str, errors: dict[str, str]) -> list[str]:
    codes, unknown = [], []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        code = country_code(part)
        if code:
            codes.append(code)
        else:
            unknown.append(part)
    if unknown:
        errors[name] = f"Not a country name or ISO code: {', '.join(repr(u) for u in unknown)}."
    return list(dict.fromkeys(codes))


def _integer(text: str, name: str, label: str, low: int, high: int, errors: dict[str, str]) -> int | None:
    if not text:
        return None
    if not re.fullmatch(r"-?[0-9]{1,9}", text) or not low <= int(text) <= high:
        errors[name] = f"{label} must be a whole number from {low} to {high} (got {text!r})."
        return None
    return int(text)


def _number(text: str, name: str, label: str, errors: dict[str, str]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 10:
        errors[name] = f"{label} must be a number from 0 to 10 (got {text!r})."
        return None
    return value
