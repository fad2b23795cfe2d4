"""Matching on the demo corpus (fake embedder): filters, pagination, evidence, explanations."""

from pathlib import Path

import pytest

from kernel.errors import InvalidInput, NotFound
from service.matching.query import Filters, Query, Weights
from service.runtime import Runtime
from tests.conftest import fake_runtime, researcher, write_jsonl

QUBITS = "superconducting transmon qubits two-qubit gate fidelity surface code logical qubits"


def _match(rt: Runtime, query: Query, filters: Filters | None = None, **kw):  # type: ignore[no-untyped-def]
    return rt.matcher.match(rt.snapshot(), query, filters, **kw)


def test_results_carry_score_components_evidence_fields_strength_and_route(shared_runtime: Runtime) -> None:
    page = _match(shared_runtime, Query(text=QUBITS), limit=5)
    assert page.count >= 5 and len(page.matches) == 5
    assert page.query.fields  # which ones is checked with the real model
    scores = [m.score for m in page.matches]
    assert scores == sorted(scores, reverse=True)
    for m in page.matches:
        assert len(m.evidence) == 3
        sims = [e.similarity for e in m.evidence]
        assert sims == sorted(sims, reverse=True)
        assert m.components.topical > 0
        assert m.researcher.fields
        assert set(m.strength) == set(page.query.fields)
        assert m.route.route in {"joint", "direct"} or m.route.basis == "not_in_registry"  # never unknown for a known, registered country
        assert m.researcher.country != "JP"


def test_japan_is_excluded_by_default_and_can_be_included(shared_runtime: Runtime) -> None:
    default = _match(shared_runtime, Query(text="legged robot locomotion"), limit=1000)
    assert all(m.researcher.country != "JP" for m in default.matches)
    included = _match(shared_runtime, Query(text="legged robot locomotion"), Filters(include_japan=True), limit=1000)
    assert any(m.route.route == "domestic" for m in included.matches)
    only_japan = _match(shared_runtime, Query(text="legged robot locomotion"), Filters(countries=["JP"]), limit=1000)
    assert only_japan.count > 0 and {m.researcher.country for m in only_japan.matches} == {"JP"}


def test_country_filters(shared_runtime: Runtime) -> None:
    page = _match(shared_runtime, Query(goal_id=6), Filters(countries=["TW", "KR"]), limit=1000)
    assert page.count > 0 and {m.researcher.country for m in page.matches} <= {"TW", "KR"}
    page = _match(shared_runtime, Query(goal_id=6), Filters(exclude_countries=["US", "CN"]), limit=1000)
    assert not {m.researcher.country for m in page.matches} & {"US", "CN", "JP"}


def test_h_index_year_institution_and_researcher_filters(shared_runtime: Runtime) -> None:
    base = _match(shared_runtime, Query(text=QUBITS), limit=1000)
    top = base.matches[0]
    filtered = _match(
        shared_runtime, Query(text=QUBITS),
        Filters(min_h_index=20, since_year=2022, exclude_researchers=[top.researcher.id], exclude_institutions=["northbridge"]),
        limit=1000,
    )
    assert 0 < filtered.count < base.count
    for m in filtered.matches:
        assert m.researcher.h_index is not None and m.researcher.h_index >= 20
        assert all((e.year or 0) >= 2022 for e in m.evidence)
        assert "northbridge" not in (m.researcher.institution or "").lower()
        assert m.researcher.id != top.researcher.id


def test_field_filter_sets_the_query_fields(shared_runtime: Runtime) -> None:
    page = _match(shared_runtime, Query(text="gallium nitride power transistors"), Filters(fields=["semiconductors"]), limit=50)
    assert page.query.fields == ["semiconductors"]
    assert all(any(f == "semiconductors" for f, _ in m.researcher.fields) for m in page.matches)
    with pytest.raises(InvalidInput, match="unknown field"):
        _match(shared_runtime, Query(text="x"), Filters(fields=["alchemy"]))


def test_pagination_is_a_stable_slice_with_a_total(shared_runtime: Runtime) -> None:
    everything = _match(shared_runtime, Query(goal_id=10), limit=30)
    second = _match(shared_runtime, Query(goal_id=10), limit=10, offset=10)
    assert second.count == everything.count
    assert [m.researcher.id for m in second.matches] == [m.researcher.id for m in everything.matches[10:20]]


def test_a_deep_page_is_drawn_from_a_search_as_deep_as_it(demo_state: Path) -> None:
    rt = fake_runtime(demo_state, ranking={"candidate_publications": 10}, min_similarity=-1)  # shallow; no floor on similarity
    first = _match(rt, Query(text=QUBITS), limit=5)
    deep = _match(rt, Query(text=QUBITS), limit=5, offset=400)
    whole = _match(rt, Query(text=QUBITS), limit=100, offset=305)
    assert deep.count > first.count  # the deep page saw more candidates than the first
    assert len(deep.matches) == 5
    assert [m.researcher.id for m in deep.matches] == [m.researcher.id for m in whole.matches[95:100]]  # one ranking


def test_more_like_this_researcher_excludes_the_researcher(shared_runtime: Runtime) -> None:
    page = _match(shared_runtime, Query(researcher_id="demo-R00001"), Filters(include_japan=True), limit=10)
    assert page.count > 0
    assert "demo-R00001" not in [m.researcher.id for m in page.matches]
    with pytest.raises(NotFound):
        _match(shared_runtime, Query(researcher_id="nobody"))
    with pytest.raises(NotFound, match="goals are 1-10"):
        _match(shared_runtime, Query(goal_id=11))


