"""How exact is the float32 layer-by-layer network on this device? A diagnosis, not a timing.

    python benchmarks/float32_check.py [--k 2048] [--n 32]

On an H200 (2026-12-04) chapter 2's float32 layer-by-layer network differed from the
float64 network in 3e-01 of its features at k = 100,000, the engine in 21 of 6.4 million,
although ``rdsc.network.exact_float32`` asks PyTorch for IEEE float32 convolutions. This
script finds which convolution strays, and under which settings: the first layer's
pre-activations of ``--n`` CIFAR-10 test images (random pixels without the data), computed
in float32 on the device under each setting below, against float64. For each it prints
the largest error relative to the pre-activations' scale (IEEE float32 gives about 1e-7,
TF32's 10-bit rounding about 1e-3), the share of signs that differ from float64's, and
the share of the whole network's features that differ.

Settings: PyTorch's defaults; ``exact_float32``; ``exact_float32`` with cuDNN turned off
(PyTorch's own convolution); and the legacy flag ``torch.backends.cudnn.allow_tf32 =
False`` alone. The last line is one JSON object.
"""
import argparse
import contextlib
import json

import torch
import torch.nn.functional as F

from _common import cifar_images
from rdsc.network import RandomDepthwiseSignNet, exact_float32


@contextlib.contextmanager
def legacy_no_tf32():
    """``torch.backends.cudnn.allow_tf32 = False``, the flag before PyTorch 2.9's API."""
    saved = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = saved


@contextlib.contextmanager
def no_cudnn():
    # not torch.backends.cudnn.flags(enabled=False): it reads the legacy allow_tf32, which
    # raises once exact_float32 has set the new API's conv flag alone
    saved = torch.backends.cudnn.enabled
    torch.backends.cudnn.enabled = False
    try:
        with exact_float32():
            yield
    finally:
        torch.backends.cudnn.enabled = saved


SETTINGS = {"defaults": contextlib.nullcontext, "exact_float32": exact_float32,
            "exact_float32, cuDNN off": no_cudnn, "legacy allow_tf32 = False": legacy_no_tf32}


def flags() -> dict:
    """The precision flags as PyTorch reports them now (a read may raise: say so)."""
    cudnn, found = torch.backends.cudnn, {}
    for name, read in {"cudnn.conv.fp32_precision": lambda: cudnn.conv.fp32_precision,
                       "cudnn.fp32_precision": lambda: cudnn.fp32_precision,
                       "cudnn.allow_tf32": lambda: cudnn.allow_tf32,
                       "cudnn.enabled": lambda: cudnn.enabled}.items():
        try:
            found[name] = read()
        except Exception as err:  # noqa: BLE001 - a mixed-API read raises RuntimeError
            found[name] = f"unreadable: {type(err).__name__}"
    return found


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--k", type=int, default=2048, help="random features")
    p.add_argument("--n", type=int, default=32, help="images")
    args = p.parse_args()
    if args.k < 1 or args.n < 1:
        p.error(f"--k and --n must be 1 or more, got {args.k} and {args.n}")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    images, source = cifar_images(args.n)
    args.n = len(images)   # fewer than asked where the test set is smaller
    net = RandomDepthwiseSignNet.for_dataset("cifar10", args.k, seed=2018)
    x64 = images.double() / 255
    with torch.inference_mode():
        exact = F.conv2d(x64, net.conv_weight.double(), net.conv_bias.double(),
                         padding=net.first_padding)
        features64 = net.double()(x64)
        net.float()
        scale = exact.abs().max().item()
        x32, w32, b32 = (t.float().to(device) for t in (x64, net.conv_weight, net.conv_bias))
        net32 = net.to(device)
        print(f"device {device}"
              + (f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else "")
              + f", torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, "
              f"{source}, k = {args.k}, {args.n} images")
        rows = {}
        for name, setting in SETTINGS.items():
            try:
                with setting():
                    read = flags()
                    z = F.conv2d(x32, w32, b32, padding=net.first_padding).double().cpu()
                    feats = net32(x32).double().cpu()
            except Exception as err:  # noqa: BLE001 - a setting this torch refuses
                rows[name] = {"error": f"{type(err).__name__}: {err}"[:300]}
                print(f"{name:28s}: refused ({rows[name]['error']})")
                continue
            rows[name] = {
                "relative_error": (z - exact).abs().max().item() / scale,
                "signs_differ": ((z > 0) != (exact > 0)).double().mean().item(),
                "features_differ": (feats != features64.float().double()).double()
                .mean().item(), "flags": read}
            r = rows[name]
            print(f"{name:28s}: first layer, largest error {r['relative_error']:.1e} of "
                  f"its scale, signs differ {r['signs_differ']:.1e}; features differ "
                  f"{r['features_differ']:.1e}; flags {read}")
    print(json.dumps({"device": torch.cuda.get_device_name(0) if device.type == "cuda"
                      else "cpu", "torch": torch.__version__,
                      "cudnn": torch.backends.cudnn.version(), "k": args.k, "n": args.n,
                      "source": source, "settings": rows}))


if __name__ == "__main__":
    main()
