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

.PHONY: help demo test test-fast lint lock bench bench-setup bench-drift bench-scale-out bench-inner-loop bench-fleet bench-paired bench-serve bench-inference-log bench-lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# uv installs the lock (hashes required). Without a uv on PATH, the lock's own uv (its pin
# and hashes) is installed into .venv with pip first. --compile-bytecode: with
# PYTHONDONTWRITEBYTECODE set (as on the CI machines) nothing else writes .pyc files, and every
# process would compile MLflow, pandas and GX from source again (the suite took 35.6 min so,
# 24.8 min with bytecode).
$(STAMP): requirements-dev.lock
	@set -e; uv="$$(command -v uv || true)"; \
	case "$$uv" in "$(CURDIR)/$(VENV)/"*) uv="";; esac; \
	if [ -z "$$uv" ]; then \
		echo "no uv on PATH: installing the locked uv into $(VENV) with pip first"; \
		$(PYTHON) -m venv --clear $(VENV); \
		$(PYTHON) -c "import re; print(re.search(r'^uv==.*(?:\n .*)*', open('requirements-dev.lock').read(), re.M).group())" > $(VENV)/uv.txt; \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(VENV)/uv.txt; \
		uv=$(BIN)/uv; \
	else \
		"$$uv" venv --quiet --clear --python $(PYTHON) $(VENV); \
	fi; \
	"$$uv" pip install --quiet --python $(BIN)/python --require-hashes --no-deps --compile-bytecode \
		-r requirements-dev.lock
	@touch $@

# The bake's setup uses this environment's uv, and so its warm cache: seconds, not minutes.
demo: $(STAMP) ## bake the defaults into build/customer-churn, set it up and train a model
	rm -rf $(DEMO) $(DEMO)-dvc-storage
	$(BIN)/cookiecutter --no-input --output-dir build .
	$(MAKE) -C $(DEMO) setup repro UV=$(CURDIR)/$(BIN)/uv
	git -C $(DEMO) add dvc.lock reports
	git -C $(DEMO) commit -q -m "First training run" || echo "demo: not committed (see above); commit dvc.lock and reports/ yourself"
	@$(BIN)/python scripts/demo_summary.py $(DEMO)

test: $(STAMP) ## run every test, slow lifecycle tests included
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## the quick tests (about a minute)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) ## lint the template's own code (bakes are linted by the tests)
	$(BIN)/ruff check tests scripts benchmarks gitops_ml_answers.py
	$(BIN)/ruff format --check tests scripts benchmarks gitops_ml_answers.py

lock: $(STAMP) ## re-lock the generated project's and the template's dependencies
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/lock.py

EVIDENTLY := benchmarks/.venv-evidently

$(EVIDENTLY)/.installed: benchmarks/requirements-evidently.lock $(STAMP)
	$(BIN)/uv venv --quiet --clear --python $(PYTHON) $(EVIDENTLY)
	$(BIN)/uv pip install --quiet --python $(EVIDENTLY)/bin/python --require-hashes --no-deps -r $<
	@touch $@

bench: $(STAMP) $(EVIDENTLY)/.installed ## measure a bake end to end -> benchmarks/RESULTS.md, results.json
	$(BIN)/python benchmarks/setup.py
	$(BIN)/python benchmarks/pipeline.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/drift.py run
	$(BIN)/python benchmarks/scale_out.py
	$(MAKE) bench-inner-loop
	$(MAKE) bench-fleet
	$(MAKE) bench-paired
	$(MAKE) bench-serve
	$(MAKE) bench-inference-log

bench-inner-loop: $(STAMP) ## a change of one hyperparameter to updated metrics, both tasks
	for task in classification regression; do \
		$(BIN)/python benchmarks/inner_loop.py --runs 5 --task $$task $(BENCH_ARGS) || exit 1; done

bench-fleet: $(STAMP) ## a fleet bake at 10, 50 and 200 members (10k rows each)
	$(BIN)/python benchmarks/fleet.py $(BENCH_ARGS)

bench-paired: $(STAMP) ## the paired champion/candidate comparison at 4k, 200k and 1M rows vs scipy
	$(BIN)/python benchmarks/paired.py run $(BENCH_ARGS)

bench-serve: $(STAMP) ## serve vs `mlflow models serve`: requests/s, p50, p99, start-up, RSS
	$(BIN)/python benchmarks/serve.py run $(BENCH_ARGS)

bench-inference-log: $(STAMP) ## serve with the inference log off, in a folder, in PostgreSQL; drift over 1M logged rows
	$(BIN)/python benchmarks/inference_log.py run $(BENCH_ARGS)

bench-setup: $(STAMP) ## make setup with uv (warm, cold, no uv on PATH) vs pip; bytecode; the PR workflow
	$(BIN)/python benchmarks/setup.py $(BENCH_ARGS)

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
