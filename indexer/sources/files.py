"""Reading JSON Lines, JSON and CSV files, gzipped or not, with line numbers for the reports."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from indexer.records import Rejection

SUFFIXES = (".jsonl", ".json", ".ndjson", ".csv")


def open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return path.open("r", encoding="utf-8-sig", newline="")


def base_suffix(path: Path) -> str:
    return Path(path.stem).suffix.lower() if path.suffix == ".gz" else path.suffix.lower()


def list_inputs(path: Path) -> list[Path]:
    """The files to read: the file itself, or the supported files of a directory, sorted."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and base_suffix(p) in SUFFIXES)
    return [path]


def iter_json_records(path: Path) -> Iterator[tuple[str, Any | Rejection]]:
    """(location, parsed object or rejection) per record. A `.json` file holds one document: a list
    of records or one API page (`{"results": [...]}`); JSON Lines hold one record or page per line."""
    with open_text(path) as handle:
        if base_suffix(path) == ".json":
            yield from _whole_document(path, handle.read())
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield where, Rejection(where, "(line)", f"not valid JSON: {exc.msg} at column {exc.colno}")
                continue
            yield from _expand_page(where, obj)


def _whole_document(path: Path, text: str) -> Iterator[tuple[str, Any | Rejection]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"{path.name}:{exc.lineno}"
        yield where, Rejection(where, "(file)", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        return
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            yield f"{path.name}[{i}]", item
    else:
        yield from _expand_page(path.name, doc)


def _expand_page(where: str, obj: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(obj, dict) and isinstance(obj.get("results"), list) and "id" not in obj:
        for i, item in enumerate(obj["results"]):
            yield f"{where} results[{i}]", item
    else:
        yield where, obj


def iter_csv_rows(path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with open_text(path) as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            yield f"{path.name}:{reader.line_num}", {k.strip(): (v or "").strip() for k, v in row.items() if k}
