"""What the API and the CLI share: settings, reference data, the embedder, the served snapshot, and
the progress of whatever is preparing it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from indexer import schema
from indexer.embedder import Embedder, load_embedder, load_multilingual_embedder
from indexer.index_build import BuildResult, Incremental, ProgressFactory, build_index
from indexer.ingest import IngestReport, ingest
from indexer.records import Rejection
from indexer.slicing import Slice
from indexer.store import Store
from kernel.errors import NotReady
from kernel.paths import DEMO_CORPUS
from kernel.reference import Reference, cached_reference
from kernel.settings import Settings
from service.leases import Leases
from service.matching.matcher import Matcher
from service.matching.screening import ScreeningLists
from service.matching.snapshot import Snapshot, SnapshotHolder
from service.progress import Progress

log = logging.getLogger("kakehashi")
BUILD_LEASE = "index-build"


class Runtime:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, multilingual: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._multilingual = multilingual
        self.progress = Progress(log.info)  # what a background preparation is doing (service/index_updates.py)
        self._loading = threading.Lock()  # a model is loaded once, whichever thread asks first

    @cached_property
    def reference(self) -> Reference:
        return cached_reference(self.settings.reference_dir)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._loading:
                if self._embedder is None:
                    self._embedder = load_embedder(self.settings)
        return self._embedder

    @property
    def multilingual(self) -> Embedder:
        """The model for Japanese queries (loaded when first needed)."""
        if self._multilingual is None:
            with self._loading:
                if self._multilingual is None:
                    self._multilingual = load_multilingual_embedder(self.settings)
        return self._multilingual

    @cached_property
    def holder(self) -> SnapshotHolder:
        return SnapshotHolder(
            self.settings.index_root, self.settings.model, self.settings.index_poll_seconds,
            lexical=self.settings.ranking.lexical_weight > 0, mmap_min_bytes=self.settings.ann.mmap_min_mb * 2**20,
        )

    @cached_property
    def matcher(self) -> Matcher:
        return Matcher(self.settings, self.reference, lambda: self.embedder, lambda: self.multilingual, self.screening.current)

    @cached_property
    def screening(self) -> ScreeningLists:
        schema.ensure(self.settings.store_path)
        return ScreeningLists(self.settings.store_path, self.settings.screening_threshold)

    def snapshot(self) -> Snapshot:
        """The served snapshot; NotReady, saying how far the preparation is, while there is none."""
        try:
            return self.holder.get()
        except NotReady as exc:
            if self.progress.active:
                raise NotReady(f"the partner index is being prepared; {self.progress.describe()}. "
                               "The page and the API answer as soon as it is ready.") from exc
            if self.progress.failure:
                raise NotReady(f"{exc.detail} The last preparation failed: {self.progress.failure} (the service's log has the details).") from exc
            raise

    def store(self) -> Store:
        return Store(self.settings.store_path)

    def ingest(self, path: Path, progress: ProgressFactory | None = None, slice_: Slice | None = None,
               on_rejection: Callable[[Rejection], None] | None = None, workers: int | None = None) -> IngestReport:
        """`workers`: processes reading and converting files beside this one (None: one a core for a
        large input, none for a small one; 0: none)."""
        with self.store() as store:
            return ingest(path, store, set(self.reference.field_ids), progress, slice_, on_rejection, workers)

    def build_index(self, progress: ProgressFactory | None = None, force: bool = False, engine: str = "local") -> BuildResult:
        """`engine`: local, or ray (indexer/ray_engine.py; needs the `ray` extra). One build at a time
        on a store: another process's build is waited for (then this one finds little or nothing to do)."""
        with self.leases.hold(BUILD_LEASE, waiting=lambda holder: self._waiting_for_build(holder, progress)):
            return self._build_index(progress, force, engine)

    @cached_property
    def leases(self) -> Leases:
        return Leases(self.settings.store_path, self.settings.lease_seconds)

    @staticmethod
    def _waiting_for_build(holder: str, progress: ProgressFactory | None) -> None:
        log.info("waiting for the index build of %s (one build at a time on a store)", holder)
        if progress is not None:
            progress(f"Waiting for another process's index build ({holder})", 0)

    def _build_index(self, progress: ProgressFactory | None, force: bool, engine: str) -> BuildResult:
        embedder = self.embedder
        if engine == "ray":
            from indexer.ray_engine import RayEmbedder

            embedder = RayEmbedder(self.embedder, self.settings)
        with self.store() as store:
            store.derive_profiles()  # what an interrupted ingest left queued: the index shows whole profiles
            return build_index(
                store, self.reference, embedder, self.settings.index_root, progress, force, self.settings.embed_text,
                self.multilingual if self.settings.multilingual else None, self.settings.ann, self.settings.vector_cache,
                self.settings.keep_versions,
                Incremental(self.settings.incremental_min_publications, self.settings.incremental_max_share),
                self.settings.multilingual_text,
            )

    @property
    def demo_corpus(self) -> Path:
        return DEMO_CORPUS

    def store_is_empty(self) -> bool:
        with self.store() as store:
            return store.researcher_count() == 0
