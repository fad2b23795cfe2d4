"""Flat match rows (service/matching/row.py) as CSV, JSON or Parquet: streamed where the format allows."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from kernel.errors import InvalidInput
from service.matching.row import BATCH_COLUMNS, parquet_schema

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json", "parquet": "application/vnd.apache.parquet"}


def format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput(f"output {path.name!r}: the file name must end in .csv, .json or .parquet")
    return fmt


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula (a name or title from the data such as
    '=HYPERLINK(...)') gets a leading apostrophe, as OWASP advises for CSV meant for spreadsheets.
    Numbers are left as they are; JSON and Parquet keep every text exactly."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def csv_chunks(rows: Iterable[dict[str, Any]], columns: Sequence[str] = BATCH_COLUMNS) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for i, row in enumerate(rows, start=1):
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array, one row per line."""
    yield "["
    for i, row in enumerate(rows):
        yield ("," if i else "") + "\n" + json.dumps({k: row.get(k) for k in BATCH_COLUMNS}, ensure_ascii=False)
    yield "\n]\n"


def parquet_bytes(rows: Iterable[dict[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([{k: row.get(k) for k in BATCH_COLUMNS} for row in rows], schema=parquet_schema(BATCH_COLUMNS))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def write(rows: Iterable[dict[str, Any]], path: Path) -> None:
    """To a file, atomically (a temporary file renamed into place)."""
    fmt = format_of(path)
    temporary = path.with_name(f".{path.name}.partial")
    if fmt == "parquet":
        temporary.write_bytes(parquet_bytes(rows))
    else:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            for chunk in (csv_chunks(rows) if fmt == "csv" else json_chunks(rows)):
                handle.write(chunk)
    temporary.replace(path)
