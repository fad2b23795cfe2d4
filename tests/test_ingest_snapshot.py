"""OpenAlex at scale: profiles merged over files and runs, the snapshot layouts as published (and
their Parquet copy), partitions applied as updates, manifests checked, slicing at ingest."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

from indexer.slicing import Slice
from service.runtime import Runtime
from tests.conftest import fake_runtime, write_jsonl
from tests.openalex_snapshot import ENTITIES, Records, sample, write_part, write_snapshot

# every table that describes the corpus, with the columns that say when it was written left out
CORPUS_TABLES = {
    "researchers": "id, name, institution, country, orcid, h_index, works_count, cited_by_count, declared_fields, source, content_hash",
    "publications": "*",
    "authorships": "*",
    "authorship_institutions": "*",
    "institutions": "*",
    "topics": "*",
    "funders": "*",
    "work_funding": "*",
    "openalex_authors": "*",
}


def corpus(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(rt.settings.data_dir / "kakehashi.sqlite")
    try:
        return {t: sorted(tuple(r) for r in conn.execute(f"SELECT {cols} FROM {t}")) for t, cols in CORPUS_TABLES.items()}
    finally:
        conn.close()


def storable(works: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The works ingest keeps: with a title and an identified author."""
    return [w for w in works if w.get("title") and any((a.get("author") or {}).get("id") for a in w.get("authorships") or [])]


@pytest.fixture(scope="module")
def records() -> Records:
    return sample()


@pytest.fixture(scope="module")
def one_run(records: Records, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[Any, ...]]]:
    """The whole sample in one run: the store every other way of reading it must give."""
    tmp = tmp_path_factory.mktemp("one-run")
    for entity in ENTITIES:
        write_jsonl(tmp / "in" / f"{entity}.jsonl", records[entity])
    rt = fake_runtime(tmp / "state")
    rt.ingest(tmp / "in")
    return corpus(rt)


def test_the_sample_in_three_runs_gives_the_profiles_of_one_run(records: Records, one_run: dict, tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path / "state")
    for n in range(3):  # each run brings a third of the works, of the author records and of the institutions
        for entity in ENTITIES:
            write_jsonl(tmp_path / f"run{n}" / f"{entity}.jsonl", records[entity][n::3])
        rt.ingest(tmp_path / f"run{n}")
    merged = corpus(rt)
    assert merged == one_run
    # what the test is about: authors whose works came in different runs keep all of them
    runs_of: dict[str, set[int]] = {}
    for i, work in enumerate(records["works"]):
        for authorship in work["authorships"]:
            if authorship["author"].get("id"):
                runs_of.setdefault(authorship["author"]["id"].rsplit("/", 1)[-1], set()).add(i % 3)
    spread = [a for a, runs in runs_of.items() if len(runs) > 1]
    assert len(spread) > 15
    with rt.store() as store:
        for author in spread[:50]:
            works = {p.id for p in store.publications_of(author)}
            assert works == {w["id"].rsplit("/", 1)[-1] for w in records["works"]
                             if w.get("title") and any((a["author"].get("id") or "").endswith("/" + author) for a in w["authorships"])}


def test_institution_records_fill_in_countries_before_or_after_the_works(tmp_path: Path) -> None:
    work = {"id": "https://openalex.org/W1", "title": "Spin qubits in silicon", "publication_year": 2024,
            "authorships": [{"author": {"id": "https://openalex.org/A1", "display_name": "Ana Example"},
                             "institutions": [{"id": "https://openalex.org/I7", "display_name": "Delft Lab"}]}]}
    institution = {"id": "https://openalex.org/I7", "display_name": "Delft University of Technology", "ror": "https://ror.org/02e2c7k09",
                   "country_code": "NL", "updated_date": "2026-10-01T00:00:00"}
    for order in ("before", "after"):
        rt = fake_runtime(tmp_path / order)
        files = [write_jsonl(tmp_path / f"{order}-w.jsonl", [work]), write_jsonl(tmp_path / f"{order}-i.jsonl", [institution])]
        for f in files if order == "after" else files[::-1]:
            rt.ingest(f)
        with rt.store() as store:
            ana = store.researcher("A1")
            assert (ana.country, ana.institution) == ("NL", "Delft University of Technology"), order


