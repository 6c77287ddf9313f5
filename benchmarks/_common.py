"""Helpers shared by the benchmarks: images to run on, timing."""
import time

import torch


def cifar_images(n: int, split: str = "test") -> tuple[torch.Tensor, str]:
    """``n`` CIFAR-10 images (a class-balanced draw) if the data is there, else random pixels."""
    from rdsc import data
    try:
        images, labels, _ = data.load("cifar10", split, progress=False)
        return images[data.subset(labels, n)], "CIFAR-10 " + split
    except data.DatasetNotFoundError:
        gen = torch.Generator().manual_seed(0)
        return (torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen),
                "random pixels")


def best_time(fn, repeats: int, sync=None) -> float:
    """Smallest wall time of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        if sync:
            sync()
        start = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - start)
    return min(times)
