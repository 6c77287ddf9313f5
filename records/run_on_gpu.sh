#!/usr/bin/env bash
# Paper-scale runs on a GPU machine that has PyTorch but no Jupyter (the lent device).
#
#   bash records/run_on_gpu.sh [CHAPTER_PREFIX ...]   # default: 01 02 03
#
# Where the machine has no git history (the lent device gets the working tree alone), the
# records name the commit `make gpu-commit` wrote to .gpu/commit (run it right before each
# call; `make gpu-bundle` runs it too), with +changes where a carried file differs from its
# manifest (records/device_commit.sh). With git, git decides; RDSC_COMMIT overrides both.
#
# Needs, carried beside the working tree (`make gpu-bundle` makes both): .whl/ (foolbox,
# eagerpy, gitpython, gitdb, smmap, tqdm wheels: `pip download --no-deps -d .whl ...`) and
# the datasets the chapters read, each packed into .gpu/ with `python -m rdsc.record pack
# data/<name> .gpu/<name>.npz` (CIFAR-10 is 57 MB of the 64 MiB a lent machine accepts:
# one dataset a session).
# Runs the CUDA tests, the fused-engine benchmark, then `python -m rdsc.record run --profile
# paper` on the chapters in the order given, within SCRIPT_BUDGET seconds for the whole
# script (one device call may run 600 s): a chapter is started only with 60 s or more left
# and is stopped at the deadline, keeping its earlier successful record. The default
# chapters read CIFAR-10 alone, cheapest first (the others also need miniimagenet10 or
# Corel, more than one call carries beside CIFAR-10: a session whose one call is for those
# packs them instead, `make gpu-bundle GPU_DATASETS="miniimagenet10 corel"`, 27 MB; a second
# call in the same 15 minutes is unlikely to have time left). Chapter 3's paper profile
# (five seeds at k = 100,000, a C grid, a 30-epoch MLP) likely needs more than what is left
# of one call: it comes last, and a stopped run keeps its earlier record. CHECKS=0 skips
# all but the fused-kernel tests, for a call spent on the chapters (2026-12-04: chapters 1
# and 2 took 420 s and 150 s, chapter 3 needed more than 131 s; next: CHECKS=0 ... 03).
# Logs and records are copied to $OUT as they are made (every 10 s, and a running
# chapter's output too), so a call stopped at its limit still brings back what finished.
# Set SCRIPT_BUDGET to the call's limit (status: budget_left_s, less the machine's start)
# less about 40 s.
set -u -o pipefail
cd "$(dirname "$0")/.."
commit=$(bash records/device_commit.sh)
[ -n "$commit" ] && export RDSC_COMMIT=$commit
echo "== records will name commit ${RDSC_COMMIT:-from git here, or unknown}"
OUT=${OUT:-$PWD/_build/gpu}
SCRIPT_BUDGET=${SCRIPT_BUDGET:-560}
case $SCRIPT_BUDGET in ''|*[!0-9]*) echo "SCRIPT_BUDGET must be whole seconds, got '$SCRIPT_BUDGET'"; exit 2 ;; esac
case ${#SCRIPT_BUDGET} in 1|2|3|4|5) ;; *) echo "SCRIPT_BUDGET is the seconds of one call, up to 5 digits (a lent call runs 600 s at most), got $SCRIPT_BUDGET"; exit 2 ;; esac
SCRIPT_BUDGET=$((10#$SCRIPT_BUDGET))   # 0560 was once read as octal (368 s)
PROFILE=${PROFILE:-paper}     # smoke: a dry run of this script on any machine
# checked before the tests spend the call (a typo once failed after them)
case $PROFILE in smoke|quick|paper) ;; *) echo "PROFILE must be smoke, quick or paper, got '$PROFILE'"; exit 2 ;; esac
mkdir -p "$OUT"
# GIT_PYTHON_REFRESH: foolbox imports GitPython, which refuses to import without a git program
export PYTHONPATH=$PWD RDSC_DATA=${RDSC_DATA:-$PWD/data} PYTHONUNBUFFERED=1 GIT_PYTHON_REFRESH=quiet
if [ -d .whl ]; then
  python -m pip install --no-index --no-deps .whl/*.whl > "$OUT/pip.log" 2>&1
  tail -1 "$OUT/pip.log"
fi
# every chapter needs tqdm (rdsc.progress); chapter 7 and the attack test need foolbox
if ! python -c "import tqdm" 2>> "$OUT/pip.log"; then
  echo "tqdm does not import: the wheels did not install (see pip.log); nothing can run"; exit 2
fi
python -c "import foolbox" 2>> "$OUT/pip.log" || echo "foolbox does not import (see pip.log): chapter 7 and the attack test will fail"
if [ "$PROFILE" = paper ] && ! python -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
  # the paper profile on a CPU would spend the whole call on one chapter's first minutes
  python -c "import torch; print('torch', torch.__version__, 'built for CUDA', torch.version.cuda)"
  command -v nvidia-smi >/dev/null && nvidia-smi | head -15
  echo "torch sees no GPU: paper-profile records are not made on a CPU"; exit 2
fi
for packed in .gpu/*.npz; do
  [ -f "$packed" ] || continue
  name=$(basename "$packed" .npz)
  [ -d "$RDSC_DATA/$name" ] || python -m rdsc.record unpack "$packed" "$RDSC_DATA"
done
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/device.txt"
fi

echo "== CUDA tests: the fused kernels"
timeout -k 10 150 python -m pytest -q -p no:cacheprovider -k "cuda or launches or reuse" \
  tests/test_fused.py > "$OUT/fused_tests.log" 2>&1
tested=$?
case $tested in
  0) ;;
  1) why="failed their CUDA tests" ;;
  124|137) why="did not finish their CUDA tests in 150 s" ;;
  *) why="could not be tested (pytest exit status $tested: see fused_tests.log)" ;;
esac
if [ "$tested" != 0 ]; then  # the records then say engine "chain" (rdsc.book.environment)
  echo "fused kernels $why: records use the torch chain" | tee -a "$OUT/fused_tests.log"
  export RDSC_ENGINE=chain
fi
tail -3 "$OUT/fused_tests.log"

# CHECKS=0: the call goes to the chapters (the fused kernels are tested all the same,
# above: the records must not use broken kernels)
if [ "${CHECKS:-1}" != 0 ]; then
  echo "== CUDA tests: the rest"
  timeout -k 10 150 python -m pytest -q -p no:cacheprovider -k "cuda or device" \
    tests/test_attacks.py tests/test_network.py tests/test_features.py > "$OUT/cuda_tests.log" 2>&1
  tail -3 "$OUT/cuda_tests.log"

  echo "== float32 check: how exact the layer-by-layer network's convolutions are here"
  (cd benchmarks && timeout -k 10 90 python float32_check.py --k 2048 --n 32) \
    > "$OUT/float32_check.log" 2>&1
  grep -v '^{' "$OUT/float32_check.log" | tail -5 | cut -c1-300

  echo "== fused engine benchmark"
  if python -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    (cd benchmarks && timeout -k 10 150 python fused_speed.py --k 100000 --n 1024 --plain-batch 32) \
      > "$OUT/fused_speed.log" 2>&1
    tail -16 "$OUT/fused_speed.log" | cut -c1-400
  fi
else
  echo "== CHECKS=0: no other CUDA tests, float32 check or benchmark this call"
fi

left=$((SCRIPT_BUDGET - SECONDS))
if [ "$left" -lt 60 ]; then   # a negative deadline once read as "a refused command line"
  echo "== no time left for the chapters: the checks took $SECONDS s of SCRIPT_BUDGET=$SCRIPT_BUDGET"
  exit 3
fi
echo "== $PROFILE-profile records ($left s left)"
mkdir -p "$OUT/records" "records/$PROFILE"
# copies as the chapters go: the lent machine may be stopped before this script ends
( while sleep 10; do cp -r "records/$PROFILE" "$OUT/records/" 2>/dev/null; done ) &
copier=$!
python -m rdsc.record run --profile "$PROFILE" --chapters ${@:-01 02 03} --timeout 900 \
  --deadline "$left" 2>&1 | tee -a "$OUT/records.log"
status=$?
kill "$copier" 2>/dev/null; wait "$copier" 2>/dev/null
rm -rf "$OUT/records/$PROFILE" && cp -r "records/$PROFILE" "$OUT/records/"
case $status in
  0) said="every chapter ok" ;;
  3) said="none failed; the deadline left some unrun" ;;
  1) said="a chapter failed or was stopped; one with an earlier ok record keeps it" ;;
  *) said="the runner stopped with an error (2: a refused command line); see records.log" ;;
esac
echo "== done in $SECONDS s (records: exit status $status, $said)"
exit $status
