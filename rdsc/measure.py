"""What a feature extraction costs: wall time and peak memory.

On the CPU, peak memory is measured in a fresh process (``ru_maxrss`` after the
imports are subtracted), so memory freed by earlier work in this process cannot hide
a later peak. On CUDA it is the allocator's peak.
"""
from __future__ import annotations

import multiprocessing
import resource
import time

import torch


def _extract_job(net_config: dict, images: torch.Tensor, device: str):
    from rdsc.features import extract
    from rdsc.network import RandomDepthwiseSignNet
    net = RandomDepthwiseSignNet(**net_config)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # after imports and weights
    extract(net, images, device=device, progress=False)  # first run: peak memory
    start = time.perf_counter()
    extract(net, images, device=device, progress=False)  # second run: time, without one-off set-up
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return seconds, max(0, peak - base)


def extraction_cost(net, images: torch.Tensor, device=None) -> dict:
    """``{"seconds", "peak_bytes"}`` of ``rdsc.features.extract(net, images)``."""
    from rdsc.features import default_device, extract
    device = torch.device(device) if device is not None else default_device()
    if device.type == "cuda":
        extract(net, images, device=device, progress=False)  # one-off set-up outside the timing
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        start = time.perf_counter()
        extract(net, images, device=device, progress=False)
        torch.cuda.synchronize(device)
        return {"seconds": time.perf_counter() - start,
                "peak_bytes": torch.cuda.max_memory_allocated(device) - base}
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        seconds, peak = pool.apply(_extract_job, (net.config, images.cpu(), "cpu"))
    return {"seconds": seconds, "peak_bytes": peak}
