"""`kakehashi ingest` at national scale: works per second and peak memory beside parsing alone. Not a test.

    python bench/ingest_scale.py --works 100000 1000000 [--json bench/results/ingest_scale.json] [--keep DIR]

For each size an OpenAlex snapshot is generated from the real sample records (bench/openalex_corpus.py:
fresh work and author ids, authors on several works each with a skewed distribution, author records
for a share of them, the institutions), then, each in a fresh process so that its peak resident
memory is its own:

1. the reference: the same files read with the same JSON parser (gzip + orjson) and nothing else;
2. the ingest, as `kakehashi ingest ROOT` runs it: parse, validate, store in batches, derive the
   profiles (no embedding), into an empty store;
3. the same ingest again over the unchanged snapshot.

Targets (issue 13): peak RSS <= 1 GB at 1M works and at most 1.2x the 100k figure; ingest
throughput >= 0.5x the parse-only reference; the unchanged re-ingest >= 10x faster than the first.
`--keep DIR` keeps the largest size's data directory (the store that bench/service_scale.py can load).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _parse_only(root: str) -> dict[str, float]:
    import orjson

    started, records = time.perf_counter(), 0
    for part in sorted(Path(root).glob("data/*/updated_date=*/*.gz")):
        with gzip.open(part, "rb") as handle:
            for line in handle:
                if line.strip():
                    orjson.loads(line)
                    records += 1
    return {"seconds": time.perf_counter() - started, "records": records}


def _ingest(root: str, data_dir: str) -> dict[str, float]:
    from kernel.settings import Settings
    from service.runtime import Runtime

    settings = Settings(data_dir=Path(data_dir), model="fake:hashing-384", multilingual=False)
    started = time.perf_counter()
    report = Runtime(settings).ingest(Path(root))
    from indexer.conversion import worker_count
    from indexer.sources.snapshot import plan_inputs

    workers = worker_count([f for f in plan_inputs(Path(root)).files if f.name not in report.files_skipped], None)
    return {"seconds": time.perf_counter() - started, "workers": workers, "records": report.records_read, "files_skipped": len(report.files_skipped),
            "profiles_derived": report.profiles_derived, "researchers_added": report.added, "rejected": report.rejected,
            "works_added": report.openalex["works"].added}


def _child(step: str, *args: str) -> None:
    result = _parse_only(*args) if step == "parse" else _ingest(*args)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # worker processes converting records: the largest one's peak, counted once per worker (an upper bound of their sum)
    result["worker_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(result))


def run(step: str, *args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", step, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(works: int, work_dir: Path) -> dict[str, object]:
    from bench.openalex_corpus import GENERATOR, generate

    corpus = work_dir / f"corpus-{works}"
    made = json.loads((corpus / "corpus.json").read_text()) if (corpus / "corpus.json").is_file() else {}
    if made.get("generator") != GENERATOR:  # none yet, or written by another generator
        shutil.rmtree(corpus, ignore_errors=True)
        started = time.perf_counter()
        generate(corpus, works)
        print(f"  generated {works:,} works in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    counts = json.loads((corpus / "corpus.json").read_text())
    data_dir = work_dir / f"state-{works}"
    shutil.rmtree(data_dir, ignore_errors=True)
    parse = run("parse", str(corpus))
    first = run("ingest", str(corpus), str(data_dir))
    again = run("ingest", str(corpus), str(data_dir))
    size_gb = sum(p.stat().st_size for p in corpus.glob("data/*/*/*")) / 1e9
    return {
        "works": works, "corpus": counts, "snapshot_gb": round(size_gb, 2),
        "store_gb": round((data_dir / "kakehashi.sqlite").stat().st_size / 1e9, 2),
        "parse_only": {**parse, "works_per_s": works / parse["seconds"]},
        "ingest": {**first, "works_per_s": works / first["seconds"]},
        "reingest_unchanged": again,
        "throughput_ratio": parse["seconds"] / first["seconds"],
        "reingest_speedup": first["seconds"] / again["seconds"],
        "data_dir": str(data_dir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--works", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--work-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "kakehashi-ingest-bench")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="Move the largest size's data directory here.")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    args.work_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for works in sorted(args.works):
        print(f"{works:,} works ...", file=sys.stderr)
        result = measure(works, args.work_dir)
        results.append(result)
        p, i, r = result["parse_only"], result["ingest"], result["reingest_unchanged"]
        print(f"{works:>9,} works  parse only {p['works_per_s']:8,.0f} works/s {p['peak_rss_mb']:6,.0f} MB | "
              f"ingest {i['works_per_s']:7,.0f} works/s ({result['throughput_ratio']:.2f}x, target >= 0.5x) "
              f"{i['peak_rss_mb']:6,.0f} MB peak | unchanged re-ingest {r['seconds']:6.1f} s "
              f"({result['reingest_speedup']:.0f}x faster, target >= 10x) {r['peak_rss_mb']:5,.0f} MB")
    smallest, largest = results[0], results[-1]
    growth = largest["ingest"]["peak_rss_mb"] / smallest["ingest"]["peak_rss_mb"]
    print(f"peak RSS {largest['works']:,} / {smallest['works']:,} works: {growth:.2f}x (target <= 1.2x); "
          f"at {largest['works']:,}: {largest['ingest']['peak_rss_mb']:,.0f} MB (target <= 1024 MB)")
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        shutil.move(largest["data_dir"], args.keep)
        largest["data_dir"] = str(args.keep)
    if args.json:
        args.json.write_text(json.dumps({
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "sizes": results, "rss_growth": growth,
        }, indent=1))


if __name__ == "__main__":
    main()
