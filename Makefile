# Two entry points: `make demo` and `make test`. Both create the virtual environment first.
# `make test` is the whole gate (.ci/run calls it): the static checks, then the fast tier of the
# tests, then the slow tier; it stops at the first that fails. `make test-fast` and
# `make test-slow` run one tier each (tests/conftest.py says which test is in which).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck layers pytest test-fast test-slow clean schema chaos workflows lock

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[sim]' --group dev
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

test: lint typecheck layers workflows test-fast test-slow

lint: $(STAMP)
	$(BIN)/ruff check reconciler tests chaos
	$(BIN)/ruff format --check reconciler tests chaos

typecheck: $(STAMP)
	$(BIN)/mypy reconciler tests chaos bench

layers: $(STAMP)
	$(BIN)/lint-imports

# The workflows and the action we ship: actionlint (workflows only) and zizmor, offline so the
# gate never depends on the GitHub API.
workflows: $(STAMP)
	$(BIN)/actionlint -no-color .github/workflows/*.yml
	$(BIN)/zizmor --offline --no-progress --config .github/zizmor.yml .github/workflows action.yml

# The action's pinned, hashed install: pyproject.toml's dependencies and its build backend
# (requirements/action.in), resolved for every platform and Python 3.11+, every file hashed. Run it
# after changing a dependency (tests/github/test_action_install.py fails until then); it needs the
# network and keeps the pins it can. `make lock LOCK_ARGS=--upgrade` moves every pin to the newest.
LOCK_ARGS ?=
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml requirements/action.in --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" --quiet $(LOCK_ARGS) \
		--output-file requirements/action.txt

# pytest-xdist: one worker per core (`PYTEST_WORKERS=0` runs in this process); worksteal
# keeps both cores busy when the long tests come last.
PYTEST_WORKERS ?= auto
PYTEST := PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

test-fast: $(STAMP)
	$(PYTEST) -m fast

test-slow: $(STAMP)
	$(PYTEST) -m slow

pytest: test-fast test-slow

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache .import_linter_cache

schema: $(STAMP)
	$(BIN)/python -m reconciler.cli.schemagen

# The performance harness (docs/performance.md): medians over rounds against same-run floors,
# about 40 minutes; results (JSON and a markdown table) in bench/results/. Not part of `test`.
# `make bench BENCH_ARGS=--quick` runs every workload tiny (a smoke run of a minute or two);
# `BENCH_ARGS='--only apply --world heavy-tail'` one step or case (`python -m bench --help`).
.PHONY: bench
bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench $(BENCH_ARGS)

# The full fault-injection harness (docs/reliability.md); results in chaos/results/.
chaos: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m chaos
