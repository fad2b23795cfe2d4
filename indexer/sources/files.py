"""Reading JSON Lines, JSON and CSV files, gzipped or not, with line numbers for the reports."""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from indexer.records import Rejection

SUFFIXES = (".jsonl", ".json", ".ndjson", ".csv")


def _open_binary(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # type: ignore[return-value]


def _not_utf8(where: str, byte: int, column: int) -> Rejection:
    return Rejection(where, "(line)", f"not UTF-8 text: byte 0x{byte:02x} at column {column} (save the file as UTF-8; the other lines are read)")


def _unreadable(path: Path, exc: Exception) -> Rejection:
    return Rejection(path.name, "(file)", f"cannot be read: {exc} (the records before this point are kept)")


def decoded_lines(path: Path) -> Iterator[tuple[int, str | Rejection]]:
    """(line number, text) per line, each decoded as UTF-8 on its own (a BOM at the start is
    dropped): a line that does not decode is a rejection naming the file, the line and the byte,
    and the lines around it are still read. A damaged gzip stream ends the file with a rejection."""
    try:
        with _open_binary(path) as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1:
                    raw = raw.removeprefix(codecs.BOM_UTF8)
                try:
                    yield number, raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield number, _not_utf8(f"{path.name}:{number}", raw[exc.start], exc.start + 1)
    except (OSError, EOFError, zlib.error) as exc:
        yield 0, _unreadable(path, exc)


def base_suffix(path: Path) -> str:
    return Path(path.stem).suffix.lower() if path.suffix == ".gz" else path.suffix.lower()


def raw_lines(path: Path) -> Iterator[tuple[int, bytes | Rejection]]:
    """(line number, bytes) per line, a BOM at the start dropped; a damaged gzip stream ends the
    file with a rejection."""
    try:
        with _open_binary(path) as handle:
            for number, raw in enumerate(handle, start=1):
                yield number, raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw
    except (OSError, EOFError, zlib.error) as exc:
        yield 0, _unreadable(path, exc)


def parse_line(raw: bytes, where: str) -> Any | Rejection:
    """The JSON value of one line, or why it is not one: not UTF-8 (naming the
    byte and its column), not JSON (naming the column), or nested too deeply."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass  # the slow path below says why, in the words of the standard library's parser
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _not_utf8(where, raw[exc.start], exc.start + 1)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return Rejection(where, "(line)", f"not valid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return Rejection(where, "(line)", "not usable JSON: nested too deeply")


def iter_json_records(path: Path) -> Iterator[tuple[str, Any | Rejection]]:
    """(location, parsed object or rejection) per record. A `.json` file holds one document: a list
    of records or one API page (`{"results": [...]}`); JSON Lines hold one record or page per line."""
    if base_suffix(path) == ".json":
        yield from _whole_document(path)
        return
    yield from records_of_lines(path.name, raw_lines(path))


def records_of_lines(name: str, lines: Iterable[tuple[int, bytes | Rejection]]) -> Iterator[tuple[str, Any | Rejection]]:
    """The records of JSON Lines (as `raw_lines` gives them), a page's results one by one."""
    for number, raw in lines:
        if isinstance(raw, Rejection):
            yield raw.record, raw
            continue
        if raw.isspace() or not raw:
            continue
        where = f"{name}:{number}"
        obj = parse_line(raw, where)
        if isinstance(obj, Rejection):
            yield where, obj
        elif isinstance(obj, dict) and "id" in obj:
            yield where, obj
        else:
            yield from _expand_page(where, obj)


def _whole_document(path: Path) -> Iterator[tuple[str, Any | Rejection]]:
    try:
        with _open_binary(path) as handle:
            raw = handle.read().removeprefix(codecs.BOM_UTF8)
    except (OSError, EOFError, zlib.error) as exc:
        yield path.name, _unreadable(path, exc)
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        where = f"{path.name}:{line}"
        yield where, _not_utf8(where, raw[exc.start], exc.start - raw.rfind(b"\n", 0, exc.start))
        return
    try:
        doc = json.loads(text)
    except RecursionError:
        yield path.name, Rejection(path.name, "(file)", "not usable JSON: nested too deeply")
        return
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


def iter_csv_rows(path: Path) -> Iterator[tuple[str, dict[str, str] | Rejection]]:
    """(location, row) per CSV row, the location naming its last line; lines that are not UTF-8
    come out as rejections in their place, and the rows around them are read."""
    skipped: list[Rejection] = []
    number = 0

    def text_lines() -> Iterator[str]:
        nonlocal number
        for line_number, line in decoded_lines(path):
            number = line_number
            if isinstance(line, Rejection):
                skipped.append(line)
            else:
                yield line

    try:
        for row in csv.DictReader(text_lines()):
            yield from ((r.record, r) for r in skipped)
            skipped.clear()
            yield f"{path.name}:{number}", {k.strip(): (v or "").strip() for k, v in row.items() if k}
    except csv.Error as exc:
        where = f"{path.name}:{number}"
        skipped.append(Rejection(where, "(line)", f"not valid CSV: {exc}; the rest of the file is not read"))
    yield from ((r.record, r) for r in skipped)
