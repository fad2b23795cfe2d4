"""Ingest and embed throughput against the ceiling: the model encoding the same texts in a tight
loop. Not a test.

    python bench/embed_throughput.py [--researchers 300] [--json bench/results/embed_throughput.json]

The pipeline is `kakehashi ingest` (validate, store) plus `kakehashi index build` (read the store,
embed every publication, build and publish the index) on a fresh data directory, with the packaged
model and the multilingual space off (it embeds titles a second time with another model).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.embedder import load_embedder  # noqa: E402
from kernel.paths import DEMO_CORPUS as DEMO  # noqa: E402
from kernel.settings import Settings  # noqa: E402
from service.runtime import Runtime  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--researchers", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "corpus.jsonl"
        with gzip.open(DEMO, "rt", encoding="utf-8") as handle, source.open("w", encoding="utf-8") as out:
            for i, line in enumerate(handle):
                if i == args.researchers:
                    break
                out.write(line)
        settings = Settings(data_dir=Path(tmp) / "state", multilingual=False, vector_cache=None)  # measure the embedding, not the shipped cache
        runtime = Runtime(settings, embedder=load_embedder(settings))
        runtime.embedder.encode_query("warm up")
        started = time.perf_counter()
        report = runtime.ingest(source)
        ingested = time.perf_counter() - started
        built = runtime.build_index()
        pipeline = time.perf_counter() - started
        with runtime.store() as store:
            texts = [p.text(settings.embed_text) for p in store.publications()]
        started = time.perf_counter()
        runtime.embedder.encode(texts)
        raw = time.perf_counter() - started
    n = built.manifest["counts"]["publications"]
    result = {"researchers": report.added, "publications": n, "ingest_seconds": round(ingested, 1), "pipeline_seconds": round(pipeline, 1),
              "pipeline_per_second": round(n / pipeline, 1), "raw_encode_per_second": round(n / raw, 1),
              "pipeline_vs_raw": round(raw / pipeline, 3), "index": built.manifest["ann"]["kind"], "batch_size": settings.embed_batch_size}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
