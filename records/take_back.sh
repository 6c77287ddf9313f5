#!/usr/bin/env bash
# Puts what a device call brought back where the book reads it (then review and commit):
#
#   bash records/take_back.sh FILES_AT [PROFILE]     # PROFILE: paper (default), smoke, quick
#
# FILES_AT is the folder the device tool copied $OUT into. `python -m rdsc.record take-back`
# does the work (rdsc.record.take_back): it takes the records of the chapters the call ran
# (named in its records.log: the call also carried, and brought back, records it did not
# touch), what the call added to the profile's log, the output of a chapter the machine
# stopped mid-run (marked, in the log; the chapter keeps its earlier record), and the CUDA
# test and benchmark logs of a GPU call into records/gpu-checks/.
set -u -o pipefail
from=${1:?give the folder the files of the device call lie in (files_at)}
profile=${2:-paper}
# the folder as given, before the cd below (a relative one was once read from the book)
case $from in /*) ;; *) from=$PWD/$from ;; esac
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then py=${PYTHON:-.venv/bin/python}; else py=${PYTHON:-python3}; fi
PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} "$py" -m rdsc.record take-back "$from" --profile "$profile" || exit
git status --short records 2>/dev/null || true  # what to review and commit
