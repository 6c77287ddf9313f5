"""Shared fixtures. Real-data tests skip when the shared datasets are absent, except
where ``RDSC_REQUIRE_REAL_DATA=1`` (set by .ci/run) or on a CI runner (``CI=true``, unless
``RDSC_REQUIRE_REAL_DATA=0``): there their absence fails."""
import os
from pathlib import Path

import pytest

from rdsc.paths import data_root

REAL_DATASETS = {"cifar10": ("train", "test"), "miniimagenet10": ("train", "test"),
                 "corel": ("database", "queries"), "cifar10-lossless-subset": ("train", "test")}


def real_data_missing(name: str) -> str | None:
    """Why ``name`` cannot be used from the data root, or None when it is there."""
    root = data_root()
    missing = [s for s in REAL_DATASETS[name] if not (root / name / s).is_dir()]
    if missing:
        return (f"real dataset {name!r} is not in {root} (missing {missing}); run "
                f"`python -m rdsc.prepare {name}` (it extracts ../shared/data/{name}.tar or "
                f"$RDSC_SHARED_DATA/{name}.tar), or set RDSC_DATA")
    return None


def real_data_required() -> str | None:
    """Why a missing real dataset must fail here, or None where it may skip: CI runs every
    real-data test (a runner that calls `make test` directly with CI=true as well)."""
    flag = os.environ.get("RDSC_REQUIRE_REAL_DATA")
    if flag == "1":
        return "RDSC_REQUIRE_REAL_DATA=1"
    if flag != "0" and os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        return "CI is set"
    return None


def require_real_data(*names: str) -> None:
    for name in names:
        reason = real_data_missing(name)
        if reason:
            required = real_data_required()
            if required:
                pytest.fail(f"{required} but {reason}")
            pytest.skip(reason)


@pytest.fixture
def small_named_datasets(monkeypatch):
    """Let tests build tiny stand-ins under the named datasets' folders: their size checks
    (the classes and images of the complete dataset) are off within the test."""
    import dataclasses
    from rdsc import data
    for name, spec in data.DATASETS.items():
        monkeypatch.setitem(data.DATASETS, name, dataclasses.replace(spec, sizes=None))


@pytest.fixture
def results_dir(tmp_path, monkeypatch) -> Path:
    """Results of the run under test go to a temporary folder, not data/results."""
    folder = tmp_path / "results"
    monkeypatch.setenv("RDSC_RESULTS", str(folder))
    return folder


def pytest_collection_modifyitems(config, items):
    """Executed chapter notebooks (nbval) need CIFAR-10 and miniimagenet10."""
    reason = real_data_missing("cifar10") or real_data_missing("miniimagenet10")
    if not reason:
        return
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            if real_data_required():
                raise pytest.UsageError(f"{real_data_required()} but {reason}")
            item.add_marker(pytest.mark.skip(reason=reason))


def kill_extraction_after(monkeypatch, n_batches: int, clock_module) -> list:
    """Make ``rdsc.features.compute`` raise KeyboardInterrupt (a killed run) after
    ``n_batches`` batches, and ``clock_module.time.monotonic`` advance 10 s a batch, so that
    progress is saved after every batch. Returns the list of (lo, hi) batches done."""
    from rdsc import features
    real_compute, batches = features.compute, []

    def dies(net, images, out, *, start=0, on_batch=None, **kw):
        def counting(lo, hi, rows):
            if len(batches) == n_batches:
                raise KeyboardInterrupt("killed")
            batches.append((lo, hi))
            on_batch(lo, hi, rows)
        return real_compute(net, images, out, start=start, on_batch=counting, **kw)
    monkeypatch.setattr(features, "compute", dies)
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: 1e9 + len(batches) * 10)
    return batches

