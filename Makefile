# The two commands of the README: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
# The CPU build of torch; the Docker image brings its own CUDA build instead.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install demo test lint

install:
	$(PYTHON) -m pip install --quiet "$(TORCH_SPEC)"
	$(PYTHON) -m pip install --quiet -e ".[dev]"

demo: install
	$(PYTHON) -m evaluator run --model examples/models/task-api-v2 --benchmark examples/task_api/benchmark.jsonl \
		--config examples/config.yaml --baseline examples/baselines/task-api-v1.json --output-dir taskeval-report

lint:
	$(PYTHON) -m ruff check evaluator tests examples benchmarks entrypoint.py
	$(PYTHON) -m mypy

test: install lint
	$(PYTHON) -m pytest -q
