"""torch's CPU thread count, held fixed where a number must not depend on it.

torch splits a float32 reduction (a matrix product, a convolution's gradient) between its
CPU threads, and each split sums in its own order: the same computation on 1 and on 2
threads differs in its last bits. Where an iterative fit carries those bits on (a solver
that stops at a tolerance, a network trained for many steps), a number a reader sees
changes with the machine's core count (e.g. chapter 5's Newton steps, 25 on two
threads and 29 on one). :func:`fixed_threads` runs such a block on a set count, so the
same machine gives the same number whatever ``OMP_NUM_THREADS`` says. (Another kind of
CPU may still choose other kernels, and sum in another order again.)
"""
from __future__ import annotations

import contextlib

import torch

from rdsc.checks import whole_number


@contextlib.contextmanager
def fixed_threads(n: int = 1, device=None):
    """Run the block with torch on ``n`` CPU threads, and give the caller's count back
    after it (also when it raises). ``device``: where the block computes, as the rest of
    rdsc reads it (``None``/``"auto"``: CUDA when present, else the CPU); on a GPU the
    CPU's threads decide nothing, and the count is left alone."""
    from rdsc.features import as_device
    whole_number("n", n, at_least=1)
    on_cpu = as_device(device).type == "cpu"
    threads = torch.get_num_threads()
    if on_cpu:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        if on_cpu:
            torch.set_num_threads(threads)
