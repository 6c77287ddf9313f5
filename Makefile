# The README's two commands: `make book` and `make test`. Both set everything up
# on a fresh clone that has Python 3.11 (a venv in .venv, the package, a kernel).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# the profile `make book` executes the chapters at (quick: minutes on a 2-core CPU)
PROFILE ?= quick

.PHONY: book test setup notebooks clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (rdsc)" >/dev/null
	touch $@

# Execute every chapter (cache mode: unchanged chapters are not rerun) and build the HTML.
# Each profile has its own build folder, so a smoke build never stands in for a quick one.
# Jupyter Book's cache knows the chapters' code, not rdsc's: a changed rdsc reruns every chapter.
OUTDIR := $(if $(filter quick,$(PROFILE)),.,_build/$(PROFILE))
RDSC_HASH := $(shell cat rdsc/*.py | sha256sum | cut -c1-16)
book: $(STAMP)
	@mkdir -p $(OUTDIR)/_build
	@if [ "$$(cat $(OUTDIR)/_build/.rdsc-hash 2>/dev/null)" != "$(RDSC_HASH)" ]; then \
	  rm -rf $(OUTDIR)/_build/.jupyter_cache $(OUTDIR)/_build/.doctrees; fi
	RDSC_PROFILE=$(PROFILE) $(BIN)/jupyter-book build . \
	  $(if $(filter quick,$(PROFILE)),,--path-output _build/$(PROFILE))
	@echo $(RDSC_HASH) > $(OUTDIR)/_build/.rdsc-hash

# Chapters as .ipynb (papermill and nbval need them), outputs stripped.
notebooks: $(STAMP)
	rm -rf _build/notebooks
	$(BIN)/python -m rdsc.chapters convert _build/notebooks

test: notebooks
	RDSC_PROFILE=smoke $(BIN)/python -m pytest tests _build/notebooks --nbval-lax -p no:cacheprovider -q

clean:
	rm -rf _build
