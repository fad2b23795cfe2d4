"""What a batch job is asked: its queries (JSON, CSV or JSON Lines) and its options."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kernel.errors import InvalidInput
from service.matching.query import Filters, Id, Query, TeamRules, Weights

CSV_LIST_SEPARATOR = ";"
CSV_QUERY_COLUMNS = ("text", "goal_id", "researcher_id")
CSV_FILTER_COLUMNS = ("countries", "exclude_countries", "fields", "min_h_index", "since_year", "japan_ties",
                      "exclude_institutions", "exclude_researchers", "include_japan", "pi", "include_conflicts", "screened")
CSV_LIST_COLUMNS = {"countries", "exclude_countries", "fields", "exclude_institutions", "exclude_researchers"}


class BatchQuery(BaseModel):
    """One project of the batch: its own id, the query and its own filters."""

    model_config = ConfigDict(extra="forbid")

    id: Id
    query: Query
    filters: Filters = Field(default_factory=Filters)


class ExcludedPair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query_id: Id
    researcher_id: Id


class AssignmentRules(BaseModel):
    """Constrained assignment: each project gets `partners_per_project` partners, each researcher is
    proposed for at most `max_projects_per_researcher` projects; the total match score is maximised."""

    model_config = ConfigDict(extra="forbid")

    partners_per_project: int = Field(3, ge=1, le=50, description="k: partners per project.")
    max_projects_per_researcher: int = Field(1, ge=1, le=1000, description="c: projects one researcher may be proposed for.")
    min_countries: int | None = Field(None, ge=1, le=50, description="Distinct countries among a project's partners, at least.")
    max_per_country: int | None = Field(None, ge=1, le=50, description="Partners of one project from one country, at most.")
    excluded_pairs: list[ExcludedPair] = Field(default_factory=list, max_length=100_000, description="Conflicts of interest: never assign these.")
    candidates_per_project: int = Field(50, ge=1, le=500, description="How many of each project's best matches the assignment chooses from.")

    @model_validator(mode="after")
    def _consistent(self) -> AssignmentRules:
        if self.min_countries is not None and self.min_countries > self.partners_per_project:
            raise ValueError(f"min_countries ({self.min_countries}) cannot exceed partners_per_project ({self.partners_per_project})")
        if self.candidates_per_project < self.partners_per_project:
            raise ValueError("candidates_per_project must be at least partners_per_project")
        return self


class BatchOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(10, ge=1, le=100, description="Results per query (without assignment).")
    weights: Weights | None = None
    assignment: AssignmentRules | None = Field(None, description="Opt-in constrained assignment.")
    team: TeamRules | None = Field(None, description="Suggest a team per query that covers its needs (rows: team_member, "
                                                     "aspects_covered; members beyond `limit` are added with their rank).")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queries: list[BatchQuery] = Field(min_length=1)
    options: BatchOptions = Field(default_factory=BatchOptions)

    @model_validator(mode="after")
    def _unique_ids(self) -> BatchRequest:
        seen: set[str] = set()
        for q in self.queries:
            if q.id in seen:
                raise ValueError(f"query id {q.id!r} appears more than once")
            seen.add(q.id)
        return self


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ())) or "(record)"
    return f"field {where}: {str(error.get('msg', '')).removeprefix('Value error, ')}"


def _csv_record(row: dict[str, str | None]) -> dict[str, Any]:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    query: dict[str, Any] = {name: cell(name) for name in CSV_QUERY_COLUMNS if cell(name)}
    if cell("aspects"):  # the project's needs, separated by ';'
        query["aspects"] = [v.strip() for v in cell("aspects").split(CSV_LIST_SEPARATOR) if v.strip()]
    filters: dict[str, Any] = {}
    for name in CSV_FILTER_COLUMNS:
        value = cell(name)
        if not value:
            continue
        if name in CSV_LIST_COLUMNS:
            filters[name] = [v.strip() for v in value.split(CSV_LIST_SEPARATOR) if v.strip()]
        elif name in ("include_japan", "include_conflicts"):
            filters[name] = value.lower() in ("1", "true", "yes")
        else:
            filters[name] = value
    return {"id": cell("id"), "query": query, "filters": filters}


def _csv_problem(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a field is longer than the {csv.field_size_limit():,} characters a CSV field may hold"
    return str(exc)


def _json(text: str, where: str) -> Any:
    """One JSON document; InvalidInput (prefixed by `where`) for what cannot be read, nesting too deep included."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{where}not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise InvalidInput(f"{where}JSON nested too deeply to be a batch of queries") from None
    except ValueError as exc:  # a number too long to convert, and the like
        raise InvalidInput(f"{where}not usable JSON ({exc})") from None


