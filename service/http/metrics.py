"""Prometheus metrics at /metrics: request counts and latencies by route, the served index (size,
version) and the batch queue. One registry per app, so that several apps in one process (tests) do
not share counters."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.batch.jobs import JobStore
from service.runtime import Runtime

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ServiceState(Collector):
    """Read when scraped: the served index and the job queue."""

    def __init__(self, runtime: Runtime, jobs: JobStore) -> None:
        self.runtime, self.jobs = runtime, jobs

    def collect(self) -> Iterator[Metric]:
        served = self.runtime.holder.peek()
        publications = GaugeMetricFamily("kakehashi_index_publications", "Publications in the served index version")
        researchers = GaugeMetricFamily("kakehashi_index_researchers", "Researchers in the served index version")
        publications.add_metric([], served.publication_count if served else 0)
        researchers.add_metric([], served.researcher_count if served else 0)
        info = InfoMetricFamily("kakehashi_index", "The served index version and model")
        info.add_metric([], {"version": served.version if served else "", "model": served.model if served else ""})
        queue = GaugeMetricFamily("kakehashi_batch_jobs", "Batch jobs waiting or running", labels=["state"])
        for state in ("queued", "running"):
            queue.add_metric([state], self.jobs.count(state))
        yield from (publications, researchers, info, queue)


class Metrics:
    def __init__(self, runtime: Runtime, jobs: JobStore) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("kakehashi_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("kakehashi_http_request_duration_seconds", "Time to answer, by route", ["method", "route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(ServiceState(runtime, jobs))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (`/v1/researchers/{researcher_id}`,
    never the id itself, so the label set stays small)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or ("/static" if scope["path"].startswith("/static") else "(unmatched)")
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)
