# Two commands get a stranger from clone to results: `make test` and `make reproduce`.
# Each creates .venv on first use and installs torch==2.13.0 (CPU wheel) before anything else,
# so no dependency can pull a multi-GB CUDA build of torch.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export OMP_WAIT_POLICY := PASSIVE
export HF_HUB_OFFLINE := 1
export WANDB_SILENT := true

.PHONY: install test test-all lint format reproduce data bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
	$(PY) -m pytest

test-all: $(STAMP)
	$(PY) -m pytest -m ''

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks

format: $(STAMP)
	$(PY) -m ruff format src tests benchmarks
	$(PY) -m ruff check --fix src tests benchmarks

data: $(STAMP)
	$(PY) -m causal_semloss.data task=transitivity
	$(PY) -m causal_semloss.data task=dseparation

reproduce: $(STAMP)
	bash scripts/reproduce.sh

bench: $(STAMP)
	$(PY) benchmarks/bench_data.py

clean:
	rm -rf outputs multirun/*/ data/ .pytest_cache
