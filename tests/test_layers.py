"""The import rules of pyproject.toml's [tool.importlinter] contracts: kernel below indexer below
service; inside service, the CLI and HTTP over jobs and evaluation over the runtime over matching;
the API and the page never import each other."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(root), "PATH": ""})


def test_the_code_keeps_every_import_contract() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_an_import_from_a_lower_layer_to_a_higher_one_breaks_a_contract(tmp_path: Path) -> None:
    for part in ("kernel", "indexer", "service"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "kernel" / "paths.py").open("a") as module:
        module.write("\nimport indexer.store  # noqa\n")
    with (tmp_path / "service" / "http" / "web" / "pages.py").open("a") as module:
        module.write("\nimport service.http.api.matches  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode == 1
    assert "1 kept, 2 broken" in result.stdout
    assert "kernel.paths -> indexer.store" in result.stdout and "service.http.web.pages -> service.http.api.matches" in result.stdout
