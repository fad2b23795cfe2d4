"""An install that works anywhere: the wheel (not an editable install) carries the reference data,
the demo corpus and its vectors, the OpenAlex sample, the page's templates and static files; once
installed into a fresh virtual environment it ingests a small corpus and serves it from another
directory, with nothing of the repository on its path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from indexer.embedder import FAKE_MODEL
from tests.conftest import ROOT, researcher, write_jsonl
from tests.test_serve import free_port, get, wait_until

SOURCE_PARTS = ("pyproject.toml", "README.md", "kernel", "indexer", "service", "data")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (the checkout stays clean), without fetching a build backend."""
    tree = tmp_path_factory.mktemp("source")
    for part in SOURCE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, tree / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(source, tree / part)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), str(tree)],
                   check=True, capture_output=True, timeout=300)
    return next(out.glob("kakehashi-*.whl"))


def test_the_wheel_holds_the_data_and_the_page_but_no_scripts_of_the_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("kernel/data/fields.json", "kernel/data/goals.json", "kernel/data/agencies.json",
                   "kernel/data/demo/researchers.jsonl.gz", "kernel/data/demo/labels.jsonl.gz",
                   "kernel/data/demo/vectors/manifest.json", "kernel/data/demo/vectors/main.npz",
                   "kernel/data/evaluation/graded_queries.json", "kernel/data/openalex-sample/works.jsonl.gz",
                   "kernel/data/openalex-sample/README.md", "service/http/web/templates/search.html",
                   "service/http/web/static/style.css", "service/matching/matcher.py", "kernel/settings/__init__.py"):
        assert needed in names, needed
    assert not [n for n in names if n.startswith("kernel/data/") and n.endswith(".py")]


def test_the_installed_wheel_ingests_and_serves_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    # the dependencies (torch, FastAPI, ...) from the test environment; its editable Kakehashi is not
    # on the path: a directory named in a .pth file is added as it is, its own .pth files are not run
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1",
           "KAKEHASHI_DATA_DIR": str(tmp_path / "state"), "KAKEHASHI_MODEL": FAKE_MODEL, "KAKEHASHI_MULTILINGUAL_MODEL": FAKE_MODEL}
    where = subprocess.run([str(python), "-c", "import service, kernel.paths as p; print(service.__file__); print(p.DEMO_CORPUS.is_file())"],
                           cwd=elsewhere, env=env, check=True, capture_output=True, text=True).stdout.split()
    assert where[0].startswith(str(venv)) and where[1] == "True"

    corpus = write_jsonl(elsewhere / "corpus.jsonl", [researcher("r1"), researcher("r2", country="FR", titles=("GaN power transistors",))])
    kakehashi = venv / "bin" / "kakehashi"
    ingest = subprocess.run([str(kakehashi), "ingest", str(corpus)], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr

    port = free_port()
    service = subprocess.Popen([str(kakehashi), "serve", "--no-demo", "--port", str(port)], cwd=elsewhere, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: get(f"{base}/readyz")[0] == 200, seconds=180)
        assert get(f"{base}/")[0] == 200
        assert get(f"{base}/static/style.css")[0] == 200
        status, body = get(f"{base}/v1/goals")
        assert status == 200 and json.loads(body)["count"] == 10
        status, page = get(f"{base}/?q=GaN+power+transistors")
        assert status == 200 and "Researcher r2" in page
    finally:
        service.terminate()
        service.wait(timeout=30)

