# The README's two commands: `make book` and `make test`. Both set everything up
# on a fresh clone that has Python 3.11 (a venv in .venv, the package, a kernel).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# the profile `make book` executes the chapters at (quick: minutes on a 2-core CPU)
PROFILE ?= quick

.PHONY: book test setup data notebooks clean gpu-bundle gpu-commit benchmarks

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (rdsc)" >/dev/null
	touch $@

# The datasets: present, or extracted from ../shared/data ($RDSC_SHARED_DATA), or downloaded;
# else one line says which is missing and how to get it. `make test` goes on without them
# (the real-data tests skip) unless RDSC_REQUIRE_REAL_DATA=1 or CI=true.
data: $(STAMP)
	$(BIN)/python -m rdsc.prepare

# MathJax, served from the book's _static/ so formulas render offline: a pinned npm tarball,
# sha256-checked, unpacked into the git-ignored _vendor/mathjax/ (stdlib only: no venv needed).
MATHJAX := _vendor/mathjax/tex-mml-chtml.js
$(MATHJAX): tools/fetch_mathjax.py
	$(PYTHON) tools/fetch_mathjax.py
	@touch $@

# Execute every chapter (cache mode: unchanged chapters are not rerun) and build the HTML.
# Each profile has its own build folder, so a smoke build never stands in for a quick one.
# Jupyter Book's cache knows the chapters' code cells alone: when anything else the pages
# depend on changed (rdsc, the records, the datasets, the packages, RDSC_* settings:
# `python -m rdsc.build_inputs`), every chapter runs again.
OUTDIR := $(if $(filter quick,$(PROFILE)),.,_build/$(PROFILE))
# this checkout's rdsc first: a venv shared by two checkouts imports the editable install's
CHECKOUT_PATH := PYTHONPATH=$(CURDIR)$${PYTHONPATH:+:$$PYTHONPATH}
INPUTS := $(OUTDIR)/_build/.build-inputs
book: data $(MATHJAX)
	@mkdir -p $(OUTDIR)/_build
	@now=$$(RDSC_PROFILE=$(PROFILE) $(CHECKOUT_PATH) $(BIN)/python -m rdsc.build_inputs) && \
	  if [ "$$(cat $(INPUTS) 2>/dev/null)" != "$$now" ]; then \
	    rm -rf $(OUTDIR)/_build/.jupyter_cache $(OUTDIR)/_build/.doctrees; fi && \
	  echo "$$now" > $(INPUTS).next
	RDSC_PROFILE=$(PROFILE) $(CHECKOUT_PATH) $(BIN)/jupyter-book build . \
	  $(if $(filter quick,$(PROFILE)),,--path-output _build/$(PROFILE))
	@mv $(INPUTS).next $(INPUTS)

# Chapters as .ipynb (papermill and nbval need them), outputs stripped.
notebooks: $(STAMP)
	rm -rf _build/notebooks
	$(BIN)/python -m rdsc.chapters convert _build/notebooks

