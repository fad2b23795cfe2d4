"""What a long step (loading the demo corpus, building an index) is doing right now, told while it
happens: as lines (to the log or a console, in a terminal or not, at most one every few seconds per
step) and as one sentence that the 503 answers, /readyz and the page show while the index is not ready."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from indexer.embedder import ProgressFn


class Progress:
    def __init__(self, emit: Callable[[str], None] | None = None, every_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._emit = emit or (lambda line: None)
        self._every = every_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._step: str | None = None
        self._done = 0
        self._total = 0
        self._started = 0.0
        self._told = 0.0
        self.failure: str | None = None  # why the last run of steps failed, until one succeeds

    def begin(self, step: str, total: int = 0) -> ProgressFn:
        """Starts a step (of `total` units, 0 when unknown); returns the function that advances it."""
        with self._lock:
            self._step, self._done, self._total = step, 0, total
            self._started = self._told = self._clock()
        self._emit(self.describe())
        return self.advance

    def advance(self, n: int) -> None:
        with self._lock:
            self._done += n
            now = self._clock()
            due = now - self._told >= self._every or (self._total and self._done >= self._total)
            if due:
                self._told = now
        if due:
            self._emit(self.describe())

    def finish(self, failure: str | None = None) -> None:
        """Ends the steps; `failure` says why they stopped short (None: they succeeded)."""
        with self._lock:
            self._step = None
            self.failure = failure

    @property
    def active(self) -> bool:
        return self._step is not None

    def describe(self) -> str:
        with self._lock:
            if self._step is None:
                return "idle"
            elapsed = self._clock() - self._started
            if self._total:
                share = min(1.0, self._done / self._total)
                remaining = f", about {elapsed / share - elapsed:.0f} s to go" if 0 < share < 1 and elapsed >= 2 else ""
                return f"{self._step}: {self._done:,} of {self._total:,} ({share:.0%}) in {elapsed:.0f} s{remaining}"
            return f"{self._step} ({elapsed:.0f} s so far)"
