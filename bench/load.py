"""Load: a mixed read load on a running service while batch jobs run, from a bounded async client
on loopback. Not a test: it prints throughput, p50/p99 latency and errors per kind of request.

    KAKEHASHI_DATA_DIR=... kakehashi keys create --name load --scope batch    # prints KEY
    KAKEHASHI_RATE_LIMIT_PER_MINUTE=0 kakehashi serve --port 8000 &
    python bench/load.py --url http://127.0.0.1:8000 --key KEY --seconds 60 --concurrency 8

Each worker sends one request at a time, drawn from the mix below; a batch job of --batch-size
queries is kept running the whole time (a new one is submitted when one finishes).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

TEXTS = [
    "GaN power transistors and EUV lithography for advanced chip packaging",
    "superconducting qubits, surface codes and real-time decoding for fault-tolerant quantum computing",
    "foundation models for robot manipulation learned from human demonstration",
    "early detection of Alzheimer's disease from blood biomarkers and retinal imaging",
    "perovskite-silicon tandem solar cells with long-term stability",
    "typhoon track forecasting with ensemble data assimilation and cloud seeding experiments",
]
MIX = [("match goal", 20), ("match text", 20), ("scores", 15), ("researcher", 20), ("country", 10), ("goals", 5), ("page search", 10)]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    batch_jobs: int = 0
    batch_queries: int = 0


async def one_request(client: httpx.AsyncClient, kind: str, researcher_ids: list[str], rng: random.Random) -> httpx.Response:
    if kind == "match goal":
        return await client.post("/v1/matches", json={"query": {"goal_id": rng.randint(1, 10)}, "limit": 10})
    if kind == "match text":
        return await client.post("/v1/matches", json={"query": {"text": rng.choice(TEXTS)}, "limit": 10,
                                                      "filters": {"exclude_countries": ["US"]} if rng.random() < 0.5 else {}})
    if kind == "scores":
        return await client.post("/v1/scores", json={"query": {"goal_id": rng.randint(1, 10)}, "researcher_ids": rng.sample(researcher_ids, 20)})
    if kind == "researcher":
        return await client.get(f"/v1/researchers/{rng.choice(researcher_ids)}")
    if kind == "country":
        return await client.get(f"/v1/countries/{rng.choice(['DE', 'US', 'KR', 'TW', 'FR', 'IN', 'SG'])}")
    if kind == "goals":
        return await client.get("/v1/goals")
    return await client.get("/", params={"goal": rng.randint(1, 10), "country": rng.choice(["Germany", "Korea", "France, Italy"])})


async def worker(client: httpx.AsyncClient, until: float, researcher_ids: list[str], tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    kinds, weights = zip(*MIX)
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        started = time.perf_counter()
        try:
            response = await one_request(client, kind, researcher_ids, rng)
            ok = response.status_code < 400
        except httpx.HTTPError:
            ok = False
        tally.latencies[kind].append(time.perf_counter() - started)
        if not ok:
            tally.errors[kind] += 1


async def keep_a_batch_running(client: httpx.AsyncClient, until: float, size: int, tally: Tally) -> None:
    rng = random.Random(7)
    while time.monotonic() < until:
        queries = [{"id": f"p{i}", "query": {"text": rng.choice(TEXTS)} if i % 2 else {"goal_id": rng.randint(1, 10)}} for i in range(size)]
        job = (await client.post("/v1/batch-jobs", json={"queries": queries, "options": {"limit": 10}})).json()
        while time.monotonic() < until:
            state = (await client.get(f"/v1/batch-jobs/{job['id']}")).json()
            if state["state"] in ("succeeded", "failed", "cancelled"):
                tally.batch_jobs += 1
                tally.batch_queries += state["progress"]["done"]
                break
            await asyncio.sleep(0.5)
        else:
            state = (await client.get(f"/v1/batch-jobs/{job['id']}")).json()
            tally.batch_queries += state["progress"]["done"]
            await client.delete(f"/v1/batch-jobs/{job['id']}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {args.key}"}
    limits = httpx.Limits(max_connections=args.concurrency + 2)
    async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=60, limits=limits) as client:
        ready = (await client.get("/readyz")).json()
        ids = [m["researcher"]["id"] for g in range(1, 11)
               for m in (await client.post("/v1/matches", json={"query": {"goal_id": g}, "limit": 20})).json()["data"]]
        tally = Tally()
        started = time.monotonic()
        until = started + args.seconds
        await asyncio.gather(keep_a_batch_running(client, until, args.batch_size, tally),
                             *(worker(client, until, ids, tally, seed) for seed in range(args.concurrency)))
        elapsed = time.monotonic() - started
    every = [x for values in tally.latencies.values() for x in values]
    rows = {kind: {"requests": len(v), "per_second": len(v) / elapsed, "p50_ms": 1000 * statistics.median(v),
                   "p99_ms": 1000 * percentile(v, 0.99), "errors": tally.errors[kind]} for kind, v in sorted(tally.latencies.items())}
    rows["all"] = {"requests": len(every), "per_second": len(every) / elapsed, "p50_ms": 1000 * statistics.median(every),
                   "p99_ms": 1000 * percentile(every, 0.99), "errors": sum(tally.errors.values())}
    return {"seconds": elapsed, "concurrency": args.concurrency, "index": ready, "rows": rows,
            "batch_jobs_finished": tally.batch_jobs, "batch_queries_done": tally.batch_queries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="an API key with the batch scope")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(f"{result['seconds']:.0f} s, {args.concurrency} concurrent clients, index {result['index']['index_version']} "
          f"({result['index']['publications']} publications, model {result['index']['model']})")
    print(f"{'kind':<14}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for kind, row in result["rows"].items():
        print(f"{kind:<14}{row['requests']:>9}{row['per_second']:>8.1f}{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}{row['errors']:>8}")
    print(f"batch alongside: {result['batch_jobs_finished']} jobs finished, {result['batch_queries_done']} queries done "
          f"({result['batch_queries_done'] / result['seconds']:.1f} queries/s)")


if __name__ == "__main__":
    main()