def test_the_snapshot_layouts_and_the_parquet_tree_ingest_to_the_same_store(records: Records, one_run: dict, tmp_path: Path) -> None:
    partitions = {"2026-10-01": records}
    stores = {}
    for trees in (("data",), ("jsonl",), ("parquet",), ("jsonl", "parquet")):
        name = "+".join(trees)
        root = write_snapshot(tmp_path / name, trees, partitions)
        rt = fake_runtime(tmp_path / f"state-{name}")
        report = rt.ingest(root)
        assert report.problems == [] and report.rejected == 0 or {r.field for r in report.rejections} <= {"title", "authorships"}
        expected_format = ".parquet" if "parquet" in trees else ".gz"
        assert all(f.endswith(expected_format) for f in report.files)  # the Parquet copy is read where both are there
        entities = [next(part for part in f.split("/") if part in ENTITIES) for f in report.files]
        assert entities == sorted(entities, key=ENTITIES.index)  # institutions, works, authors
        stores[name] = corpus(rt)
    for name, stored in stores.items():
        assert stored == one_run, name


def _changed(work: dict[str, Any], title: str, date: str) -> dict[str, Any]:
    return {**work, "title": title, "display_name": title, "updated_date": date}


def test_a_rerun_skips_done_partitions_and_applies_a_newer_one(records: Records, tmp_path: Path) -> None:
    root = write_snapshot(tmp_path / "snapshot", ("data",), {"2026-10-01": records})
    rt = fake_runtime(tmp_path / "state")
    first = rt.ingest(root)
    assert first.files_skipped == [] and first.openalex["works"].added == len(records["works"]) - first.rejected

    again = rt.ingest(root)
    assert again.files_skipped == again.files and again.records_read == 0
    assert (again.added, again.updated) == (0, 0)

    target = records["works"][0]
    author = target["authorships"][0]["author"]["id"].rsplit("/", 1)[-1]
    newer = {"works": [_changed(target, "A corrected title of the month", "2026-11-05T00:00:00")]}
    write_snapshot(root, ("data",), {"2026-11-01": newer}, parts=1)  # the monthly refresh adds a partition
    refresh = rt.ingest(root)
    assert refresh.records_read == 1 and len(refresh.files_skipped) == len(refresh.files) - 1
    assert refresh.openalex["works"].updated == 1
    with rt.store() as store:
        assert "A corrected title of the month" in [p.title for p in store.publications_of(author)]
        stored = {p.id: p.title for p in store.publications()}
        assert stored[target["id"].rsplit("/", 1)[-1]] == "A corrected title of the month"


def test_partitions_are_read_in_date_order_so_the_newest_copy_wins(records: Records, tmp_path: Path) -> None:
    target = records["works"][3]
    wid = target["id"].rsplit("/", 1)[-1]
    partitions = {  # written in this order, named so that a reading in name or write order would go wrong
        "2026-11-01": {"works": [_changed(target, "The newest title", "2026-11-01T00:00:00")]},
        "2026-09-01": {"works": [_changed(target, "An old title", "2026-09-01T00:00:00")]},
    }
    root = write_snapshot(tmp_path / "snapshot", ("data",), partitions, parts=1)
    rt = fake_runtime(tmp_path / "state")
    report = rt.ingest(root)
    assert [f.split("/")[-2] for f in report.files] == ["updated_date=2026-09-01", "updated_date=2026-11-01"]
    with rt.store() as store:
        assert {p.id: p.title for p in store.publications()}[wid] == "The newest title"
    # an older copy arriving later (a stale file given by hand) does not replace the newer one
    stale = rt.ingest(write_jsonl(tmp_path / "stale.jsonl", [_changed(target, "An old title", "2026-09-01T00:00:00")]))
    assert stale.openalex["works"].older == 1
    with rt.store() as store:
        assert {p.id: p.title for p in store.publications()}[wid] == "The newest title"


def test_a_manifest_that_disagrees_with_the_files_is_reported(records: Records, tmp_path: Path) -> None:
    root = write_snapshot(tmp_path / "snapshot", ("jsonl",), {"2026-10-01": records}, parts=3)
    works = root / "data" / "jsonl" / "works"
    manifest = json.loads((works / "manifest.json").read_text())
    manifest["files"].append({"url": "s3://openalex/data/jsonl/works/updated_date=2026-10-01/part_0003.gz",
                              "meta": {"content_length": 100, "record_count": 7}})  # a part that is not there
    manifest["files"][1]["meta"]["record_count"] += 5  # a part with fewer records than listed
    (works / "manifest.json").write_text(json.dumps(manifest))
    write_part(works / "updated_date=2026-10-01" / "part_0009.gz", records["works"][:1])  # a part it does not list

    rt = fake_runtime(tmp_path / "state")
    report = rt.ingest(root)
    problems = "\n".join(report.problems)
    assert "part_0003.gz: listed in the manifest, but the file is missing" in problems
    assert "part_0001.gz: the manifest lists" in problems and "(an incomplete download?)" in problems
    assert "part_0009.gz: not listed in its manifest" in problems
    # what the files hold is stored; the short part is not marked done, so the next run reads it again
    again = rt.ingest(root)
    assert [f for f in again.files if f not in again.files_skipped] == ["data/jsonl/works/updated_date=2026-10-01/part_0001.gz"]
    assert "part_0003.gz: listed in the manifest, but the file is missing" in "\n".join(again.problems)
    # a part cut short in the download (its size differs from the manifest's) is reported before it is read
    part = works / "updated_date=2026-10-01" / "part_0002.gz"
    part.write_bytes(part.read_bytes()[:-200])
    cut = rt.ingest(root)
    assert any("part_0002.gz: " in p and "bytes, the manifest says" in p for p in cut.problems)


