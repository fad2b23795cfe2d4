"""The search stage at scale: exact FAISS, HNSW and IVF-SQ8 against a naive NumPy brute force, on
synthetic clustered vectors (like text embeddings: topics as clusters on the unit sphere), each
measured in one run beside its reference. Not a test.

    python bench/scale.py --sizes 100000 1000000 [--dim 384] [--queries 200] [--json bench/results/scale.json]

Per size: build time, index file size, resident memory of a fresh process holding the loaded index
(read into memory, and memory-mapped), recall@10 against exact search, and single-query search
latency p50/p99 at k=10 and at k=1000 (what the service retrieves per query). Approximate indexes
are tuned to recall@10 >= 0.95 as `kakehashi index build` tunes them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer import ann  # noqa: E402
from kernel.settings import AnnSettings  # noqa: E402

IN_MEMORY_MAX = 2_000_000  # beyond this the vectors are written to a memory-mapped file, and NumPy and flat are left out


def clustered(n: int, dim: int, seed: int = 0, path: Path | None = None) -> np.ndarray:
    """n unit vectors around n/1000 topic centres; a vector's cosine to its centre is about 0.6.
    Written block by block into `path` (a .npy file, memory-mapped) where given."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(10, n // 1000), dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim)) if path else np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = centres[rng.integers(0, len(centres), m)] + rng.normal(0, 1.3 / math.sqrt(dim), (m, dim)).astype(np.float32)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    if path:
        out.flush()
        del out
        return np.load(path, mmap_mode="r")
    return out


