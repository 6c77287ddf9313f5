"""Wall time and peak memory of one call, on CPU (process RSS) or CUDA (allocator peak)."""
from __future__ import annotations

import threading
import time

import psutil
import torch


def time_and_memory(fn, device=None, interval: float = 0.005):
    """Run ``fn()``; return ``(result, seconds, peak bytes above the starting level)``.

    On CUDA the peak is the allocator's; on the CPU it is the process's resident
    set size, sampled every ``interval`` seconds in a background thread.
    """
    device = torch.device(device) if device is not None else None
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        start = time.perf_counter()
        result = fn()
        torch.cuda.synchronize(device)
        return result, time.perf_counter() - start, torch.cuda.max_memory_allocated(device) - base
    proc = psutil.Process()
    base = proc.memory_info().rss
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(interval)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start = time.perf_counter()
    try:
        result = fn()
    finally:
        seconds = time.perf_counter() - start
        stop.set()
        watcher.join()
    peak[0] = max(peak[0], proc.memory_info().rss)
    return result, seconds, peak[0] - base
