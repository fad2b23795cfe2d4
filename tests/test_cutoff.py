"""An honest cut-off (issue 19, item 3): every match says whether it is strong, fair or weak by
thresholds calibrated on the evaluation sets; the counts say how many strong matches there are; the
page says plainly when nothing matches well; a query without words is refused. And the multi-aspect
evaluation set (item 4) is built as it says."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from kernel.settings import Settings
from service.evaluation.sets import multi_aspect_set
from service.http.app import create_app
from service.matching import cutoff
from service.runtime import Runtime


def test_labels_and_counts_follow_the_thresholds_of_each_space() -> None:
    settings = Settings(strong_similarity=0.6, fair_similarity=0.4, multilingual_strong_similarity=0.3, multilingual_fair_similarity=0.2)
    assert [cutoff.match_strength(t, False, settings) for t in (0.61, 0.6, 0.5, 0.4, 0.39)] == ["strong", "strong", "fair", "fair", "weak"]
    assert cutoff.match_strength(0.35, True, settings) == "strong" and cutoff.match_strength(0.35, False, settings) == "weak"
    assert cutoff.strength_counts(np.array([0.7, 0.6, 0.5, 0.1]), False, settings) == {"strong": 2, "fair": 1, "weak": 1}
    shown = [(0.7, True), (0.65, False), (0.5, True), (0.1, False)]
    assert cutoff.share_relevant(shown, 0.6) == (2, 0.5) and cutoff.share_relevant(shown, 0.4, 0.6) == (1, 1.0)
    assert cutoff.share_relevant(shown, 0.9) == (0, None)


def test_every_match_says_its_strength_and_the_counts_add_up(shared_runtime: Runtime) -> None:
    settings = shared_runtime.settings
    with TestClient(create_app(shared_runtime)) as client:
        page = client.post("/v1/matches", json={"query": {"text": "quantum error correction with surface codes"}, "limit": 50}).json()
        assert sum(page["strengths"].values()) == page["count"]
        for m in page["data"]:
            topical = m["components"]["topical"]
            expected = "strong" if topical >= settings.strong_similarity else "fair" if topical >= settings.fair_similarity else "weak"
            assert m["match_strength"] == expected
        html = client.get("/", params={"q": "quantum error correction with surface codes"}).text
        assert f"{page['count']} researchers match: {page['strengths']['strong']} strongly" in html


def test_the_page_says_plainly_when_nothing_matches_well(shared_runtime: Runtime) -> None:
    with TestClient(create_app(shared_runtime)) as client:
        text = "medieval manuscript illumination pigments and monastic bookbinding"
        page = client.post("/v1/matches", json={"query": {"text": text}, "limit": 10}).json()
        assert page["strengths"]["strong"] == 0 and page["count"] > 0
        html = client.get("/", params={"q": text}).text
        assert "Nothing matches this well." in html and 'class="result weak"' in html


def test_a_query_without_words_is_refused(shared_runtime: Runtime) -> None:
    with TestClient(create_app(shared_runtime)) as client:
        for text in ("🚀🔬🧪", "?!? ...", "1 2 3"):
            answer = client.post("/v1/matches", json={"query": {"text": text}})
            assert answer.status_code == 422 and "no words to match" in answer.json()["detail"]
        assert client.post("/v1/matches", json={"query": {"text": "量子"}}).status_code == 200
        page = client.get("/", params={"q": "🚀🔬🧪"})
        assert page.status_code == 422 and "no words to match" in page.text


def test_the_multi_aspect_set_pairs_works_of_different_fields_and_no_common_author(openalex_runtime: Runtime) -> None:
    snap = openalex_runtime.snapshot()
    queries = multi_aspect_set(snap).queries
    assert len(queries) == 40
    for q in queries:
        a, b = q.held_out
        assert int(snap.pub_fields[a]) != int(snap.pub_fields[b])
        first, second = q.aspects
        assert first.any() and second.any() and not (first & second).any()
        assert np.array_equal(q.grades > 0, first | second)
        assert snap.publications[a].title in (q.text or "") and snap.publications[b].title in (q.text or "")
    assert [q.id for q in queries] == [q.id for q in multi_aspect_set(snap).queries]  # the same pairs every time