# Lint (ruff: pyproject.toml; the chapters as notebooks, which are git-ignored, so ruff must
# be told not to skip them), unit tests and every chapter under
# papermill (smoke); then nbval executes the executed
# chapters again and compares the outputs of their cells tagged `nbval-check-output`.
test: $(STAMP)
	rm -rf _build/lint && $(BIN)/python -m rdsc.chapters convert _build/lint >/dev/null
	$(BIN)/ruff check rdsc tests benchmarks tools
	$(BIN)/ruff check --no-respect-gitignore _build/lint
	$(BIN)/python -m rdsc.prepare $(if $(filter 1,$(RDSC_REQUIRE_REAL_DATA)),,--optional)
	rm -rf _build/executed
	RDSC_PROFILE=smoke $(CHECKOUT_PATH) $(BIN)/python -m pytest tests -p no:cacheprovider -q
	@if ls _build/executed/*.ipynb >/dev/null 2>&1; then \
	  RDSC_PROFILE=smoke $(CHECKOUT_PATH) $(BIN)/python -m pytest _build/executed --nbval-lax -p no:cacheprovider -q; \
	else echo "nbval: no executed chapters (their real data is missing), nothing to compare"; fi

clean:
	rm -rf _build

# What records/run_on_gpu.sh needs on a lent GPU machine that has PyTorch but neither the
# chapters' other packages nor the data: the wheels the device lacks (the versions of this
# venv, no dependencies) in .whl/, and the datasets of GPU_DATASETS packed into .gpu/
# (CIFAR-10 alone is 57 MB of the 64 MiB a device call carries). Both are git-ignored; name
# them in the call's `carry`. The device's Python is not this one (3.12 and torch 2.11 in
# the record of 2026-11-28), so every wheel must be pure Python (py3-none-any). foolbox
# needs requests (and its pure dependencies: a device image was found without them).
GPU_WHEELS := foolbox eagerpy gitpython gitdb smmap tqdm requests urllib3 idna certifi
# the datasets packed (CIFAR-10 for chapters 1-3; e.g. "miniimagenet10 corel" for others)
GPU_DATASETS ?= cifar10
gpu-bundle: data
	rm -rf .whl && $(BIN)/python -m pip download -q --no-deps -d .whl $$($(BIN)/python -c \
	  'import sys; from importlib.metadata import version; print(*(f"{p}=={version(p)}" for p in sys.argv[1:]))' \
	  $(GPU_WHEELS))
	@test $$(ls .whl/*.whl | wc -l) -eq $(words $(GPU_WHEELS)) || { echo "gpu-bundle: expected $(words $(GPU_WHEELS)) wheels in .whl/"; exit 1; }
	@! ls .whl/*.whl | grep -v -- '-none-any\.whl$$' || { echo "gpu-bundle: the wheels above are not pure Python: the device's Python may not take them"; exit 1; }
	rm -rf .gpu && mkdir -p .gpu
	for d in $(GPU_DATASETS); do $(BIN)/python -m rdsc.record pack \
	  "$$($(BIN)/python -c 'import sys; from rdsc.paths import data_root; print(data_root() / sys.argv[1])' $$d)" .gpu/$$d.npz || exit 1; done
	@du -sh .whl .gpu
	@test $$(du -sm .whl .gpu | awk '{s += $$1} END {print s}') -le 62 || { echo "gpu-bundle: over the 64 MiB a device call carries (with the working tree): pack fewer datasets"; exit 1; }
	$(MAKE) --no-print-directory gpu-commit

# Right before every device call (the bundle is made once): the commit its records will
# name, and a sha256 manifest of the files the call carries (tracked and untracked, not
# ignored), so records/run_on_gpu.sh can tell a tree changed since (it adds +changes)
gpu-commit: $(STAMP)
	@mkdir -p .gpu
	@$(BIN)/python -c 'from rdsc.paths import book_commit; print(book_commit())' > .gpu/commit
	@git ls-files -co --exclude-standard -z | xargs -0 sha256sum > .gpu/manifest
	@echo "gpu-commit: records will name $$(cat .gpu/commit) ($$(wc -l < .gpu/manifest) files in the manifest)"

# The CPU benchmarks whose numbers the README quotes, rerun: each log (records/benchmarks/,
# committed) starts with the commit, date and machine that made it. Ratios are measured side
# by side in one run, so a busy machine shifts both sides.
BENCHMARKS ?= feature_speed margin_speed margin_solver process_speed svm_memory streaming_memory
benchmarks: data
	mkdir -p records/benchmarks
	for b in $(BENCHMARKS); do \
	  { echo "# benchmarks/$$b.py at $$(git rev-parse --short HEAD)$$(git diff --quiet HEAD -- rdsc benchmarks || echo +changes), $$(date -u '+%F %H:%M') UTC, $$(nproc) CPUs ($$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))"; \
	    (cd benchmarks && ../$(BIN)/python $$b.py) 2>&1; } > records/benchmarks/$$b.log || exit 1; \
	  cat records/benchmarks/$$b.log; \
	done
