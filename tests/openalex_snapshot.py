"""Small OpenAlex snapshots made from the repository's sample records, for the ingest tests, in the
layouts OpenAlex publishes (developers.openalex.org/download/snapshot-format): the older
`data/<entity>/updated_date=.../NNNN_part_00.gz` with a `manifest` (`entries`) per entity, and the
2026 one with parallel `data/jsonl/` and `data/parquet/` trees, `part_NNNN.gz` or `.parquet` files
and a `manifest.json` (`files`) per entity."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import OPENALEX_SAMPLE

ENTITIES = ("institutions", "works", "authors")
Records = dict[str, list[dict[str, Any]]]  # by entity


def sample() -> Records:
    out = {}
    for entity in ENTITIES:
        with gzip.open(OPENALEX_SAMPLE / f"{entity}.jsonl.gz", "rb") as handle:
            out[entity] = [orjson.loads(line) for line in handle if line.strip()]
    return out


def _for_parquet(record: dict[str, Any]) -> dict[str, Any]:
    """OpenAlex's Parquet holds the inverted index (a map of arbitrary words) as JSON text."""
    index = record.get("abstract_inverted_index")
    return {**record, "abstract_inverted_index": None if index is None else json.dumps(index)}


def parquet_schema(records: list[dict[str, Any]]) -> pa.Schema:
    """One schema for all of an entity's files, as OpenAlex's Parquet has (every column of any record)."""
    columns = list(dict.fromkeys(key for record in records for key in record))
    rows = [_for_parquet(r) for r in records]
    return pa.schema([pa.field(c, pa.array([row.get(c) for row in rows]).type) for c in columns])


def write_part(path: Path, records: list[dict[str, Any]], schema: pa.Schema | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        schema = schema or parquet_schema(records)
        table = pa.Table.from_pylist([_for_parquet(r) for r in records], schema=schema)
        pq.write_table(table, path, row_group_size=100)
    else:
        with gzip.open(path, "wb") as handle:
            handle.writelines(orjson.dumps(r) + b"\n" for r in records)


TREES = {"data": "data", "jsonl": "data/jsonl", "parquet": "data/parquet"}  # the layout: where its entities are


def part_name(tree: str, n: int) -> str:
    return {"data": f"{n:04d}_part_00.gz", "jsonl": f"part_{n:04d}.gz", "parquet": f"part_{n:04d}.parquet"}[tree]


def write_manifest(entity_dir: Path, tree: str) -> None:
    """The manifest as OpenAlex publishes it, listing every part there is now."""
    entries = []
    for part in sorted(p for p in entity_dir.glob("updated_date=*/*") if p.is_file()):
        count = pq.ParquetFile(part).metadata.num_rows if part.suffix == ".parquet" else sum(1 for _ in gzip.open(part))
        entries.append({"url": f"s3://openalex/{TREES[tree]}/{entity_dir.name}/{part.parent.name}/{part.name}",
                        "meta": {"content_length": part.stat().st_size, "record_count": count}})
    totals = {"content_length": sum(e["meta"]["content_length"] for e in entries), "record_count": sum(e["meta"]["record_count"] for e in entries)}
    if tree == "data":
        (entity_dir / "manifest").write_text(json.dumps({"entries": entries, "meta": totals}))
    else:
        manifest = {"date": "2026-11-30", "format": tree, "entity": entity_dir.name, **totals, "files": entries}
        (entity_dir / "manifest.json").write_text(json.dumps(manifest))


def write_snapshot(root: Path, trees: tuple[str, ...], partitions: dict[str, Records], parts: int = 2) -> Path:
    """`trees`: "data" (the older layout) or "jsonl" and "parquet" (the newer); `partitions`: the
    records of each `updated_date`, each entity's split over `parts` files."""
    for tree in trees:
        for date, records in partitions.items():
            for entity, rows in records.items():
                schema = parquet_schema(rows) if tree == "parquet" else None
                for n in range(parts):
                    chunk = rows[n::parts]
                    if chunk:
                        write_part(root / TREES[tree] / entity / f"updated_date={date}" / part_name(tree, n), chunk, schema)
        for entity in ENTITIES:
            if (root / TREES[tree] / entity).is_dir():
                write_manifest(root / TREES[tree] / entity, tree)
    return root
