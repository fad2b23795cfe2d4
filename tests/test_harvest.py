"""`kakehashi harvest openalex` against a local server replaying the OpenAlex API with faults: every
record ends up in the output once, through a 429, a 500, a dropped connection and a kill."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from indexer.sources.openalex_api import PER_PAGE, STATE_FILE, HarvestState, OpenAlexClient, harvest
from kernel.errors import InvalidInput, SourceUnavailable
from tests.conftest import ROOT, fake_runtime
from tests.openalex_replay import API_KEY, ReplayServer
from tests.openalex_snapshot import sample

FILTER = "authorships.countries:DE|FR,publication_year:>2015"


@pytest.fixture(scope="module")
def works() -> list[dict[str, Any]]:
    return sample()["works"]


class FakeTime:
    """A clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def client(server: ReplayServer, fake: FakeTime, key: str | None = API_KEY, per_second: float = 10.0) -> OpenAlexClient:
    return OpenAlexClient(server.url, key, per_second, sleep=fake.sleep, clock=fake.clock)


def harvested(output: Path) -> list[str]:
    """The ids of every record in the output's pages, in page order."""
    ids = []
    for page in sorted(output.glob("works_*.jsonl.gz")):
        with gzip.open(page, "rb") as handle:
            ids += [orjson.loads(line)["id"] for line in handle]
    return ids


