# The README's two commands: `make demo` and `make test`. Both set up everything first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# pip compiles llama.cpp on the first install. On x86-64 it is built for AVX2, not for
# the build machine (-march=native): a native build uses AMX where the CPU lists it, and
# dies with SIGILL where a hypervisor lists AMX without enabling it (seen on CI-like VMs).
# Set LLAMA_CMAKE_ARGS= (empty) for a native build on your own machine.
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
endif

.PHONY: install models demo test test-fast lint protos bench scorer lexicon clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## the virtual environment with tandem and its dependencies

models: install  ## assemble and verify the edge, cloud and test models (idempotent)
	$(BIN)/tandem models install --all

demo: models  ## start a cloud on loopback, ask one question with private notes, stop
	$(BIN)/tandem demo

lint: install  ## ruff: pyflakes, pycodestyle, import order, bugbear, pyupgrade
	$(BIN)/ruff check .

test: models lint  ## lint, then the whole test suite (what CI runs)
	$(BIN)/python -m pytest --durations=15  # the slowest tests, to keep the suite inside CI's time

# Tests that load no model, in seconds. The model folder is pointed at an empty one, so a
# test that loads a model without the `slow` marker fails here instead of going unnoticed.
test-fast: install lint  ## the tests that load no model (`-m "not slow"`)
	TANDEM_MODELS_DIR=$$(mktemp -d) $(BIN)/python -m pytest -m "not slow"

protos: install  ## regenerate protos/*_pb2*.py after editing protos/tandem.proto
	$(BIN)/python -m protos.generate

bench: models  ## speed of the models, local and as served
	$(BIN)/tandem bench models

scorer: models  ## rebuild edge_agent/scoring/scorer.onnx (installs torch CPU; ~30 min on 2 cores)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --disable-pip-version-check -e '.[dev,build]'
	$(BIN)/python -m tools.scorer.build

lexicon: install  ## rebuild edge_agent/privacy/{medications,conditions}.txt from two registry vocabularies
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[dev,lexicon]'
	$(BIN)/python -m tools.lexicon.build

clean:
	rm -rf $(VENV) *.egg-info
