"""What a feature extraction costs: wall time and peak memory.

On the CPU, peak memory is measured in a fresh process: its peak resident set size
(Linux ``VmHWM``, reset once the imports are done) minus its size at that moment, so
memory freed by earlier work cannot hide a later peak. (``ru_maxrss`` would not do: Linux
keeps across ``exec`` the peak of the forked copy of the parent, a notebook kernel's
full size.) On CUDA it is the allocator's peak.
"""
from __future__ import annotations

import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch


def status_bytes(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status (``VmRSS``, ``VmHWM``) in bytes; None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak() -> bool:
    try:  # Linux >= 4.0: "5" resets the peak resident set size of this process
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _extract_job(net_config: dict, images: torch.Tensor, device: str):
    from rdsc.features import extract
    from rdsc.network import RandomDepthwiseSignNet
    net = RandomDepthwiseSignNet(**net_config)
    if reset_peak() and status_bytes("VmRSS") is not None:
        base, read_peak = status_bytes("VmRSS"), lambda: status_bytes("VmHWM")
    else:  # elsewhere: the process's peak as the OS reports it
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        read_peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    extract(net, images, device=device, progress=False)  # first run: peak memory
    peak = read_peak()
    start = time.perf_counter()
    extract(net, images, device=device, progress=False)  # second run: time, without one-off set-up
    seconds = time.perf_counter() - start
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
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, not a copy of this one
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        seconds, peak = pool.submit(_extract_job, net.config, images.cpu(), "cpu").result()
    return {"seconds": seconds, "peak_bytes": peak}