def test_a_harvest_through_a_429_a_500_and_a_dropped_connection_has_every_record_once(works: list, tmp_path: Path) -> None:
    fake = FakeTime()
    faults = {2: "429", 4: "500", 6: "drop"}
    with ReplayServer(works, faults, retry_after="7") as server, client(server, fake) as api:
        seen: list[tuple[int, int, int | None]] = []
        report = harvest(api, "works", FILTER, tmp_path / "out", lambda s: seen.append((s.pages, s.records, s.count)))
        requests = server.requests

    assert harvested(tmp_path / "out") == [w["id"] for w in works]  # all of them, once, in order
    pages = -(-len(works) // PER_PAGE)
    assert report.state.complete and (report.state.pages, report.state.records, report.state.count) == (pages, len(works), len(works))
    assert seen[-1] == (pages, len(works), len(works)) and len(seen) == pages + 1  # the progress saw every page and the empty end
    assert report.waits[0] == 7.0  # the 429's Retry-After, honoured
    assert len(report.waits) == 3 and report.state.retries == 3  # the 500 and the dropped body were retried after a backoff
    assert len(requests) == pages + 1 + 3
    assert all(r["per_page"] == str(PER_PAGE) and r["api_key"] == API_KEY and r["filter"] == FILTER for r in requests)
    assert requests[0]["cursor"] == "*" and requests[1]["cursor"] == requests[2]["cursor"] != "*"  # the 429's page asked for again
    assert API_KEY not in (tmp_path / "out" / STATE_FILE).read_text()

    rt = fake_runtime(tmp_path / "state")  # what the harvest wrote is what `ingest` reads
    ingested = rt.ingest(tmp_path / "out")
    assert ingested.records_read == len(works) and ingested.rejected + ingested.openalex["works"].added == len(works)


def test_requests_stay_under_the_rate_limit(works: list, tmp_path: Path) -> None:
    fake = FakeTime()
    with ReplayServer(works[:300]) as server, client(server, fake, per_second=2.0) as api:
        harvest(api, "works", FILTER, tmp_path / "out")
    assert len(server.requests) == 4 and sum(fake.slept) >= 3 * 0.5  # four requests, half a second apart at least


def test_a_harvest_resumes_from_its_cursor_after_a_kill(works: list, tmp_path: Path) -> None:
    output = tmp_path / "out"
    with ReplayServer(works, {4: "hold"}) as server:
        env = {**os.environ, "KAKEHASHI_OPENALEX_BASE_URL": server.url, "KAKEHASHI_DATA_DIR": str(tmp_path / "state")}
        process = subprocess.Popen([sys.executable, "-m", "service.cli", "harvest", "openalex", "--filter", FILTER,
                                    "--output", str(output), "--api-key", API_KEY], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert server.held.wait(60), "the harvest did not reach its fourth page"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        server.released.set()
        stopped = HarvestState(**orjson.loads((output / STATE_FILE).read_bytes()))
        assert (stopped.pages, stopped.records, stopped.complete) == (3, 3 * PER_PAGE, False)

        fake = FakeTime()
        with client(server, fake) as api:
            report = harvest(api, "works", FILTER, output)
        assert server.requests[4]["cursor"] == stopped.cursor  # it went on from where it stopped, not from the start
    assert report.resumed and report.pages_fetched == report.state.pages - 3
    assert harvested(output) == [w["id"] for w in works]


def test_a_page_written_but_not_recorded_is_written_again_not_twice(works: list, tmp_path: Path) -> None:
    """Killed between a page's file and the state that records it: the page is fetched again into the same file."""
    output = tmp_path / "out"
    states: list[bytes] = []
    with ReplayServer(works) as server, client(server, FakeTime()) as api:
        harvest(api, "works", FILTER, output, lambda s: states.append((output / STATE_FILE).read_bytes()))
        (output / STATE_FILE).write_bytes(states[2])  # as if it stopped after writing page 4, before recording it
        again = harvest(api, "works", FILTER, output)
    assert again.resumed and again.pages_fetched == again.state.pages - 3
    assert harvested(output) == [w["id"] for w in works]


def test_a_finished_harvest_fetches_nothing_and_another_filter_needs_another_directory(works: list, tmp_path: Path) -> None:
    with ReplayServer(works[:150]) as server, client(server, FakeTime()) as api:
        harvest(api, "works", FILTER, tmp_path / "out")
        before = len(server.requests)
        again = harvest(api, "works", FILTER, tmp_path / "out")
        assert len(server.requests) == before and again.resumed and again.pages_fetched == 0
        with pytest.raises(InvalidInput, match="holds a harvest of works with --filter"):
            harvest(api, "works", "publication_year:2024", tmp_path / "out")


def test_a_refused_key_and_a_bad_filter_are_clear_errors_that_never_show_the_key(works: list, tmp_path: Path) -> None:
    with ReplayServer(works) as server:
        with client(server, FakeTime(), key="wrong-key-42") as api, pytest.raises(SourceUnavailable, match="check the API key") as refused:
            harvest(api, "works", FILTER, tmp_path / "a")
        assert "wrong-key-42" not in refused.value.detail and "Invalid or missing API key" in refused.value.detail
        with client(server, FakeTime()) as api, pytest.raises(InvalidInput, match="bogus is not a valid field"):
            harvest(api, "works", "bogus:1", tmp_path / "b")
    with pytest.raises(InvalidInput, match="API key is needed"):
        OpenAlexClient("http://127.0.0.1:9", None)


def test_a_server_that_keeps_failing_stops_the_harvest_resumably(works: list, tmp_path: Path) -> None:
    fake = FakeTime()
    with ReplayServer(works, {n: "500" for n in range(3, 30)}) as server, client(server, fake) as api:
        with pytest.raises(SourceUnavailable, match="kept failing after 8 attempts .*HTTP 500"):
            harvest(api, "works", FILTER, tmp_path / "out")
    state = HarvestState(**orjson.loads((tmp_path / "out" / STATE_FILE).read_bytes()))
    assert state.pages == 2 and not state.complete  # what it had is kept, and the next run goes on from there
    assert max(fake.slept) == 60.0  # the backoff doubles, up to a minute


def test_the_cli_says_what_it_harvested(works: list, tmp_path: Path) -> None:
    with ReplayServer(works[:120]) as server:
        env = {**os.environ, "KAKEHASHI_OPENALEX_BASE_URL": server.url, "KAKEHASHI_OPENALEX_API_KEY": API_KEY,
               "KAKEHASHI_DATA_DIR": str(tmp_path / "state")}
        done = subprocess.run([sys.executable, "-m", "service.cli", "harvest", "openalex", "--filter", FILTER,
                               "--output", str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Harvested 120 works in 2 pages" in done.stderr and "the API counts 120" in done.stderr
    assert API_KEY not in done.stderr + done.stdout
    shutil.rmtree(tmp_path / "out")
    no_key = subprocess.run([sys.executable, "-m", "service.cli", "harvest", "openalex", "--filter", FILTER, "--output",
                             str(tmp_path / "out")], cwd=ROOT, env={**env, "KAKEHASHI_OPENALEX_API_KEY": ""},
                            capture_output=True, text=True, timeout=120)
    assert no_key.returncode == 2 and "API key is needed" in no_key.stderr and "Traceback" not in no_key.stderr
