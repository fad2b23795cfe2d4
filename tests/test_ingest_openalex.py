"""OpenAlex ingest on the real sample records and on the schema variants they drift between."""

import gzip
import json
from pathlib import Path

from indexer.sources.openalex import rebuild_abstract
from tests.conftest import OPENALEX_SAMPLE, fake_runtime, write_jsonl


def test_abstract_is_rebuilt_in_word_order() -> None:
    assert rebuild_abstract({"quantum": [1], "Fault-tolerant": [0], "computing.": [2]}) == "Fault-tolerant quantum computing."
    assert rebuild_abstract(None) is None
    assert rebuild_abstract({}) is None


def test_real_sample_yields_profiles_with_countries(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path / "state")
    report = rt.ingest(OPENALEX_SAMPLE)
    assert report.profiles_derived > 3000
    assert report.added == report.profiles_derived  # every derived profile is valid
    assert {r.field for r in report.rejections} <= {"title", "authorships", "works"}
    with rt.store() as store:
        researchers = store.researchers()
        with_country = [r for r in researchers if r.country]
        assert len(with_country) / len(researchers) > 0.6
        assert len({r.country for r in with_country}) > 40
        abbott = store.researcher("A2150889177")  # an author record with the singular last_known_institution
        if abbott is not None:
            assert abbott.country == "US" and abbott.institution == "California Institute of Technology"
        with_abstract = [p for p in store.publications() if p.abstract]
        assert len(with_abstract) > 600
    # a second run finds everything unchanged
    again = rt.ingest(OPENALEX_SAMPLE)
    assert again.added == 0 and again.updated == 0


def _work(wid: str, title: str | None, author: str, country: str | None, year: int = 2022) -> dict:
    institution = {"id": "https://openalex.org/I1", "display_name": "Uni One", "country_code": country}
    return {
        "id": f"https://openalex.org/{wid}", "title": title, "display_name": title, "publication_year": year, "cited_by_count": 5,
        "abstract_inverted_index": {"Spin": [0], "qubits.": [1]},
        "authorships": [{"author": {"id": f"https://openalex.org/{author}", "display_name": "Ana Example", "orcid": None},
                         "institutions": [institution] if country else [], "countries": [country] if country else []}],
    }


def test_api_pages_and_both_institution_shapes(tmp_path: Path) -> None:
    page = {"meta": {"count": 2}, "results": [_work("W1", "Spin qubits", "A1", "NL"), _work("W2", None, "A1", "NL")]}
    authors = [
        {"id": "https://openalex.org/A1", "display_name": "Ana Example", "summary_stats": {"h_index": 9},
         "last_known_institutions": [{"display_name": "Delft Lab", "country_code": "NL"}]},
        {"id": "https://openalex.org/A2", "display_name": "Old Shape", "last_known_institution": {"display_name": "X", "country_code": "DE"}},
    ]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "page.json").write_text(json.dumps(page))
    with gzip.open(tmp_path / "in" / "authors.jsonl.gz", "wt") as handle:
        handle.writelines(json.dumps(a) + "\n" for a in authors)
    (tmp_path / "in" / "more.jsonl").write_text(json.dumps({**_work("W3", "Old shape work", "A2", None)}) + "\n")

    rt = fake_runtime(tmp_path / "state")
    report = rt.ingest(tmp_path / "in")
    assert report.added == 2
    assert [(r.field, r.reason) for r in report.rejections] == [("title", "missing title; the work cannot be embedded")]
    with rt.store() as store:
        ana = store.researcher("A1")
        assert (ana.country, ana.institution, ana.h_index, ana.source) == ("NL", "Delft Lab", 9, "openalex")
        assert [p.abstract for p in store.publications_of("A1")] == ["Spin qubits."]
        assert store.researcher("A2").country == "DE"  # from the singular last_known_institution


def test_works_without_an_institution_country_use_the_authorship_countries(tmp_path: Path) -> None:
    work = _work("W9", "Typhoon control", "A9", None)
    work["authorships"][0]["countries"] = ["TW"]
    rt = fake_runtime(tmp_path / "state")
    rt.ingest(write_jsonl(tmp_path / "w.jsonl", [work]))
    with rt.store() as store:
        assert store.researcher("A9").country == "TW"
