# blindlink: two commands do all the set-up.
#   make demo   run the main job on the embedded sample world
#   make test   lint, type-check and run the default test suite
# Both create .venv and install the pinned dependencies on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow bench lint typecheck lock golden clean

# The project's own sources are byte-compiled once here, as a regular install would do:
# where the environment forbids writing bytecode at import time, every command would
# otherwise compile them again (tens of milliseconds of each start).
$(STAMP): requirements.lock pyproject.toml setup.py hashing/_native.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m compileall -q cli.py hashing linkage samples
	@$(BIN)/python -c "from hashing import _crypto; print('token engine:', 'compiled batch loop' if _crypto.native_available() else 'fallback (hashing/_native.c not built: no C compiler or OpenSSL headers)')"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/link demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 -q

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python -m bench

# Rewrite the golden end-to-end expectations (only when a change is meant to move them).
golden: $(STAMP)
	$(BIN)/python -m tests.regenerate_golden

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Regenerate requirements.lock from pyproject.toml (needs network access to the package index).
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --upgrade -o requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info
