"""Embed the demo corpus once and ship its vectors: .venv/bin/python data/tools/embed_demo_vectors.py [OUT_DIR]

Builds an index of the demo corpus in a temporary directory with the default settings (the packaged
model at its default precision, the multilingual model over the titles and over the titles with
the abstracts' leads), without any cache, then writes
each space's vectors into the vector cache (indexer/vector_cache.py) under `data/demo/vectors/`.
Run it again whenever the demo corpus, a default model, the precision or the text rule changes: a
cache that no longer applies is refused at build time (by its key or its probe), never used wrongly.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from indexer import vector_cache
from indexer.index_build import MAIN, MULTILINGUAL_PARTS
from kernel.paths import DEMO_VECTORS
from kernel.settings import Settings
from service.runtime import Runtime


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), vector_cache=None)
        runtime = Runtime(settings)
        runtime.ingest(runtime.demo_corpus)
        built = runtime.build_index()
        spaces = [(MAIN, runtime.embedder, getattr(runtime.embedder, "precision", None), settings.embed_text)]
        if settings.multilingual:
            for mode in settings.multilingual_text.split("+"):
                spaces.append((MULTILINGUAL_PARTS[mode], runtime.multilingual, getattr(runtime.multilingual, "precision", None), mode))
        for space, embedder, precision, text_mode in spaces:
            keys = json.loads((built.path / space.keys_file).read_text(encoding="utf-8"))
            vectors = np.load(built.path / space.vectors_file)
            path = vector_cache.write(out, space.name, embedder.name, precision, text_mode, keys, vectors)
            print(f"{path}: {len(keys)} vectors of {embedder.name} ({precision or 'default precision'}, {text_mode}), {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEMO_VECTORS)
