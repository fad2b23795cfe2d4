"""Latency of `POST /v1/matches` over HTTP and of `kakehashi match` (whole CLI process), on the
state in KAKEHASHI_DATA_DIR (run `kakehashi serve` once first to index the demo corpus).

    python bench/match_latency.py [--requests 50] [--cli-runs 3]

Prints medians and p90 of each query kind. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

import httpx

QUERIES = {
    "text": {"query": {"text": "Gallium nitride power transistors and EUV lithography for advanced chip manufacturing"}},
    "long text": {"query": {"text": " ".join(["We develop error-corrected superconducting quantum processors with surface codes,"
                                              " cryogenic control electronics and quantum networking between modules."] * 8)}},
    "Japanese text": {"query": {"text": "誤り耐性のある量子コンピュータと超伝導量子ビットの研究をしている海外の研究者"}},
    "goal": {"query": {"goal_id": 6}},
    "goal + filters": {"query": {"goal_id": 1}, "filters": {"countries": ["DE", "FR", "TW"], "min_h_index": 10, "since_year": 2020}},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"median {statistics.median(ordered) * 1000:8.1f} ms   p90 {p90 * 1000:8.1f} ms   (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--cli-runs", type=int, default=3)
    args = parser.parse_args()

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--no-demo"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    sys.exit("server did not become ready")
                time.sleep(0.5)
            info = client.get("/readyz").json()
            print(f"index {info['index_version']} ({info['publications']} publications, {info['researchers']} researchers), model {info['model']}")
            for name, body in QUERIES.items():
                client.post("/v1/matches", json=body)  # warm-up
                samples = []
                for _ in range(args.requests):
                    start = time.perf_counter()
                    response = client.post("/v1/matches", json={**body, "limit": 10})
                    samples.append(time.perf_counter() - start)
                    response.raise_for_status()
                print(f"POST /v1/matches {name:15s} {_summary(samples)}")
    finally:
        server.terminate()
        server.wait(timeout=30)

    for label, cli_args in (("--goal 6", ["--goal", "6"]), ('"TEXT"', [QUERIES["text"]["query"]["text"]])):
        samples = []
        for _ in range(args.cli_runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "service.cli", "match", *cli_args, "--json"], check=True, capture_output=True)
            samples.append(time.perf_counter() - start)
        print(f"kakehashi match {label:9s} (whole process) {_summary(samples)}")


if __name__ == "__main__":
    main()
