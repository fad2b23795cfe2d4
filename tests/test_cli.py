"""The `kakehashi` command line as a new user meets it."""

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from indexer.embedder import FAKE_MODEL
from kernel.settings import get_settings
from service.cli import app
from tests.conftest import copy_state, researcher, write_jsonl

runner = CliRunner()


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def use(data_dir: Path) -> Path:
        monkeypatch.setenv("KAKEHASHI_DATA_DIR", str(data_dir))
        monkeypatch.setenv("KAKEHASHI_MODEL", FAKE_MODEL)
        monkeypatch.setenv("KAKEHASHI_MULTILINGUAL_MODEL", FAKE_MODEL)
        get_settings.cache_clear()
        return data_dir

    yield use
    get_settings.cache_clear()


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_ingest_reports_rejections_by_record_and_field(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env(tmp_path / "state")
    bad = write_jsonl(tmp_path / "in.jsonl", [researcher("r1"), "{oops", researcher("r2", country="Germany")])
    result = run("ingest", str(bad), "--report", str(tmp_path / "rejected.jsonl"))
    assert result.exit_code == 0, result.output
    assert "in.jsonl:2: (line): not valid JSON" in result.output
    assert "in.jsonl:3 (id 'r2'): country: 'Germany' is not an ISO 3166-1 alpha-2" in result.output
    lines = [json.loads(x) for x in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert [x["field"] for x in lines] == ["(line)", "country"]


def test_ingest_of_nothing_valid_fails(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env(tmp_path / "state")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = run("ingest", str(empty))
    assert result.exit_code != 0 and "no records found" in result.output
    only_bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x", "name": "No pubs", "publications": []}])
    result = run("ingest", str(only_bad))
    assert result.exit_code == 1 and "no valid records" in result.output
    assert run("ingest", str(tmp_path / "missing.jsonl")).exit_code == 2


def test_index_build_on_an_empty_store_says_what_to_do(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env(tmp_path / "state")
    result = run("index", "build")
    assert result.exit_code == 1 and "kakehashi ingest" in result.output


def test_ingest_build_match_score_goals_stats(env, tmp_path: Path, demo_state: Path) -> None:  # type: ignore[no-untyped-def]
    state = tmp_path / "state"
    copy_state(demo_state, state)
    env(state)
    assert "up to date" in run("index", "build").output

    table = run("match", "legged robot locomotion quadruped", "--limit", "3")
    assert table.exit_code == 0 and "candidates for text" in table.output

    as_json = json.loads(run("match", "--goal", "6", "--country", "TW", "--limit", "2", "--json").stdout)
    assert as_json["count"] > 0 and as_json["index_version"] and as_json["model"] == FAKE_MODEL
    assert all(d["country"] == "TW" and d["funding_route"] == "direct" and d["no_government_channel"] for d in as_json["data"])
    assert set(as_json["data"][0]["components"]) == {"topical", "strength", "impact", "recency", "ties"}
    assert as_json["data"][0]["route_basis"] == "no_government_channel" and set(as_json["data"][0]["japan_ties"]) == {"works", "latest_year"}
    assert as_json["data"][0]["joint_agencies"] == []  # a list, as the API gives it

    bad_goal = run("match", "--goal", "11")
    assert bad_goal.exit_code == 1 and "goals are 1-10" in bad_goal.output
    assert run("match", "chips", "--country", "XX").exit_code == 2

    queries = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "q1", "text": "surface code logical qubits", "researcher_ids": ["demo-R00001", "demo-R00002"]},
        {"id": "q2", "text": "typhoon intensity prediction", "researcher_ids": ["demo-R00003"]},
    ])
    scored = run("score", str(queries), "--output", str(tmp_path / "out.jsonl"))
    assert scored.exit_code == 0, scored.output
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(r["query_id"], r["researcher_id"]) for r in rows] == [("q1", "demo-R00001"), ("q1", "demo-R00002"), ("q2", "demo-R00003")]
    assert all(isinstance(r["score"], float) for r in rows)

    unknown = write_jsonl(tmp_path / "u.jsonl", [{"id": "q1", "text": "x", "researcher_ids": ["nobody"]}])
    result = run("score", str(unknown), "--output", str(tmp_path / "u-out.jsonl"))
    assert result.exit_code == 2 and "u.jsonl:1 (query 'q1')" in result.output and "'nobody'" in result.output

    goals = json.loads(run("goals", "--for", "fusion neutron sources superconducting magnets", "--json").stdout)
    assert goals[0]["goal_id"] == 10
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["researchers"] == 2200 and len(stats["by_country"]) >= 30


