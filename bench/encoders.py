"""Encoder backends on the corpus's own texts: throughput (texts/s) and agreement with fp32 (cosine
per text). Not a test.

    python bench/encoders.py [--texts 512] [--runs 3] [--json bench/results/encoders.json]

Backends: fp32 torch (the reference) and bf16 torch, as the indexer runs them (indexer/embedder.py,
normalised in float32). ONNX is not measured: the registry's only optimum-onnx (0.1.0) needs
transformers < 4.58, sentence-transformers 6 needs >= 5. A backend is faithful when its mean cosine to fp32 is at least 0.99; the fastest
faithful one is the candidate default for indexing (its evaluation figures must then match fp32's
within noise: `kakehashi evaluate`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.embedder import PACKAGED_MODEL, SentenceTransformerEmbedder  # noqa: E402
from indexer.records import embedding_text  # noqa: E402
from kernel.paths import DEMO_CORPUS as DEMO  # noqa: E402


def corpus_texts(count: int) -> list[str]:
    texts: list[str] = []
    with gzip.open(DEMO, "rt", encoding="utf-8") as handle:
        for line in handle:
            for pub in json.loads(line)["publications"]:
                texts.append(embedding_text(pub["title"], pub.get("abstract")))
                if len(texts) == count:
                    return texts
    return texts


def load(backend: str, batch_size: int) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(PACKAGED_MODEL, "cpu", batch_size, backend)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", type=Path, default=Path("bench/results/encoders.json"))
    args = parser.parse_args()
    import torch

    texts = corpus_texts(args.texts)
    words = statistics.mean(len(t.split()) for t in texts)
    print(f"{len(texts)} demo corpus texts (title + abstract, {words:.0f} words on average), {os.cpu_count()} cores, torch {torch.__version__}")
    reference = None
    rows = {}
    for backend in ("fp32", "bf16"):
        model = load(backend, args.batch_size)
        model.encode(texts[:64])  # warm up
        times, vectors = [], None
        for _ in range(args.runs):
            started = time.perf_counter()
            vectors = model.encode(texts)
            times.append(time.perf_counter() - started)
        if reference is None:
            reference = vectors
        cosine = np.sum(vectors * reference, axis=1)
        rows[backend] = {"texts_per_second": round(len(texts) / statistics.median(times), 1),
                         "mean_cosine_to_fp32": round(float(cosine.mean()), 5), "min_cosine_to_fp32": round(float(cosine.min()), 5),
                         "faithful": bool(cosine.mean() >= 0.99)}
        del model
    base = rows["fp32"]["texts_per_second"]
    print(f"{'backend':<8}{'texts/s':>9}{'vs fp32':>9}{'mean cos':>10}{'min cos':>9}  faithful")
    for backend, row in rows.items():
        print(f"{backend:<8}{row['texts_per_second']:>9}{row['texts_per_second'] / base:>8.2f}x{row['mean_cosine_to_fp32']:>10}"
              f"{row['min_cosine_to_fp32']:>9}  {'yes' if row['faithful'] else 'no'}")
    faithful = [b for b, r in rows.items() if r["faithful"]]
    fastest = max(faithful, key=lambda b: rows[b]["texts_per_second"])
    print(f"fastest faithful: {fastest}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"texts": len(texts), "mean_words": round(words, 1), "rows": rows, "fastest_faithful": fastest}, indent=1))


if __name__ == "__main__":
    main()
