"""Trained models kept on disk, so that a network trained once serves every chapter.

:func:`rdsc.cnn.trained` and :func:`rdsc.deepnets.trained` name a model's file by a hash
of everything that decides its weights (architecture, settings, images, labels); this
module says where that file is and reads and writes it:

* :func:`folder`: where a newly trained model is written (``<data root>/cache/models``, or
  the user's cache when the data root is read-only, or a folder given);
* :func:`load`: the first intact copy among the folders a model may already be in (a
  read-only shared data root's included: its models were trained again);
* :func:`cached_or_trained`: the one way both use them: read the model back, else train,
  time and save it;
* :func:`save`: the weights, losses, training seconds and the device they were trained
  on, with a digest of them all (a damaged file that still unpacks, which ``torch.load``
  does not notice, is then retrained rather than used). Models saved before the digest
  (2026-12-01) are read unchecked.

A model read back carries ``from_cache = True`` and ``trained_on`` (the device, where the
file says), so that a table does not present another run's training time as this one's;
:func:`provenance` says it in words.
"""
from __future__ import annotations

import hashlib
import json
import platform
import time
from pathlib import Path

from rdsc import paths
from rdsc.checks import plural, warn
from rdsc.paths import cache_dir, cache_dirs_to_read, write_atomically


def folder(cache) -> Path:
    """The folder a trained model is written to: ``cache_dir("models")`` for ``cache=True``,
    else ``cache`` itself, made if missing and checked writable before any training (a
    folder that cannot take the file would otherwise fail only once training is done)."""
    if cache is True:
        return cache_dir("models")
    where = Path(cache).expanduser()
    if not paths.is_writable(where):
        raise PermissionError(f"cannot write a model cache in {where}: pass a writable "
                              "folder, cache=True (the data root's), or cache=False")
    return where


def state_digest(state: dict) -> str:
    """sha256 of a state dict's tensors (names, dtypes, shapes and bytes, in name order)."""
    import torch
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def saved_digest(saved: dict) -> str:
    """sha256 of everything a saved model holds but its digest: the weights
    (:func:`state_digest`), the losses, the training seconds and the device."""
    rest = json.dumps({k: saved[k] for k in ("losses", "seconds", "device")}, sort_keys=True,
                      default=str)
    return hashlib.sha256((state_digest(saved["state"]) + rest).encode()).hexdigest()


#: what a file of this module holds; a file written before it (weights, losses, seconds)
#: has no digest and is read unchecked
KEYS = ("state", "losses", "seconds", "device", "digest")


def read(path: Path) -> dict | None:
    """A cached model's saved dict, or None (with a warning naming the file) when it cannot
    be read, lacks an entry, or does not match its digest (a damaged file that still
    unpacks). Files written before the digest (no ``device`` either) are read unchecked."""
    import torch
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        legacy = isinstance(saved, dict) and "device" not in saved and "digest" not in saved
        needed = KEYS[:3] if legacy else KEYS
        if not isinstance(saved, dict) or any(k not in saved for k in needed):
            raise KeyError("an entry is missing")
        if not legacy and saved["digest"] != saved_digest(saved):
            warn(f"cached model {path} does not match its digest (the file was "
                          "damaged): not used")
            return None
    except Exception as err:  # truncated, or not a torch file: every reader fails its own way
        warn(f"cached model {path} is unreadable ({type(err).__name__}): not used")
        return None
    return saved


def load(name: str, cache) -> tuple[dict | None, Path | None]:
    """``(saved, path)``: the saved dict of the cached model file ``name`` (None when there
    is no intact copy) and the path it was read from, else the path a newly trained model
    is to be written to (None for ``cache=False``). A damaged copy before an intact one is
    replaced by it where its folder can be written (else it would warn on every run)."""
    if not cache:
        return None, None
    places = cache_dirs_to_read("models") if cache is True else [Path(cache).expanduser()]
    damaged = []
    for place in places:
        path = place / name
        if path.is_file():
            saved = read(path)
            if saved is None:
                damaged.append(path)
                continue
            for bad in damaged:
                if paths.is_writable(bad.parent):
                    data = path.read_bytes()
                    write_atomically(bad, lambda f: f.write(data))
            return saved, path
    if damaged:
        warn(f"no intact copy of the cached model {name}: training it again")
    return None, folder(cache) / name


def cached_or_trained(model, name: str, cache, device, train):
    """``model`` with the weights of the cached file ``name`` where an intact copy exists
    (:func:`load`), else trained by ``train(model, device)``, which returns the losses,
    timed and saved (:func:`save`; nothing is saved for ``cache=False``). Either way it is
    returned in eval mode on ``device``, with ``losses``, ``train_seconds``,
    ``from_cache`` and ``trained_on``."""
    saved, path = load(name, cache)
    if saved is not None:
        return restore(model, saved, device)
    start = time.perf_counter()
    model.losses = train(model, device)
    model.train_seconds = time.perf_counter() - start
    model.from_cache, model.trained_on = False, device_words(device)
    if path is not None:
        save(path, model, model.losses, model.train_seconds, device)
    return model.eval()


def save(path: Path, model, losses, seconds: float, device) -> None:
    """Write ``model``'s weights (on the CPU), its losses, training seconds, the device it
    was trained on and a digest of them all to ``path``, atomically (two runs training the
    same model at once never read or leave half a file). A file that cannot be written is
    a warning: the model trained is still used."""
    import torch
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    saved = {"state": state, "losses": losses, "seconds": seconds,
             "device": device_words(device)}
    saved["digest"] = saved_digest(saved)
    try:
        write_atomically(path, lambda f: torch.save(saved, f))
    except OSError as err:  # the folder became unwritable while the model trained
        warn(f"the trained model could not be cached in {path} ({err}): it is used "
                      "but will be trained again next time")


def provenance(model) -> str:
    """Where a model of :func:`rdsc.cnn.trained` or :func:`rdsc.deepnets.trained` came
    from, for a chapter to print: "trained in this run on CPU (x86_64, 2 threads)", or
    "read from the cache, trained on ...": a model trained on another device or thread
    count has other weights (:mod:`rdsc.threads`)."""
    on = getattr(model, "trained_on", None)
    if not getattr(model, "from_cache", False):
        return f"trained in this run on {on}" if on else "trained in this run"
    return f"read from the cache, trained on {on}" if on else \
        "read from the cache, trained before its device was recorded"


def device_words(device) -> str:
    """The device a model was trained on, as a reader knows it: a GPU's name, or the CPU
    with the number of threads torch used (a float32 gradient's sums, hence the trained
    weights, depend on it: :mod:`rdsc.threads`)."""
    import torch
    device = torch.device(device) if device is not None else torch.device("cpu")
    if device.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return (f"CPU ({platform.processor() or platform.machine()}, "
                f"{plural(torch.get_num_threads(), 'thread')})")
    return device.type.upper()  # mps, xpu...


def restore(model, saved: dict, device):
    """``model`` with the weights of ``saved`` on ``device``, in eval mode, marked as read
    from the cache: ``losses``, ``train_seconds``, ``from_cache``, ``trained_on``."""
    import torch
    model.load_state_dict(saved["state"])
    model.losses, model.train_seconds = saved["losses"], saved["seconds"]
    model.from_cache, model.trained_on = True, saved.get("device")
    return model.to(torch.device(device)).eval()
