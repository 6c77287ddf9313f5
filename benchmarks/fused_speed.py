"""The fused Triton engine against the straightforward network and rdsc's current engine.

    python benchmarks/fused_speed.py [--k 100000] [--n 1024] [--plain-batch 32] [--repeats 2]
    TRITON_INTERPRET=1 python benchmarks/fused_speed.py --k 32 --n 8     # dry run on a CPU

On CIFAR-10 test images (K=5, L=1), in one run: images/s of the straightforward
network (``RandomDepthwiseSignNet.forward``, float32 NCHW, ``--plain-batch`` images a
call), of ``rdsc.features.extract(engine="chain")`` (the torch chain) and of
``rdsc.fused.counts`` (on the device alone; and with one ``.cpu()`` of the int16 counts at
the end), of ``rdsc.features.extract(engine="fused")`` (what the book runs: uint8 images
in, int16 counts in a numpy array out, copies overlapped with the kernels; CUDA only),
their ratios, the fraction of features where fused and extract
differ, the differences outside sign ties on ``--check`` images (against the CPU engine
and float64), and the fraction of the bf16 roofline reached: the exact 3-way first
layer's FLOPs x images/s over the rate of a large bf16 matmul measured in the same run.
The last line is one JSON object.
"""
import argparse
import json
import time

import numpy as np
import torch

from _common import best_time, cifar_images
from rdsc import features, fused
from rdsc.network import RandomDepthwiseSignNet