def test_slicing_keeps_wanted_works_with_their_japan_side_authorships_and_counts_the_rest(records: Records, tmp_path: Path) -> None:
    works = storable(records["works"])
    source = write_jsonl(tmp_path / "works.jsonl", works)
    rt = fake_runtime(tmp_path / "state")
    report = rt.ingest(source, slice_=Slice(since=2015, countries=frozenset({"DE"})))
    assert report.rejected == 0
    old = sum(1 for w in works if (w.get("publication_year") or 0) < 2015)
    not_de = sum(1 for w in works if (w.get("publication_year") or 0) >= 2015
                 and not any("DE" in (a.get("countries") or []) or any(i.get("country_code") == "DE" for i in a.get("institutions") or [])
                             for a in w["authorships"]))
    assert report.left_out["since"] == old and report.left_out["countries"] == not_de
    kept = report.openalex["works"].added
    assert kept > 0 and kept + old + not_de == len(works)
    with sqlite3.connect(rt.settings.data_dir / "kakehashi.sqlite") as conn:
        countries = {c for (c,) in conn.execute("SELECT DISTINCT countries FROM authorships WHERE countries IS NOT NULL")}
        assert any("JP" in c for c in countries)  # the kept works' Japanese co-authors stay
        assert all(y >= 2015 for (y,) in conn.execute("SELECT year FROM publications"))
    # the same files under another slice are read again, not skipped
    wider = rt.ingest(source, slice_=Slice(since=2015))
    assert wider.files_skipped == [] and wider.openalex["works"].added > 0


def test_an_unchanged_record_in_a_changed_file_is_skipped_and_a_changed_one_replaces_it(records: Records, tmp_path: Path) -> None:
    works = storable(records["works"])[:40]
    rt = fake_runtime(tmp_path / "state")
    rt.ingest(write_jsonl(tmp_path / "a.jsonl", works))
    edited = [*works[:-1], _changed(works[-1], "A retitled work", works[-1].get("updated_date") or "2026-12-01")]
    report = rt.ingest(write_jsonl(tmp_path / "a.jsonl", edited))
    assert report.openalex["works"].as_dict() == {"added": 0, "updated": 1, "unchanged": 39, "older": 0}
    with gzip.open(tmp_path / "a.jsonl.gz", "wb") as handle:  # the same records again, compressed this time
        handle.writelines(orjson.dumps(w) + b"\n" for w in edited)
    same = rt.ingest(tmp_path / "a.jsonl.gz")
    assert same.openalex["works"].unchanged == 40 and (same.added, same.updated) == (0, 0)


def test_worker_processes_store_what_one_process_stores(records: Records, one_run: dict, tmp_path: Path) -> None:
    """A large input is read by worker processes, several files at once: the store is the same."""
    root = write_snapshot(tmp_path / "snapshot", ("jsonl",), {"2026-10-01": records}, parts=4)
    rt = fake_runtime(tmp_path / "state")
    report = rt.ingest(root, workers=2)
    assert report.problems == [] and corpus(rt) == one_run
    assert rt.ingest(root, workers=2).files_skipped == report.files


def test_profiles_an_interrupted_ingest_left_queued_are_derived_by_the_next_build(records: Records, one_run: dict,
                                                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = fake_runtime(tmp_path / "state")
    for entity in ENTITIES:
        write_jsonl(tmp_path / "in" / f"{entity}.jsonl", records[entity])
    with monkeypatch.context() as patched:
        def stopped(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt  # the user pressed Ctrl-C once every record was stored

        patched.setattr("indexer.store.Store.derive_profiles", stopped)
        with pytest.raises(KeyboardInterrupt):
            rt.ingest(tmp_path / "in")
    with rt.store() as store:
        assert store.researcher_count() == 0 and store.queued_profiles() > 3000
    rt.build_index()
    assert corpus(rt) == one_run
