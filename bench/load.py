"""Load: interactive requests on a running service while one key's huge batch job waits, and
whether another key's one-query job still gets its turn. Not a test: it prints throughput, p50/p99
latency and errors per kind of request, for the same load without and then with the big job.

    python bench/load.py [--seconds 60] [--concurrency 16] [--big 10000] [--json bench/results/load.json]

It starts `kakehashi serve` on a fresh data directory (the demo corpus, the packaged model), creates
two batch keys in its store, and runs two phases of --seconds each, from a bounded async client on
loopback:

1. the reference: --concurrency clients, each sending one request at a time from the mix below;
2. the same load, with a --big-query job of key A submitted at the start and, 5 s later, a one-query
   job of key B: how long B's job took from submission to done (issue 15: within 30 s), and how far
   A's job got.

`--url URL --key KEY` runs the load alone against a service started elsewhere (no phases, no jobs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXTS = [
    "GaN power transistors and EUV lithography for advanced chip packaging",
    "superconducting qubits, surface codes and real-time decoding for fault-tolerant quantum computing",
    "foundation models for robot manipulation learned from human demonstration",
    "early detection of Alzheimer's disease from blood biomarkers and retinal imaging",
    "perovskite-silicon tandem solar cells with long-term stability",
    "typhoon track forecasting with ensemble data assimilation and cloud seeding experiments",
]
MIX = [("match goal", 20), ("match text", 20), ("scores", 15), ("researcher", 20), ("country", 10), ("goals", 5), ("page search", 10)]
INTERACTIVE_MATCHES = ("match goal", "match text")


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))


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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(tally: Tally, elapsed: float) -> dict[str, Any]:
    every = [x for values in tally.latencies.values() for x in values]
    matches = [x for kind in INTERACTIVE_MATCHES for x in tally.latencies.get(kind, [])]
    rows = {kind: {"requests": len(v), "per_second": len(v) / elapsed, "p50_ms": 1000 * statistics.median(v),
                   "p99_ms": 1000 * percentile(v, 0.99), "errors": tally.errors[kind]} for kind, v in sorted(tally.latencies.items())}
    for name, values in (("interactive matches", matches), ("all", every)):
        rows[name] = {"requests": len(values), "per_second": len(values) / elapsed, "p50_ms": 1000 * statistics.median(values),
                      "p99_ms": 1000 * percentile(values, 0.99), "errors": sum(tally.errors.values()) if name == "all" else
                      sum(tally.errors[k] for k in INTERACTIVE_MATCHES)}
    return {"seconds": elapsed, "rows": rows}


async def load(client: httpx.AsyncClient, seconds: float, concurrency: int, ids: list[str]) -> dict[str, Any]:
    tally = Tally()
    started = time.monotonic()
    await asyncio.gather(*(worker(client, started + seconds, ids, tally, seed) for seed in range(concurrency)))
    return summary(tally, time.monotonic() - started)


async def researcher_ids(client: httpx.AsyncClient) -> list[str]:
    return [m["researcher"]["id"] for g in range(1, 11)
            for m in (await client.post("/v1/matches", json={"query": {"goal_id": g}, "limit": 20})).json()["data"]]


async def small_job_turn(url: str, key: str, delay: float) -> dict[str, Any]:
    """Key B's one-query job, submitted after `delay`: seconds from submission to done."""
    await asyncio.sleep(delay)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        submitted = time.monotonic()
        job = (await client.post("/v1/batch-jobs", json={"queries": [{"id": "one", "query": {"text": TEXTS[1]}}]})).json()
        while True:
            state = (await client.get(f"/v1/batch-jobs/{job['id']}")).json()
            if state["state"] in ("succeeded", "failed", "cancelled"):
                return {"state": state["state"], "seconds": time.monotonic() - submitted}
            await asyncio.sleep(0.1)


