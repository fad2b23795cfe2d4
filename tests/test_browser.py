"""End to end: the page in real headless Chromium (Debian's `chromium`, driven by Playwright with its
executable path; Playwright's own browser download is never used). The service runs on loopback
with the demo corpus and the fake embedder. Screenshots go to artifacts/screenshots/ (git-ignored).

Without Chromium these tests are skipped, unless KAKEHASHI_REQUIRE_BROWSER is set (as `.ci/run`
does, after installing it), where a missing browser fails them."""

from __future__ import annotations

import csv
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from indexer.screening_lists import load_list
from kernel.paths import DEMO_SCREENING_LIST
from service.http.app import create_app
from service.http.limits import request_line_limit
from tests.conftest import ROOT, api_key, copy_state, fake_runtime

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("KAKEHASHI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# Headless, and quiet: this machine's network is closed, so no background connections.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-default-apps"]
TEXT = "Quantum error correction with surface codes on superconducting qubits"


@dataclass(frozen=True)
class Live:
    url: str
    batch_key: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, demo_state: Path) -> Iterator[Live]:
    """The service with its batch worker, on a free loopback port, in a thread."""
    state = tmp_path_factory.mktemp("browser") / "state"
    copy_state(demo_state, state)
    load_list(state / "kakehashi.sqlite", DEMO_SCREENING_LIST, "Demo screening list (fictional)", "2026-12-01")  # as the demo's first start does
    runtime = fake_runtime(state)
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0, log_level="warning",
                                           h11_max_incomplete_event_size=request_line_limit(runtime.settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the service did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Live(f"http://127.0.0.1:{port}", api_key(runtime, "batch"))
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM:
        message = "Chromium is not installed (apt-get install chromium); .ci/run installs it"
        if os.environ.get("KAKEHASHI_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, live: Live):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def screenshot(page, name: str, full_page: bool = False) -> Path:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


def names_on(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("ol.result-list > li h3 a").all_inner_texts()


def test_search_by_text_then_filter_by_country_and_share_the_link(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.get_by_label("Project description").fill(TEXT)
    page.get_by_role("button", name="Find partners").click()
    expect(page.get_by_role("heading", name=re.compile(r"^\d+ researchers match: \d+ strongly, \d+ fairly$"))).to_be_visible()
    expect(page.locator("ol.result-list > li")).to_have_count(10)
    expect(page.locator(".result").first.get_by_text("Best-matching publications")).to_be_visible()
    expect(page.locator(".result").first.locator(".badge.joint, .badge.direct")).to_be_visible()
    assert screenshot(page, "search-results.png").stat().st_size > 10_000

    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Only these countries").fill("Germany")
    page.get_by_role("button", name="Find partners").click()
    affiliations = page.locator(".result .affiliation").all_inner_texts()
    assert affiliations and all("Germany" in a for a in affiliations)
    assert "country=Germany" in page.url and "q=Quantum" in page.url
    expect(page.get_by_label("Only these countries")).to_have_value("Germany")

    shared = page.context.new_page()  # a colleague opens the link
    shared.goto(page.url)
    assert names_on(shared) == names_on(page)


def test_a_long_description_travels_in_the_url(page) -> None:  # type: ignore[no-untyped-def]
    description = " ".join([TEXT + "; logical qubits, decoders and fault-tolerant gates."] * 160)  # about 19,000 characters
    page.goto("/")
    page.get_by_label("Project description").fill(description)
    page.get_by_role("button", name="Find partners").click()
    expect(page.get_by_role("heading", name=re.compile(r"^\d+ researchers match: \d+ strongly, \d+ fairly$"))).to_be_visible()
    expect(page.get_by_label("Project description")).to_have_value(description)


def test_search_by_goal_shows_evidence_strength_and_route(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.get_by_label("or a Moonshot goal").select_option(label="Goal 6: Fault-tolerant universal quantum computer")
    page.get_by_role("button", name="Find partners").click()
    expect(page.get_by_text("Query: goal 6: Fault-tolerant universal quantum computer")).to_be_visible()
    first = page.locator(".result").first
    expect(first.locator(".evidence li")).to_have_count(3)
    expect(first.get_by_text("Country strength")).to_be_visible()
    expect(first.locator(".score-total")).to_have_text(re.compile(r"^0\.\d{3}$"))
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text(re.compile(r"Page 2 of \d+"))).to_be_visible()
    assert page.locator("ol.result-list").get_attribute("start") == "11"


def test_open_a_researcher_and_find_more_like_them(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/?goal=6")
    name = names_on(page)[0]
    page.get_by_role("link", name=name, exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("heading", name=re.compile(r"^Publications \(\d+\)$"))).to_be_visible()
    expect(page.get_by_role("heading", name="Funding route by field")).to_be_visible()
    page.get_by_role("link", name="More like this researcher").click()
    expect(page.get_by_text(f"Researchers like {name}")).to_be_visible()
    assert name not in names_on(page) and names_on(page)


def test_export_the_result_list_as_csv(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/?goal=6&country=DE")
    shown = names_on(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as CSV").click()
    assert download.value.suggested_filename == "kakehashi-matches.csv"
    with open(download.value.path(), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows[: len(shown)]] == shown
    assert all(r["country"] == "DE" for r in rows) and len(rows) > len(shown)


def test_country_view(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/countries")
    page.get_by_role("link", name="Germany", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Germany")
    expect(page.get_by_role("heading", name="Strength by field")).to_be_visible()
    expect(page.locator("table.strength-chart tbody tr")).to_have_count(14)
    expect(page.locator("table.routes-table tbody tr")).to_have_count(14)
    expect(page.get_by_text("DFG").first).to_be_visible()
    assert screenshot(page, "country-view.png", full_page=True).stat().st_size > 10_000


def test_a_small_batch_runs_to_completion(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    projects = "id,text,goal_id,countries\np1,superconducting qubit readout,,\np2,,6,DE;FR\np3,gallium nitride power transistors,,\n"
    page.goto("/batch")
    expect(page.get_by_text("Batch jobs need an API key with the batch scope")).to_be_visible()
    page.get_by_role("link", name="Enter your key").click()
    page.get_by_label("API key").fill(live.batch_key)
    page.get_by_role("button", name="Use this key").click()
    expect(page.get_by_text(re.compile(r"^Using key \w+ \(tests\)"))).to_be_visible()
    page.get_by_label("Projects file").set_input_files({"name": "projects.csv", "mimeType": "text/csv", "buffer": projects.encode()})
    page.get_by_label("Partners listed per project").fill("4")
    page.get_by_role("button", name="Start the batch").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Batch job")
    expect(page.locator("[data-state]")).to_have_text("succeeded", timeout=60_000)
    expect(page.get_by_text("3 of 3 projects done")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    with open(download.value.path(), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["query_id"] for r in rows] == ["p1"] * 4 + ["p2"] * 4 + ["p3"] * 4
    assert {r["country"] for r in rows if r["query_id"] == "p2"} <= {"DE", "FR"}
    page.get_by_role("link", name="All batch jobs").click()
    expect(page.get_by_role("row").filter(has_text="succeeded")).to_have_count(1)


def test_bad_input_is_shown_beside_its_control_and_can_be_fixed(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/?goal=6&country=Germny")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not a country name or ISO code: 'Germny'")
    country = page.get_by_label("Only these countries")
    expect(country).to_have_attribute("aria-invalid", "true")
    country.fill("Germany")
    country.press("Enter")  # the form submits from the keyboard
    expect(page.get_by_role("alert")).to_have_count(0)
    assert all("Germany" in a for a in page.locator(".result .affiliation").all_inner_texts())


def test_keyboard_only_search_on_a_phone(page) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

    def tab_to(predicate: str, limit: int = 40) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(predicate):
                return
        raise AssertionError(f"Tab never reached {predicate}")

    tab_to("document.activeElement.id === 'q'")
    page.keyboard.type("robot hands that learn to grasp")
    tab_to("document.activeElement.tagName === 'BUTTON'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(r"researchers match: \d+ strongly, \d+ fairly$"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways on a phone"
    page.get_by_role("link", name="Jump to the results").click()
    screenshot(page, "search-results-phone.png")


def test_the_api_docs_render_without_any_network(page) -> None:  # type: ignore[no-untyped-def]
    """This machine reaches no CDN: the docs render only because the service serves their scripts."""
    page.goto("/")
    page.get_by_role("link", name="API", exact=True).click()
    expect(page.get_by_text("/v1/matches").first).to_be_visible()


def _demo_pi_and_coauthor() -> tuple[str, str, str]:
    """From the demo file: a researcher in Japan, a recent work of theirs written with a researcher
    abroad (a conflict of interest for the PI), and that co-author's id."""
    import gzip
    import json

    from tests.conftest import DEMO_CORPUS

    records = [json.loads(line) for line in gzip.open(DEMO_CORPUS, "rt", encoding="utf-8")]
    since = time.gmtime().tm_year - 3
    holders: dict[str, list[dict]] = {}
    for r in records:
        for p in r["publications"]:
            holders.setdefault(p["id"], []).append(r)
    for r in records:
        for p in r["publications"]:
            abroad = [h for h in holders[p["id"]] if h["country"] != "JP"]
            if r["country"] == "JP" and abroad and p["year"] >= since:
                return r["id"], p["title"], abroad[0]["id"]
    raise AssertionError("the demo has no recent work written with Japan")


def test_the_card_line_the_conflict_and_the_country_picture(page) -> None:  # type: ignore[no-untyped-def]
    pi, title, coauthor = _demo_pi_and_coauthor()
    page.goto("/")
    page.get_by_label("Project description").fill(title)
    page.locator("details.filters > summary").click()
    page.get_by_label("Your own id, to leave out conflicts of interest").fill(pi)
    page.get_by_label("Results per page").select_option("50")
    page.get_by_role("button", name="Find partners").click()
    expect(page.locator("ol.result-list > li").first).to_be_visible()
    assert coauthor not in page.locator("ol.result-list").inner_html()  # left out
    page.get_by_label("Show them, flagged").check()
    page.get_by_role("button", name="Find partners").click()
    card = page.locator("ol.result-list > li").filter(has=page.locator(f'a[href^="/researchers/{coauthor}"]'))
    expect(card.locator(".card-facts .conflict-fact")).to_contain_text("co-author of the PI")
    expect(card.locator(".card-facts")).to_contain_text(re.compile(r"Japan ties: \d+ works?"))
    expect(card.locator(".card-facts")).to_contain_text(re.compile(r"Funded by|No funder recorded"))
    chart = page.locator("figure.country-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("figcaption")).to_contain_text("matching researchers are")
    bars = chart.locator("svg rect")
    assert bars.count() >= 3 and {bars.nth(i).get_attribute("class") for i in range(bars.count())} & {"route-joint", "route-direct"}
    screenshot(page, "country-chart.png")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(SCREENSHOTS / "card-with-conflict.png"))
    card.locator("h3 a").click()  # the researcher view says it in full
    expect(page.get_by_role("heading", name=re.compile(r"^Conflict of interest with .*" + pi))).to_be_visible()
    expect(page.get_by_text(re.compile(r"co-authored \d+ works? with the PI"))).to_be_visible()
    page.go_back()
    first_country = chart.locator("svg a").first
    label = first_country.locator("text").first.text_content()
    first_country.click()  # a bar filters the search to its country
    expect(page.get_by_label("Only these countries")).to_have_value(re.compile(r"^[A-Z]{2}$"))
    assert {t.split("·")[1].strip() for t in page.locator(".result .affiliation").all_inner_texts()} == {label}


def _listed_title() -> str:
    """A work's title by a demo researcher at an institution the demo's fictional screening list names."""
    import gzip
    import json

    from tests.conftest import DEMO_CORPUS

    for line in gzip.open(DEMO_CORPUS, "rt", encoding="utf-8"):
        record = json.loads(line)
        if record["institution"] == "Eastgate Centre for Advanced Research, Nanjing":
            return str(record["publications"][0]["title"])
    raise AssertionError("the demo has no researcher at a listed institution")


def test_a_screening_hit_a_saved_search_and_a_shortlist(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.get_by_label("Project description").fill(_listed_title())
    page.locator("details.filters > summary").click()
    page.get_by_label("Only these countries").fill("CN")
    page.get_by_role("button", name="Find partners").click()
    listed = page.locator(".result").filter(has=page.locator(".screening-hit", has_text="Eastgate Centre for Advanced Research, Nanjing")).first
    expect(listed.locator(".screening-hit")).to_contain_text("Demo screening list (fictional) (as of 2026-12-01)")
    expect(page.locator(".screened-against")).to_contain_text("Screened against Demo screening list (fictional)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    listed.screenshot(path=str(SCREENSHOTS / "screening-hit.png"))

    page.get_by_label("Save this search as").fill("Listed check")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Listed check")
    expect(page.get_by_text(re.compile(r"0 of the first \d+ are new"))).to_be_visible()
    page.get_by_role("link", name="Open as a search").click()

    first = page.locator(".result").first
    name = first.locator("h3 a").inner_text()
    first.get_by_label("Add to shortlist").fill("Proposal 2027")
    first.get_by_label("Note").fill("met at the Sendai workshop")
    first.get_by_role("button", name="Add").click()
    page.goto("/saved")
    expect(page.get_by_role("link", name="Listed check")).to_be_visible()
    page.get_by_role("link", name="Proposal 2027").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("met at the Sendai workshop")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as CSV").click()
    rows = list(csv.DictReader(open(download.value.path(), encoding="utf-8-sig")))
    assert [(r["name"], r["note"]) for r in rows] == [(name, "met at the Sendai workshop")] and rows[0]["screened_against"]
    screenshot(page, "shortlist.png")



def test_needs_their_coverage_strength_labels_and_a_team(page) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: a two-need description shows both needs, each card's coverage and strength, and a
    suggested team in which no two members share a country and both needs are covered."""
    page.goto("/")
    page.get_by_label("Project description").fill("GaN power transistors and EUV lithography")
    page.get_by_text("Needs and a team", exact=True).click()
    page.get_by_label("Suggest a team of").select_option("2")
    page.get_by_role("button", name="Find partners").click()
    needs = page.locator("section.aspects li.aspect .aspect-label")
    expect(needs).to_have_count(2)
    assert needs.all_inner_texts() == ["GaN power transistors", "EUV lithography"]
    first_page = page.locator(".result .aspect-fit").all_inner_texts()
    assert len(first_page) == 10
    covered = [[line for line in card.splitlines() if line.startswith(("strong", "fair"))] for card in first_page]
    assert any("GaN power transistors" in " ".join(c) for c in covered) and any("EUV lithography" in " ".join(c) for c in covered)
    expect(page.locator(".result .badge.strength-fair, .result .badge.strength-strong").first).to_be_visible()
    team = page.locator("section.team li")
    expect(team).to_have_count(2)
    lines = team.all_inner_texts()
    assert any("covers GaN power transistors" in line for line in lines) and any("covers EUV lithography" in line for line in lines)
    countries = [re.search(r"\(([A-Z]{2}), ", line).group(1) for line in lines]  # type: ignore[union-attr]
    assert len(set(countries)) == 2
    assert "team=2" in page.url
    screenshot(page, "needs-and-team.png", full_page=True)
