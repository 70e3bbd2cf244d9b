# Two commands matter: `make run` and `make test`. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
LLAMA_VERSION := 0.3.36
# ggml's native build turns on AMX where the CPU reports it, and AMX tile instructions die with
# SIGILL on these virtual machines; build llama.cpp for a portable AVX2 baseline instead.
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
else
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF
endif
WHEELHOUSE := $(HOME)/.cache/operator-copilot/wheels/llama-cpp-python-$(LLAMA_VERSION)-portable

.PHONY: install embedder-export run test test-fast lint mypy eval bench clean-data browser-deps

install: $(STAMP) embedder-export

# torch first and pinned: it then comes from the CPU wheel, never a multi-GB CUDA build.
# llama-cpp-python compiles from source here (about 4 minutes on 2 cores; pip caches the wheel).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	ls $(WHEELHOUSE)/llama_cpp_python-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel --quiet --no-deps --no-cache-dir \
	    -w $(WHEELHOUSE) llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/python -m pip install --quiet --find-links $(WHEELHOUSE) \
	  --only-binary llama-cpp-python -e '.[test]'
	touch $(STAMP)

# The default embedder (minilm-int8) runs an ONNX export of the bundled MiniLM weights, made once
# per machine into ~/.cache/operator-copilot/onnx beside the llama.cpp wheel and checked by hash
# on every run of this step (a no-op when it matches; about a minute to make). Not part of the
# stamp, so a machine whose .venv was installed before this step still gets the export.
embedder-export: $(STAMP)
	$(BIN)/python -m knowledge.onnx_export

# Demo mode has its own home (.copilot-demo, COPILOT_DEMO_HOME): it never opens ./.copilot, the
# plant home `copilot serve` uses, and refuses any home with accounts or non-demo documents.
run: install
	$(BIN)/copilot serve --demo-mode

test: install browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The tests marked `light`: no model, Chroma, spaCy or browser; importing one fails the test
# (tests/conftest.py). For changes to orchestration logic; no model or index is ever loaded.
test-fast: $(STAMP)
	COPILOT_TEST_TIER=fast $(BIN)/python -m pytest -q -m light $(PYTEST_ARGS)

# ruff (pyflakes, pycodestyle, imports, bugbear, pyupgrade), then mypy; both configured in
# pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(MAKE) mypy

# Types: strict on knowledge, guardrails and storage, mypy's defaults (plus the bodies of
# unannotated functions) on copilot, ui and evals. The first run takes a few minutes; later
# ones reuse .mypy_cache.
mypy: $(STAMP)
	$(BIN)/mypy

# Debian's Chromium for the browser tests (a test tool's own browser download does not work
# offline). Best effort: the browser tests skip, loudly, only when it truly cannot be installed.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "WARNING: could not install chromium; browser tests will be skipped"; \
	  else echo "WARNING: not root, chromium not installed; browser tests will be skipped"; fi; }

eval: install
	$(BIN)/copilot eval --dataset evals/datasets/demo_qa.jsonl --out evals/results/demo
	$(BIN)/copilot eval --corpus ../shared/corpus --dataset evals/datasets/shared_corpus_qa.jsonl \
	  --no-answers --out evals/results/shared_corpus

bench: install
	$(BIN)/copilot bench --out evals/results/bench
	$(BIN)/python -m evals.bench_retrieval --out evals/results --server
	$(BIN)/python -m evals.bench_audit --out evals/results
	$(BIN)/python -m evals.bench_audit_stores --out evals/results

clean-data:
	rm -rf .copilot .copilot-demo
