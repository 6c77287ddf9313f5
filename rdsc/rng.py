"""torch's global random generators, left as the caller had them.

Some library functions need torch's *global* generator (Foolbox's attacks draw from it;
``nn.Module`` initialisers do), so they seed it for reproducible results. Seeding it
outright would also reset the caller's own stream of random numbers, silently: a
researcher's script that trains a model, then draws a random split, would get the same
split whatever its own seed. :func:`restores_global_rng` runs such a function inside
``torch.random.fork_rng``, so its seeding stays inside it.
"""
from __future__ import annotations

import functools

import torch


def restores_global_rng(fn):
    """Decorate ``fn`` so that torch's global generators (the CPU's and the current CUDA
    device's) are the same after the call as before it, whatever ``fn`` seeds or draws."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        # the current CUDA device only, where this process already uses one: forking every
        # visible GPU's state would open a context on each (under torchrun, on all of them)
        devices = ([torch.cuda.current_device()] if torch.cuda.is_available()
                   and torch.cuda.is_initialized() else [])
        with torch.random.fork_rng(devices=devices):
            return fn(*args, **kwargs)
    return wrapper
