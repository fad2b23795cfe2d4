"""Index versions: manifest, atomic publish, incremental embedding, refusal and fallback at load."""

import json
import os
import time
from pathlib import Path

import pytest

from indexer.embedder import FakeEmbedder
from indexer.version import versions as version_dirs
from kernel.errors import NotReady
from service.runtime import Runtime
from tests.conftest import fake_runtime, make_settings, researcher, write_jsonl


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts, progress=None):  # type: ignore[no-untyped-def]
        self.texts += list(texts)
        return super().encode(texts, progress)


def _runtime(data_dir: Path, embedder: FakeEmbedder) -> Runtime:
    return Runtime(make_settings(data_dir), embedder=embedder)


def test_manifest_and_atomic_publish(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path)
    rt.ingest(write_jsonl(tmp_path / "in.jsonl", [researcher("r1"), researcher("r2", titles=("A", "B"))]))
    result = rt.build_index()
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["model"] == "fake:hashing-384"
    assert manifest["dimension"] == 384 and manifest["metric"] == "inner_product"
    assert manifest["counts"]["publications"] == 3 and manifest["counts"]["researchers"] == 2
    assert len(manifest["data_hash"]) == 64 and manifest["built_at"]
    assert set(manifest["files"]) >= {"vectors.npy", "publications.faiss", "catalog.sqlite"}
    assert [p.name for p in (tmp_path / "indexes").iterdir()] == [result.version]  # no temporary leftovers
    with rt.store() as store:
        assert [v["version"] for v in store.index_versions()] == [result.version]


def test_only_new_or_changed_publications_are_embedded(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    rt = _runtime(tmp_path, embedder)
    rt.ingest(write_jsonl(tmp_path / "a.jsonl", [researcher("r1", titles=("One", "Two")), researcher("r2", titles=("Three",))]))
    first = rt.build_index()
    assert first.embedded == 3
    assert rt.build_index().skipped  # nothing changed: no new version

    rt.ingest(write_jsonl(tmp_path / "b.jsonl", [researcher("r2", titles=("Three changed",)), researcher("r3", titles=("Four",))]))
    embedder.texts.clear()
    second = rt.build_index()
    assert (second.embedded, second.reused) == (2, 2)
    assert sorted(t.split(".")[0] for t in embedder.texts if t.startswith(("Three", "Four"))) == ["Four", "Three changed"]
    assert len(version_dirs(tmp_path / "indexes")) == 2


def test_service_refuses_an_index_built_with_another_model(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path)
    rt.ingest(write_jsonl(tmp_path / "in.jsonl", [researcher("r1")]))
    rt.build_index()
    other = Runtime(make_settings(tmp_path, model="some/other-model"), embedder=FakeEmbedder())
    with pytest.raises(NotReady, match="built with model 'fake:hashing-384'.*this service uses 'some/other-model'"):
        other.snapshot()


def test_a_corrupt_newest_version_falls_back_to_the_previous_one(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path)
    rt.ingest(write_jsonl(tmp_path / "a.jsonl", [researcher("r1")]))
    good = rt.build_index()
    rt.ingest(write_jsonl(tmp_path / "b.jsonl", [researcher("r2")]))
    bad = rt.build_index()
    vectors = bad.path / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:-100])  # truncated

    fresh = fake_runtime(tmp_path)
    assert fresh.snapshot().version == good.version


def test_a_half_written_version_is_ignored_and_old_leftovers_are_removed(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path)
    rt.ingest(write_jsonl(tmp_path / "a.jsonl", [researcher("r1")]))
    good = rt.build_index()
    crashed = tmp_path / "indexes" / ".building-crashed"
    crashed.mkdir()
    (tmp_path / "indexes" / "v99999999-no-manifest").mkdir()
    assert fake_runtime(tmp_path).snapshot().version == good.version

    fresh = tmp_path / "indexes" / ".building-in-progress"
    fresh.mkdir()
    os.utime(crashed, (time.time() - 7200, time.time() - 7200))
    rt.ingest(write_jsonl(tmp_path / "b.jsonl", [researcher("r2")]))
    rt.build_index()
    assert not crashed.exists() and fresh.exists()  # a build younger than an hour may still be running


def test_not_ready_without_an_index(tmp_path: Path) -> None:
    with pytest.raises(NotReady, match="kakehashi index build"):
        fake_runtime(tmp_path).snapshot()
