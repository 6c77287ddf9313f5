"""Chapter 8's results files: one per dataset and ``corel-<profile>.json`` (which feeds the
headline and the paper-profile record), written as one run (:func:`save_run`).

Every file of a run holds the same settings and the same ``run`` stamp. The files are named
by dataset and profile only, so a run on fewer datasets leaves an earlier run's file of the
other dataset beside its own; it is kept (it may be a user's result), and
:func:`save_run` names it as not this run's.
"""
from __future__ import annotations

import secrets
import time
from pathlib import Path

CHAPTER = "08_background"

#: the settings every file of a run stores (the corel file lacked fraction, hue_degrees,
#: datasets and settings: a run at another fraction could not be told from the default)
SHARED = ("profile", "settings", "datasets", "seeds", "fraction", "hue_degrees", "C",
          "device")


def run_stamp() -> str:
    """The run's stamp, the same in all its files: the time (UTC, so that a GPU's and a
    laptop's stamps compare), and a random suffix that tells apart two runs started in
    the same second."""
    return f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}-{secrets.token_hex(3)}"


def save_run(shared: dict, per_dataset: dict[str, dict], corel: dict,
             known_datasets=("cifar10", "miniimagenet10")) -> tuple[Path, list[str]]:
    """Write ``<dataset>-<profile>.json`` for each of ``per_dataset`` and
    ``corel-<profile>.json`` (:func:`rdsc.book.save_results`), each with ``shared`` (every
    key of :data:`SHARED`) and one ``run`` stamp (:func:`run_stamp`).

    Returns the corel file's path and a note for each file of ``known_datasets`` this run
    did not write that an earlier run left in the folder (it is kept, not deleted).
    """
    from rdsc import book, strict_json
    missing = [key for key in SHARED if key not in shared]
    if missing:
        raise ValueError(f"shared must hold {list(SHARED)}; missing {missing}")
    if list(per_dataset) != list(shared["datasets"]):
        raise ValueError(f"per_dataset holds {list(per_dataset)}, the run's datasets are "
                         f"{list(shared['datasets'])}")
    profile = shared["profile"]
    stamp = {**shared, "run": run_stamp()}
    for dataset, results in per_dataset.items():
        book.save_results(CHAPTER, f"{dataset}-{profile}",
                          {"dataset": dataset, **stamp, **results})
    path = book.save_results(CHAPTER, f"corel-{profile}",
                             {"dataset": "corel", **stamp, **corel})
    notes = []
    for dataset in known_datasets:
        other = path.parent / f"{dataset}-{profile}.json"
        if dataset in per_dataset or not other.exists():
            continue
        try:
            old = strict_json.read(other)
            when = (f"run {old['run']}" if "run" in old else
                    f"saved {old.get('saved', 'at an unknown time')}, without a run stamp")
            settings = "".join(f", {key} {old[key]}" for key in ("seeds", "fraction")
                               if key in old)
        except (OSError, ValueError, TypeError, AttributeError) as err:
            when, settings = f"unreadable: {type(err).__name__}", ""
        notes.append(f"{other.name} beside it is from an earlier run ({when}{settings}), "
                     f"not this one ({stamp['run']}, datasets {', '.join(per_dataset)}); "
                     "kept")
    return path, notes
