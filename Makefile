# Two entry points: `make demo` and `make test`. Both create the virtual environment first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck layers pytest clean schema chaos workflows

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e . --group dev
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

test: lint typecheck layers workflows pytest

lint: $(STAMP)
	$(BIN)/ruff check reconciler tests chaos
	$(BIN)/ruff format --check reconciler tests chaos

typecheck: $(STAMP)
	$(BIN)/mypy reconciler tests

layers: $(STAMP)
	$(BIN)/lint-imports

# The workflows and the action we ship: actionlint (workflows only) and zizmor, offline so the
# gate never depends on the GitHub API.
workflows: $(STAMP)
	$(BIN)/actionlint -no-color .github/workflows/*.yml
	$(BIN)/zizmor --offline --no-progress --config .github/zizmor.yml .github/workflows action.yml

pytest: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache .import_linter_cache

schema: $(STAMP)
	$(BIN)/python -m reconciler.cli.schemagen

# The performance harness (docs/performance.md); results in bench/results/. Not part of `test`.
# `make bench BENCH_ARGS=--quick` is the under-a-minute smoke run.
.PHONY: bench
bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench $(BENCH_ARGS)

# The full fault-injection harness (docs/reliability.md); results in chaos/results/.
chaos: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m chaos
