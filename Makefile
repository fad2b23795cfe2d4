# Quick start: `make run` (set up, then serve the demo) and `make test` (set up, then run all tests).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch; a plain `torch` requirement would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
# `make run PORT=8001 HOST=0.0.0.0` to serve elsewhere than localhost:8000.
PORT   ?= 8000
HOST   ?= 127.0.0.1

.PHONY: run test test-quick setup bench

run: $(VENV)/.ready
	$(BIN)/kakehashi serve --port $(PORT) --host $(HOST)

test: $(VENV)/.ready-test
	$(BIN)/python -m pytest

test-quick: $(VENV)/.ready-test
	$(BIN)/python -m pytest -m "not model"

setup: $(VENV)/.ready

# The performance benchmarks of docs/performance.md (about an hour on 2 cores); figures in bench/results/.
bench: $(VENV)/.ready
	$(BIN)/python bench/scale.py --sizes 100000 1000000 --queries 100
	$(BIN)/python bench/encoders.py
	$(BIN)/python bench/embed_throughput.py --json bench/results/embed_throughput.json
	$(BIN)/python bench/ingest_scale.py --works 1000000 --keep /tmp/kakehashi-1m
	$(BIN)/python bench/service_scale.py --store /tmp/kakehashi-1m --json bench/results/service_1000000.json

$(VENV)/.ready: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.ready-test: $(VENV)/.ready
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@
