# The README's two commands are `make demo` and `make test`; everything else is a convenience.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# reinstalling also rebuilds the C extension (crawler/_fastwalk.c and its parts), so its sources are part of the stamp
BUILD_INPUTS := pyproject.toml setup.py crawler/_fastwalk.c $(wildcard crawler/fastwalk/*.c)
STAMP  := $(VENV)/.installed-$(shell cat $(BUILD_INPUTS) | (sha256sum 2>/dev/null || shasum -a 256) | cut -c1-12)
JOBS   ?= auto

.PHONY: demo demo-browser test venv bench bench-browser lint clean help refdata tools wheelhouse

help:
	@echo "make demo   - set up .venv and run the whole pipeline on the embedded offline demo web"
	@echo "make test   - run the test suite (parallel)"
	@echo "make bench  - run the benchmarks in bench/ (slow; prints figures against same-run baselines)"
	@echo "make demo-browser - optional browser pass over the demo web in headless Chromium (skips without chromium)"

$(STAMP): $(BUILD_INPUTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

# pinned reference data via `npm pack`; a machine without npm skips the tests that need it (CI fails them)
refdata: $(STAMP)
	-$(VENV)/bin/servicerisk refdata

# the npm checkers the tests run on the demo knowledge base (html-validate, axe-core), pinned by
# tests/tools/package-lock.json; a machine without npm skips those tests (CI fails them)
TOOLS := tests/tools/node_modules/.package-lock.json
$(TOOLS): tests/tools/package.json tests/tools/package-lock.json
	-cd tests/tools && npm ci --no-audit --no-fund --loglevel=error

tools: $(TOOLS)

# the runtime dependencies as wheels (plus the build backend), so tests/test_wheel.py can build the project's
# wheel and install it into a fresh venv offline (--no-index); refreshed when the dependencies change
WHEELHOUSE := .cache/wheelhouse/.stamp-$(shell cat pyproject.toml setup.py | (sha256sum 2>/dev/null || shasum -a 256) | cut -c1-12)
$(WHEELHOUSE): pyproject.toml setup.py
	rm -rf .cache/wheelhouse && mkdir -p .cache/wheelhouse
	$(PY) -m pip wheel --quiet . -w .cache/wheelhouse
	$(PY) -m pip download --quiet 'setuptools>=77' -d .cache/wheelhouse
	@touch $@

wheelhouse: $(STAMP) $(WHEELHOUSE)

demo: $(STAMP) refdata
	$(VENV)/bin/servicerisk demo --out out/demo

# optional: the demo web plus the browser fixture sites in headless Chromium (consent states, GPC)
demo-browser: $(STAMP) refdata
	@if command -v chromium >/dev/null 2>&1; then \
	  $(VENV)/bin/servicerisk demo --mode browser --out out/demo-browser; \
	else echo "demo-browser: skipped, chromium is not installed (apt-get install chromium)"; fi

# two phases: everything in parallel, then the tests whose page budgets are wall-clock (browser mode) alone,
# so a loaded 2-core machine cannot push a page past its budget; the load case itself is bench/browser.py's
test: $(STAMP) refdata tools wheelhouse
	$(PY) -m pytest -n $(JOBS) -q -m "not wallclock"
	$(PY) -m pytest -q -m wallclock

bench: $(STAMP)
	$(PY) bench/crawl.py
	$(PY) bench/scale.py
	$(PY) bench/observe.py
	$(PY) bench/enrich.py
	$(PY) bench/warehouse.py
	$(PY) bench/browser.py

bench-browser: $(STAMP)
	$(PY) bench/browser.py

lint: $(STAMP)
	$(PY) -m ruff check common crawler devweb pipelines tests bench

clean:
	rm -rf out .pytest_cache

# Execute every notebook in notebooks/ against a fresh demo warehouse (out/notebooks/demo); executed copies and
# HTML exports land in out/notebooks/ (git-ignored). The committed notebooks stay without outputs.
.PHONY: notebooks
notebooks: $(STAMP) refdata
	rm -rf out/notebooks
	$(VENV)/bin/servicerisk demo --out out/notebooks/demo
	@set -e; for nb in notebooks/[0-9][0-9]-*.ipynb; do \
	  name=$$(basename $$nb .ipynb); start=$$(date +%s); \
	  $(VENV)/bin/papermill --no-progress-bar --log-level WARNING --cwd . \
	    -p WAREHOUSE out/notebooks/demo/warehouse.duckdb $$nb out/notebooks/$$name.ipynb; \
	  $(VENV)/bin/jupyter nbconvert --log-level WARN --to html --output-dir out/notebooks out/notebooks/$$name.ipynb; \
	  echo "notebooks: $$name ok in $$(( $$(date +%s) - start )) s -> out/notebooks/$$name.html"; \
	done
