#!/usr/bin/env bash
# Prints the commit a record made in this folder should name (sourced by run_on_gpu.sh).
#   RDSC_COMMIT when set; else git's answer where this folder has git history (empty: the
#   book asks git itself); else the commit `make gpu-commit` wrote to .gpu/commit, with
#   +changes where a carried file differs from .gpu/manifest (a tree changed after it).
set -u -o pipefail
cd "$(dirname "$0")/.."
if [ -n "${RDSC_COMMIT:-}" ]; then echo "$RDSC_COMMIT"; exit 0; fi
if git rev-parse HEAD >/dev/null 2>&1; then exit 0; fi
if [ ! -f .gpu/commit ]; then echo unknown; exit 0; fi
commit=$(cat .gpu/commit)
# records' JSON files and logs are output, not code (rdsc.paths.book_commit's rule): a
# take-back between make gpu-commit and the call must not mark the records +changes
code_manifest() { grep -vE '  records/([^/]+/)*[^/]+\.(json|log)$' .gpu/manifest; }
if [ ! -f .gpu/manifest ] || ! code_manifest | sha256sum --check --quiet >/dev/null 2>&1; then
  {
    echo "the carried tree differs from .gpu/manifest (run make gpu-commit right before a call):"
    if [ -f .gpu/manifest ]; then
      differ=$(code_manifest | sha256sum --check --quiet 2>&1 | grep -v "WARNING: ")
      echo "$differ" | head -5
      [ "$(echo "$differ" | wc -l)" -gt 5 ] && echo "... $(echo "$differ" | wc -l) files in all"
    fi
  } >&2
  case $commit in *+changes) ;; *) commit=$commit+changes ;; esac
fi
echo "$commit"
