"""House-format ingest as a data steward meets it: mixed good and bad records, re-runs, updates."""

import gzip
import json
from pathlib import Path

import pytest

from kernel.errors import InvalidInput
from tests.conftest import fake_runtime, researcher, write_jsonl


def test_valid_records_are_stored_and_bad_ones_reported(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path / "state")
    path = write_jsonl(tmp_path / "in.jsonl", [
        researcher("r1"),
        "{this is not json",
        researcher("r2", country="XX"),
        {**researcher("r3"), "publications": [{"id": "p", "title": ""}]},
        {**researcher("r4"), "publications": [{"id": "p", "abstract": "no title here"}]},
        researcher("r5", country="us"),
        researcher("r1"),
    ])
    report = rt.ingest(path)

    assert report.added == 2
    reasons = {(r.record, r.field): r.reason for r in report.rejections}
    assert reasons[("in.jsonl:2", "(line)")].startswith("not valid JSON")
    assert "'XX' is not an ISO 3166-1 alpha-2" in reasons[("in.jsonl:3 (id 'r2')", "country")]
    assert ("in.jsonl:4 (id 'r3')", "publications.0.title") in reasons
    assert reasons[("in.jsonl:5 (id 'r4')", "publications.0.title")] == "Field required"
    assert "duplicate id 'r1'" in reasons[("in.jsonl:7", "id")]
    with rt.store() as store:
        assert [r.id for r in store.researchers()] == ["r1", "r5"]
        assert store.researcher("r5").country == "US"
        assert store.integrity_ok()


def test_reingesting_the_same_file_changes_nothing(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path / "state")
    path = write_jsonl(tmp_path / "in.jsonl", [researcher("r1"), researcher("r2")])
    rt.ingest(path)
    with rt.store() as store:
        before = [(r.id, r.updated_at) for r in store.researchers()]
    again = rt.ingest(path)  # the file itself is known: not read again
    assert (again.files_skipped, again.records_read, again.added, again.updated) == (["in.jsonl"], 0, 0, 0)
    # a changed file is read; its unchanged records change nothing
    more = rt.ingest(write_jsonl(tmp_path / "in.jsonl", [researcher("r1"), researcher("r2"), researcher("r3")]))
    assert (more.files_skipped, more.added, more.updated, more.unchanged) == ([], 1, 0, 2)
    with rt.store() as store:
        assert [(r.id, r.updated_at) for r in store.researchers()][:2] == before


def test_an_update_replaces_the_record_by_id(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path / "state")
    rt.ingest(write_jsonl(tmp_path / "a.jsonl", [researcher("r1", titles=("Old topic", "Another old topic"))]))
    report = rt.ingest(write_jsonl(tmp_path / "b.jsonl", [researcher("r1", country="FR", titles=("New topic",))]))
    assert report.updated == 1
    with rt.store() as store:
        assert store.researcher("r1").country == "FR"
        assert [p.title for p in store.publications_of("r1")] == ["New topic"]
        assert store.publication_count() == 1  # the replaced publications are gone


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_an_empty_file_is_a_clear_error_and_stores_nothing(tmp_path: Path, content: str) -> None:
    rt = fake_runtime(tmp_path / "state")
    rt.ingest(write_jsonl(tmp_path / "ok.jsonl", [researcher("r1")]))
    empty = tmp_path / "empty.jsonl"
    empty.write_text(content)
    with pytest.raises(InvalidInput, match="no records found"):
        rt.ingest(empty)
    with rt.store() as store:
        assert store.researcher_count() == 1


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        fake_runtime(tmp_path / "state").ingest(tmp_path / "nope.jsonl")


def test_csv_rows_are_grouped_into_researchers(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "researcher_id,name,institution,country,orcid,h_index,publication_id,title,abstract,year\n"
        "c1,Ada Example,Lab A,GB,0000-0002-1825-0097,12,p1,Spin qubits in silicon,Abstract one,2021\n"
        "c2,Bo Example,Lab B,KR,,,p3,GaN power devices,,2019\n"
        "c1,Ada Example,Lab A,GB,,,p2,Photonic interconnects,Abstract two,2023\n"
        "c3,Cy Example,Lab C,GB,,seven,p4,Bad h-index,,2020\n"
    )
    report = fake_runtime(tmp_path / "state").ingest(path)
    assert report.added == 2
    assert [(r.record, r.field) for r in report.rejections] == [("in.csv:5 (id 'c3')", "h_index")]
    with fake_runtime(tmp_path / "state").store() as store:
        ada = store.researcher("c1")
        assert (ada.orcid, ada.h_index) == ("0000-0002-1825-0097", 12)
        assert [p.id for p in store.publications_of("c1")] == ["p2", "p1"]  # newest first


def test_gzipped_jsonl_and_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps(researcher("g1")) + "\n")
        handle.write(json.dumps({**researcher("g2"), "instituion": "typo"}) + "\n")
    report = fake_runtime(tmp_path / "state").ingest(path)
    assert report.added == 1
    assert report.rejections[0].field == "instituion"
    assert "Extra inputs are not permitted" in report.rejections[0].reason