def timed(fn, queries: np.ndarray) -> dict[str, float]:  # type: ignore[no-untyped-def]
    times = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - started)
    ms = np.array(times) * 1000
    return {"p50_ms": round(float(np.median(ms)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3)}


def numpy_top(vectors: np.ndarray, k: int):  # type: ignore[no-untyped-def]
    def search(q: np.ndarray) -> np.ndarray:
        scores = vectors @ q
        top = np.argpartition(-scores, k - 1)[:k]
        return top[np.argsort(-scores[top])]
    return search


def faiss_top(index: faiss.Index, search: dict[str, int], k: int):  # type: ignore[no-untyped-def]
    params = ann.search_parameters(index, search)
    return lambda q: index.search(q[None, :], k, params=params)


def resident_mb(index_file: Path, mmap: bool, queries_file: Path, search: dict[str, int]) -> float:
    """Peak resident memory (VmHWM; ru_maxrss would carry the parent's peak across exec) that a
    fresh process adds by loading the index and answering the queries, over one that only imports."""
    code = (
        f"import sys, resource, numpy as np; sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r}); from indexer import ann; "
        f"index = ann.read({str(index_file)!r}, {mmap!r}); q = np.load({str(queries_file)!r}); p = ann.search_parameters(index, {search!r}); "
        "[index.search(x[None, :], 1000, params=p) for x in q]; "
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    )
    baseline = subprocess.run([sys.executable, "-c", "import faiss, numpy; print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"],
                              capture_output=True, text=True, check=True)
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round((int(loaded.stdout.split()[-1]) - int(baseline.stdout.split()[-1])) / 1024, 1)


def measure(n: int, dim: int, n_queries: int, workdir: Path, kinds: list[str]) -> dict[str, object]:
    started = time.perf_counter()
    large = n > IN_MEMORY_MAX
    vectors = clustered(n, dim, path=workdir / "vectors.npy" if large else None)
    generated = time.perf_counter() - started
    queries = ann.probe_queries(vectors, n_queries, seed=5)
    queries_file = workdir / "queries.npy"
    np.save(queries_file, queries)
    truth = ann.exact_neighbours(vectors, queries)
    result: dict[str, object] = {"publications": n, "dim": dim, "queries": n_queries, "generate_seconds": round(generated, 1),
                                 "vectors_mb": round(n * dim * 4 / 2**20, 1)}
    if not large:
        result["numpy"] = {"k10": timed(numpy_top(vectors, 10), queries), "k1000": timed(numpy_top(vectors, 1000), queries)}
    for kind in kinds:
        if large and kind == "flat":
            continue  # a scan of every vector a query: not a candidate at this size
        settings = AnnSettings(kind=kind)  # type: ignore[arg-type]
        started = time.perf_counter()
        index, entry = ann.build_and_tune(vectors, settings)
        built = time.perf_counter() - started
        name = entry["kind"] if kind == "auto" else kind
        path = workdir / f"{name}.faiss"
        faiss.write_index(index, str(path))
        _, found = index.search(queries, 10, params=ann.search_parameters(index, entry["search"]))
        result[kind] = {
            "kind": entry["kind"], "reason": entry["reason"], "build": entry["build"],
            "build_seconds": round(built, 1), "search": entry["search"], "recall_at_10": round(ann.recall_at(found, truth), 4),
            "file_mb": round(path.stat().st_size / 2**20, 1),
            "k10": timed(faiss_top(index, entry["search"], 10), queries),
            "k1000": timed(faiss_top(index, entry["search"], 1000), queries),
        }
        del index
        result[kind].update(resident_mb=resident_mb(path, False, queries_file, entry["search"]),  # type: ignore[attr-defined]
                            resident_mb_mmap=resident_mb(path, True, queries_file, entry["search"]))
        path.unlink()
        if "numpy" in result:
            result[kind]["faster_than_numpy_k1000"] = round(result["numpy"]["k1000"]["p50_ms"] / result[kind]["k1000"]["p50_ms"], 1)  # type: ignore[index]
    del vectors
    (workdir / "vectors.npy").unlink(missing_ok=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kinds", nargs="+", default=["flat", "hnsw", "ivf_sq8"], choices=["flat", "hnsw", "ivf_sq8", "auto"],
                        help="auto: the kind `kakehashi index build` chooses by size and the default memory budget")
    parser.add_argument("--json", type=Path, default=Path("bench/results/scale.json"))
    parser.add_argument("--work-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")),
                        help="where the vectors of a size beyond 2M are written (4 bytes x dim each)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, faiss {faiss.__version__} with {faiss.omp_get_max_threads()} threads")
    results = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        for n in args.sizes:
            r = measure(n, args.dim, args.queries, Path(tmp), args.kinds)
            results.append(r)
            print(f"\n{n:,} publications x {args.dim} ({r['vectors_mb']} MB of vectors)")
            print(f"{'':<10}{'build s':>8}{'recall':>8}{'file MB':>9}{'RSS MB':>8}{'mmap':>7}{'k10 p50':>9}{'p99':>8}{'k1000 p50':>10}{'p99':>8}{'vs numpy':>9}  search")
            if "numpy" in r:
                numpy = r["numpy"]
                print(f"{'numpy':<10}{'':>8}{'1':>8}{'':>9}{'':>8}{'':>7}{numpy['k10']['p50_ms']:>9}{numpy['k10']['p99_ms']:>8}"
                      f"{numpy['k1000']['p50_ms']:>10}{numpy['k1000']['p99_ms']:>8}{'1x':>9}")
            for kind in args.kinds:
                if kind not in r:
                    continue
                x = r[kind]
                versus = f"{x['faster_than_numpy_k1000']}x" if "faster_than_numpy_k1000" in x else "-"
                print(f"{x['kind']:<10}{x['build_seconds']:>8}{x['recall_at_10']:>8}{x['file_mb']:>9}{x['resident_mb']:>8}{x['resident_mb_mmap']:>7}"
                      f"{x['k10']['p50_ms']:>9}{x['k10']['p99_ms']:>8}{x['k1000']['p50_ms']:>10}{x['k1000']['p99_ms']:>8}"
                      f"{versus:>9}  {x['search']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"cores": os.cpu_count(), "faiss": faiss.__version__, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                                     "results": results}, indent=1))
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
