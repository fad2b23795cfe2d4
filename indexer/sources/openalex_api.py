"""`kakehashi harvest openalex`: pages of the OpenAlex API written as files that `kakehashi ingest`
reads, with a harvest that resumes where it stopped.

The API's contract (developers.openalex.org): `GET {base}/{entity}?filter=...&per_page=100&cursor=*`,
then `cursor=meta.next_cursor` until a page comes back empty or without a next cursor; `meta.count`
is the number of records the filter matches; `per_page` is at most 100; an API key (`api_key`) is
required since 13 February 2026; every plan may send 100 requests a second, and a spent budget or a
burst answers 429.

A page is written to `DIR/{entity}_{n:06d}.jsonl.gz` (one record per line, the form of a snapshot
part) through a temporary file and a rename, then the cursor of the next page to `DIR/.harvest.json`
the same way. Killed between the two, the resumed harvest asks for the same page again and writes
it over the same file, so every record ends up in one file once."""

from __future__ import annotations

import gzip
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from indexer.sources.openalex import ENTITIES
from kernel.errors import InvalidInput, SourceUnavailable

PER_PAGE = 100  # the API's largest page
STATE_FILE = ".harvest.json"  # a dot file: `ingest DIR` reads the pages only
MAX_ATTEMPTS = 8  # per page, for 429, 5xx, a dropped connection or a cut-short body
MAX_BACKOFF = 60.0  # seconds; without a Retry-After the wait doubles from 1 s up to this
MAX_RETRY_AFTER = 300.0  # a longer Retry-After (the day's budget spent) stops the harvest; run it again later
TIMEOUT = httpx.Timeout(60.0, connect=15.0)

# httpx logs every request URL at INFO, and the URL carries the API key: never let it reach a log
logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass
class HarvestState:
    entity: str
    filter: str
    cursor: str | None = "*"  # the next page's; None once the harvest is complete
    pages: int = 0
    records: int = 0
    count: int | None = None  # what the API says the filter matches (meta.count)
    retries: int = 0

    @property
    def complete(self) -> bool:
        return self.cursor is None


@dataclass
class HarvestReport:
    output: Path
    state: HarvestState
    pages_fetched: int = 0  # in this run
    records_fetched: int = 0
    resumed: bool = False
    waits: list[float] = field(default_factory=list)  # seconds slept before retries, in order


class OpenAlexClient:
    """One page at a time, under the rate limit, retrying what can be retried. `sleep` and `clock`
    are injectable so that tests can see the waits without spending them."""

    def __init__(self, base_url: str, api_key: str | None, requests_per_second: float = 10.0,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not api_key:
            raise InvalidInput("an OpenAlex API key is needed (--api-key or KAKEHASHI_OPENALEX_API_KEY); "
                               "get one free at openalex.org, the API requires one since February 2026")
        self._key = api_key
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=TIMEOUT, transport=transport,
                                  headers={"User-Agent": "kakehashi-harvest"})
        self._interval = 1.0 / requests_per_second
        self._sleep, self._clock = sleep, clock
        self._next_request = 0.0
        self.waits: list[float] = []

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpenAlexClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, seconds: float, retry: bool = False) -> None:
        if retry:
            self.waits.append(seconds)
        if seconds > 0:
            self._sleep(seconds)

    def _safe(self, text: str) -> str:
        return text.replace(self._key, "***")

    def page(self, entity: str, filter_: str, cursor: str) -> dict[str, Any]:
        params = {"filter": filter_, "per_page": str(PER_PAGE), "cursor": cursor, "api_key": self._key}
        if not filter_:
            del params["filter"]
        problem = ""
        for attempt in range(MAX_ATTEMPTS):
            self._wait(self._next_request - self._clock())
            self._next_request = self._clock() + self._interval
            try:
                response = self._http.get(f"/{entity}", params=params)
            except httpx.TransportError as exc:  # refused, reset, dropped mid-body, timed out
                problem = f"{type(exc).__name__}: {self._safe(str(exc)) or 'the connection failed'}"
                self._wait(_backoff(attempt), retry=True)
                continue
            if response.status_code == 200:
                body = _page_body(response)
                if body is not None:
                    return body
                problem = "a page that is not the API's JSON (cut short?)"
                self._wait(_backoff(attempt), retry=True)
                continue
            problem = f"HTTP {response.status_code}: {self._safe(_message(response))}"
            if response.status_code == 429 or response.status_code >= 500:
                delay = _retry_after(response)
                if delay is not None and delay > MAX_RETRY_AFTER:
                    raise SourceUnavailable(f"the OpenAlex API asks to wait {delay:.0f} s ({problem}); the day's budget "
                                            "may be spent. Run the same command again later: the harvest resumes where it stopped")
                self._wait(_backoff(attempt) if delay is None else delay, retry=True)
                continue
            if response.status_code in (401, 403):
                raise SourceUnavailable(f"the OpenAlex API refused the request ({problem}); check the API key")
            raise InvalidInput(f"the OpenAlex API rejected the request ({problem}); check --filter and --entity")
        raise SourceUnavailable(f"the OpenAlex API kept failing after {MAX_ATTEMPTS} attempts (last: {problem}); "
                                "run the same command again to resume")


