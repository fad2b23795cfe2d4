"""Embedding on Ray, for corpora one machine cannot embed in time (`kakehashi index build --engine
ray`; install with `pip install 'kakehashi[ray]'`).

The publications' texts become a Ray Dataset; `map_batches` runs them through an actor pool in
which each worker loads the model once; each worker's output is written as Parquet vector shards
(`row`, `vector`) under a shard directory, which the index build then reads back in row order.
Small inputs (the field descriptions and goals) are embedded locally.

Against a real cluster, set RAY_ADDRESS (e.g. `ray://head:10001`), install kakehashi and its
model package on every node, and point KAKEHASHI_RAY__SHARD_DIR at storage that every node and the
driver see (a shared file system or an object store URI that pyarrow reads)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from indexer.embedder import Embedder, ProgressFn, load_embedder
from kernel.settings import Settings


class _Encode:
    """One per Ray worker: loads the model once, then embeds batch after batch."""

    def __init__(self, settings_json: str) -> None:
        self.embedder = load_embedder(Settings.model_validate_json(settings_json))

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        texts = batch.column("text").to_pylist()
        vectors = np.ascontiguousarray(self.embedder.encode(texts), dtype=np.float32)
        flat = pa.array(vectors.reshape(-1), type=pa.float32())
        return pa.table({"row": batch.column("row"), "vector": pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])})


def read_shards(shard_dir: str, count: int, dimension: int) -> np.ndarray:
    """The vectors of rows 0..count-1 from the Parquet shards, whatever order the workers wrote them in."""
    import pyarrow.dataset as pads

    table = pads.dataset(shard_dir, format="parquet").to_table()
    rows = table.column("row").to_numpy()
    vectors = table.column("vector").combine_chunks().values.to_numpy(zero_copy_only=False).reshape(-1, dimension)
    if len(rows) != count or len(np.unique(rows)) != count:
        raise RuntimeError(f"the Ray shards hold {len(rows)} vectors ({len(np.unique(rows))} distinct rows) for {count} texts")
    out = np.empty((count, dimension), dtype=np.float32)
    out[rows] = vectors
    return out


class RayEmbedder:
    """An Embedder whose large encodes run on Ray; the same model, so the same vectors."""

    engine = "ray"

    def __init__(self, local: Embedder, settings: Settings) -> None:
        self.local, self.settings = local, settings
        self.name, self.dimension = local.name, local.dimension
        self.precision = getattr(local, "precision", None)

    def encode_query(self, text: str) -> np.ndarray:
        return self.local.encode_query(text)

    def encode(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        if len(texts) < self.settings.ray.min_texts:
            return self.local.encode(texts, progress)
        import ray

        if not ray.is_initialized():
            address = os.environ.get("RAY_ADDRESS")  # a cluster sets its own resources; a local instance takes ours
            local = {} if address else {"num_cpus": self.settings.ray.local_cpus, "include_dashboard": False}
            ray.init(address=address, log_to_driver=False, configure_logging=False, **local)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        shard_root = self.settings.ray.shard_dir or tempfile.gettempdir()
        shard_dir = os.path.join(str(shard_root), f"kakehashi-shards-{uuid.uuid4().hex}")
        try:
            items = [{"row": i, "text": t} for i, t in enumerate(texts)]
            dataset = ray.data.from_items(items, override_num_blocks=max(1, min(len(items) // self.settings.embed_batch_size, 64)))
            gpus = 1 if self.settings.device.startswith("cuda") else 0
            encoded = dataset.map_batches(
                _Encode, fn_constructor_args=(self.settings.model_dump_json(),), batch_size=self.settings.embed_batch_size,
                batch_format="pyarrow", concurrency=self.settings.ray.workers, num_gpus=gpus,
            )
            encoded.write_parquet(shard_dir)
            vectors = read_shards(shard_dir, len(texts), self.dimension)
        finally:
            if not shard_dir.startswith(("s3://", "gs://")):
                shutil.rmtree(shard_dir, ignore_errors=True)
        if progress:
            progress(len(texts))
        return vectors
