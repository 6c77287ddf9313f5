"""rdsc's feature engine against the straightforward network, side by side in one run.

    python benchmarks/feature_speed.py [--k 2000] [--batch 256] [--repeats 3] [--profile]

Straightforward: ``RandomDepthwiseSignNet.forward`` (float32, NCHW, layer by layer:
conv, sign, avg-pool, depthwise conv, sign, ...). rdsc: ``rdsc.features.extract``.
Prints images/s of both and their ratio, the fraction of features that differ, and
the engine's first-layer FLOP rate against this machine's float32 GEMM rate.
"""
import argparse

import numpy as np
import torch

from _common import best_time, cifar_images
from rdsc.features import _checked_signs, _chunk_sizes, _Engine, default_device, extract
from rdsc.network import RandomDepthwiseSignNet


def first_layer_signs(engine, patches, lo, hi):
    """The engine's first layer for channels lo:hi: checked float32 or the exact bf16 split."""
    if engine.w_scaled is not None:
        return _checked_signs(patches, engine.w_scaled[:, lo:hi], engine.w_exact[:, lo:hi],
                              engine.buffers)
    return (patches @ engine.w_split[:, lo:hi]).sign_()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--k", type=int, default=2000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--plain-batch", type=int, default=None,
                   help="images per call of the straightforward network (default: --batch; "
                        "lower it where its k x H x W maps do not fit)")
    p.add_argument("--device", default=None)
    p.add_argument("--profile", action="store_true", help="print where the engine's time goes")
    args = p.parse_args()
    device = torch.device(args.device) if args.device else default_device()
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    torch.manual_seed(0)
    images, source = cifar_images(args.batch)
    net = RandomDepthwiseSignNet.for_dataset("cifar10", args.k).to(device)
    hardware = (torch.cuda.get_device_name(0) if device.type == "cuda"
                else f"{torch.get_num_threads()} threads")
    print(f"device {device} ({hardware}), "
          f"{source}, K=5 L=1 k={args.k}, batch {args.batch}")

    x_float = images.float().div(255).to(device)
    step = args.plain_batch or args.batch

    def straightforward():
        return torch.cat([net(x_float[i:i + step]) for i in range(0, len(x_float), step)])
    with torch.inference_mode():
        t_plain = best_time(straightforward, args.repeats, sync)
        plain = straightforward().cpu().numpy()
    t_rdsc = best_time(lambda: extract(net, images, device=device, progress=False), args.repeats,
                       sync)
    fast = np.asarray(extract(net, images, device=device, progress=False))
    n = len(images)
    print(f"straightforward float32 NCHW : {n / t_plain:10.1f} images/s")
    print(f"rdsc.features.extract        : {n / t_rdsc:10.1f} images/s")
    print(f"speed ratio rdsc / straightforward: {t_plain / t_rdsc:.2f}x")
    differ = fast != plain
    print(f"features that differ: {differ.mean():.2e} ({differ.sum()} of {differ.size}); "
          f"largest difference {np.abs(fast - plain).max():.4f}")
    print("  (on the CPU both are float32-exact, so only sign ties at zero can differ; on CUDA the "
          "straightforward network's cuDNN convolutions are not exact: compare each with the CPU)")

    # first layer alone: patches + one GEMM per channel chunk, as the engine runs it
    engine = _Engine(net, device, "float32")
    hw = net.map_sizes(32, 32)[1]
    sub, chunk = _chunk_sizes(device, hw[0] * hw[1], None, None)

    def first_layer():
        for lo in range(0, n, sub):
            patches, _ = engine.patches(images[lo:lo + sub])
            for c0 in range(0, args.k, chunk):
                first_layer_signs(engine, patches, c0, min(c0 + chunk, args.k))
    with torch.inference_mode():
        t_first = best_time(first_layer, args.repeats, sync)
    useful = 2 * n * hw[0] * hw[1] * args.k * (3 * 25 + 1)  # the float32 network's multiply-adds
    side = 4096 if device.type == "cuda" else 2048
    a = torch.randn(side, side, device=device)
    with torch.inference_mode():
        t_mm = best_time(lambda: a @ a, args.repeats, sync)
    gemm_rate = 2 * side**3 / t_mm
    print(f"first layer: {useful / t_first / 1e9:.1f} GFLOP/s of the network's float32 work "
          f"({t_first / t_rdsc:.0%} of the engine's time); float32 GEMM (torch.mm {side}^2): "
          f"{gemm_rate / 1e9:.1f} GFLOP/s; ratio {useful / t_first / gemm_rate:.2f} "
          "(above 1: the exact bf16 split beats float32 GEMM; the checked float32 path does one "
          "GEMM plus a pass to find outputs in doubt)")

    if args.profile:
        from torch.profiler import ProfilerActivity, profile
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        with profile(activities=acts) as prof:
            extract(net, images, device=device, progress=False)
        key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
        print(prof.key_averages().table(sort_by=key, row_limit=10))


if __name__ == "__main__":
    main()
