"""Batch jobs on the state in KAKEHASHI_DATA_DIR (the demo corpus indexed with the real model: run
`kakehashi serve` once first):

    python bench/batch.py [--queries 1000] [--projects 200] [-k 5] [-c 2]

Prints the time of a batch of `--queries` queries (project texts, goals and "more like this"
researchers, run as a job exactly as the service runs it), the latency of interactive matches
alone and while a batch runs, and the time of a constrained assignment of `--projects` projects
(k partners each, a researcher for at most c projects) with its total score against greedy and
the plain top-k. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

from kernel.paths import GRADED_QUERIES
from kernel.settings import get_settings
from service.batch.assignment import Candidate, assign
from service.batch.inputs import AssignmentRules, BatchRequest
from service.batch.jobs import JobStore, run_job
from service.matching.query import Query
from service.runtime import Runtime


def batch_queries(runtime: Runtime, n: int) -> list[dict]:
    texts = [q["text"] for q in json.loads(GRADED_QUERIES.read_text())["queries"]]
    snap = runtime.snapshot()
    researchers = [r.id for r in snap.researchers[:: max(1, len(snap.researchers) // n)]]
    out = []
    for i in range(n):
        kind = i % 4
        if kind in (0, 1):  # half are project texts, varied so that no two are alike
            query = {"text": f"{texts[i % len(texts)]} (project {i})"}
        elif kind == 2:
            query = {"goal_id": 1 + i % 10}
        else:
            query = {"researcher_id": researchers[i % len(researchers)]}
        out.append({"id": f"q{i}", "query": query})
    return out


def interactive_latency(runtime: Runtime, rounds: int = 20) -> float:
    snap = runtime.snapshot()
    times = []
    for i in range(rounds):
        query = Query(text="gallium nitride power transistors for electric vehicles") if i % 2 else Query(goal_id=6)
        start = time.perf_counter()
        runtime.matcher.match(snap, query, limit=10)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("-c", type=int, default=2)
    args = parser.parse_args()
    runtime = Runtime(get_settings())
    snap = runtime.snapshot()
    runtime.embedder.encode_query("warm up")
    jobs = JobStore(runtime.settings.store_path)
    print(f"index {snap.version}, model {snap.model}, {snap.researcher_count} researchers, {snap.publication_count} publications")

    alone = interactive_latency(runtime)
    job = jobs.create(BatchRequest.model_validate({"queries": batch_queries(runtime, args.queries), "options": {"limit": 10}}))
    during: list[float] = []
    probe = threading.Thread(target=lambda: (time.sleep(2), during.append(interactive_latency(runtime))))
    probe.start()
    start = time.perf_counter()
    job = run_job(runtime, jobs, job.id)
    batch_seconds = time.perf_counter() - start
    probe.join()
    print(f"batch of {job.total} queries: {batch_seconds:.1f} s ({job.total / batch_seconds:.1f} queries/s, "
          f"{job.failed_queries} failed), state {job.state}")
    print(f"interactive match median (text and goal): {alone:.1f} ms alone, {during[0]:.1f} ms while the batch runs")

    rules = AssignmentRules(partners_per_project=args.k, max_projects_per_researcher=args.c, candidates_per_project=50)
    projects = batch_queries(runtime, args.projects)
    start = time.perf_counter()
    job = run_job(runtime, jobs, jobs.create(BatchRequest.model_validate(
        {"queries": projects, "options": {"limit": 50}})).id)
    candidates_seconds = time.perf_counter() - start
    rows = list(jobs.results(job.id))
    candidates = [Candidate(r["query_id"], r["researcher_id"], r["country"] or "", r["score"]) for r in rows]
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        result = assign(candidates, [p["id"] for p in projects], rules)
        timings.append(time.perf_counter() - start)
    s = result.summary()
    print(f"assignment of {args.projects} projects, k={args.k}, c={args.c}, {len(candidates)} candidate pairs: "
          f"solve median {statistics.median(timings):.2f} s (of 3; candidates ranked in {candidates_seconds:.1f} s)")
    print(f"  total score: optimal {s['optimal_total']}, greedy {s['greedy_total']}, plain top-k {s['top_k_total']} "
          f"({s['top_k_violations']} top-k places break c); feasible {s['feasible']}, {s['assigned']} pairs")
    rules = AssignmentRules(partners_per_project=args.k, max_projects_per_researcher=args.c, candidates_per_project=50,
                            min_countries=3, max_per_country=2)
    start = time.perf_counter()
    result = assign(candidates, [p["id"] for p in projects], rules)
    s = result.summary()
    print(f"  with min_countries=3, max_per_country=2: {time.perf_counter() - start:.2f} s, optimal {s['optimal_total']}, "
          f"greedy {s['greedy_total']}, feasible {s['feasible']} ({len(s['shortfalls'])} shortfalls)")


if __name__ == "__main__":
    main()
