# The template's own tasks. Needs only Python >= 3.11 and git; everything
# else is installed into .venv from requirements-dev.lock.

.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := build/customer-churn
PYTEST_ARGS ?=

export DVC_NO_ANALYTICS := 1
export ITERATIVE_DO_NOT_TRACK := 1
export MLFLOW_DISABLE_TELEMETRY := true
export GX_ANALYTICS_ENABLED := false

.PHONY: help demo test test-fast lint lock bench bench-drift bench-scale-out bench-lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.lock
	@touch $@

demo: $(STAMP) ## bake the defaults into build/demo, set it up and train a model
	rm -rf $(DEMO) $(DEMO)-dvc-storage
	$(BIN)/cookiecutter --no-input --output-dir build .
	$(MAKE) -C $(DEMO) setup repro
	@$(BIN)/python scripts/demo_summary.py $(DEMO)

test: $(STAMP) ## run every test, slow lifecycle tests included
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## the quick tests (about a minute)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) ## lint the template's own code (bakes are linted by the tests)
	$(BIN)/ruff check tests scripts benchmarks
	$(BIN)/ruff format --check tests scripts benchmarks

lock: $(STAMP) ## re-lock the generated project's and the template's dependencies
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/lock.py

EVIDENTLY := benchmarks/.venv-evidently

$(EVIDENTLY)/.installed: benchmarks/requirements-evidently.lock
	$(PYTHON) -m venv $(EVIDENTLY)
	$(EVIDENTLY)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $<
	@touch $@

bench: $(STAMP) $(EVIDENTLY)/.installed ## measure a bake end to end -> benchmarks/RESULTS.md, results.json
	$(BIN)/python benchmarks/pipeline.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/drift.py run
	$(BIN)/python benchmarks/scale_out.py

bench-scale-out: $(STAMP) ## DVC push/pull and promote against local S3 + PostgreSQL + MLflow servers
	$(BIN)/python benchmarks/scale_out.py $(BENCH_ARGS)

bench-drift: $(STAMP) $(EVIDENTLY)/.installed ## only the drift check at 1M rows vs Evidently
	$(BIN)/python benchmarks/drift.py run $(BENCH_ARGS)

bench-lock: $(STAMP) ## re-lock the benchmark's Evidently environment
	$(BIN)/uv pip compile benchmarks/requirements-evidently.in --universal --python-version 3.11 \
		--generate-hashes --no-emit-index-url --no-emit-find-links --no-annotate \
		--custom-compile-command "make bench-lock" --quiet -o benchmarks/requirements-evidently.lock

clean: ## remove build/ and .venv/
	rm -rf build $(VENV) $(EVIDENTLY)
