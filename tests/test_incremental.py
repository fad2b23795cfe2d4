"""Incremental index versions: a build over a large enough base writes only the researchers that
changed (a delta) beside the base's files hard-linked, and serves what a full build would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexer import version
from indexer.records import text_hash
from service.matching.query import Filters, Query
from service.runtime import Runtime
from tests.conftest import DEMO_CORPUS, fake_runtime, researcher, write_jsonl

QUERIES = [
    "superconducting transmon qubits two-qubit gate fidelity",
    "perovskite solar cells stability",
    "GaN power transistors for electric vehicles",
    "deep learning for medical imaging diagnosis",
    "typhoon forecasting with data assimilation",
]
DENSE = {"ranking": {"lexical_weight": 0.0}}  # BM25 is normalised per segment: the one figure a delta only approximates


def _runtime(data_dir: Path, **overrides: object) -> Runtime:
    return fake_runtime(data_dir, incremental_min_publications=0, **overrides)


def _correct_at_source(rt: Runtime, publication_id: str, title: str) -> None:
    """A publication's title corrected where it comes from (as an OpenAlex work record's update
    does): for every researcher who holds it."""
    with rt.store() as store, store.transaction() as conn:
        abstract = conn.execute("SELECT abstract FROM publications WHERE id = ?", (publication_id,)).fetchone()[0]
        conn.execute("UPDATE publications SET title = ?, text_hash = ? WHERE id = ?", (title, text_hash(title, abstract), publication_id))


def _change(rt: Runtime, shared_pub: tuple[str, str]) -> None:
    """One researcher rewritten (new work, another country), a publication's title corrected at its
    source and one researcher added who co-wrote it, one deleted."""
    with rt.store() as store:
        first, other, gone = store.researchers()[:3]
        kept_titles = [p.title for p in store.publications_of(first.id)]
        abstract = store.publications_by_id([shared_pub[0]], abstracts=True)[shared_pub[0]].abstract
    _correct_at_source(rt, *shared_pub)
    changed = researcher(first.id, country="FR", titles=(*kept_titles, "Real-time decoding of surface codes on FPGAs"))
    changed["publications"] = [{**p, "id": f"{first.id}-new-{i}"} for i, p in enumerate(changed["publications"])]
    added = researcher("zz-new", country="EE", titles=("Perovskite tandem cells",))
    with rt.store() as store, store.transaction() as conn:
        stored = store.publications_by_id([shared_pub[0]])[shared_pub[0]]
        funders = [{"id": f, "name": n, **({"ror": r} if r else {})} for f, n, r in conn.execute(
            "SELECT f.funder_id, d.display_name, d.ror FROM work_funding f JOIN funders d ON d.id = f.funder_id WHERE f.publication_id = ?",
            (shared_pub[0],))]
    added["publications"].append({"id": shared_pub[0], "title": shared_pub[1], "abstract": abstract, "year": stored.year,
                                  "cited_by_count": stored.cited_by_count, "funders": funders})  # as stored: a co-author joins it
    rt.ingest(write_jsonl(rt.settings.data_dir / "changes.jsonl", [changed, added]))
    with rt.store() as store:
        assert store.delete_researcher(gone.id)


def _page(rt: Runtime, text: str, **filters: object) -> list[tuple[str, float, list[str]]]:
    page = rt.matcher.match(rt.snapshot(), Query(text=text), Filters(**filters), limit=10)  # type: ignore[arg-type]
    return [(m.researcher.id, m.score, [e.publication_id for e in m.evidence]) for m in page.matches]


@pytest.fixture()
def versions(tmp_path: Path) -> tuple[Runtime, Path, Path]:
    rt = _runtime(tmp_path / "state", **DENSE)
    rt.ingest(DEMO_CORPUS)
    base = rt.build_index().path
    with rt.store() as store:
        other = store.researchers()[1]
        shared = store.publications_of(other.id)[0]
    _change(rt, (shared.id, shared.title + " (corrected)"))
    return rt, base, rt.build_index().path


def test_a_change_writes_a_delta_beside_the_base_files_hard_linked(versions: tuple[Runtime, Path, Path]) -> None:
    rt, base, delta_version = versions
    manifest = version.read_manifest(delta_version)
    assert manifest["delta"]["researchers"] == 3  # the rewritten one, the new one, and the co-author of the corrected title
    assert manifest["delta"]["superseded"] == 3  # the rewritten one, the co-author, the deleted one
    shared = own = 0
    for name, entry in manifest["files"].items():
        if name.startswith(version.DELTA + "/"):
            own += entry["bytes"]
        else:
            assert os.stat(delta_version / name).st_ino == os.stat(base / name).st_ino, name  # one file on disk, two names
            shared += entry["bytes"]
    assert own < 0.05 * shared  # three researchers' worth, not the corpus


def test_a_delta_version_serves_what_a_full_build_serves(versions: tuple[Runtime, Path, Path]) -> None:
    rt, _, _ = versions
    snap = rt.snapshot()
    pages = {q: _page(rt, q) for q in QUERIES}
    filtered = _page(rt, QUERIES[0], countries=["FR", "EE"])
    with rt.store() as store:
        first = store.researchers()[0]
    assert snap.researcher(first.id).country == "FR"
    assert "Real-time decoding of surface codes on FPGAs" in [p.title for p in snap.publications_of(first.id)]
    counts, strength = snap.country_counts(), snap.strength

    full = rt.build_index(force=True)
    assert "delta" not in full.manifest
    rebuilt = rt.snapshot()
    assert rebuilt.version == full.version and rebuilt.researcher_count == snap.researcher_count
    assert {q: _page(rt, q) for q in QUERIES} == pages
    assert _page(rt, QUERIES[0], countries=["FR", "EE"]) == filtered
    assert rebuilt.country_counts() == counts and rebuilt.strength == strength
    assert [r.id for r in rebuilt.researchers] == [r.id for r in snap.researchers]


def test_a_second_change_keeps_one_cumulative_delta_on_the_same_base_even_once_that_is_pruned(tmp_path: Path) -> None:
    rt = _runtime(tmp_path / "state", keep_versions=1)
    rt.ingest(DEMO_CORPUS)
    base = rt.build_index()
    rt.ingest(write_jsonl(tmp_path / "a.jsonl", [researcher("zz-a", titles=("Spin qubits in silicon",))]))
    rt.build_index()
    rt.ingest(write_jsonl(tmp_path / "b.jsonl", [researcher("zz-b", titles=("Silicon photonics for data centres",))]))
    second = rt.build_index()
    assert not base.path.exists()  # pruned; its files live on under the newer versions' names
    assert second.manifest["base"]["version"] == base.version and second.manifest["delta"]["researchers"] == 2
    snap = rt.snapshot()
    assert snap.version == second.version
    assert {snap.researcher("zz-a").name, snap.researcher("zz-b").name} == {"Researcher zz-a", "Researcher zz-b"}
    assert snap.researcher_count == base.manifest["counts"]["researchers"] + 2


def test_a_delta_past_the_share_of_the_base_is_a_full_build(tmp_path: Path) -> None:
    rt = _runtime(tmp_path / "state", incremental_max_share=0.0001)
    rt.ingest(DEMO_CORPUS)
    rt.build_index()
    rt.ingest(write_jsonl(tmp_path / "a.jsonl", [researcher("zz-a", titles=("Spin qubits in silicon", "Valley splitting"))]))
    built = rt.build_index()
    assert "delta" not in built.manifest and not (built.path / version.DELTA).exists()
    assert rt.snapshot().researcher("zz-a").name == "Researcher zz-a"


def test_below_the_size_for_deltas_every_build_is_full(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path / "state")  # the default: deltas only over 50,000 publications
    rt.ingest(DEMO_CORPUS)
    rt.build_index()
    rt.ingest(write_jsonl(tmp_path / "a.jsonl", [researcher("zz-a")]))
    assert "delta" not in rt.build_index().manifest
