"""Screening lists as their publishers give them, read into one entry shape: METI's End User List
(its spreadsheet saved as CSV, English or Japanese headings), the US Consolidated Screening List
(the CSV or JSON download of data.trade.gov) and a plain CSV of name, aliases, country, address.
A file that is not one of these, or an entry without a name, is refused naming the file, the line
and the field; nothing of it is stored."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel.errors import InvalidInput
from kernel.reference import country_code

FORMATS = ("meti", "csl-csv", "csl-json", "csv")
MAX_BYTES = 200 * 2**20  # the whole CSL is about 100 MB as JSON
MAX_NAME = 1000
# the country names that lists use and ISO spells otherwise (METI's Japanese edition among them)
LIST_COUNTRIES = {
    "UAE": "AE", "RUSSIA": "RU", "KOREA, NORTH": "KP", "NORTH KOREA": "KP", "DPRK": "KP", "IRAN": "IR", "SYRIA": "SY",
    "TURKEY": "TR", "BURMA": "MM", "イラン": "IR", "北朝鮮": "KP", "中国": "CN", "パキスタン": "PK", "シリア": "SY", "イスラエル": "IL",
    "インド": "IN", "アフガニスタン": "AF", "アラブ首長国連邦": "AE", "台湾": "TW", "香港": "HK", "ロシア": "RU", "トルコ": "TR",
    "ベラルーシ": "BY", "ミャンマー": "MM", "レバノン": "LB", "イエメン": "YE", "エジプト": "EG", "スーダン": "SD", "イラク": "IQ",
}


def country_code_of(text: str) -> str | None:
    text = " ".join(text.split())
    return LIST_COUNTRIES.get(text.upper()) or (country_code(text) if text else None)


@dataclass(frozen=True)
class ScreeningEntry:
    entry_id: str  # the list's own number or id, else the line
    name: str
    aliases: tuple[str, ...]
    country: str | None  # ISO 3166-1 alpha-2, where the list says
    address: str | None
    remarks: str | None  # the list's category (METI's type of WMD concern, the CSL's source list)


def read_list(path: Path, fmt: str = "auto") -> tuple[str, list[ScreeningEntry]]:
    """The format and the entries of a list file; `fmt` one of FORMATS, or auto (by extension and headings)."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise InvalidInput(f"{path}: larger than {MAX_BYTES // 2**20} MB; is it a screening list?")
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig", errors="strict") if _utf8(raw) else raw.decode("cp932", errors="replace")  # METI's own exports
    if fmt == "auto":
        fmt = _detect(path, text)
    if fmt not in FORMATS:
        raise InvalidInput(f"{path}: unknown list format {fmt!r}; one of {', '.join(FORMATS)}")
    entries = list(_READERS[fmt](path, text))
    if not entries:
        raise InvalidInput(f"{path}: no entries found as a {fmt} list")
    return fmt, entries


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _detect(path: Path, text: str) -> str:
    if path.suffix.lower() == ".json":
        return "csl-json"
    head = text[:4000].lower()
    if "entity_number" in head and "alt_names" in head:
        return "csl-csv"
    if any(h in head for h in ("company or organization", "企業名", "type of wmd", "懸念区分")):
        return "meti"
    return "csv"


def _rows(path: Path, text: str, wanted: Callable[[list[str]], bool]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row by lower-cased heading) after the first line that `wanted` takes as the headings
    (a spreadsheet's export may have title lines above them)."""
    reader = csv.reader(io.StringIO(text))
    headings: list[str] | None = None
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            if headings is None:
                if wanted([c.lower() for c in cells]):
                    headings = [c.lower() for c in cells]
                continue
            if any(cells):
                yield reader.line_num, dict(zip(headings, cells, strict=False))
    except csv.Error as exc:
        raise InvalidInput(f"{path}, line {reader.line_num}: not readable as CSV ({exc})") from exc
    if headings is None:
        raise InvalidInput(f"{path}: no heading line found (the columns this format needs are missing)")


def _column(row: dict[str, str], *names: str) -> str:
    """The first column whose heading contains one of `names`."""
    for name in names:
        for heading, value in row.items():
            if heading and name in heading and value:
                return value
    return ""


def _name(path: Path, line: int, field: str, value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise InvalidInput(f"{path}, line {line}: field {field!r} is empty: every entry needs a name")
    if len(value) > MAX_NAME:
        raise InvalidInput(f"{path}, line {line}: field {field!r} is longer than {MAX_NAME} characters")
    return value


def _split_aliases(value: str) -> tuple[str, ...]:
    """Aliases as lists print them: separated by semicolons, new lines, Japanese commas, or numbered."""
    parts = re.split(r"[;\n\r、；]|\(\d+\)|（\d+）|\b\d+\)\s", value)
    return tuple(dict.fromkeys(p for p in (" ".join(s.split()).strip(" ,.") for s in parts) if p and len(p) <= MAX_NAME))


def _country(path: Path, line: int, value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    code = country_code_of(value)
    if code is None:
        raise InvalidInput(f"{path}, line {line}: field 'country' {value!r} is not a country name or ISO code")
    return code


def _read_meti(path: Path, text: str) -> Iterator[ScreeningEntry]:
    METI_NAME = ("company or organization", "company", "organization", "企業名", "組織名")
    for line, row in _rows(path, text, lambda cells: any(any(n in c for n in METI_NAME) for c in cells)):
        name = _name(path, line, "Company or Organization", _column(row, *METI_NAME))
        yield ScreeningEntry(
            _column(row, "no.", "no", "番号") or str(line), name, _split_aliases(_column(row, "also known as", "別名")),
            _country(path, line, _column(row, "country", "国名", "地域")), None, _column(row, "type of wmd", "wmd", "懸念区分") or None,
        )


def _csl_country(addresses: Iterable[str]) -> str | None:
    """The CSV's addresses read "street, city, state, postal code, CC; ...": the first code given."""
    for address in addresses:
        last = address.rsplit(",", 1)[-1].strip()
        if len(last) == 2 and last.isalpha():
            code = country_code_of(last.upper())
            if code:
                return code
    return None


def _read_csl_csv(path: Path, text: str) -> Iterator[ScreeningEntry]:
    for line, row in _rows(path, text, lambda cells: "name" in cells and "alt_names" in cells):
        if row.get("type", "").lower() in ("individual", "vessel", "aircraft"):
            continue  # institutions are screened; people, ships and planes are not candidates' institutions
        addresses = [a.strip() for a in row.get("addresses", "").split(";") if a.strip()]
        yield ScreeningEntry(
            row.get("_id") or row.get("entity_number") or str(line), _name(path, line, "name", row.get("name", "")),
            _split_aliases(row.get("alt_names", "")), _csl_country(addresses), "; ".join(addresses) or None, row.get("source") or None,
        )


def _read_csl_json(path: Path, text: str) -> Iterator[ScreeningEntry]:
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path}, line {exc.lineno}: not JSON ({exc.msg})") from exc
    results = doc.get("results") if isinstance(doc, dict) else doc
    if not isinstance(results, list):
        raise InvalidInput(f"{path}: field 'results' is missing: expected the CSL's {{\"results\": [...]}}")
    for number, item in enumerate(results, 1):
        where = f"results[{number - 1}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{path}: {where} is not an object")
        if str(item.get("type") or "").lower() in ("individual", "vessel", "aircraft"):
            continue
        addresses = [a for a in item.get("addresses") or [] if isinstance(a, dict)]
        countries = [c for c in (country_code_of(str(a.get("country") or "")) for a in addresses) if c]
        aliases = tuple(" ".join(str(a).split()) for a in item.get("alt_names") or [] if isinstance(a, str) and a.strip())
        name = item.get("name")
        yield ScreeningEntry(
            str(item.get("id") or item.get("entity_number") or number), _name(path, number, f"{where}.name", name if isinstance(name, str) else ""),
            aliases, countries[0] if countries else None,
            "; ".join(", ".join(str(a[k]) for k in ("address", "city", "state", "postal_code", "country") if a.get(k)) for a in addresses) or None,
            str(item.get("source") or "") or None,
        )


def _read_plain(path: Path, text: str) -> Iterator[ScreeningEntry]:
    for line, row in _rows(path, text, lambda cells: "name" in cells):
        yield ScreeningEntry(
            row.get("id") or str(line), _name(path, line, "name", row.get("name", "")), _split_aliases(row.get("aliases", "")),
            _country(path, line, row.get("country", "")), row.get("address") or None, row.get("remarks") or None,
        )


_READERS: dict[str, Callable[[Path, str], Iterator[ScreeningEntry]]] = {
    "meti": _read_meti, "csl-csv": _read_csl_csv, "csl-json": _read_csl_json, "csv": _read_plain,
}
