#!/usr/bin/env bash
# Puts what a device call brought back where the book reads it (then review and commit):
#
#   bash records/take_back.sh FILES_AT [PROFILE]     # PROFILE: paper (default) or smoke
#
# FILES_AT is the folder the device tool copied $OUT into. Takes the records and the full
# log of PROFILE into records/PROFILE/, and the CUDA test and benchmark logs into
# records/gpu-checks/. A chapter the machine's limit stopped mid-run left only its output
# (<chapter>.running.log, copied while it ran): that goes into the profile's log, marked,
# and the chapter keeps its earlier record.
set -u -o pipefail
cd "$(dirname "$0")/.."
from=${1:?give the folder the files of the device call lie in (files_at)}
profile=${2:-paper}
case $profile in paper|smoke) ;; *) echo "profile must be paper or smoke, got '$profile'"; exit 2 ;; esac
src=$from/records/$profile
if [ ! -d "$src" ]; then
  echo "$from holds no records/$profile: the call ended before its chapters (see $from/*.log)"
else
  mkdir -p "records/$profile"
  for f in "$src"/*.json; do [ -f "$f" ] && cp "$f" "records/$profile/" && echo "took $f"; done
  [ -f "$src/$profile.log" ] && cp "$src/$profile.log" "records/$profile/$profile.log"
  for f in "$src"/*.running.log; do
    [ -f "$f" ] || continue
    { echo; echo "===== $(basename "$f" .running.log): stopped with the machine (its output so far)";
      cat "$f"; } >> "records/$profile/$profile.log"
    echo "$(basename "$f" .running.log) was stopped mid-run: its output is in records/$profile/$profile.log"
  done
fi
mkdir -p records/gpu-checks
for f in fused_tests.log cuda_tests.log fused_speed.log float32_check.log; do
  [ -f "$from/$f" ] && cp "$from/$f" records/gpu-checks/ && echo "took $f"
done
git status --short records 2>/dev/null || true  # what to review and commit
