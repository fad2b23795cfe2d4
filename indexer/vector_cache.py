"""A shipped cache of publication vectors: the demo corpus embedded once with the packaged models
(`data/demo/vectors/`), so that a first start reuses them instead of embedding 14k texts on 2 cores.

One file per space, `<space>.npz`: `keys` (index_build's embedding keys, "<text mode>:<text hash>"),
`codes` (int8) and `scales` (float32, one per row); a row is codes * scale, L2-normalised again.
`manifest.json` names, per space, the model, its precision, the text mode, the dimension, the row
count and the file's sha256.

A cache answers only when the model, precision and text mode are the ones asked for, the file's
checksum holds, and a probe re-embeds a few of the texts it is about to supply and finds them where
the cache says (cosine >= PROBE_MIN_COSINE). A different model under the same name, another text
rule, or a damaged file make it refuse with a logged reason; the build then embeds as without one.
The int8 rounding moves a cosine by about 5e-4, less than the bf16 encoder's own rounding.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexer.checksums import file_sha256
from indexer.embedder import Embedder

log = logging.getLogger("kakehashi.vector_cache")

MANIFEST = "manifest.json"
FORMAT = 1
PROBES = 8
PROBE_MIN_COSINE = 0.99


def _read_manifest(directory: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT else {}


def write(directory: Path, space: str, model: str, precision: str | None, text_mode: str,
          keys: Sequence[str], vectors: np.ndarray) -> Path:
    """Adds (or replaces) one space's file and its manifest entry; each file is written under a
    temporary name and renamed into place."""
    directory.mkdir(parents=True, exist_ok=True)
    vectors = np.asarray(vectors, dtype=np.float32)
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127.0
    codes = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    target = directory / f"{space}.npz"
    temporary = directory / f".{space}.tmp.npz"
    np.savez_compressed(temporary, keys=np.array(list(keys), dtype=np.str_), codes=codes, scales=scales.astype(np.float32))
    os.replace(temporary, target)
    manifest = _read_manifest(directory) or {"format": FORMAT, "spaces": {}}
    manifest["spaces"][space] = {
        "file": target.name, "model": model, "precision": precision, "text": text_mode,
        "dimension": int(vectors.shape[1]), "rows": len(keys), "sha256": file_sha256(target),
    }
    temporary_manifest = directory / f".{MANIFEST}.tmp"
    temporary_manifest.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary_manifest, directory / MANIFEST)
    return target


def _decode(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    vectors = codes.astype(np.float32) * scales[:, None]
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def lookup(directory: Path | None, space: str, encoder: Embedder, precision: str | None, text_mode: str,
           wanted: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Vectors for those of `wanted` (embedding key -> text) that the cache holds, once it has
    shown it agrees with `encoder`; {} when there is no cache, it does not apply or it fails a check."""
    if directory is None or not wanted:
        return {}
    entry = _read_manifest(directory).get("spaces", {}).get(space)
    if not entry:
        return {}
    if (entry.get("model"), entry.get("precision"), entry.get("text"), entry.get("dimension")) != (encoder.name, precision, text_mode, encoder.dimension):
        return {}  # made for another model, precision or text: not a fault, simply not this build's
    path = directory / entry["file"]
    try:
        if file_sha256(path) != entry.get("sha256"):
            log.warning("vector cache %s: checksum mismatch; embedding without it", path)
            return {}
        with np.load(path, allow_pickle=False) as packed:
            keys, codes, scales = packed["keys"], packed["codes"], packed["scales"]
    except (OSError, ValueError, KeyError) as exc:
        log.warning("vector cache %s unreadable (%s); embedding without it", path, exc)
        return {}
    rows = {str(key): i for i, key in enumerate(keys) if str(key) in wanted}
    if not rows:
        return {}
    found = list(rows)
    vectors = _decode(codes[[rows[k] for k in found]], scales[[rows[k] for k in found]])
    probe = sorted(range(len(found)), key=lambda i: found[i])[:: max(1, len(found) // PROBES)][:PROBES]
    fresh = encoder.encode([wanted[found[i]] for i in probe])
    agreement = float(np.min(np.sum(fresh * vectors[probe], axis=1)))
    if agreement < PROBE_MIN_COSINE:
        log.warning("vector cache %s disagrees with %s (probe cosine %.3f < %.2f); embedding without it",
                    path, encoder.name, agreement, PROBE_MIN_COSINE)
        return {}
    log.info("vector cache %s: %d of %d vectors reused (probe cosine >= %.4f)", path, len(found), len(wanted), agreement)
    return {key: vectors[i] for i, key in enumerate(found)}
