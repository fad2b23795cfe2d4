"""Where the data that ships with Kakehashi lies: the reference data (fields, goals, agencies),
the fictional demo corpus and its embedded vectors, the evaluation queries and the real OpenAlex
sample. In a built wheel they are package data under `kernel/data/`; in a checkout (or an editable
install) they are the repository's `data/` folder."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_PACKAGED = _HERE / "data"  # the wheel ships the repository's data/ as the package kernel.data (pyproject.toml)
DATA_DIR = _PACKAGED if _PACKAGED.is_dir() else _HERE.parent / "data"

DEMO_CORPUS = DATA_DIR / "demo" / "researchers.jsonl.gz"
DEMO_LABELS = DATA_DIR / "demo" / "labels.jsonl.gz"
DEMO_VECTORS = DATA_DIR / "demo" / "vectors"
DEMO_SCREENING_LIST = DATA_DIR / "demo" / "screening_list.csv"  # fictional entries naming three demo institutions
SCREENING_TEST_LIST = DATA_DIR / "evaluation" / "screening_list.csv"  # fictional entities, for the name-variant set
SCREENING_NAMES = DATA_DIR / "evaluation" / "screening_names.json"
GRADED_QUERIES = DATA_DIR / "evaluation" / "graded_queries.json"
CROSSLINGUAL_QUERIES = DATA_DIR / "evaluation" / "crosslingual_queries.json"
OPENALEX_SAMPLE = DATA_DIR / "openalex-sample"
