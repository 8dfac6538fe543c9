# Two commands do all set-up on a fresh machine (see README.md):
#   make site   build the sample site from sample_manifests/ into _site/
#   make test   run the checks and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NPM ?= npm

.PHONY: site test lint node clean

$(BIN)/reportgen: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@

site: $(BIN)/reportgen
	$(BIN)/reportgen build sample_manifests -o _site
	@echo "Open _site/index.html in a browser."

lint: $(BIN)/reportgen
	$(BIN)/ruff check reportgen tests benchmarks
	$(BIN)/ruff format --check reportgen tests benchmarks
	$(BIN)/mypy

# The Node packages the browser tests load into pages (axe-core, pinned in package-lock.json): `npm ci`
# when package.json exists and npm is installed, again whenever package-lock.json changes. Without them the
# browser tests skip (or fail with REPORTGEN_BROWSER_TESTS=required, as in .ci/run).
node:
	@if [ -f package.json ] && command -v $(NPM) >/dev/null 2>&1; then \
	  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	    echo "$(NPM) ci"; $(NPM) ci --no-audit --no-fund --loglevel=error; \
	  fi; \
	fi

test: lint node
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) _site build dist node_modules tests/browser/screenshots
