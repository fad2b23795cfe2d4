"""The first hour, timed: `make run` on a fresh clone, as a new user runs it.

    python bench/first_run.py [--busy N] [--json bench/results/first_run.json]

Clones the repository's committed HEAD into a temporary directory, times `make setup` (the virtual
environment and its packages) on its own, then times `make run PORT=...` on a fresh data
directory to: the port answering (/healthz), the page (/), /readyz 200, and the first working
search (a page of results, and POST /v1/matches 200). It does this twice on the same environment:
with the shipped demo vectors (the default) and, as the reference measured in the same run,
without them (`KAKEHASHI_VECTOR_CACHE` pointed at an empty directory: the page is served while
everything is embedded). `--busy N` keeps N processes spinning on the CPU meanwhile, as on a
machine that is doing other work. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERY = {"query": {"text": "gallium nitride power transistors for electric vehicles"}, "limit": 5}


def spin() -> None:
    while True:
        pass


def status(url: str, body: dict[str, object] | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, OSError):
        return 0, ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def time_run(clone: Path, data_dir: Path, extra_env: dict[str, str], limit_s: float) -> dict[str, object]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KAKEHASHI_DATA_DIR": str(data_dir), **extra_env}
    log = data_dir.parent / f"{data_dir.name}.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        service = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=clone, env=env, stdout=out, stderr=out, start_new_session=True)
    marks: dict[str, float | None] = {"port_open_s": None, "page_s": None, "ready_s": None, "first_search_s": None}
    try:
        while time.perf_counter() - started < limit_s and service.poll() is None:
            elapsed = round(time.perf_counter() - started, 1)
            if marks["port_open_s"] is None and status(f"{base}/healthz")[0] == 200:
                marks["port_open_s"] = elapsed
            if marks["port_open_s"] is not None and marks["page_s"] is None and status(f"{base}/")[0] == 200:
                marks["page_s"] = elapsed
            if marks["page_s"] is not None and marks["ready_s"] is None and status(f"{base}/readyz")[0] == 200:
                marks["ready_s"] = elapsed
            if marks["ready_s"] is not None:
                code, page = status(f"{base}/?q=gallium+nitride+power+transistors")
                if code == 200 and 'class="result' in page and status(f"{base}/v1/matches", QUERY)[0] == 200:
                    marks["first_search_s"] = round(time.perf_counter() - started, 1)
                    break
            time.sleep(0.25)
    finally:
        os.killpg(service.pid, signal.SIGTERM)
        try:
            service.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(service.pid, signal.SIGKILL)
            service.wait()
    lines = log.read_text(errors="replace").splitlines()
    marks["lines_printed_before_ready"] = sum(1 for line in lines if "kakehashi" in line and "GET /" not in line)
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=0, help="processes spinning on the CPU meanwhile")
    parser.add_argument("--limit", type=float, default=1800, help="seconds to wait for each run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result: dict[str, object] = {"cores": os.cpu_count(), "busy_processes": args.busy,
                                 "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()}
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    with tempfile.TemporaryDirectory(prefix="kakehashi-first-run-") as tmp:
        clone = Path(tmp) / "kakehashi"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        for spinner in spinners:
            spinner.start()
        started = time.perf_counter()
        subprocess.run(["make", "setup"], cwd=clone, check=True, stdout=subprocess.DEVNULL)
        result["setup_s"] = round(time.perf_counter() - started, 1)
        empty = Path(tmp) / "no-cache"
        empty.mkdir()
        result["with_shipped_vectors"] = time_run(clone, Path(tmp) / "state-cache", {}, args.limit)
        result["reference_without_vectors"] = time_run(clone, Path(tmp) / "state-none", {"KAKEHASHI_VECTOR_CACHE": str(empty)}, args.limit)
        for spinner in spinners:
            spinner.terminate()
    with_cache, without = result["with_shipped_vectors"], result["reference_without_vectors"]
    if with_cache["first_search_s"] and without["first_search_s"]:  # type: ignore[index]
        result["first_search_ratio"] = round(without["first_search_s"] / with_cache["first_search_s"], 1)  # type: ignore[index]
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
