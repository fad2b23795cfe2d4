"""`POST /v1/matches` at scale, over HTTP, split by stage, against its floor. Not a test.

    python bench/service_scale.py --publications 100000 [--queries 60] [--json bench/results/service_100000.json]

1. A synthetic corpus is written straight into an index version (the embedding step is measured
   separately, by bench/encoders.py and bench/embed_throughput.py): every publication is a real
   demo-corpus publication's vector (all-MiniLM-L6-v2) plus noise, renormalised, with that
   publication's title and a year, 10 publications a researcher, researchers in the demo's
   countries. So the vectors cluster as real text embeddings do, in the real model's space, and real
   queries find real neighbours. The index kind is chosen as `kakehashi index build` chooses it.
2. `kakehashi serve` loads it (startup time, resident memory after the queries).
3. Text queries over loopback HTTP, one at a time: p50/p99, and the median of each stage from the
   `Server-Timing` header.
4. The floor, in this process: the same model encoding the same query plus one direct search of the
   same FAISS index (k=1000, the tuned breadth), in a tight loop.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import faiss
import httpx
import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer import (
    ann,  # noqa: E402
    schema,  # noqa: E402
)
from indexer.checksums import file_sha256  # noqa: E402
from indexer.embedder import PACKAGED_MODEL, load_embedder  # noqa: E402
from indexer.version import FORMAT, MANIFEST  # noqa: E402
from kernel.reference import load_reference  # noqa: E402
from kernel.settings import Settings  # noqa: E402
from service.runtime import Runtime  # noqa: E402

QUERIES = [
    "GaN power transistors and EUV lithography for advanced chip packaging",
    "superconducting qubits, surface codes and real-time decoding for fault-tolerant quantum computing",
    "foundation models for robot manipulation learned from human demonstration",
    "early detection of Alzheimer's disease from blood biomarkers and retinal imaging",
    "perovskite-silicon tandem solar cells with long-term stability",
    "typhoon track forecasting with ensemble data assimilation",
    "disaggregated memory and RDMA networking for cloud data centres",
    "gene editing of crops for drought tolerance",
]
COUNTRIES = ["US", "CN", "IN", "GB", "DE", "KR", "FR", "CA", "NL", "AU", "TW", "IT", "ES", "CH", "SE", "SG", "BR", "IL", "FI", "EE"]


def demo_space(demo_state: Path) -> tuple[np.ndarray, list[str]]:
    """The real vectors and titles of an indexed demo corpus."""
    version = sorted(p for p in (demo_state / "indexes").iterdir() if (p / MANIFEST).exists())[-1]
    vectors = np.load(version / "vectors.npy")
    ids = json.loads((version / "publication_ids.json").read_text())
    with sqlite3.connect(version / "catalog.sqlite") as catalog:
        titles = dict(catalog.execute("SELECT id, title FROM publications"))
    return vectors, [titles[i] for i in ids]


def write_version(data_dir: Path, n: int, demo_state: Path, settings: Settings) -> dict[str, object]:
    rng = np.random.default_rng(0)
    centres, titles = demo_space(demo_state)
    source = rng.integers(0, len(centres), n)
    started = time.perf_counter()
    vectors = np.empty((n, centres.shape[1]), dtype=np.float32)
    for s in range(0, n, 100_000):
        block = centres[source[s:s + 100_000]] + rng.normal(0, 1 / np.sqrt(centres.shape[1]), (min(100_000, n - s), centres.shape[1])).astype(np.float32)  # cosine to its source about 0.7
        vectors[s:s + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    version = f"v{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-synthetic"
    path = data_dir / "indexes" / version
    path.mkdir(parents=True)
    np.save(path / "vectors.npy", vectors)
    index, entry = ann.build_and_tune(vectors, settings.ann)
    faiss.write_index(index, str(path / "publications.faiss"))
    del index
    embedder = load_embedder(settings)
    reference = load_reference(settings.reference_dir)
    np.save(path / "fields.npy", embedder.encode([f"{f.label}. {f.description}" for f in reference.fields]))
    np.save(path / "goals.npy", embedder.encode([g.text for g in reference.goals]))
    pub_ids = [f"p{i}" for i in range(n)]
    for name, value in (("publication_ids.json", pub_ids), ("embedding_keys.json", [f"synthetic:{i}" for i in range(n)]),
                        ("field_ids.json", list(reference.field_ids)), ("goal_ids.json", [g.id for g in reference.goals])):
        (path / name).write_text(json.dumps(value))
    researchers = n // 10
    schema.ensure(path / "catalog.sqlite")
    with sqlite3.connect(path / "catalog.sqlite") as catalog:
        catalog.executemany("INSERT INTO researchers VALUES (?,?,?,?,NULL,?,NULL,NULL,'[]','synthetic',1,'',0)",
                            ((f"r{r}", f"Researcher {r}", f"Institute {r % 997}", COUNTRIES[r % len(COUNTRIES)], int(rng.integers(1, 60)))
                             for r in range(researchers)))
        catalog.executemany("INSERT INTO publications VALUES (?,?,NULL,?,?,'')",
                            ((pub_ids[i], titles[source[i]], 2000 + i % 25, i % 300) for i in range(n)))
        catalog.executemany("INSERT INTO authorships VALUES (?,?,?)", ((f"r{i // 10}", pub_ids[i], i % 10) for i in range(n)))
    catalog.close()
    files = {p.name: {"bytes": p.stat().st_size, "sha256": file_sha256(p)} for p in sorted(path.iterdir())}
    manifest = {"format": FORMAT, "version": version, "model": settings.model, "dimension": int(vectors.shape[1]), "metric": "inner_product",
                "index_type": entry["kind"], "ann": entry, "embed_text": "title", "multilingual_model": None,
                "counts": {"publications": n, "researchers": researchers}, "data_hash": hashlib.sha256(version.encode()).hexdigest(),
                "built_at": datetime.now(UTC).isoformat(), "files": files}
    (path / MANIFEST).write_text(json.dumps(manifest))
    return {"version": version, "write_seconds": round(time.perf_counter() - started, 1), "ann": entry,
            "index_file_mb": round((path / "publications.faiss").stat().st_size / 2**20, 1),
            "vectors_file_mb": round((path / "vectors.npy").stat().st_size / 2**20, 1)}


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return round(int(status.split("VmRSS:")[1].split()[0]) / 1024, 1)


def model_only_rss_mb() -> float:
    """What the model alone costs a process: RSS after loading it minus after the same imports."""
    code = (f"import os; os.environ['HF_HUB_OFFLINE']='1'; import sys; sys.path.insert(0, {str(ROOT)!r}); import numpy, faiss, torch, sentence_transformers; "
            "from indexer.embedder import load_embedder; from kernel.settings import Settings; s=open('/proc/self/status').read(); "
            "a=int(s.split('VmRSS:')[1].split()[0]); e=load_embedder(Settings()); e.encode_query('warm up'); "
            "b=int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]); print(a, b)")
    before, after = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return round((int(after) - int(before)) / 1024, 1)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--publications", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--demo-state", type=Path, help="a data directory with the demo corpus indexed with the packaged model (built if not given)")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="kakehashi-scale-"))
    settings = Settings(data_dir=data_dir, model=PACKAGED_MODEL, multilingual=False)
    if args.demo_state is None:  # index the demo corpus once, for its real vectors and titles
        args.demo_state = data_dir / "demo"
        demo = Runtime(settings.model_copy(update={"data_dir": args.demo_state}))
        demo.ingest(demo.demo_corpus)
        demo.build_index()
    result: dict[str, object] = {"publications": args.publications, "cores": os.cpu_count()}
    try:
        result["corpus"] = written = write_version(data_dir, args.publications, args.demo_state, settings)
        env = {**os.environ, "KAKEHASHI_DATA_DIR": str(data_dir), "KAKEHASHI_MULTILINGUAL": "false", "KAKEHASHI_RATE_LIMIT_PER_MINUTE": "0"}
        started = time.perf_counter()
        service = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--no-demo", "--port", str(args.port)],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=600) as client:
                while True:
                    try:
                        if client.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if service.poll() is not None:
                        raise SystemExit("the service stopped while loading")
                    time.sleep(0.5)
                result["startup_seconds"] = round(time.perf_counter() - started, 1)
                client.post("/v1/matches", json={"query": {"text": "warm up the model"}})
                totals, stages = [], []
                for i in range(args.queries):
                    t0 = time.perf_counter()
                    response = client.post("/v1/matches", json={"query": {"text": QUERIES[i % len(QUERIES)]}, "limit": 10})
                    totals.append(1000 * (time.perf_counter() - t0))
                    response.raise_for_status()
                    stages.append({k: float(v) for k, v in (p.split(";dur=") for p in response.headers["server-timing"].split(", "))})
                result["service_rss_mb"] = rss_mb(service.pid)
        finally:
            service.terminate()
            service.wait(timeout=60)
        result["http"] = {"p50_ms": round(statistics.median(totals), 1), "p99_ms": round(percentile(totals, 99), 1),
                          "stages_p50_ms": {k: round(statistics.median(s[k] for s in stages), 2) for k in stages[0]}}
        embedder = load_embedder(settings)
        index = ann.read(str(data_dir / "indexes" / written["version"] / "publications.faiss"), mmap=False)  # type: ignore[index]
        params = ann.search_parameters(index, written["ann"]["search"])  # type: ignore[index]
        embedder.encode_query("warm up")
        floor = []
        for i in range(args.queries):
            t0 = time.perf_counter()
            index.search(embedder.encode_query(QUERIES[i % len(QUERIES)])[None, :], 1000, params=params)
            floor.append(1000 * (time.perf_counter() - t0))
        result["floor_p50_ms"] = round(statistics.median(floor), 1)
        result["http_vs_floor"] = round(result["http"]["p50_ms"] / result["floor_p50_ms"], 2)  # type: ignore[index]
        result["model_rss_mb"] = model_only_rss_mb()
        budget = written["index_file_mb"] + result["model_rss_mb"]  # type: ignore[operator]
        result["rss_vs_index_plus_model"] = round(result["service_rss_mb"] / budget, 2)  # type: ignore[operator]
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
