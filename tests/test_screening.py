"""Screening lists (issue 18): lists loaded from their publishers' formats as dated versions, every
candidate's institution matched against them, a hit shown with its evidence on every surface (API,
page, researcher view, batch rows and exports), `screened: exclude` leaving it out; and the
matching's quality on the labelled name variants."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from indexer import schema
from indexer.screening_lists import load_list, stored_lists
from indexer.sources.screening import read_list
from kernel.errors import InvalidInput
from kernel.paths import DEMO_SCREENING_LIST
from kernel.settings import Settings
from service.cli import app as cli
from service.evaluation.screening import measure
from service.http.app import create_app
from service.runtime import Runtime
from tests.conftest import authorized, copy_state, fake_runtime

METI = """End User List (fictional extract for tests),,,,
Revised 2026,,,,
No.,Country or Region,Company or Organization,Also Known As,Type of WMD
1,Iran,Zagros Advanced Materials Company,ZAMCO; Zagros Materials Co.,N
2,China,"Kestrel Precision Machinery Co., Ltd.",,M
3,North Korea,Korea Sungrim Trading Corporation,(1) Sungrim Trading Corp (2) Korea Sungrim Trading,M
"""
METI_JA = "番号,国名・地域名,企業名・組織名,別名,懸念区分\n1,イラン,Zagros Advanced Materials Company,ZAMCO,核\n"
CSL_HEADINGS = ("_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date,end_date,standard_order,"
                "license_requirement,license_policy,call_sign,vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,"
                "remarks,source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,source_information_url,ids")
CSL_ROWS = [
    ["a1", "Entity List (EL) - Bureau of Industry and Security", "", "Entity", "", "Northern Aerospace Propulsion Research Institute", "",
     "12 Fictional Road, Xi'an, Shaanxi, 710000, CN", "", "2026-01-01", "", "", "", "", "", "", "", "", "", "", "", "", "NAPRI; Beifang Aerospace Propulsion Institute"],
    ["a2", "Specially Designated Nationals (SDN) - Treasury Department", "1", "Individual", "", "Jane Fictional Person", "", "Moscow, RU"],
]
CSL_JSON = {"results": [
    {"id": "b1", "source": "Entity List (EL) - Bureau of Industry and Security", "type": None, "name": "Volkhov Special Instruments Design Bureau",
     "alt_names": ["OKB Volkhov"], "addresses": [{"address": "1 Invented St", "city": "Volkhov", "state": None, "postal_code": None, "country": "RU"}]},
    {"id": "b2", "source": "SDN", "type": "Individual", "name": "Someone Fictional", "alt_names": [], "addresses": []},
]}


def _csl_csv() -> str:
    out = io.StringIO()
    out.write(CSL_HEADINGS + "\n")
    writer = csv.writer(out)
    for row in CSL_ROWS:
        writer.writerow(row + [""] * (29 - len(row)))
    return out.getvalue()


def test_each_publishers_format_is_read_into_entries(tmp_path: Path) -> None:
    (tmp_path / "eul.csv").write_text(METI, encoding="utf-8")
    fmt, entries = read_list(tmp_path / "eul.csv")
    assert fmt == "meti" and [e.country for e in entries] == ["IR", "CN", "KP"]
    assert entries[0].aliases == ("ZAMCO", "Zagros Materials Co") and entries[2].aliases == ("Sungrim Trading Corp", "Korea Sungrim Trading")
    (tmp_path / "eul-ja.csv").write_bytes(METI_JA.encode("cp932"))  # METI's Japanese edition, saved by a Japanese spreadsheet
    fmt, entries = read_list(tmp_path / "eul-ja.csv")
    assert fmt == "meti" and entries[0].country == "IR" and entries[0].remarks == "核"
    (tmp_path / "csl.csv").write_text(_csl_csv(), encoding="utf-8")
    fmt, entries = read_list(tmp_path / "csl.csv")
    assert fmt == "csl-csv" and len(entries) == 1  # the individual is not an institution
    assert entries[0].country == "CN" and "NAPRI" in entries[0].aliases and entries[0].remarks.startswith("Entity List")
    (tmp_path / "csl.json").write_text(json.dumps(CSL_JSON), encoding="utf-8")
    fmt, entries = read_list(tmp_path / "csl.json")
    assert fmt == "csl-json" and [(e.name, e.country) for e in entries] == [("Volkhov Special Instruments Design Bureau", "RU")]
    fmt, entries = read_list(DEMO_SCREENING_LIST)
    assert fmt == "csv" and len(entries) == 3 and all(e.country in ("CN", "IN") for e in entries)


def test_a_bad_list_names_the_file_line_and_field_and_stores_nothing(tmp_path: Path) -> None:
    store = tmp_path / "kakehashi.sqlite"
    bad = tmp_path / "bad.csv"
    bad.write_text("name,country\nFine Entity,China\n,China\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"bad\.csv, line 3: field 'name' is empty"):
        load_list(store, bad, "Mine", "2026-12-01")
    bad.write_text("name,country\nSome Entity,Atlantis\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"line 2: field 'country' 'Atlantis'"):
        load_list(store, bad, "Mine", "2026-12-01")
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        load_list(store, DEMO_SCREENING_LIST, "Mine", "1 Dec 2026")
    schema.ensure(store)
    with schema.connect(store) as conn:
        assert stored_lists(conn) == []
    result = CliRunner().invoke(cli, ["screening", "load", str(bad), "--list", "Mine", "--as-of", "2026-12-01"],
                                env={"KAKEHASHI_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2 and "field 'country'" in result.output and "Traceback" not in result.output


def test_each_load_is_a_dated_version_and_the_newest_screens(tmp_path: Path) -> None:
    env = {"KAKEHASHI_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    first = tmp_path / "v1.csv"
    first.write_text("name,country\nEastgate Centre for Advanced Research,China\n", encoding="utf-8")
    assert runner.invoke(cli, ["screening", "load", str(first), "--list", "House list", "--as-of", "2026-01-01"], env=env).exit_code == 0
    assert runner.invoke(cli, ["screening", "load", str(DEMO_SCREENING_LIST), "--list", "House list", "--as-of", "2026-12-01"],
                         env=env).exit_code == 0
    listed = json.loads(runner.invoke(cli, ["screening", "list", "--json"], env=env).stdout)
    assert [(v["name"], v["as_of"], v["entries"], v["current"]) for v in listed] == [
        ("House list", "2026-12-01", 3, True), ("House list", "2026-01-01", 1, False)]
    rt = fake_runtime(tmp_path)
    screener = rt.screening.current()
    assert [(v.name, v.as_of) for v in screener.versions] == [("House list", "2026-12-01")]
    assert not screener.screen(["Eastgate Centre for Advanced Research, Hefei"], "CN")  # only the old version named it so broadly


def test_the_labelled_name_variants_are_found_and_look_alikes_are_not() -> None:
    quality = measure(Settings().screening_threshold)
    assert quality.recall >= 0.95, quality.missed
    assert quality.false_flag_rate <= 0.01, quality.false_flags
    assert not quality.look_alikes_flagged
    assert quality.expected_flags == 3  # the demo institutions its fictional list names
    assert quality.institutions > 2000


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory, demo_state: Path) -> Runtime:
    state = copy_state(demo_state, tmp_path_factory.mktemp("screening") / "state")
    load_list(state / "kakehashi.sqlite", DEMO_SCREENING_LIST, "Demo screening list (fictional)", "2026-12-01")
    return fake_runtime(state)


def _listed_query(rt: Runtime) -> dict[str, Any]:
    """A search in China for the title of a work by a researcher at an institution the demo's list names."""
    with sqlite3.connect(rt.settings.store_path) as conn:
        title = conn.execute("SELECT p.title FROM researchers r JOIN authorships a ON a.researcher_id = r.id "
                             "JOIN publications p ON p.id = a.publication_id WHERE r.institution = 'Eastgate Centre for Advanced Research, Nanjing' "
                             "ORDER BY p.id LIMIT 1").fetchone()[0]
    return {"query": {"text": title}, "filters": {"countries": ["CN"]}, "limit": 100}


