"""The shipped vector cache (indexer/vector_cache.py): a build takes from it what it holds for the
same model, precision and text, after a probe shows it agrees with the model; a cache that
disagrees, is damaged or was made for another model is refused and everything is embedded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from indexer import vector_cache
from indexer.embedder import FakeEmbedder, ProgressFn
from indexer.index_build import MAIN
from service.matching.query import Query
from service.runtime import Runtime
from tests.conftest import make_settings, researcher, write_jsonl

TITLES = ("GaN power transistors for electric vehicles", "Surface codes for quantum error correction",
          "Typhoon intensity forecasting with radar", "Sodium-ion battery cathodes", "EUV lithography resists")


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def encode(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        self.texts += len(texts)
        return super().encode(texts, progress)


def corpus(path: Path, researchers: int = 12) -> Path:
    return write_jsonl(path, [researcher(f"r{i}", titles=tuple(f"{t} {i}" for t in TITLES)) for i in range(researchers)])


def runtime(data_dir: Path, cache: Path | None) -> tuple[Runtime, CountingEmbedder]:
    embedder = CountingEmbedder()
    return Runtime(make_settings(data_dir, multilingual=False, vector_cache=cache), embedder=embedder), embedder


@pytest.fixture()
def made_cache(tmp_path: Path) -> tuple[Path, Path, Runtime]:
    """A cache made from a build without one, as data/tools/embed_demo_vectors.py makes the demo's."""
    source = corpus(tmp_path / "in.jsonl")
    rt, _ = runtime(tmp_path / "origin", None)
    rt.ingest(source)
    built = rt.build_index()
    keys = json.loads((built.path / MAIN.keys_file).read_text())
    cache = tmp_path / "cache"
    vector_cache.write(cache, MAIN.name, rt.embedder.name, None, "title_abstract", keys, np.load(built.path / MAIN.vectors_file))
    return cache, source, rt


def test_a_build_takes_the_cached_vectors_and_ranks_as_without_them(made_cache, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache, source, origin = made_cache
    rt, embedder = runtime(tmp_path / "fresh", cache)
    rt.ingest(source)
    built = rt.build_index()
    assert built.embedded == 0 and built.reused == 12 * len(TITLES)
    assert embedder.texts <= vector_cache.PROBES + 50  # the probe, the fields and the goals; no publication
    fresh, reference = np.load(built.path / MAIN.vectors_file), np.load(origin.holder.get().path / MAIN.vectors_file)
    assert np.min(np.sum(fresh * reference, axis=1)) > 0.999  # int8 rounding only
    for query in ("quantum error correction", "battery cathodes"):
        got = [m.researcher.id for m in rt.matcher.match(rt.snapshot(), Query(text=query)).matches]
        want = [m.researcher.id for m in origin.matcher.match(origin.snapshot(), Query(text=query)).matches]
        assert got == want


def test_a_cache_that_disagrees_with_the_model_is_refused(made_cache, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache, source, _ = made_cache
    with np.load(cache / "main.npz") as packed:
        keys, codes, scales = packed["keys"], packed["codes"], packed["scales"]
    shuffled = np.roll(codes.astype(np.float32) * scales[:, None], 1, axis=0)  # every key now names another text's vector
    vector_cache.write(cache, MAIN.name, "fake:hashing-384", None, "title_abstract", list(keys), shuffled)
    rt, _ = runtime(tmp_path / "fresh", cache)
    rt.ingest(source)
    assert rt.build_index().embedded == 12 * len(TITLES)


@pytest.mark.parametrize("damage", ["flip a byte", "another model", "another text rule"])
def test_a_damaged_or_foreign_cache_is_not_used(made_cache, tmp_path: Path, damage: str) -> None:  # type: ignore[no-untyped-def]
    cache, source, _ = made_cache
    if damage == "flip a byte":
        data = bytearray((cache / "main.npz").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (cache / "main.npz").write_bytes(bytes(data))
    else:
        manifest = json.loads((cache / "manifest.json").read_text())
        manifest["spaces"]["main"]["model" if damage == "another model" else "text"] = "something else"
        (cache / "manifest.json").write_text(json.dumps(manifest))
    rt, _ = runtime(tmp_path / "fresh", cache)
    rt.ingest(source)
    assert rt.build_index().embedded == 12 * len(TITLES)


def test_only_what_the_cache_lacks_is_embedded(made_cache, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache, source, _ = made_cache
    rt, _ = runtime(tmp_path / "fresh", cache)
    rt.ingest(source)
    rt.ingest(write_jsonl(tmp_path / "more.jsonl", [researcher("new", titles=("Hydrogen storage in metal hydrides",))]))
    built = rt.build_index()
    assert built.embedded == 1 and built.reused == 12 * len(TITLES)

