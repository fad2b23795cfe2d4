"""The Ray engine: `kakehashi index build --engine ray` on a local Ray instance started here gives
the same index contents as the local engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kernel.settings import RaySettings
from service.cli import app as cli
from service.matching.query import Filters, Query
from service.runtime import Runtime
from tests.conftest import DEMO_CORPUS, fake_runtime

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'kakehashi[ray]')")


@pytest.fixture(scope="module")
def local_ray():  # type: ignore[no-untyped-def]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_the_ray_engine_builds_the_same_index_as_the_local_one(tmp_path: Path, local_ray) -> None:  # type: ignore[no-untyped-def]
    local = fake_runtime(tmp_path / "local")
    local.ingest(DEMO_CORPUS)
    shutil.copytree(tmp_path / "local", tmp_path / "ray")
    on_ray = fake_runtime(tmp_path / "ray", ray=RaySettings(workers=2, min_texts=100, shard_dir=str(tmp_path / "shards")))

    by_local = local.build_index()
    by_ray = on_ray.build_index(engine="ray")

    assert by_ray.manifest["embedding_engine"] == "ray" and by_local.manifest["embedding_engine"] == "local"
    assert by_ray.embedded == by_local.embedded == by_local.manifest["counts"]["publications"] > 10_000
    for name in ("publication_ids.json", "embedding_keys.json"):
        assert json.loads((by_ray.path / name).read_text()) == json.loads((by_local.path / name).read_text())
    np.testing.assert_array_equal(np.load(by_ray.path / "vectors.npy"), np.load(by_local.path / "vectors.npy"))
    assert by_ray.manifest["data_hash"] == by_local.manifest["data_hash"]
    assert not any((tmp_path / "shards").iterdir())  # the shards are removed once read
    assert top_ten(on_ray) == top_ten(local)


def top_ten(runtime: Runtime) -> list[str]:
    return [m.researcher.id for m in runtime.matcher.match(runtime.snapshot(), Query(goal_id=6), Filters(), None, 10, 0).matches]


def test_the_cli_takes_the_engine_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["index", "build", "--engine", "spark"], env={"KAKEHASHI_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2 and "--engine must be local or ray" in result.output