def test_evaluate_quick_prints_the_table(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env(tmp_path / "state")
    table = run("evaluate", "--quick", "--config", "profile", "--config", "harmonic3")
    assert table.exit_code == 0, table.output
    for text in ("hits@1", "MRR", "nDCG@10", "pair loss", "goal_field", "graded", "profile", "harmonic3", FAKE_MODEL):
        assert text in table.output
    assert "vs profile [95% CI]" in table.output
    rows = json.loads(run("evaluate", "--quick", "--config", "profile", "--config", "harmonic3", "--json").stdout)
    assert {r["set"] for r in rows} == {"held_out", "multi_aspect", "goal_field", "graded", "graded_ja", "crosslingual_en", "crosslingual_ja"}
    assert next(r for r in rows if r["set"] == "held_out")["queries"] == 60
    multi = [r for r in rows if r["set"] == "multi_aspect"]
    assert {r["queries"] for r in multi} == {10} and all(0 <= r["coverage10"] <= r["hits10"] for r in multi)
    assert all(r["coverage10"] is None for r in rows if r["set"] != "multi_aspect")
    assert {r["queries"] for r in rows if r["set"].startswith("crosslingual")} == {40}  # the same works, described in each language
    assert "Japanese / English MRR" in table.output and "first" in table.output
    for r in rows:
        assert 0 <= r["hits1"] <= r["hits5"] <= r["hits10"] <= 1 and 0 <= r["ndcg10"] <= 1
        assert 1 <= r["distinct_first"] <= r["queries"]  # how many researchers came first: the hubness figure
        assert r["index_version"] and r["model"] == FAKE_MODEL
        assert (r["loss"] is not None) == r["set"].startswith("graded")
        # each configuration is compared with the baseline over the same queries
        if r["configuration"] == "profile":
            assert r["versus_baseline"] is None
        else:
            mean, low, high = r["versus_baseline"]
            assert low <= mean <= high
    assert run("evaluate", "--quick", "--config", "nonsense").exit_code == 2


def test_batch_writes_results_and_explains_an_assignment(env, demo_state: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    state = tmp_path / "state"
    copy_state(demo_state, state)
    env(state)
    projects = tmp_path / "projects.csv"
    projects.write_text("id,text,goal_id,countries\np1,quantum sensing with diamond,,\np2,,6,\np3,,3,DE;FR\n", encoding="utf-8")
    plain = run("batch", str(projects), "--output", str(tmp_path / "out.csv"), "--limit", "4")
    assert plain.exit_code == 0, plain.output
    assert "3 queries (0 failed)" in plain.output
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("job_id,query_id,rank,researcher_id") and len(lines) == 1 + 12
    assigned = run("batch", str(projects), "--output", str(tmp_path / "out.parquet"), "--assign", "-k", "2", "-c", "1",
                   "--min-countries", "2")
    assert assigned.exit_code == 0, assigned.output
    assert "Assignment: 6 pairs" in assigned.output and "greedy" in assigned.output
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.num_rows == 6 and all(table.column("assigned").to_pylist())
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\np1,\n", encoding="utf-8")
    refused = run("batch", str(bad), "--output", str(tmp_path / "x.csv"))
    assert refused.exit_code == 2 and "line 2" in refused.output
    assert run("batch", str(projects), "--output", str(tmp_path / "x.xlsx")).exit_code == 2


def test_ingest_keeps_the_valid_lines_of_a_file_that_is_not_all_utf8(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A Shift-JIS line among UTF-8 ones: that line is named (file, line, byte), the others are stored."""
    env(tmp_path / "state")
    good = json.dumps(researcher("r1")).encode()
    shift_jis = json.dumps({**researcher("r2"), "name": "山田"}, ensure_ascii=False).encode("shift_jis")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(good + b"\n" + shift_jis + b"\n" + json.dumps(researcher("r3")).encode() + b"\n")
    result = run("ingest", str(mixed))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "mixed.jsonl:2: (line): not UTF-8 text: byte 0x8e at column" in result.output
    assert re.search(r"│ researchers added +│ 2 +│", result.output)


@pytest.mark.parametrize("name, content", [("binary.jsonl", bytes(range(256)) * 8), ("broken.jsonl.gz", b"not a gzip stream"),
                                           ("table.csv", "researcher_id,name,publication_id,title\nr1,Ana,p1,GaN\n".encode("utf-16"))])
def test_ingest_of_an_unreadable_file_is_one_clear_line_per_problem(env, tmp_path: Path, name: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    env(tmp_path / "state")
    path = tmp_path / name
    path.write_bytes(content)
    result = run("ingest", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"rejected {name}" in result.output
    assert "not UTF-8 text: byte 0x" in result.output or "cannot be read" in result.output
    assert "no valid records" in result.output


def test_a_malformed_json_line_is_reported_at_its_column_in_characters(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env(tmp_path / "state")
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(researcher("r1")) + '\n{"id": "r2", "name": "Ünï", x}\n', encoding="utf-8")
    result = run("ingest", str(path))
    assert "in.jsonl:2: (line): not valid JSON: Expecting property name enclosed in double quotes at column 29" in result.output


def test_stats_right_after_ingest_shows_the_store(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env(tmp_path / "state")
    source = write_jsonl(tmp_path / "in.jsonl", [researcher("r1"), researcher("r2", country="FR"), researcher("r3", country="FR")])
    assert run("ingest", str(source)).exit_code == 0
    result = run("stats")
    assert result.exit_code == 0, result.output
    assert "no index yet" in result.output and "3 researchers, 3 publications" in result.output
    doc = json.loads(run("stats", "--json").stdout)
    assert doc["index_version"] is None and doc["by_country"] == {"FR": 2, "DE": 1}


def test_match_names_the_needs_and_a_team_and_goals_say_when_nothing_fits(env, tmp_path: Path, demo_state: Path) -> None:  # type: ignore[no-untyped-def]
    state = tmp_path / "state"
    copy_state(demo_state, state)
    env(state)
    shown = run("match", "GaN power transistors and EUV lithography", "--team", "2", "--limit", "5")
    assert shown.exit_code == 0, shown.output
    assert "needs: 1. GaN power transistors" in shown.output and "2. EUV lithography" in shown.output
    assert "Suggested team of 2:" in shown.output and "covers EUV lithography" in shown.output
    given = json.loads(run("match", "power devices", "--aspect", "GaN power transistors", "--aspect", "EUV lithography",
                           "--team", "2", "--json").stdout)
    assert [a["text"] for a in given["aspects"]] == ["GaN power transistors", "EUV lithography"] and len(given["team"]["members"]) == 2
    assert sum(given["strengths"].values()) == given["count"]
    refused = run("match", "🚀🔬")
    assert refused.exit_code == 2 and "no words to match" in refused.output
    goals = run("goals", "--for", "medieval manuscript illumination pigments")
    assert goals.exit_code == 0 and "No goal fits this well" in goals.output
    projects = tmp_path / "projects.csv"
    projects.write_text("id,text,aspects\np1,power devices,GaN power transistors;EUV lithography\n", encoding="utf-8")
    teamed = run("batch", str(projects), "--output", str(tmp_path / "team.csv"), "--limit", "3", "--team", "2")
    assert teamed.exit_code == 0, teamed.output
    rows = list(csv.DictReader((tmp_path / "team.csv").open(encoding="utf-8")))
    team = [r for r in rows if r["team_member"] == "True"]
    assert len(team) == 2 and {n for r in team for n in r["aspects_covered"].split(";")} == {"GaN power transistors", "EUV lithography"}
