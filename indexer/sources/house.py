"""The house format: JSON Lines (one researcher per line) and CSV (one publication per row)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from indexer.records import Rejection
from indexer.sources.files import iter_csv_rows

CSV_RESEARCHER_COLUMNS = ("name", "institution", "country", "orcid", "h_index")
CSV_REQUIRED = ("researcher_id", "name", "publication_id", "title")


def _int_or_text(value: str) -> int | str | None:
    if value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return value  # validation reports it with the field name


def read_house_csv(path: Path) -> Iterator[tuple[str, Any | Rejection]]:
    """Rows are grouped by researcher_id (rows of one researcher need not be adjacent).
    Columns: researcher_id, name, institution, country, orcid, h_index, publication_id, title, abstract, year."""
    grouped: dict[str, dict[str, Any]] = {}
    lines: dict[str, list[str]] = {}
    for where, row in iter_csv_rows(path):
        if isinstance(row, Rejection):
            yield where, row
            continue
        missing = [c for c in CSV_REQUIRED if c not in row]
        if missing:
            yield where, Rejection(where, ",".join(missing), f"missing CSV column(s); expected header {', '.join(CSV_REQUIRED)}, ...")
            return
        rid = row["researcher_id"]
        if not rid:
            yield where, Rejection(where, "researcher_id", "empty")
            continue
        record = grouped.setdefault(rid, {"id": rid, "publications": []})
        lines.setdefault(rid, []).append(where.rsplit(":", 1)[1])
        for column in CSV_RESEARCHER_COLUMNS:
            value = row.get(column, "")
            if value and column not in record:
                record[column] = _int_or_text(value) if column == "h_index" else value
        pub = {"id": row["publication_id"], "title": row["title"]}
        if row.get("abstract"):
            pub["abstract"] = row["abstract"]
        if row.get("year"):
            pub["year"] = _int_or_text(row["year"])
        record["publications"].append(pub)
    for rid, record in grouped.items():
        yield f"{path.name}:{','.join(lines[rid])}", record
