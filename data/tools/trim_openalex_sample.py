"""Trim the shared OpenAlex sample to the fields Kakehashi reads or will read, so that the
repository holds a complete copy of the real records its tests and evaluation use.

    python data/tools/trim_openalex_sample.py ../shared/openalex-sample data/openalex-sample

The records are real OpenAlex API records (CC0); trimming drops fields, never records, and keeps
every value it keeps exactly as OpenAlex wrote it. Writes are atomic (a temporary file, then a
rename), and the output is byte-for-byte reproducible (gzip without a timestamp, keys in order).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path
from typing import Any

INSTITUTION = ("id", "display_name", "ror", "country_code", "type")
TOPIC_PART = ("id", "display_name")


def pick(record: Any, keys: tuple[str, ...]) -> Any:
    if not isinstance(record, dict):
        return record
    return {k: record[k] for k in keys if k in record}


def institutions(value: Any) -> Any:
    return [pick(i, INSTITUTION) for i in value] if isinstance(value, list) else value


def topic(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = pick(value, ("id", "display_name", "score", "count", "value"))
    for part in ("subfield", "field", "domain"):
        if part in value:
            out[part] = pick(value[part], TOPIC_PART)
    return out


def authorship(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = pick(value, ("author_position", "is_corresponding", "countries"))
    if "author" in value:
        out["author"] = pick(value["author"], ("id", "display_name", "orcid"))
    if "institutions" in value:
        out["institutions"] = institutions(value["institutions"])
    return out


def work(record: dict[str, Any]) -> dict[str, Any]:
    out = pick(record, ("id", "doi", "title", "display_name", "publication_year", "publication_date",
                        "type", "language", "cited_by_count", "fwci", "abstract_inverted_index",
                        "funders", "awards", "grants"))
    if isinstance(record.get("authorships"), list):
        out["authorships"] = [authorship(a) for a in record["authorships"]]
    if "primary_topic" in record:
        out["primary_topic"] = topic(record["primary_topic"])
    if isinstance(record.get("topics"), list):
        out["topics"] = [topic(t) for t in record["topics"]]
    if isinstance(record.get("concepts"), list):
        out["concepts"] = [pick(c, ("id", "display_name", "level", "score")) for c in record["concepts"]]
    if isinstance(record.get("keywords"), list):
        out["keywords"] = [pick(k, ("id", "display_name", "score")) for k in record["keywords"]]
    return out


def author(record: dict[str, Any]) -> dict[str, Any]:
    out = pick(record, ("id", "display_name", "display_name_alternatives", "orcid", "works_count",
                        "cited_by_count", "summary_stats", "updated_date"))
    if "last_known_institutions" in record:
        out["last_known_institutions"] = institutions(record["last_known_institutions"])
    if "last_known_institution" in record:
        out["last_known_institution"] = pick(record["last_known_institution"], INSTITUTION)
    if isinstance(record.get("affiliations"), list):
        out["affiliations"] = [
            {"institution": pick(a.get("institution"), INSTITUTION), "years": a.get("years")}
            for a in record["affiliations"] if isinstance(a, dict)
        ]
    if isinstance(record.get("topics"), list):
        out["topics"] = [topic(t) for t in record["topics"]]
    return out


def institution(record: dict[str, Any]) -> dict[str, Any]:
    out = pick(record, ("id", "display_name", "display_name_acronyms", "display_name_alternatives",
                        "country_code", "ror", "type", "lineage", "updated_date"))
    if isinstance(record.get("geo"), dict):
        out["geo"] = pick(record["geo"], ("city", "region", "country_code", "country"))
    return out


TRIMMERS = {"works": work, "authors": author, "institutions": institution}


def trim_file(source: Path, target: Path, trimmer: Any) -> int:
    temporary = target.with_name(target.name + ".tmp")
    count = 0
    with gzip.open(source, "rt", encoding="utf-8") as lines, open(temporary, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as packed:
            for line in lines:
                if line.strip():
                    packed.write((json.dumps(trimmer(json.loads(line)), ensure_ascii=False) + "\n").encode())
                    count += 1
    os.replace(temporary, target)
    return count


def main(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, trimmer in TRIMMERS.items():
        count = trim_file(source / f"{name}.jsonl.gz", target / f"{name}.jsonl.gz", trimmer)
        print(f"{name}: {count} records, {(target / f'{name}.jsonl.gz').stat().st_size:,} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
