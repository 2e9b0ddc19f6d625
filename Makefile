# Two entry points (see README): `make run` and `make test`. Everything else is a helper.
# Installing is two steps: `deps`, the requirement set (pyproject's dependencies plus EXTRAS), then
# `install`, the code itself (editable). The Dockerfile runs these same two targets with EXTRAS=
# (no dev tools), the first in a cached layer of its own: the image installs what the quick start
# installs, by construction (tests/test_deploy.py compares the commands).
PYTHON ?= python3
VENV   := .venv
EXTRAS := dev
BIN    := $(VENV)/bin
DEPS   := $(VENV)/.deps-$(EXTRAS)
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean deps install update binary

$(DEPS): pyproject.toml deploy/requirements.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/python deploy/requirements.py $(EXTRAS) > $(VENV)/requirements.txt
	$(BIN)/pip install --quiet -r $(VENV)/requirements.txt
	touch $(DEPS)

$(STAMP): $(DEPS)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

deps: $(DEPS)

install: $(STAMP)

# YouTube changes often break older yt-dlp releases: the newest yt-dlp, its challenge solver and
# deno, without reinstalling the bot. Restart the bot afterwards.
update: $(STAMP)
	$(BIN)/pip install --quiet --upgrade 'yt-dlp[default,deno]'

run: $(STAMP)
	$(BIN)/musicbot run

# The test files are shared by TEST_WORKERS processes (pytest-xdist), a file's tests kept together in
# one (their module fixtures, and the order some of them tell a story in). Most tests wait on audio
# played in real time, so two workers halve the wall time on two cores.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/ruff check musicbot tests benchmarks packaging deploy
	$(BIN)/mypy musicbot
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

bench: $(STAMP)
	$(BIN)/musicbot bench

# The single-file executable dist/musicbot (PyInstaller, offline, from what the venv holds); skipped
# when it is up to date. tests/test_binary.py builds it with the same script (packaging/build.py).
binary: $(STAMP)
	$(BIN)/python packaging/build.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