def _backoff(attempt: int) -> float:
    return min(MAX_BACKOFF, 2.0 ** attempt)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), None without a usable one."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:300]
    return str(body)[:300]


def _page_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("results"), list) or not isinstance(body.get("meta"), dict):
        return None
    return body


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def page_path(output: Path, entity: str, number: int) -> Path:
    return output / f"{entity}_{number:06d}.jsonl.gz"


def load_state(output: Path, entity: str, filter_: str) -> tuple[HarvestState, bool]:
    """(the state, whether it continues an earlier harvest). A directory holding another harvest is refused."""
    path = output / STATE_FILE
    if not path.is_file():
        if any(output.glob(f"{entity}_*.jsonl.gz")):
            raise InvalidInput(f"{output} holds harvested pages but no {STATE_FILE}; choose an empty --output")
        return HarvestState(entity, filter_), False
    try:
        state = HarvestState(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{path}: unreadable harvest state ({exc}); choose another --output") from None
    if (state.entity, state.filter) != (entity, filter_):
        raise InvalidInput(f"{output} holds a harvest of {state.entity} with --filter {state.filter!r}; "
                           "choose another --output for another harvest")
    return state, True


def harvest(client: OpenAlexClient, entity: str, filter_: str, output: Path,
            on_page: Callable[[HarvestState], None] | None = None) -> HarvestReport:
    """Fetches every page the filter matches that `output` does not hold yet."""
    if entity not in ENTITIES:
        raise InvalidInput(f"--entity {entity!r}: one of {', '.join(ENTITIES)}")
    output.mkdir(parents=True, exist_ok=True)
    state, resumed = load_state(output, entity, filter_)
    report = HarvestReport(output, state, resumed=resumed)
    while state.cursor is not None:
        page = client.page(entity, filter_, state.cursor)
        results, meta = page["results"], page["meta"]
        if results:
            lines = b"".join(orjson.dumps(r) + b"\n" for r in results)
            _write_atomically(page_path(output, entity, state.pages + 1), gzip.compress(lines, compresslevel=6, mtime=0))
            state.pages += 1
            state.records += len(results)
            report.pages_fetched += 1
            report.records_fetched += len(results)
        next_cursor = meta.get("next_cursor")
        state.cursor = next_cursor if results and isinstance(next_cursor, str) and next_cursor else None
        if isinstance(meta.get("count"), int):
            state.count = meta["count"]
        retried = client.waits[len(report.waits):]
        state.retries += len(retried)
        report.waits.extend(retried)
        _write_atomically(output / STATE_FILE, json.dumps(asdict(state), indent=1).encode())
        if on_page:
            on_page(state)
    return report
