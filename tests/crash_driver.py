"""Runs one write step in its own process, for tests/test_crash.py to SIGKILL it part way. Prints a
line (flushed) at each point the test waits for:

  ingest DATA_DIR FILE   `committed N` after each batch is committed (N researchers acknowledged)
  build DATA_DIR         `embedding` while the publications are embedded (slowly)
  publish DATA_DIR       `publishing` when the new version is written, just before it is renamed into place
  serve DATA_DIR PORT    `kakehashi serve --no-demo` whose background builds embed every publication (slowly):
                         `embedding` once a build is under way
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import indexer.index_build as index_build
import indexer.version as version
from indexer.embedder import FakeEmbedder, ProgressFn
from service.runtime import Runtime
from tests.conftest import make_settings


def say(line: str) -> None:
    print(line, flush=True)


class SlowEmbedder(FakeEmbedder):
    def encode(self, texts: list[str], progress: ProgressFn | None = None) -> np.ndarray:
        if len(texts) > 20:  # the publications, not the fields or goals
            say("embedding")
            time.sleep(60)
        return super().encode(texts, progress)


def main(mode: str, data_dir: str, *rest: str) -> None:
    runtime = Runtime(make_settings(Path(data_dir)), embedder=SlowEmbedder() if mode in ("build", "serve") else FakeEmbedder())
    if mode == "ingest":
        done = 0

        def committed(n: int) -> None:
            nonlocal done
            done += n
            say(f"committed {done}")

        runtime.ingest(Path(rest[0]), lambda step, total: committed)
    elif mode == "build":
        index_build._reusable_vectors = lambda *args: {}  # embed every publication again, slowly
        runtime.build_index(force=True)
    elif mode == "publish":
        rename = version.os.rename

        def paused_rename(source: str, target: str) -> None:
            say("publishing")
            time.sleep(60)
            rename(source, target)

        version.os.rename = paused_rename  # type: ignore[assignment]
        runtime.build_index(force=True)
    elif mode == "serve":
        import service.cli

        index_build._reusable_vectors = lambda *args: {}
        service.cli._runtime = lambda: runtime  # type: ignore[assignment]
        service.cli.serve(port=int(rest[0]), host="127.0.0.1", demo=False)
    else:
        raise SystemExit(f"unknown mode {mode}")
    say("finished")


if __name__ == "__main__":
    main(*sys.argv[1:])
