"""API keys with scopes, and a per-caller rate limit.

A key reads `kk_<key id>_<secret>`. Only the SHA-256 of the secret is stored (the secret is 32
random bytes, so a slow password hash adds nothing), next to the key id used to find it; the
digest is compared in constant time. The key itself is shown once, when it is created.

Scopes, each granting the ones before it: `read` (match, score, browse), `batch` (batch jobs, and
read), `admin` (researcher writes and index updates, and the other two; keys are managed with the
CLI on the server)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from indexer import schema
from indexer.schema import connect
from kernel.errors import InvalidInput, NotFound, RateLimited, Unauthorized

Scope = Literal["read", "batch", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "batch", "admin")
PREFIX = "kk"



@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: tuple[Scope, ...]
    created_at: float
    revoked_at: float | None

    def allows(self, scope: Scope) -> bool:
        return any(SCOPES.index(held) >= SCOPES.index(scope) for held in self.scopes)

    def view(self) -> dict[str, object]:
        """What `keys list` shows: never the secret or its digest."""
        return {"id": self.id, "name": self.name, "scopes": list(self.scopes), "created_at": self.created_at,
                "revoked_at": self.revoked_at, "active": self.revoked_at is None}


def job_owner(key: ApiKey | None) -> str | None:
    """Whose batch jobs a caller sees: its key's own; everyone's for an admin key (and the CLI, which has none)."""
    return None if key is None or key.allows("admin") else key.id


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _parse(key: str) -> tuple[str, str] | None:
    parts = key.strip().split("_")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class KeyStore:
    """The `api_keys` table (indexer/schema.py) in the store's SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        schema.ensure(path)

    def create(self, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
        """The new key's record and the key itself (shown once; only its digest is kept)."""
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise InvalidInput(f"scopes must be some of {', '.join(SCOPES)} (got {scopes or 'none'})")
        if not name.strip():
            raise InvalidInput("a key needs a name that says who holds it")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32).replace("_", "-")
        chosen = tuple(s for s in SCOPES if s in scopes)
        now = time.time()
        with connect(self.path) as conn:
            conn.execute("INSERT INTO api_keys VALUES (?,?,?,?,?,NULL)", (key_id, name.strip(), _digest(secret), json.dumps(chosen), now))
        return ApiKey(key_id, name.strip(), chosen, now, None), f"{PREFIX}_{key_id}_{secret}"

    def list(self) -> list[ApiKey]:
        with connect(self.path) as conn:
            return [self._key(r) for r in conn.execute("SELECT * FROM api_keys ORDER BY created_at")]

    def revoke(self, key_id: str) -> ApiKey:
        with connect(self.path) as conn:
            changed = conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (time.time(), key_id)).rowcount
            row = conn.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            raise NotFound(f"no API key with id {key_id!r}")
        if not changed:
            raise InvalidInput(f"API key {key_id!r} was already revoked")
        return self._key(row)

    def verify(self, key: str) -> ApiKey:
        """The active key that `key` is, or Unauthorized (which does not say which part was wrong)."""
        parsed = _parse(key)
        row = None
        if parsed:
            with connect(self.path) as conn:
                row = conn.execute("SELECT * FROM api_keys WHERE id = ?", (parsed[0],)).fetchone()
        expected = row["secret_sha256"] if row else _digest("\0no such key")  # the same work for an unknown id
        matches = hmac.compare_digest(expected, _digest(parsed[1] if parsed else ""))
        if row is None or not matches or row["revoked_at"] is not None:
            raise Unauthorized("the API key is not valid (unknown, mistyped or revoked)")
        return self._key(row)

    @staticmethod
    def _key(row: sqlite3.Row) -> ApiKey:
        return ApiKey(row["id"], row["name"], tuple(json.loads(row["scopes"])), row["created_at"], row["revoked_at"])


class RateLimiter:
    """A token bucket per caller (a key id, or the client address for calls without a key):
    `per_minute` requests a minute on average, bursts of up to `burst`."""

    def __init__(self, per_minute: int, burst: int, what: str = "requests") -> None:
        self.rate, self.burst, self.what = per_minute / 60.0, float(burst), what
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> None:
        """One token of `caller`'s bucket, or RateLimited saying when to retry."""
        self._spend(caller, 1)

    def check(self, caller: str) -> None:
        """RateLimited if `caller`'s bucket is empty; takes nothing."""
        self._spend(caller, 0)

    def _spend(self, caller: str, cost: int) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                wait = (1 - tokens) / self.rate
                self._buckets[caller] = (tokens, now)
                raise RateLimited(
                    f"rate limit of {round(self.rate * 60)} {self.what} a minute (bursts of {int(self.burst)}) reached; retry in {wait:.1f} s",
                    retry_after=wait,
                )
            self._buckets[caller] = (tokens - cost, now)
            if len(self._buckets) > 100_000:  # forget idle callers
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 600}


class RepeatedFailures:
    """The keys each caller failed with lately (their digests, a few per caller, for ten minutes): a
    key that failed once is not counted against the caller again, so a revoked key left in a
    browser's cookie, sent with every request, does not lock its address out; guessing needs new
    keys, and each new one counts."""

    def __init__(self, per_caller: int = 32, seconds: float = 600.0) -> None:
        self.per_caller, self.seconds = per_caller, seconds
        self._seen: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def first(self, caller: str, key: str) -> bool:
        """Whether this is the first failure of `key` from `caller` lately (and remember it)."""
        digest, now = _digest(key), time.monotonic()
        with self._lock:
            seen = {k: t for k, t in self._seen.get(caller, {}).items() if now - t < self.seconds}
            new = digest not in seen
            seen[digest] = now
            self._seen[caller] = dict(list(seen.items())[-self.per_caller:])
            if len(self._seen) > 100_000:  # forget idle callers
                self._seen = {c: v for c, v in self._seen.items() if v and now - max(v.values()) < self.seconds}
            return new
