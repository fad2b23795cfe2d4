"""Wall time per stage of one query, for the `Server-Timing` header."""

from __future__ import annotations

import time


class Stages:
    """Milliseconds per stage; `mark(stage)` ends a stage and starts the next."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._last = time.perf_counter()

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.ms[stage] = self.ms.get(stage, 0.0) + 1000 * (now - self._last)
        self._last = now
