# Two entry points (see README): `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/musicbot run

test: $(STAMP)
	$(BIN)/ruff check musicbot tests benchmarks
	$(BIN)/mypy musicbot
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/musicbot bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
