"""Index builds in the background: the preparation at start (the demo corpus loaded into an empty
store, then the index brought up to date) and the updates after researcher writes over HTTP. One
build at a time; writes that arrive during a build are taken by the next one. A build embeds only
publications whose text is new (other vectors come from the newest version or the shipped cache)
and publishes a new version atomically; the served snapshot is swapped whole once it has loaded, so
reads never see a half-written index, and the last good version is served meanwhile. Each step is
told as it happens through the runtime's progress (the log, the 503 answers, the page)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from indexer import schema
from indexer.screening_lists import load_list, stored_lists
from kernel.paths import DEMO_SCREENING_LIST
from service.runtime import Runtime

log = logging.getLogger("kakehashi.index_updates")
MAX_REASONS = 20  # listed in the status; more changes are taken by the same build all the same


class IndexUpdater:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._running = False
        self._load_demo = False
        self._load_first = False
        self._last: dict[str, Any] = {}
        self._queued: list[str] = []  # why a build is wanted, for the next build to take
        self._building: list[str] = []  # what the running build takes
        self._since: str | None = None  # the version served when the oldest change not yet indexed arrived

    def prepare(self, load_demo: bool) -> None:
        """At start, in the background: load the newest good version (served as soon as it is), then
        load the demo corpus if the store is empty and `load_demo`, and build whatever the store
        holds that the index does not."""
        self._load_demo = load_demo
        self._load_first = True
        self.request("start-up: whatever the store holds that the served version lacks")

    def request(self, reason: str) -> None:
        """Asks for a build soon, saying why; starts the thread on first use."""
        with self._lock:
            if not self._queued and not self._building:
                served = self.runtime.holder.current()
                self._since = served.version if served else None
            if reason not in self._queued and len(self._queued) < MAX_REASONS:
                self._queued.append(reason)
            self._wanted.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="kakehashi-index-updates", daemon=True)
                self._thread.start()

    def status(self) -> dict[str, Any]:
        progress = self.runtime.progress
        with self._lock:
            reasons = list(dict.fromkeys(self._building + self._queued))
            return {"pending": bool(reasons), "pending_reasons": reasons, "pending_since_version": self._since if reasons else None,
                    "running": self._running, "progress": progress.describe() if progress.active else None, **self._last}

    def stop(self) -> None:
        """Does not wait for a build in progress beyond a moment: a build writes under a temporary
        name (removed by a later build), so stopping mid-way loses nothing but its work."""
        self._stop.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wanted.wait()
            if self._stop.is_set():
                return
            with self._lock:
                self._wanted.clear()
                self._building, self._queued = self._building + self._queued, []
            self._running = True
            started = time.monotonic()
            failure: str | None = None
            try:
                self._build()
                self._last = {**self._last, "last_seconds": round(time.monotonic() - started, 2), "last_error": None}
                with self._lock:
                    self._building = []  # in the served version now (a failed build keeps them pending)
            except Exception as exc:  # noqa: BLE001 - reported in the status and the 503s; the served index stays as it was
                log.exception("index update failed")
                failure = str(exc) or type(exc).__name__
                self._last = {**self._last, "last_error": failure}
            finally:
                self.runtime.progress.finish(failure)
                self._running = False

    def _build(self) -> None:
        rt, progress = self.runtime, self.runtime.progress
        if self._load_first:  # the last good version, served while the rest is prepared
            progress.begin("Loading the newest index version")
            rt.holder.refresh()
            self._load_first = False
            served = rt.holder.current()
            with self._lock:
                self._since = self._since or (served.version if served else None)  # what the start-up catch-up starts from
        if self._load_demo and rt.store_is_empty():
            corpus = rt.demo_corpus.name
            report = rt.ingest(rt.demo_corpus, lambda step, total: progress.begin(f"Loading the fictional demo corpus ({corpus}): {step.lower()}", total))
            log.info("demo corpus loaded: %d researchers", report.added)
            with schema.connect(rt.settings.store_path) as conn:
                listed = bool(stored_lists(conn))
            if not listed:  # so that the demo shows what a screening list hit looks like
                loaded = load_list(rt.settings.store_path, DEMO_SCREENING_LIST, "Demo screening list (fictional)", "2026-12-01")
                log.info("demo screening list loaded: %d fictional entries", loaded.entries)
        self._load_demo = False  # only once it is loaded: a failed load is tried again with the next build
        if rt.store_is_empty():
            log.info("the store is empty: nothing to index (load data with `kakehashi ingest PATH`)")
            return
        progress.begin("Loading the embedding models")
        _ = rt.embedder
        if rt.settings.multilingual:
            _ = rt.multilingual
        result = rt.build_index(progress.begin)
        if result.skipped:
            log.info("index %s is up to date", result.version)
        else:
            progress.begin(f"Loading index {result.version}")
            rt.holder.refresh()
            counts = result.manifest["counts"]
            log.info("index %s published: %d publications of %d researchers (%d embedded, %d reused)",
                     result.version, counts["publications"], counts["researchers"], result.embedded, result.reused)
        self._last = {"last_version": result.version, "last_embedded": result.embedded}
        served = rt.holder.peek()
        if served is not None:
            log.info("ready: serving index %s", served.version)
