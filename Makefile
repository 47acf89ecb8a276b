# Codex-Orchestrator: the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup codex demo test test-fast lint format bench bench-quick clean sandbox

setup: $(STAMP) codex

# OpenAI Codex, the builder: the pinned npm package, installed into the project (git-ignored .orch/).
CODEX_VERSION := 0.169.0
CODEX_STAMP := .orch/node/.codex-$(CODEX_VERSION)

codex: $(CODEX_STAMP)

$(CODEX_STAMP):
	@if command -v npm >/dev/null 2>&1; then \
	  { npm install --prefix .orch/node --no-audit --no-fund --save-exact @openai/codex@$(CODEX_VERSION) >/dev/null && \
	    .orch/node/node_modules/.bin/codex --version && touch $@; } || \
	  echo "warning: could not install @openai/codex@$(CODEX_VERSION) (offline?); Codex tests will be skipped."; \
	else \
	  echo "npm not found: skipping the Codex CLI (@openai/codex@$(CODEX_VERSION)); Codex tests will be skipped."; \
	fi

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

demo: setup
	$(BIN)/orch demo

sandbox: setup
	$(BIN)/orch sandbox

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m 'not slow'

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check bot handlers storage sandbox
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format bot handlers storage sandbox tests
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m bench

bench-quick: setup
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) .orch .runs .pytest_cache .mypy_cache .ruff_cache