async def phases(url: str, keys: tuple[str, str], args: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=args.concurrency + 2)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {keys[0]}"}, timeout=60, limits=limits) as client:
        ready = (await client.get("/readyz")).json()
        ids = await researcher_ids(client)
        reference = await load(client, args.seconds, args.concurrency, ids)
        rng = random.Random(7)
        queries = [{"id": f"p{i}", "query": {"text": rng.choice(TEXTS)} if i % 2 else {"goal_id": rng.randint(1, 10)}} for i in range(args.big)]
        big = (await client.post("/v1/batch-jobs", json={"queries": queries, "options": {"limit": 10}})).json()
        loaded, small = await asyncio.gather(load(client, args.seconds, args.concurrency, ids), small_job_turn(url, keys[1], 5.0))
        big_state = (await client.get(f"/v1/batch-jobs/{big['id']}")).json()
        await client.delete(f"/v1/batch-jobs/{big['id']}")
    return {"index": ready, "concurrency": args.concurrency, "reference": reference, "with_big_job": loaded,
            "small_job": small, "big_job": {"queries": args.big, "done": big_state["progress"]["done"], "state": big_state["state"]}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_service(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "KAKEHASHI_DATA_DIR": str(data_dir), "KAKEHASHI_RATE_LIMIT_PER_MINUTE": "0", "HF_HUB_OFFLINE": "1"}
    service = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=(data_dir / "serve.log").open("wb"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return service, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    service.kill()
    raise SystemExit(f"the service did not become ready; see {data_dir / 'serve.log'}")


def print_rows(title: str, result: dict[str, Any]) -> None:
    print(f"{title} ({result['seconds']:.0f} s)")
    print(f"  {'kind':<20}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for kind, row in result["rows"].items():
        print(f"  {kind:<20}{row['requests']:>9}{row['per_second']:>8.1f}{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}{row['errors']:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--big", type=int, default=10_000, help="queries of key A's job")
    parser.add_argument("--url", help="load a service started elsewhere (with --key): the load alone")
    parser.add_argument("--key", help="an API key of that service")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.url:
        async def alone() -> dict[str, Any]:
            async with httpx.AsyncClient(base_url=args.url, headers={"Authorization": f"Bearer {args.key}"}, timeout=60) as client:
                return await load(client, args.seconds, args.concurrency, await researcher_ids(client))
        print_rows("load", asyncio.run(alone()))
        return
    from service.auth import KeyStore

    with tempfile.TemporaryDirectory(prefix="kakehashi-load-") as tmp:
        data_dir = Path(tmp)
        service, url = start_service(data_dir)
        try:
            store = KeyStore(data_dir / "kakehashi.sqlite")
            keys = (store.create("load A", ["batch"])[1], store.create("load B", ["batch"])[1])
            result = asyncio.run(phases(url, keys, args))
        finally:
            service.terminate()
            service.wait(30)
    print(f"index {result['index']['index_version']} ({result['index']['publications']} publications, {result['index']['model']}), "
          f"{args.concurrency} concurrent clients")
    print_rows("reference: the load alone", result["reference"])
    print_rows(f"with key A's {args.big:,}-query job queued", result["with_big_job"])
    ref, big = result["reference"]["rows"]["interactive matches"], result["with_big_job"]["rows"]["interactive matches"]
    print(f"interactive matches p99: {big['p99_ms']:.1f} ms with the big job vs {ref['p99_ms']:.1f} ms without "
          f"({big['p99_ms'] / ref['p99_ms']:.2f}x); p50 {big['p50_ms']:.1f} vs {ref['p50_ms']:.1f} ms")
    print(f"key B's one-query job: {result['small_job']['state']} {result['small_job']['seconds']:.1f} s after submission "
          f"(target <= 30 s); key A's job: {result['big_job']['done']:,} of {args.big:,} queries done meanwhile")
    print(f"errors: {result['reference']['rows']['all']['errors']} without, {result['with_big_job']['rows']['all']['errors']} with (target 0)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
