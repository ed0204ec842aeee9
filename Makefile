# Sequence Modeling: build the book, run its tests.
#
#   make book    set up (venv + pinned requirements + offline assets) and build the HTML book
#   make test    every test: seqlib, the chapters cell by cell, the strict build, the browser
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

.PHONY: book book-fresh setup test test-seqlib test-chapters test-build bench lock clean

book: setup
	$(JB) build -W -n --keep-going .
	@echo "Open _build/html/index.html"

book-fresh: setup
	rm -rf _build .jupyter_cache
	$(JB) build --all -W -n --keep-going .

setup: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

test: test-seqlib test-chapters test-build

test-seqlib: setup
	$(PY) -m pytest -W error tests

test-chapters: setup
	$(PY) -m pytest -W error chapters

test-build: setup
	$(JB) build -W -n --keep-going .

bench: setup
	$(PY) bench/bench_rnn.py

lock: setup
	$(PY) -m pip freeze --exclude-editable | grep -v '^seqlib' > constraints.txt

clean:
	rm -rf _build .jupyter_cache .pytest_cache .hypothesis
