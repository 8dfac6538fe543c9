# Two commands do all set-up on a fresh machine (see README.md):
#   make site   build the sample site from sample_manifests/ into _site/
#   make test   run the checks and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: site test lint clean

$(BIN)/reportgen: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

site: $(BIN)/reportgen
	$(BIN)/reportgen build sample_manifests -o _site
	@echo "Open _site/index.html in a browser."

lint: $(BIN)/reportgen
	$(BIN)/ruff check reportgen tests benchmarks
	$(BIN)/ruff format --check reportgen tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) _site build dist