def test_scores_are_absolute_and_weights_apply(shared_runtime: Runtime) -> None:
    snap = shared_runtime.snapshot()
    ids = [m.researcher.id for m in _match(shared_runtime, Query(text=QUBITS), limit=3).matches]
    alone = shared_runtime.matcher.score(snap, Query(text=QUBITS), ids[:1]).matches[0].score
    among = shared_runtime.matcher.score(snap, Query(text=QUBITS), ids).matches[0].score
    assert alone == among  # a pair's score does not depend on the other candidates
    topical_only = shared_runtime.matcher.score(snap, Query(text=QUBITS), ids[:1], Weights(strength=0, impact=0, recency=0)).matches[0]
    assert topical_only.score == pytest.approx(topical_only.components.topical, abs=1e-4)
    with pytest.raises(InvalidInput, match="at least one weight"):
        shared_runtime.matcher.score(snap, Query(text=QUBITS), ids[:1], Weights(topical=0, strength=0, impact=0, recency=0))


def test_goal_fit_for_a_researcher_and_for_text(shared_runtime: Runtime) -> None:
    snap = shared_runtime.snapshot()
    fits = shared_runtime.matcher.goals_for_researcher(snap, "demo-R00001")
    assert sorted(f.goal_id for f in fits) == list(range(1, 11))
    assert [f.score for f in fits] == sorted((f.score for f in fits), reverse=True)
    text_fits = shared_runtime.matcher.goals_for_text(snap, "fusion neutron sources and superconducting magnets for fusion")
    assert text_fits[0].goal_id == 10


def test_overlong_query_text_is_refused(shared_runtime: Runtime) -> None:
    with pytest.raises(InvalidInput, match="limit is"):
        _match(shared_runtime, Query(text="x" * 30_000))


def test_japanese_queries_are_matched_in_the_multilingual_space(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path, multilingual_min_similarity=0.0)
    rt.ingest(write_jsonl(tmp_path / "in.jsonl", [
        researcher("en", "DE", ("Superconducting qubits",)),
        researcher("ja", "KR", ("超伝導量子ビットの誤り訂正",)),
    ]))
    rt.build_index()
    page = _match(rt, Query(text="超伝導量子ビット"))
    assert page.query.multilingual and page.matches[0].researcher.id == "ja"
    assert page.matches[0].evidence[0].similarity > 0.5
    assert not _match(rt, Query(text="superconducting qubits (超伝導) and surface code")).query.multilingual  # mostly English
    assert rt.matcher.goals_for_text(rt.snapshot(), "核融合の超伝導磁石")  # goals answer in the same space


def test_a_japanese_query_without_a_multilingual_space_is_refused(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path, multilingual=False)
    rt.ingest(write_jsonl(tmp_path / "in.jsonl", [researcher("r1")]))
    rt.build_index()
    with pytest.raises(InvalidInput, match="Japanese.*reads English only.*KAKEHASHI_MULTILINGUAL=true"):
        _match(rt, Query(text="誤り耐性量子コンピュータの超伝導量子ビットを研究する海外の研究者"))


def test_the_multilingual_space_is_centred_and_a_japanese_query_with_it(tmp_path: Path) -> None:
    import numpy as np

    from indexer import version
    from indexer.centring import centred, joined, joined_like

    rt = fake_runtime(tmp_path)
    rt.ingest(write_jsonl(tmp_path / "in.jsonl", [
        researcher("en", "DE", ("Superconducting qubits",)),
        researcher("ja", "KR", ("超伝導量子ビットの誤り訂正", "量子センシング")),
        researcher("bio", "FR", ("Protein structure prediction",)),
    ]))
    built = rt.build_index().path
    titles, leads = np.load(built / version.MULTILINGUAL_VECTORS), np.load(built / version.MULTILINGUAL_LEAD_VECTORS)
    assert version.read_manifest(built)["multilingual_text"] == "title+title_lead"
    assert not np.allclose(titles, leads)  # the title alone, and the title with the abstract's lead
    centres = np.load(built / version.MULTILINGUAL_CENTRE)
    assert np.allclose(centres, [titles.mean(axis=0), leads.mean(axis=0)], atol=1e-6)  # the direction every text shares
    served = np.load(built / version.MULTILINGUAL_CENTRED)
    assert np.allclose(served, joined([titles, leads], centres), atol=1e-6) and served.shape == (4, 768)
    # a row's inner product with a joined query is the mean of the two parts' centred cosines
    query = rt.multilingual.encode_query("超伝導量子ビット")
    mean_cosine = (centred(titles, centres[0]) @ centred(query, centres[0]) + centred(leads, centres[1]) @ centred(query, centres[1])) / 2
    assert np.allclose(served @ joined_like(query[None, :], centres)[0], mean_cosine, atol=1e-5)
    snap = rt.snapshot()
    page = _match(rt, Query(text="超伝導量子ビット"))
    assert np.allclose(page.query.vector, joined_like(query[None, :], centres)[0], atol=1e-6)  # the query is joined like the space
    assert page.answered.space == "multilingual" and page.answered.model == snap.multilingual.model
    assert not page.answered.comparable_with_english and "do not compare with those of English queries" in page.answered.note
    english = _match(rt, Query(text="superconducting qubits"))
    assert english.answered.space == "main" and english.answered.comparable_with_english and not english.answered.note
