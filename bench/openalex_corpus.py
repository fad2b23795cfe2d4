"""OpenAlex-shaped corpora at any size, made from the real sample records, for the ingest benchmark.

Each generated work is a real sample work (its title, abstract, topics, institutions, funders, every
field as OpenAlex gives it) under a fresh work id, its title numbered after the first copy (a copy
stands for another paper, with a text of its own), with its authorships given fresh author ids drawn
from a skewed distribution: a few authors appear on hundreds of works, most on one or two, as in
OpenAlex. Author records (a share of the authors, with real records' shapes) and the sample's
institutions come with it. Written as an OpenAlex snapshot: `data/<entity>/updated_date=.../part_NNN.gz`
with a `manifest` per entity, so the benchmark reads what a real snapshot download looks like.

    python bench/openalex_corpus.py OUT --works 100000
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = (ROOT.parent / "shared" / "openalex-sample", ROOT / "data" / "openalex-sample")  # full records first
PART_WORKS = 50_000
WORKS_PER_AUTHOR = 4.0  # mean authorships per author: the pool of authors is sized from it
SKEW = 1.5  # author index = pool * u**SKEW: the larger, the more works on the most prolific authors
AUTHOR_RECORD_SHARE = 0.3  # authors that also get an author record
GENERATOR = 2  # 2: a copy's title is numbered; a corpus written by another generator is made again


def sample_dir() -> Path:
    return next(p for p in SAMPLES if (p / "works.jsonl.gz").is_file())


def _read(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def _author_id(index: int) -> str:
    return f"https://openalex.org/A9{index:010d}"


def generate_works(templates: list[dict[str, Any]], count: int, pool: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    for n in range(count):
        work = dict(templates[n % len(templates)])
        work["id"] = f"https://openalex.org/W9{n:010d}"
        if n >= len(templates):  # a copy stands for another paper: its own text (a build embeds one text once)
            work["title"] = work["display_name"] = f"{work.get('title') or work.get('display_name') or ''} [{n}]"
        authorships = []
        for authorship in work.get("authorships") or []:
            author = dict(authorship.get("author") or {})
            author["id"] = _author_id(int(pool * rng.random() ** SKEW))
            authorships.append({**authorship, "author": author})
        work["authorships"] = authorships
        yield work


def generate_authors(templates: list[dict[str, Any]], pool: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = np.random.default_rng(seed + 1)
    chosen = np.flatnonzero(rng.random(pool) < AUTHOR_RECORD_SHARE)
    for i, index in enumerate(chosen):
        yield {**templates[i % len(templates)], "id": _author_id(int(index))}


def _write_entity(out: Path, entity: str, records: Iterator[dict[str, Any]], per_part: int, date: str) -> int:
    partition = out / "data" / entity / f"updated_date={date}"
    partition.mkdir(parents=True, exist_ok=True)
    entries, total, part, handle, in_part = [], 0, 0, None, 0

    def close() -> None:
        nonlocal handle
        if handle is not None:
            handle.close()
            path = partition / f"part_{part:03d}.gz"
            entries.append({"url": f"s3://openalex/data/{entity}/updated_date={date}/{path.name}",
                            "meta": {"content_length": path.stat().st_size, "record_count": in_part}})
            handle = None

    for record in records:
        if handle is None:
            handle = gzip.open(partition / f"part_{part:03d}.gz", "wb", compresslevel=3)
            in_part = 0
        handle.write(orjson.dumps(record) + b"\n")
        in_part += 1
        total += 1
        if in_part >= per_part:
            close()
            part += 1
    close()
    manifest = {"entries": entries, "meta": {"content_length": sum(e["meta"]["content_length"] for e in entries), "record_count": total}}
    (out / "data" / entity / "manifest").write_text(json.dumps(manifest, indent=1))
    return total


def generate(out: Path, works: int, seed: int = 13, date: str = "2026-11-01") -> dict[str, int]:
    source = sample_dir()
    work_templates = _read(source / "works.jsonl.gz")
    pool = max(1, int(works * sum(len(w.get("authorships") or []) for w in work_templates) / len(work_templates) / WORKS_PER_AUTHOR))
    counts = {
        "institutions": _write_entity(out, "institutions", iter(_read(source / "institutions.jsonl.gz")), PART_WORKS, date),
        "works": _write_entity(out, "works", generate_works(work_templates, works, pool, seed), PART_WORKS, date),
        "authors": _write_entity(out, "authors", generate_authors(_read(source / "authors.jsonl.gz"), pool, seed), PART_WORKS * 4, date),
    }
    (out / "corpus.json").write_text(json.dumps({"generator": GENERATOR, "source": str(source), "author_pool": pool, **counts}, indent=1))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--works", type=int, default=100_000)
    args = parser.parse_args()
    print(generate(args.out, args.works), file=sys.stderr)


if __name__ == "__main__":
    main()