def test_a_listed_institution_is_flagged_with_its_evidence_or_left_out(screened: Runtime) -> None:
    LISTED_QUERY = _listed_query(screened)
    with TestClient(create_app(screened)) as client:
        authorized(client, screened, "batch")
        page = client.post("/v1/matches", json=LISTED_QUERY).json()
        assert page["screened_against"] == [{"list": "Demo screening list (fictional)", "list_version": 1, "as_of": "2026-12-01", "entries": 3}]
        flagged = [m for m in page["data"] if m["screening"]]
        assert flagged and all(m["researcher"]["institution"] in ("Eastgate Centre for Advanced Research, Nanjing",
                                                                  "Northbridge Polytechnic University, Chengdu") for m in flagged)
        hit = flagged[0]["screening"][0]
        assert hit["list"] == "Demo screening list (fictional)" and hit["as_of"] == "2026-12-01" and hit["score"] >= 85
        assert hit["entry"] in ("Eastgate Centre for Advanced Research, Nanjing", "Northbridge Polytechnic University, Chengdu")
        assert hit["institution"] == flagged[0]["researcher"]["institution"]
        unlisted = [m for m in page["data"] if not m["screening"]]
        assert any(m["researcher"]["institution"].startswith("Eastgate") for m in unlisted)  # Eastgate of another city is another institution

        left_out = client.post("/v1/matches", json={**LISTED_QUERY, "filters": {"countries": ["CN"], "screened": "exclude"}}).json()
        assert left_out["count"] == page["count"] - sum(1 for m in page["data"] if m["screening"])
        assert not any(m["screening"] for m in left_out["data"])

        listed_id = flagged[0]["researcher"]["id"]
        view = client.get(f"/v1/researchers/{listed_id}").json()
        assert view["screening"] == flagged[0]["screening"] and view["screened_against"] == page["screened_against"]
        html = client.get(f"/researchers/{listed_id}").text
        assert "On a screening list" in html and hit["entry"] in html

        card = client.get("/", params={"q": LISTED_QUERY["query"]["text"], "country": "CN", "per": "50"}).text
        assert 'class="screening-hit"' in card and "Screened against Demo screening list (fictional) (as of 2026-12-01)" in card
        assert 'class="screening-hit"' not in client.get("/", params={"q": LISTED_QUERY["query"]["text"], "country": "CN", "per": "50",
                                                                      "screened": "exclude"}).text
        exported = list(csv.DictReader(io.StringIO(client.get("/export.csv", params={"q": LISTED_QUERY["query"]["text"], "country": "CN"}).text)))
        assert any(r["screening"].startswith("Demo screening list (fictional) (2026-12-01)") for r in exported)
        assert {r["screened_against"] for r in exported} == {"Demo screening list (fictional) (2026-12-01)"}

        job = client.post("/v1/batch-jobs", json={"queries": [{"id": "p", **{k: LISTED_QUERY[k] for k in ("query", "filters")}}],
                                                  "options": {"limit": 100}}).json()
        deadline = time.monotonic() + 60
        while client.get(f"/v1/batch-jobs/{job['id']}").json()["state"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        rows = client.get(f"/v1/batch-jobs/{job['id']}/results?format=json").json()
        assert {r["researcher_id"] for r in rows if r["screening"]} == {m["researcher"]["id"] for m in flagged if m["rank"] <= len(rows)}
        assert all(r["screened_against"] == "Demo screening list (fictional) (2026-12-01)" for r in rows)
        batch_csv = client.get(f"/v1/batch-jobs/{job['id']}/results?format=csv").text
        assert "screening" in batch_csv.splitlines()[0] and "Demo screening list (fictional) (2026-12-01)" in batch_csv


def test_without_a_list_nothing_is_screened_and_the_page_says_so(demo_runtime: Runtime) -> None:
    with TestClient(create_app(demo_runtime)) as client:
        authorized(client, demo_runtime, "read")
        page = client.post("/v1/matches", json=_listed_query(demo_runtime)).json()
        assert page["screened_against"] == [] and not any(m["screening"] for m in page["data"])
        assert "No screening list is loaded" in client.get("/", params={"q": "robotics"}).text