def parse_queries(content: bytes, kind: str) -> list[BatchQuery]:
    """Queries from an uploaded file; `kind` is csv, jsonl or json. Errors name the line and field."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the file is not UTF-8 text (byte {exc.start})") from None
    records: list[tuple[int, Any]]
    if kind == "csv":
        reader = csv.DictReader(io.StringIO(text))
        records = []
        try:
            header = reader.fieldnames or []
            if "id" not in header or not set(CSV_QUERY_COLUMNS) & set(header):
                raise InvalidInput(f"the CSV header needs an id column and one of {', '.join(CSV_QUERY_COLUMNS)}; got {header}")
            for row in reader:
                records.append((reader.line_num, _csv_record(row)))
        except csv.Error as exc:  # a field over the csv module's limit, a NUL byte, a broken quote
            raise InvalidInput(f"line {reader.line_num + 1}: not readable as CSV ({_csv_problem(exc)})") from None
    elif kind == "jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                records.append((number, _json(line, f"line {number}: ")))
    elif kind == "json":
        data = _json(text, "")
        items = data.get("queries") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise InvalidInput("a JSON file must hold a list of queries, or an object with a 'queries' list")
        records = [(i, item) for i, item in enumerate(items, start=1)]
    else:
        raise InvalidInput(f"unknown file kind {kind!r}: use csv, jsonl or json")
    queries = []
    for number, record in records:
        try:
            queries.append(BatchQuery.model_validate(record))
        except ValidationError as exc:
            where = f"line {number}" if kind != "json" else f"query {number}"
            rid = record.get("id") if isinstance(record, dict) else None
            raise InvalidInput(f"{where}{f' (id {rid!r})' if rid else ''}: {_first_error(exc)}") from None
    if not queries:
        raise InvalidInput("the file holds no queries")
    return queries


def kind_of(filename: str | None, content_type: str | None) -> str:
    """csv, jsonl or json, from the file name or the media type."""
    name = (filename or "").lower()
    media = (content_type or "").split(";")[0].strip().lower()
    if name.endswith(".csv") or media in ("text/csv", "application/csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson")) or media in ("application/x-ndjson", "application/jsonl", "application/jsonlines"):
        return "jsonl"
    if name.endswith(".json") or media == "application/json":
        return "json"
    raise InvalidInput(f"cannot tell the file's format from its name {filename!r} or type {content_type!r}: use .csv, .jsonl or .json")


def check_count(body: BatchRequest, max_queries: int) -> BatchRequest:
    if len(body.queries) > max_queries:
        raise InvalidInput(f"{len(body.queries)} queries; a batch job takes at most {max_queries}")
    return body


def batch_from_file(content: bytes, filename: str | None, content_type: str | None, options: BatchOptions, max_queries: int) -> BatchRequest:
    """A job request from an uploaded file (CSV, JSON Lines or JSON). Raises InvalidInput naming the
    line and field, or pydantic's ValidationError for rules across queries (a duplicate id)."""
    return check_count(BatchRequest(queries=parse_queries(content, kind_of(filename, content_type)), options=options), max_queries)
