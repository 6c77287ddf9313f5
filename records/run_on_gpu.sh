#!/usr/bin/env bash
# Paper-scale runs on a GPU machine that has PyTorch but no Jupyter (the lent device).
#
#   bash records/run_on_gpu.sh [CHAPTER_PREFIX ...]      # default: 03
#
# Needs, carried beside the working tree: .whl/ (foolbox, eagerpy, gitpython, gitdb, smmap,
# tqdm wheels: `pip download --no-deps -d .whl ...`) and .gpu/cifar10.npz
# (`python -m rdsc.record pack data/cifar10 .gpu/cifar10.npz`). Writes records/paper/*.json
# (the one command: python -m rdsc.record run --profile paper) and copies logs to $OUT.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/_build/gpu}
mkdir -p "$OUT"
export PYTHONPATH=$PWD RDSC_DATA=$PWD/data PYTHONUNBUFFERED=1
python -m pip install -q --no-index --no-deps .whl/*.whl 2>&1 | tail -1
[ -d data/cifar10 ] || python -m rdsc.record unpack .gpu/cifar10.npz data
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/device.txt"

echo "== CUDA tests"
timeout 240 python -m pytest -q -p no:cacheprovider -x -k "cuda or device" \
  tests/test_attacks.py tests/test_network.py tests/test_features.py \
  $( [ -f tests/test_fused.py ] && echo tests/test_fused.py ) 2>&1 | tail -25 | tee "$OUT/cuda_tests.log"

if [ -f benchmarks/fused_speed.py ]; then
  echo "== fused engine benchmark"
  (cd benchmarks && timeout 200 python fused_speed.py --k 100000) 2>&1 | tail -30 | tee "$OUT/fused_speed.log"
fi

echo "== paper-profile records"
python -m rdsc.record run --profile paper --chapters ${@:-03} --timeout ${RECORD_TIMEOUT:-330} \
  2>&1 | tee "$OUT/records.log"
cp -r records "$OUT/"
