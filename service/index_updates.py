"""Index updates after researcher writes over HTTP: one background build at a time; writes that
arrive during a build are taken by the next one. A build embeds only publications whose text is new
(every other vector is copied from the newest version) and publishes a new version atomically; the
served snapshot is swapped whole once it has loaded, so reads never see a half-written index."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from service.runtime import Runtime

log = logging.getLogger("kakehashi.index_updates")


class IndexUpdater:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._running = False
        self._last: dict[str, Any] = {}

    def request(self) -> None:
        """Asks for a build soon; starts the thread on first use."""
        self._wanted.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="kakehashi-index-updates", daemon=True)
                self._thread.start()

    def status(self) -> dict[str, Any]:
        return {"pending": self._wanted.is_set(), "running": self._running, **self._last}

    def stop(self) -> None:
        self._stop.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wanted.wait()
            if self._stop.is_set():
                return
            self._wanted.clear()
            self._running = True
            started = time.monotonic()
            try:
                result = self.runtime.build_index()
                self.runtime.holder.refresh()
                self._last = {"last_version": result.version, "last_embedded": result.embedded,
                              "last_seconds": round(time.monotonic() - started, 2), "last_error": None}
                log.info("index updated to %s (%d publications embedded)", result.version, result.embedded)
            except Exception as exc:  # noqa: BLE001 - reported in the status; the served index stays as it was
                log.exception("index update failed")
                self._last = {**self._last, "last_error": str(exc)}
            finally:
                self._running = False
