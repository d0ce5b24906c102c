# leadrouter: `make run` serves, `make test` tests. Both install into .venv first if needed.
PYTHON ?= python3.11
PYTEST_ARGS ?=
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test check protos clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: install
	$(BIN)/leadrouter serve --demo

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

protos: install
	$(BIN)/python protos/generate.py

clean:
	rm -rf $(VENV) build *.egg-info
