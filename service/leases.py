"""Leases in the store: one process at a time does a piece of shared work (runs a batch job, builds
the index), whichever of several processes on the same store wants it. A lease names the work and
its holder and lasts `seconds`; its holder renews it (a heartbeat) while it works, so a holder that
dies or hangs loses it within `seconds` and another process takes the work over.

Acquiring is one SQL statement (insert, or take over an expired lease or one we hold already), so
two processes can never both hold a lease. The table is indexer/schema.py's `leases`."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from indexer import schema
from indexer.schema import connect

log = logging.getLogger("kakehashi.leases")
PROCESS = f"{socket.gethostname()}:{os.getpid()}"  # this process; each Leases object holds as itself within it

_ACQUIRE = """INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
              ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, until = excluded.until
              WHERE leases.until < ? OR leases.holder = excluded.holder"""


class Held:
    """A lease being held, renewed in the background; `lost` is set once a renewal failed (another
    process took it over after a pause longer than the lease)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lost = threading.Event()


class Leases:
    def __init__(self, path: Path, seconds: float = 30.0, holder: str | None = None) -> None:
        """`holder`: who holds what this object acquires (by default this process and a token of
        this object's own, so that two holders in one process never both hold a lease)."""
        self.path, self.seconds, self.holder = path, seconds, holder or f"{PROCESS}:{uuid.uuid4().hex[:8]}"
        schema.ensure(path)

    def acquire(self, name: str, conn: sqlite3.Connection | None = None) -> bool:
        """Takes the lease if it is free, expired or ours already; whether it is ours now. With
        `conn`, within that connection's transaction (a job created with its lease held)."""
        now = time.time()
        if conn is not None:
            return conn.execute(_ACQUIRE, (name, self.holder, now + self.seconds, now)).rowcount == 1
        with connect(self.path) as own:
            return own.execute(_ACQUIRE, (name, self.holder, now + self.seconds, now)).rowcount == 1

    def renew(self, name: str) -> bool:
        with connect(self.path) as conn:
            return conn.execute("UPDATE leases SET until = ? WHERE name = ? AND holder = ?",
                                (time.time() + self.seconds, name, self.holder)).rowcount == 1

    def release(self, name: str) -> None:
        with connect(self.path) as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, self.holder))

    def holder_of(self, name: str) -> str | None:
        """Who holds the lease now (None when it is free or expired)."""
        with connect(self.path) as conn:
            row = conn.execute("SELECT holder FROM leases WHERE name = ? AND until >= ?", (name, time.time())).fetchone()
        return row["holder"] if row else None

    @contextmanager
    def hold(self, name: str, waiting: Callable[[str], None] | None = None, poll_seconds: float = 0.5,
             taken: bool = False) -> Iterator[Held]:
        """Holds the lease for the block, renewing it every third of its length. Waits while another
        process holds it, telling `waiting` who (once). `taken`: acquired already by the caller."""
        told = False
        while not (taken or self.acquire(name)):
            if waiting is not None and not told:
                waiting(self.holder_of(name) or "another process")
                told = True
            time.sleep(poll_seconds)
        held = Held(name)
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.seconds / 3):
                try:
                    if not self.renew(name):
                        log.warning("lease %s was taken over by another process", name)
                        held.lost.set()
                        return
                except sqlite3.Error as exc:  # a busy store: try again at the next beat
                    log.warning("lease %s not renewed this time: %s", name, exc)

        heartbeat = threading.Thread(target=beat, name=f"lease-{name}", daemon=True)
        heartbeat.start()
        try:
            yield held
        finally:
            stop.set()
            heartbeat.join()
            if not held.lost.is_set():
                self.release(name)
