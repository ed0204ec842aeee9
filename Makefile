# Sequence Modeling: build the book, run its tests.
#
#   make book    set up (venv + pinned requirements + offline assets) and build the HTML book
#   make test    every test: seqlib, the strict build, the chapters cell by cell (each
#                printing what the build printed), the downloadable notebooks, the PDF, the
#                built book in headless Chromium and a chapter live in JupyterLab
#                (tests/browser), the student edition
#   make lab     JupyterLab on the repository: the .md chapters open as notebooks
#   make pdf     the whole book as one PDF: _build/pdf/sequence-modeling.pdf
#   make book-student  the student edition: exercises without solutions, _build/student/_build/html
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
# Touched after each successful build; if the vendored files, book_assets/, _ext/
# or _config.yml are newer, the next build runs with --all, because an
# incremental build that finds no changed page does not copy html_extra_path.
BUILT_STAMP := _build/.assets-built
# The execution cache (.jupyter_cache) keys on a notebook's text only: after a
# change to seqlib (or to the pinned packages) it would serve the chapters'
# old outputs.  EXEC_STAMP records a hash of everything else the outputs
# depend on (every file under seqlib/, the committed benchmark runs in bench/
# that the appendix reads, the committed multi-seed sweep results in
# sweeps/results/ that chapters read, pyproject.toml, requirements.txt,
# constraints.txt, and the kernels' IPython config tools/ipython_kernel_config.py)
# as of the last successful build; when the hash differs,
# the cache is cleared and every chapter is executed again (--all).
EXEC_STAMP := _build/.exec-inputs
EXEC_INPUTS_HASH = { find seqlib -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; \
	sha256sum bench/results*.json sweeps/results/*.json pyproject.toml requirements.txt constraints.txt tools/ipython_kernel_config.py; } | sha256sum | cut -d' ' -f1
BUILD = all=; inputs=$$($(EXEC_INPUTS_HASH)); \
	if [ "$$(cat $(EXEC_STAMP) 2>/dev/null)" != "$$inputs" ]; then \
	  all=--all; rm -rf .jupyter_cache; \
	  echo "seqlib/, bench/results*.json, sweeps/results/*.json or the pinned packages changed since the last build (or no build yet): cleared .jupyter_cache, executing every chapter (--all)"; fi; \
	if [ ! -e $(BUILT_STAMP) ] || [ -n "$$(find $(VENDOR_STAMP) book_assets _ext _config.yml -newer $(BUILT_STAMP) 2>/dev/null | head -n 1)" ]; then \
	  all=--all; echo "Offline assets, _ext/ or config changed: full rebuild (--all)"; fi; \
	$(JB) build $$all -W -n --keep-going . && touch $(BUILT_STAMP) && echo "$$inputs" > $(EXEC_STAMP)

.PHONY: book book-student test-student book-fresh setup vendor browser pdf lab test test-seqlib test-chapters test-build test-standalone test-pdf test-browser test-lab bench lock clean

book: setup
	$(BUILD)
	@echo "Open _build/html/index.html"

book-fresh: setup
	rm -rf _build .jupyter_cache
	$(BUILD)

# The book without the solutions of its exercises (sphinx-exercise hide_solutions), for a
# course to hand out; reuses the execution cache of `make book`.  See tools/student_edition.py.
book-student: setup
	$(PY) tools/student_edition.py
	@echo "Open _build/student/_build/html/index.html"

# Builds the student edition, then: no solution text anywhere in it, every exercise still there.
test-student: book-student
	$(PY) -m pytest -W error tests/student

setup: $(STAMP) vendor $(VENV)/etc/ipython/ipython_kernel_config.py

# The kernels' IPython config (matplotlib figures as 2x PNGs): see the file.
$(VENV)/etc/ipython/ipython_kernel_config.py: tools/ipython_kernel_config.py $(STAMP)
	install -D -m 644 $< $@

vendor: $(STAMP)
	$(PY) tools/vendor.py

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

# JupyterLab, the chapters opening as notebooks (jupytext), widgets live in the
# kernel: see tools/lab.py.  Extra options: make lab LAB_ARGS="--port 8899 --no-browser"
lab: setup
	$(PY) tools/lab.py $(LAB_ARGS)

test: test-seqlib test-build test-chapters test-standalone test-pdf test-browser test-student

test-seqlib: setup
	$(PY) -m pytest -W error --doctest-modules seqlib tests --ignore=tests/browser --ignore=tests/pdf --ignore=tests/standalone --ignore=tests/student

# Every chapter's cells in a real kernel (run after test-build): no error, nothing on
# stderr, and each cell prints what the build printed (--compare-build: this is the
# chapter's second execution).  Two chapters at a time, each in its own kernel.
test-chapters: setup
	$(PY) -m pytest -W error -n 2 --dist loadfile --compare-build chapters

test-build: setup
	$(BUILD)

# Headless Chromium against _build/html (run after test-build): no request leaves
# the book, no page or console error, every equation typeset, widgets respond,
# every chapter offers its executed .ipynb; and a chapter run live in JupyterLab
# (tests/browser/test_lab.py, needs no build).
test-browser: setup browser
	$(PY) -m pytest -W error tests/browser

# The Chromium that the browser tests and the PDF drive: $$CHROMIUM, a system
# Chromium, Playwright's own; else installed (playwright install, else apt-get
# as root); else one message saying what to run.  See tools/chromium.py.
browser: setup
	$(PY) tools/chromium.py

# The downloaded chapter notebooks run on their own (run after test-build): every
# chapter's .ipynb converted to plain Jupyter, and every one executed in a fresh venv
# that had only ipykernel until a notebook's install cell brought the rest (pip
# reaches PyPI), each output compared with the build's.  Two notebooks at a time.
test-standalone: setup
	$(PY) -m pytest -W error -n 2 tests/standalone

# The whole book as one PDF: a single-page build (executed from the same cache
# as the HTML book) printed by headless Chromium after MathJax has typeset it
# (tools/pdf.py; print styles in book_assets/assets/print.css).  Also copied to
# _build/html/sequence-modeling.pdf, which the intro links.
pdf: setup browser
	$(JB) build --builder singlehtml -W -n --keep-going .
	$(PY) tools/pdf.py

# The PDF's text (chapter titles, equation numbers, figure captions) and a few
# pages rendered to _build/pdf/pages/*.png (run after test-build: cached outputs).
test-pdf: pdf
	$(PY) -m pytest -W error tests/pdf

# Only the JupyterLab test (about 20 s).
test-lab: setup
	$(PY) -m pytest -W error tests/browser/test_lab.py

# Timings only, never asserts.  OpenBLAS's own kernel choice: the two
# workaround variables some machines set (slower kernels) are unset here only.
bench: setup
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) bench/bench_rnn.py $(BENCH_ARGS)
	$(PY) bench/bench_widgets.py

lock: setup
	{ head -n 2 constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^seqlib'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf _build _vendor .jupyter_cache .pytest_cache .hypothesis
