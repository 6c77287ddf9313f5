#!/usr/bin/env bash
# Paper-scale runs on a GPU machine that has PyTorch but no Jupyter (the lent device).
#
#   RDSC_COMMIT=<sha> bash records/run_on_gpu.sh [CHAPTER_PREFIX ...]     # default: 03
#
# Needs, carried beside the working tree: .whl/ (foolbox, eagerpy, gitpython, gitdb, smmap,
# tqdm wheels: `pip download --no-deps -d .whl ...`), .gpu/cifar10.npz
# (`python -m rdsc.record pack data/cifar10 .gpu/cifar10.npz`) and, for chapter 3's JPEG
# section, .gpu/cifar10-lossless-subset.npz (packed the same way). Runs the CUDA tests, the
# fused-engine benchmark, then `python -m rdsc.record run --profile paper` chapter by
# chapter (records/paper/*.json); logs and records are copied to $OUT as they are made.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/_build/gpu}
mkdir -p "$OUT"
export PYTHONPATH=$PWD RDSC_DATA=$PWD/data PYTHONUNBUFFERED=1
python -m pip install -q --no-index --no-deps .whl/*.whl 2>&1 | tail -1
[ -d data/cifar10 ] || python -m rdsc.record unpack .gpu/cifar10.npz data
[ -d data/cifar10-lossless-subset ] || [ ! -f .gpu/cifar10-lossless-subset.npz ] ||
  python -m rdsc.record unpack .gpu/cifar10-lossless-subset.npz data
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/device.txt"

echo "== CUDA tests: the fused kernels"
if ! timeout 150 python -m pytest -q -p no:cacheprovider -k "cuda or launches" tests/test_fused.py \
     > "$OUT/fused_tests.log" 2>&1; then
  echo "fused kernels failed their CUDA tests: records use the torch chain" | tee -a "$OUT/fused_tests.log"
  export RDSC_ENGINE=chain
fi
tail -5 "$OUT/fused_tests.log"

echo "== CUDA tests: the rest"
timeout 150 python -m pytest -q -p no:cacheprovider -k "cuda or device" \
  tests/test_attacks.py tests/test_network.py tests/test_features.py > "$OUT/cuda_tests.log" 2>&1
tail -5 "$OUT/cuda_tests.log"

echo "== fused engine benchmark"
(cd benchmarks && timeout 150 python fused_speed.py --k 100000 --n 1024 --plain-batch 32) \
  > "$OUT/fused_speed.log" 2>&1
tail -25 "$OUT/fused_speed.log"

echo "== paper-profile records"
for chapter in ${@:-03}; do
  python -m rdsc.record run --profile paper --chapters "$chapter" --timeout ${RECORD_TIMEOUT:-900} \
    2>&1 | tee -a "$OUT/records.log"
  mkdir -p "$OUT/records" && cp -r records/paper "$OUT/records/"
done
