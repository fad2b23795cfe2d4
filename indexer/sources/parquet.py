"""Reading OpenAlex Parquet files a record batch at a time (never the whole file), as the same
records the JSON Lines give: nested columns come back as dicts and lists, and the columns that hold
JSON text or key-value maps (the abstract's inverted index) are turned back into objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from indexer.records import Rejection

ROWS_PER_BATCH = 1024
_OBJECT_COLUMNS = ("abstract_inverted_index",)  # {word: [positions]}: JSON text or a map in Parquet


def _as_object(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    if isinstance(value, list) and value and all(isinstance(pair, tuple) and len(pair) == 2 for pair in value):
        return dict(value)  # a Parquet map comes back as (key, value) pairs
    return value


def iter_parquet_records(path: Path) -> Iterator[tuple[str, Any]]:
    """(location, record) per row; a file that cannot be read ends with a rejection naming it."""
    row = 0
    try:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=ROWS_PER_BATCH):
            for record in batch.to_pylist():
                row += 1
                for column in _OBJECT_COLUMNS:
                    if column in record:
                        record[column] = _as_object(record[column])
                yield f"{path.name} row {row}", record
    except (OSError, pa.ArrowException) as exc:
        yield path.name, Rejection(path.name, "(file)", f"cannot be read as Parquet: {exc} (the rows before this point are kept)")