def bf16_peak(device: torch.device, repeats: int) -> float:
    """FLOP/s of a large bf16 matmul with float32 accumulation (torch.mm / cuBLAS)."""
    side = 8192 if device.type == "cuda" else 512
    a = torch.randn(side, side, device=device).to(torch.bfloat16)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    return 2 * side**3 / best_time(lambda: a @ a, max(3, repeats), sync)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--k", type=int, default=100_000)
    p.add_argument("--n", type=int, default=1024, help="images timed")
    p.add_argument("--plain-batch", type=int, default=32,
                   help="images per call of the straightforward network")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--check", type=int, default=8,
                   help="images compared with the CPU engine and float64 (ties marked)")
    p.add_argument("--skip-plain", action="store_true",
                   help="do not time the straightforward network")
    p.add_argument("--full-cifar", action="store_true",
                   help="also time fused counts (int16 to the host) of all 60,000 CIFAR-10 images")
    args = p.parse_args()
    cuda = torch.cuda.is_available() and not fused._INTERPRETED
    device = torch.device("cuda" if cuda else "cpu")
    if not fused.available(device):
        raise SystemExit("no CUDA GPU with Triton here; "
                         "for a dry run on the CPU set TRITON_INTERPRET=1")
    sync = torch.cuda.synchronize if cuda else None
    torch.manual_seed(0)
    images, source = cifar_images(args.n)
    net = RandomDepthwiseSignNet.for_dataset("cifar10", args.k)
    name = (torch.cuda.get_device_name(0) if cuda
            else f"CPU, Triton interpreter, {torch.get_num_threads()} threads")
    print(f"device {device} ({name}), {source}, K=5 L=1 k={args.k}, {args.n} images", flush=True)
    from rdsc.paths import book_commit
    # the commit, so the book can say whether the kernels changed since this check
    n, result = len(images), {"device": name, "k": args.k, "n": args.n, "source": source,
                              "commit": book_commit()}

    # the fused engine: first call compiles and autotunes
    t0 = time.perf_counter()
    fused.counts(net, images[:min(n, 64)], device)
    if sync:
        sync()
    result["fused_warmup_s"] = time.perf_counter() - t0
    print(f"fused warm-up (compile, autotune): {result['fused_warmup_s']:.1f} s", flush=True)
    x_dev = images.to(device)
    # the weights' layout and the map buffers kept between calls, as features.extract keeps
    # them for its batches (without, every call would compare the network's 51 MB of
    # weights with the layout's copy and make and zero its maps again)
    kept = {}
    t_dev = best_time(lambda: fused.counts(net, x_dev, device, reuse=kept), args.repeats, sync)
    t_fused = best_time(lambda: fused.counts(net, images, device,
                                             reuse=kept).to(torch.int16).cpu(),
                        args.repeats, sync)
    # what the book runs: features.extract, int16 rows into a numpy array on the host, the
    # device a batch ahead of the host (page-locked copies); on a GPU only
    t_pipeline = (best_time(lambda: features.extract(net, images, device=device, progress=False,
                                                     engine="fused"), args.repeats, sync)
                  if cuda else float("nan"))
    stages = {}
    got = fused.counts(net, images, device, timings=stages).cpu().numpy()
    if cuda:
        # the configuration autotuning chose, per tuning key
        result["configs"] = {label: {str(key): str(cfg) for key, cfg in kernel.cache.items()}
                             for label, kernel in (("first_layer", fused._first_layer),
                                                   ("depthwise", fused._depthwise))}
        print(f"autotuned: {result['configs']}")

    t_extract = best_time(lambda: features.extract(net, images, device=device, progress=False,
                                                   engine="chain"),
                          args.repeats, sync)
    current = np.asarray(features.extract(net, images, device=device, progress=False,
                                          engine="chain").counts)

    if not args.skip_plain:
        plain_net = net.to(device)
        x_float = images.float().div(255).to(device)
        step = args.plain_batch

        def straightforward():
            return torch.cat([plain_net(x_float[i:i + step]) for i in range(0, n, step)])
        with torch.inference_mode():
            t_plain = best_time(straightforward, max(1, args.repeats - 1), sync)
        net.cpu()
        result["plain_img_s"] = n / t_plain
    result.update(extract_img_s=n / t_extract, fused_img_s=n / t_fused,
                  fused_device_img_s=n / t_dev, fused_extract_img_s=n / t_pipeline)
    print(f"straightforward float32 NCHW (batch {args.plain_batch}): "
          f"{result.get('plain_img_s', float('nan')):10.1f} images/s")
    print(f"rdsc.features.extract, torch chain       : {result['extract_img_s']:10.1f} images/s")
    print(f"rdsc.features.extract, fused, to numpy  : "
          f"{result['fused_extract_img_s']:10.1f} images/s")
    print(f"rdsc.fused.counts, one .cpu() at the end : {result['fused_img_s']:10.1f} images/s")
    print(f"rdsc.fused.counts, on the device         : "
          f"{result['fused_device_img_s']:10.1f} images/s")
    if "plain_img_s" in result:
        result["ratio_fused_extract_plain"] = (result["fused_extract_img_s"]
                                               / result["plain_img_s"])
        result["ratio_fused_plain"] = result["fused_img_s"] / result["plain_img_s"]
        result["ratio_extract_plain"] = result["extract_img_s"] / result["plain_img_s"]
        print(f"ratio fused extract / straightforward: {result['ratio_fused_extract_plain']:.2f}x"
              f" (target >= 5x); fused, one .cpu(): {result['ratio_fused_plain']:.2f}x; "
              f"torch chain: {result['ratio_extract_plain']:.2f}x")
    result["ratio_fused_extract"] = result["fused_img_s"] / result["extract_img_s"]
    print(f"ratio fused / extract: {result['ratio_fused_extract']:.2f}x")
    total = sum(stages.values())
    result["stages_fraction"] = {s: t / total for s, t in stages.items()}
    print("fused stages: " + ", ".join(f"{s} {t / total:.0%}" for s, t in stages.items()))

    differ = got != current
    result["differ_vs_extract"] = float(differ.mean())
    print(f"features where fused and extract differ: {differ.mean():.2e} "
          f"({differ.sum()} of {differ.size})")

    # ties: fused vs the CPU engine and float64 on a few images
    c = min(args.check, n)
    cpu = features.compute(net, images[:c], device="cpu", progress=False)
    exact, uncertain = fused.exact_counts(net, images[:c], device)
    exact, sure = exact.numpy(), ~uncertain.numpy()
    result.update(check_images=c, tie_free_fraction=float(sure.mean()),
                  differ_vs_cpu=float((got[:c] != cpu).mean()),
                  differ_vs_cpu_outside_ties=int(((got[:c] != cpu) & sure).sum()),
                  differ_vs_exact_outside_ties=int(((got[:c] != exact) & sure).sum()),
                  cpu_vs_exact_outside_ties=int(((cpu != exact) & sure).sum()))
    print(f"on {c} images vs the CPU engine: {result['differ_vs_cpu']:.2e} differ; outside near "
          f"ties ({1 - sure.mean():.1%} of features pass one): fused vs CPU "
          f"{result['differ_vs_cpu_outside_ties']}, fused vs float64 "
          f"{result['differ_vs_exact_outside_ties']}, "
          f"CPU vs float64 {result['cpu_vs_exact_outside_ties']}")

    peak = bf16_peak(device, args.repeats)
    flops = fused.first_layer_flops(net, 32, 32)
    result.update(first_layer_gflop_per_image=flops / 1e9, bf16_peak_tflops=peak / 1e12,
                  roofline_fraction=flops * result["fused_device_img_s"] / peak,
                  first_layer_kernel_roofline_fraction=flops * n / stages["first layer"] / peak)
    print(f"bf16 matmul peak measured: {peak / 1e12:.1f} TFLOP/s; exact first layer "
          f"{flops / 1e9:.1f} GFLOP/image: roofline fraction {result['roofline_fraction']:.1%} "
          f"(whole engine), {result['first_layer_kernel_roofline_fraction']:.1%} "
          "(first-layer kernel)")

    if args.full_cifar:  # paper scale: features of CIFAR-10's 60,000 images
        from rdsc import data
        try:
            sets = [data.load("cifar10", split, progress=False)[0] for split in ("train", "test")]
            what = "CIFAR-10 images"
        except data.DatasetNotFoundError:  # same cost: the engine's work does not depend on pixels
            gen = torch.Generator().manual_seed(1)
            sets = [torch.randint(0, 256, (60_000, 3, 32, 32), dtype=torch.uint8, generator=gen)]
            what = "CIFAR-size random-pixel images (CIFAR-10 is not in the data root)"
        t0, done = time.perf_counter(), 0
        try:
            for x in sets:
                for lo in range(0, len(x), 4096):
                    fused.counts(net, x[lo:lo + 4096], device,
                                 reuse=kept).to(torch.int16).cpu()
                done += len(x)
            result["full_cifar_s"] = time.perf_counter() - t0
            result["full_cifar_images"] = done
            print(f"all {done} {what}, int16 counts to the host: {result['full_cifar_s']:.1f} s")
        except Exception as err:  # keep the numbers above: the JSON line still comes
            result["full_cifar_error"] = repr(err)
            print(f"--full-cifar failed: {err!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
