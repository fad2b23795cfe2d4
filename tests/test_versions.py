"""Index versions hold what serving reads and nothing else; retention keeps the newest N and every
version a running process serves; the index kind follows from size and budget, not from a timing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer import ann, version
from indexer.schema import CATALOG_TABLES
from kernel.settings import AnnSettings
from service.batch.inputs import BatchRequest
from service.batch.jobs import JobStore
from tests.conftest import ROOT, api_key, fake_runtime, researcher, write_jsonl

PROJECT_TEXT = "Confidential project: a cryogenic wafer prober for spin qubits, budget 3.2 oku yen"


def test_a_version_holds_no_batch_jobs_results_or_keys(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path)
    rt.ingest(write_jsonl(tmp_path / "in.jsonl", [researcher("r1"), researcher("r2", titles=("Spin qubits in silicon",))]))
    key = api_key(rt, "batch")
    JobStore(rt.settings.store_path).create(BatchRequest.model_validate({"queries": [{"id": "q1", "query": {"text": PROJECT_TEXT}}]}))
    built = rt.build_index()

    with sqlite3.connect(built.path / version.CATALOG) as catalog:
        tables = {name for (name,) in catalog.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == set(CATALOG_TABLES)
        assert catalog.execute("SELECT count(*) FROM researchers").fetchone()[0] == 2
    catalog.close()
    for file in built.path.rglob("*"):  # in no file of the version, in any form the store keeps
        if file.is_file():
            data = file.read_bytes()
            assert PROJECT_TEXT.encode() not in data and key.encode() not in data, file.name
    assert rt.snapshot().researcher("r2").name == "Researcher r2"  # and it serves


def test_retention_keeps_the_newest_versions_and_the_one_another_process_serves(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path, keep_versions=2)
    rt.ingest(write_jsonl(tmp_path / "a.jsonl", [researcher("r1")]))
    first = rt.build_index()
    serve_first = (  # another process, serving the first version
        "import sys, time; from pathlib import Path; from service.matching.snapshot import SnapshotHolder; "
        "print(SnapshotHolder(Path(sys.argv[1]), sys.argv[2], 0).get().version, flush=True); time.sleep(120)"
    )
    reader = subprocess.Popen([sys.executable, "-c", serve_first, str(tmp_path / "indexes"), rt.settings.model],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == first.version
        built = [rt.build_index(force=True).version for _ in range(3)]
        kept = [p.name for p in version.versions(tmp_path / "indexes")]
        assert kept == [first.version, *built[-2:]]  # the newest two, and the one in use elsewhere
    finally:
        reader.kill()
        reader.wait()
    newest = rt.build_index(force=True).version
    assert [p.name for p in version.versions(tmp_path / "indexes")] == [built[-1], newest]  # no longer in use: pruned
    assert rt.snapshot().version == newest


def test_pruning_never_deletes_the_version_this_process_serves(tmp_path: Path) -> None:
    rt = fake_runtime(tmp_path, keep_versions=1)
    rt.ingest(write_jsonl(tmp_path / "a.jsonl", [researcher("r1")]))
    served = rt.build_index()
    assert rt.snapshot().version == served.version
    newer = fake_runtime(tmp_path, keep_versions=1).build_index(force=True)  # e.g. the CLI, in this process's data directory
    assert [p.name for p in version.versions(tmp_path / "indexes")] == [served.version, newer.version]


@pytest.mark.parametrize("n, settings, kind", [
    (100_000, AnnSettings(), "flat"),
    (100_001, AnnSettings(), "hnsw"),
    (1_000_000, AnnSettings(), "hnsw"),
    (10_000_000, AnnSettings(), "ivf_sq8"),  # HNSW's ~17 GB would exceed the 8 GiB default budget
    (10_000_000, AnnSettings(memory_budget_mb=None), "hnsw"),
    (5_000, AnnSettings(kind="ivf_sq8"), "ivf_sq8"),
])
def test_the_index_kind_follows_from_size_and_budget(n: int, settings: AnnSettings, kind: str) -> None:
    assert ann.plan(n, 384, settings).kind == kind


def test_the_same_corpus_gets_the_same_index_whatever_the_machine_is_doing(tmp_path: Path) -> None:
    vectors = ann.probe_queries(np.random.default_rng(0).normal(size=(3000, 32)).astype(np.float32), 3000)
    entries = [ann.build_and_tune(vectors, AnnSettings(exact_max_publications=2000))[1] for _ in range(2)]
    assert [e["kind"] for e in entries] == ["hnsw", "hnsw"] and entries[0]["search"] == entries[1]["search"]
    assert "exact_max_publications" in entries[0]["reason"]
