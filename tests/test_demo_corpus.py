"""The fictional demo corpus: reproducible from its generator, and as broad as promised."""

import gzip
import json
import runpy
from collections import Counter
from pathlib import Path

from kernel.paths import DATA_DIR
from kernel.reference import load_reference

DEMO = DATA_DIR / "demo"


def test_the_committed_corpus_is_what_the_generator_makes(tmp_path: Path) -> None:
    generator = runpy.run_path(str(DATA_DIR / "tools" / "generate_demo.py"))
    for fresh in generator["write"](tmp_path):
        assert fresh.read_bytes() == (DEMO / fresh.name).read_bytes()


def test_corpus_is_fictional_broad_and_well_formed() -> None:
    with gzip.open(DEMO / "researchers.jsonl.gz", "rt") as handle:
        records = [json.loads(line) for line in handle]
    fields = set(load_reference(DATA_DIR).field_ids)
    assert len(records) >= 2000
    assert all(r["fictional"] is True and r["source"] == "demo" for r in records)
    assert len({r["country"] for r in records}) >= 30
    assert set(Counter(r["fields"][0] for r in records)) == fields
    assert all(3 <= len(r["publications"]) <= (13 if r["country"] == "JP" else 10) for r in records)  # in Japan, up to 3 works abroad too
    shared = Counter(p["id"] for r in records for p in r["publications"])
    tied = {r["id"] for r in records if r["country"] != "JP" and any(shared[p["id"]] > 1 for p in r["publications"])}
    assert len(tied) >= 150  # researchers abroad with works co-authored in Japan (ties to Japan)
    assert len({r["id"] for r in records}) == len(records)
