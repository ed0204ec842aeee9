# Sequence Modeling: build the book, run its tests.
#
#   make book    set up (venv + pinned requirements + offline assets) and build the HTML book
#   make test    every test: seqlib, the chapters cell by cell, the strict build, the built
#                book in headless Chromium (tests/browser)
#
# With a virtual environment active, everything installs into it; otherwise into ./.venv.

SHELL := /bin/bash
ifdef VIRTUAL_ENV
  VENV := $(VIRTUAL_ENV)
else
  VENV := $(CURDIR)/.venv
endif
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jupyter-book
STAMP := $(VENV)/.seqbook-installed

# Third-party browser assets (MathJax, RequireJS, the widget manager): fetched at
# pinned versions, sha512-checked against vendor.lock.json, into _vendor/ (gitignored).
VENDOR_STAMP := _vendor/.stamp
# Touched after each successful build; if the vendored files, book_assets/ or
# _config.yml are newer, the next build runs with --all, because an incremental
# build that finds no changed page does not copy html_extra_path.
BUILT_STAMP := _build/.assets-built
BUILD = all=; \
	if [ ! -e $(BUILT_STAMP) ] || [ -n "$$(find $(VENDOR_STAMP) book_assets _config.yml -newer $(BUILT_STAMP) 2>/dev/null | head -n 1)" ]; then \
	  all=--all; echo "Offline assets or config changed: full rebuild (--all)"; fi; \
	$(JB) build $$all -W -n --keep-going . && touch $(BUILT_STAMP)

.PHONY: book book-fresh setup vendor test test-seqlib test-chapters test-build test-browser bench lock clean

book: setup
	$(BUILD)
	@echo "Open _build/html/index.html"

book-fresh: setup
	rm -rf _build .jupyter_cache
	$(BUILD)

setup: $(STAMP) vendor

vendor: $(STAMP)
	$(PY) tools/vendor.py

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

test: test-seqlib test-chapters test-build test-browser

test-seqlib: setup
	$(PY) -m pytest -W error tests --ignore=tests/browser

test-chapters: setup
	$(PY) -m pytest -W error chapters

test-build: setup
	$(BUILD)

# Headless Chromium against _build/html (run after test-build): no request leaves
# the book, no page or console error, every equation typeset, widgets respond.
test-browser: setup
	$(PY) -m pytest -W error tests/browser

bench: setup
	$(PY) bench/bench_rnn.py

lock: setup
	$(PY) -m pip freeze --exclude-editable | grep -v '^seqlib' > constraints.txt

clean:
	rm -rf _build _vendor .jupyter_cache .pytest_cache .hypothesis
