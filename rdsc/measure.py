"""What a feature extraction costs: wall time, peak memory and the size of its output.

Time is the fastest of ``repeats`` timed runs after a first, untimed one (set-up such as
thread pools and allocations happens once; other processes on the machine only ever
slow a run down, so the minimum is the least noisy estimate of the extraction's cost).

Also the readings chapter 2 makes of these costs (:func:`growth_reading`,
:func:`memory_reading`, with :func:`growth_exponent`) and of features computed on a GPU
against the CPU engine's (:func:`device_agreement`).

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

import numpy as np
import torch

from rdsc.checks import whole_number


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
    """Reset this process's peak resident set size; False where the OS does not allow it."""
    try:  # Linux >= 4.0: "5" resets the peak resident set size of this process
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _extract_job(net_config: dict, images: torch.Tensor, device: str, repeats: int = 1):
    from rdsc.features import extract
    from rdsc.network import RandomDepthwiseSignNet
    net = RandomDepthwiseSignNet(**net_config)
    if reset_peak() and status_bytes("VmRSS") is not None:
        base, read_peak = status_bytes("VmRSS"), lambda: status_bytes("VmHWM")
    else:  # elsewhere: the process's peak as the OS reports it
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

        def read_peak():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = extract(net, images, device=device, progress=False)  # first run: peak memory
    peak = read_peak()
    times = []
    for _ in range(repeats):  # then time, without one-off set-up
        start = time.perf_counter()
        extract(net, images, device=device, progress=False)
        times.append(time.perf_counter() - start)
    return times, max(0, peak - base), int(out.counts.nbytes)


def extraction_cost(net, images: torch.Tensor, device=None, repeats: int = 1,
                    memory_repeats: int = 1) -> dict:
    """What ``rdsc.features.extract(net, images)`` costs.

    Returns ``seconds`` (the fastest of ``repeats`` timed runs), ``all_seconds`` (each
    run), ``peak_bytes`` (peak memory above the starting level, output included),
    ``all_peak_bytes`` (one per fresh process: on the CPU the measurement is made in
    ``memory_repeats`` of them, and the smallest is ``peak_bytes``, as the fastest run is
    the time) and ``output_bytes`` (the size of the features returned).
    """
    from rdsc.features import default_device, extract
    if isinstance(repeats, bool) or int(repeats) != repeats or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    repeats = int(repeats)
    if isinstance(memory_repeats, bool) or int(memory_repeats) != memory_repeats \
            or memory_repeats < 1:
        raise ValueError(f"memory_repeats must be a positive integer, got {memory_repeats!r}")
    device = torch.device(device) if device is not None else default_device()
    if device.type == "cuda":
        out = extract(net, images, device=device, progress=False)  # one-off set-up, untimed
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            extract(net, images, device=device, progress=False)
            torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
        peaks = [torch.cuda.max_memory_allocated(device) - base]  # the allocator's: exact
        output = int(out.counts.nbytes)
    else:
        spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, not a copy of this one
        times, peaks = [], []
        # one process each: a resident set's peak varies from process to process by
        # several MB (e.g. 115 -> 106 MB in one build, 78 -> 95 in the next)
        for i in range(int(memory_repeats)):
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                run_times, peak, output = pool.submit(
                    _extract_job, net.config, images.cpu(), "cpu",
                    repeats if i == 0 else 0).result()
            times += run_times
            peaks.append(peak)
    return {"seconds": min(times), "all_seconds": times, "peak_bytes": min(peaks),
            "all_peak_bytes": peaks, "output_bytes": output}


def cost_table(rows: list[dict], n_images: int):
    """:func:`extraction_cost` rows (with their ``k`` and ``image size``) as a table:
    images/s, the spread of the repeated runs (``max / min - 1``, %), whether the runs
    agree (the spread as shown, in whole %, within :data:`NOISY_SPREAD`), peak and
    output MB (rounded for display as the text prints them, :func:`megabytes_value`;
    the raw columns stay)."""
    import pandas as pd
    table = pd.DataFrame(rows)
    table["images/s"] = (n_images / table["seconds"]).round(1)
    spread = [max(t) / min(t) - 1 for t in table["all_seconds"]]
    table["spread of runs (%)"] = [round(100 * s) for s in spread]
    # the rule reads the spread as shown: a 25.3% row once showed "25" beside "no" while
    # the fit, reading the shown column, counted it as agreeing
    table["runs agree"] = ["yes" if s <= 100 * NOISY_SPREAD else "no"
                           for s in table["spread of runs (%)"]]
    table["peak MB"] = [megabytes_value(b) for b in table["peak_bytes"]]
    table["output MB"] = [megabytes_value(b) for b in table["output_bytes"]]
    return table


def cost_display(table):
    """A :func:`cost_table` as the book shows it: indexed by ``k`` and ``image size``, its
    rate, spread, agreement and memory columns, the sizes as text in the digits the
    sentences use (:func:`megabytes`), so a column of 0.0156 and 0.0312 MB does not print
    as 0.01560 and 0.03120."""
    shown = table.set_index(["k", "image size"])[
        ["images/s", "spread of runs (%)", "runs agree", "peak MB", "output MB"]].copy()
    for column in ("peak MB", "output MB"):
        shown[column] = [megabytes_text(v) for v in shown[column]]
    return shown


#: runs of one measurement further apart than this (max / min - 1) are too noisy to fit
NOISY_SPREAD = 0.25


def agreement_reading(table) -> str:
    """One sentence on the rows of a :func:`cost_table` whose repeated runs disagree:
    their images/s is the fastest run's, not a rate to compare across rows."""
    noisy = int((table["runs agree"] == "no").sum())
    if noisy == 0:
        return (f"Every row's repeated runs agree within {NOISY_SPREAD:.0%}, so the "
                "images/s column can be compared across rows, to within that spread.")
    if noisy == len(table):
        return (f"Every row's repeated runs were more than {NOISY_SPREAD:.0%} apart (runs "
                "agree: no): each images/s is only the fastest run's, possibly slowed by "
                "other work on the machine, and the rows are not rates to compare.")
    return (f"{noisy} of {len(table)} rows (runs agree: no) had runs more than "
            f"{NOISY_SPREAD:.0%} apart: their images/s is only the fastest run's, "
            "possibly slowed by other work on the machine, and not a rate to compare "
            "with the other rows.")


def growth_reading(sizes, seconds, spreads, what: str) -> tuple[str, float | None]:
    """How time grew with ``sizes`` (``k``, or positions per image), in words, and the
    exponent of a log-log fit, or None when the timings cannot carry one.

    ``seconds``: the fastest run per size; ``spreads``: each size's ``max / min - 1`` over
    its runs. A fit needs every spread below :data:`NOISY_SPREAD` and times that rise
    with the size (a time that falls as the size grows is noise, whatever the fit says).
    """
    text, slope, why = _growth(sizes, seconds, spreads, what)
    if why:
        return f"too noisy to estimate against {what} at this profile ({why}; {_NOISE})", None
    return text, slope


#: what makes timings too noisy to fit, most often
_NOISE = "other work on the machine, or too little work per run"


def growth_readings(series: dict) -> tuple[str, dict]:
    """:func:`growth_reading` for several series at once, the noise said once when none fits.

    ``series``: label (such as "with k") -> (sizes, seconds, spreads, what). Returns the
    sentence ("the growth of time with k was ...; with the image size, ...") and each
    label's exponent (None where too noisy).
    """
    grown = {label: _growth(*args) for label, args in series.items()}
    slopes = {label: slope for label, (_, slope, _) in grown.items()}
    if len(grown) > 1 and all(why for _, _, why in grown.values()):
        whys = [why for _, _, why in grown.values()]
        # the series share a row (k at the fixed image size): often one why for all
        whys = whys[0] if len(set(whys)) == 1 else "; ".join(
            f"against {args[3]}: {why}" for args, why in zip(series.values(), whys))
        return (f"the growth of time {_and(list(grown))} was too noisy to estimate at this "
                f"profile ({whys}; {_NOISE})"), slopes
    said = [growth_reading(*args)[0] for args in series.values()]
    return "; ".join((f"the growth of time {label} was " if i == 0 else f"{label}, ") + text
                     for i, (label, text) in enumerate(zip(series, said))), slopes


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _growth(sizes, seconds, spreads, what: str):
    """(words, exponent, None) for a fit; (None, None, why not) when the timings are noise."""
    import numpy as np
    sizes, seconds, spreads = (np.asarray(v, float) for v in (sizes, seconds, spreads))
    if not (np.isfinite(spreads).all() and np.isfinite(seconds).all()):
        # NaN passed "spread > 0.25" and a fit was reported
        raise ValueError("timings or their spreads are NaN: time each size at least twice")
    # a fit uses the sizes whose runs agree: three of them, or all (once one noisy row
    # of four cancelled a fit the other three, 3% apart, carried)
    agree = spreads <= NOISY_SPREAD
    worst = float(spreads.max())
    if not (agree.all() or agree.sum() >= MIN_AGREEING):
        why = f"repeated runs differ by up to {100 * worst:.0f}%"
        return None, None, why + _fell(sizes, seconds, what, agree | True, ", and ")
    sizes, seconds = sizes[agree], seconds[agree]
    fell = _fell(sizes, seconds, what, agree[agree], "")
    if fell:
        # every cause: a row whose runs agree can still be slow throughout (once k = 256
        # took longer than k = 512, and only another row's spread was named)
        return None, None, fell + (
            f" among the sizes whose runs agree, and the others' runs differ by up to "
            f"{100 * worst:.0f}%" if not agree.all() else "")
    left_out = "" if agree.all() else (
        f", fitted to the {len(sizes)} of {len(agree)} sizes whose repeated runs agree "
        f"within {NOISY_SPREAD:.0%}; the others' differ by up to {100 * worst:.0f}%")
    slope = growth_exponent(sizes, seconds)
    exponent = f"exponent {slope:.2f}{left_out}"
    if 0.85 <= slope <= 1.15:
        return f"about in proportion to {what} ({exponent})", slope, None
    if slope < 0.85:
        return (f"less than in proportion to {what} ({exponent}): part of the "
                "work does not depend on it at these sizes"), slope, None
    return (f"faster than in proportion to {what} ({exponent}): nothing in the "
            "engine's arithmetic grows so; larger working sets leaving the processor's "
            "caches would, but that is not measured here"), slope, None


#: sizes whose runs agree that carry a fit when some others' runs do not
MIN_AGREEING = 3


def _fell(sizes, seconds, what: str, keep, joiner: str) -> str:
    """Words for a time that fell (or stood still) as the size grew, over the ``keep``
    sizes; "" when it rose throughout."""
    import numpy as np
    order = np.argsort(sizes[keep])
    steps = np.diff(seconds[keep][order])
    said = (f"the time fell while {what} grew" if np.any(steps < 0) else
            f"the time did not change while {what} grew" if np.any(steps == 0) else "")
    return joiner + said if said else ""


def memory_reading(peak_bytes, output_bytes, peak_spread: float | None = None, ks=None,
                   chunk: int | None = None, exact: bool = False) -> str:
    """Whether the engine's working memory grew with k beyond its output, from extractions
    at several k: the growth of the peak (largest minus smallest) against the output's
    (times 1.1), within a tolerance: 1 MB, 5% of the largest peak, or twice ``peak_spread``
    (the largest difference between repeated measurements of one k, in bytes; None when
    not measured; ``exact``: the peaks are the CUDA allocator's, exact, a spread of 0),
    whichever is largest (a process's resident memory varies by several MB from process
    to process). A peak that falls on the way from the smallest k to the largest is a sign
    of that noise, so the rise from the smallest k to the largest, beyond the output's
    growth, reads "without a trend" when it is within the tolerance plus twice the largest
    fall; where the noise was measured, only the part of a fall within it (twice
    ``peak_spread``; none for an exact peak) counts, a larger fall being real: the peak
    depends on more than k (e.g. on a GPU's batch size).

    ``ks`` and ``chunk`` (channels the engine holds at a time): only the extractions with
    ``k >= chunk`` are compared, since below one chunk the maps grow with k as expected
    (k = 64, 128, 256 once read "grew" beside "beyond one chunk it is not expected to
    grow"); with fewer than two of them the sentence says the run cannot tell."""
    peak, output = np.asarray(peak_bytes, float), np.asarray(output_bytes, float)
    if len(peak) < 2 or len(peak) != len(output) or not np.isfinite(peak).all():
        raise ValueError(f"need the peak and output bytes of at least two extractions, got "
                         f"{len(peak)} and {len(output)}")
    if peak_spread is not None and not (np.isfinite(peak_spread) and peak_spread >= 0):
        raise ValueError(f"peak_spread is a number of bytes >= 0 (None: not measured), "
                         f"got {peak_spread!r}")
    if exact:
        if peak_spread not in (None, 0):
            raise ValueError(f"exact peaks have no spread, got peak_spread={peak_spread!r}")
        peak_spread = 0.0
    if (ks is None) != (chunk is None):
        raise ValueError("give both ks and chunk (the channels held at a time), or neither")
    if chunk is not None:
        chunk, ks = whole_number("chunk", chunk), np.asarray(ks, float)
        if len(ks) != len(peak):
            raise ValueError(f"need one k per extraction, got {len(ks)} for {len(peak)}")
        full = ks >= chunk
        if full.sum() < 2:
            which = ("none of this run's k reaches" if not full.any()
                     else "only one of this run's k reaches")
            return (f"but {which} one chunk of {chunk:,} channels, below which the maps "
                    "grow with k as expected, so it cannot tell whether the working memory "
                    "grows beyond one chunk")
        peak, output = peak[full], output[full]
        if not full.all():  # say which k were compared
            shown = ks[full]
            return _memory_verdict(
                peak, output, peak_spread, exact,
                f" (compared over k = {shown.min():,.0f} to {shown.max():,.0f}, one chunk of "
                f"{chunk:,} channels or more)")
    return _memory_verdict(peak, output, peak_spread, exact)


def memory_expectation(device) -> str:
    """What the engine's working memory should do as k grows on ``device`` (a
    ``torch.device``), the sentence after :func:`memory_reading`'s verdict: on the CPU it
    holds one chunk of channels at a time; a GPU sizes its steps to a memory budget."""
    from rdsc.features import CPU_CHANNEL_CHUNK
    if torch.device(device).type == "cpu":
        return (f"The engine holds one chunk of channels' maps at a time ({CPU_CHANNEL_CHUNK} "
                "channels on the CPU unless told otherwise), so beyond one chunk its working "
                "memory is not expected to grow with *k*.")
    return ("On a GPU the engine sizes its steps to a memory budget, not to a fixed chunk of "
            "channels (`rdsc.fused.batch_size_for`), so its working memory may grow with *k* "
            f"until that budget binds; on the CPU it holds one chunk of {CPU_CHANNEL_CHUNK} "
            "channels at a time.")


def megabytes_value(size: float) -> float:
    """Bytes as megabytes, rounded as the book prints them: three significant digits, whole
    megabytes from 100 MB. :func:`cost_table`'s columns and :func:`megabytes`' words share
    it, so a sentence's sizes read as in the table beside it (not "0.00781
    MB" beside a table's 0.008)."""
    size /= 2 ** 20
    return float(round(size) if abs(size) >= 99.95 else float(f"{size:.3g}"))


def megabytes_text(value: float) -> str:
    """A :func:`megabytes_value` as the book writes it: ``"0.0312"``, ``"62.2"``,
    ``"1,235"`` (".3g" once wrote a GPU's 1,000 MB as "1e+03")."""
    return f"{value:,.0f}" if abs(value) >= 99.95 else f"{value:.3g}"


def megabytes(size: float) -> str:
    """Bytes as megabytes, in words: ``"0.0312 MB"`` (:func:`megabytes_value`,
    :func:`megabytes_text`)."""
    return f"{megabytes_text(megabytes_value(size))} MB"


def _memory_verdict(peak: np.ndarray, output: np.ndarray, peak_spread: float | None,
                    exact: bool = False, scope: str = "") -> str:
    """:func:`memory_reading`'s verdict on the extractions given; ``scope``, which k were
    compared, follows the verdict's words."""
    measured, mb = peak_spread is not None, megabytes
    # twice the spread as printed, so the sentence's arithmetic reads right (not
    # "twice" a table's 26.4 MB printed as 52.7)
    twice_spread = 2 * megabytes_value(peak_spread or 0.0) * 2 ** 20
    tolerance = max(2 ** 20, 0.05 * peak.max(), twice_spread)
    order = np.argsort(output, kind="stable")  # the output grows with k
    peak, output = peak[order], output[order]
    if np.ptp(peak) <= 1.1 * np.ptp(output) + tolerance:
        # a 9.2 MB spread beside "differed by up to 6.6 MB" once read as a rise
        why = (f"twice {mb(peak_spread)}, the largest difference between repeated "
               "measurements of one k" if tolerance == twice_spread else
               "5% of the largest peak" if tolerance == 0.05 * peak.max() else "1 MB")
        return (f"so beyond the output the engine's working memory did not grow with k{scope}: "
                # "within the output's growth and a tolerance" once read as two bounds,
                # both met (the output grew by 0.02 MB, the peak moved by 1.46 MB); and a
                # growth under the tolerance would not show, which the words now say
                # "moved by" hid a peak that fell; the ends say which way
                f"the peak's range over k was {mb(np.ptp(peak))} ({mb(peak[0])} at the "
                f"smallest k, {mb(peak[-1])} at the largest), less than the output's growth "
                f"plus a tolerance of {mb(tolerance)} ({why}), the least growth this run "
                "tells from noise")
    if peak[-1] - peak[0] < -tolerance:  # 115 -> 113 -> 106 -> 106 MB once read "no trend"
        return (f"a spread of {mb(np.ptp(peak))}, falling as k grew (from "
                f"{mb(peak[0])} at the smallest k to {mb(peak[-1])} at the largest): "
                "whatever moves the peak between runs, it is not working memory "
                f"growing with k{scope}")
    # peaks of 96.6, 98.0, 92.7 and 102.9 MB once read "grew": a spread of 10 MB, but
    # from the smallest k to the largest only as much as the run-to-run noise, and no trend.
    # A peak that falls on the way shows how far the noise reaches, so a fall is counted
    # against the rise (41.4, 51.8, 48.9 MB once read "grew" in one of two identical
    # smoke runs), but only as far as the measured noise reaches: a larger fall is real, the
    # peak depending on more than k (e.g. 40, 200, 170, 400 MB and, on a
    # GPU whose peak is exact, 1000, 960, 1130 MB once read "noise"; a batch that shrank at one k)
    largest_fall = max(0.0, -float(np.diff(peak).min()))
    noise_fall = min(largest_fall, 2 * peak_spread) if measured else largest_fall
    real_fall = measured and largest_fall > 2 * peak_spread
    rise = (peak[-1] - peak[0]) - 1.1 * (output[-1] - output[0])  # beyond the output's
    spread = f"a spread of {mb(np.ptp(peak))}"
    fell = (f"the peak fell by {mb(largest_fall)} from one k to the next, "
            + ("and the allocator's peak is exact" if exact else
               "more than it moves between runs") + ", so it depends on more than k")
    if rise <= tolerance + 2 * noise_fall:
        if not real_fall:  # (an exact peak without a fall rose or stayed: returned above)
            return (f"{spread} without a trend in k: the peak's run-to-run noise, not working "
                    f"memory growing with k{scope}")
        # the allowance in numbers, so that they add up on the page
        allowance = (f"the tolerance of {mb(tolerance)}" if not noise_fall else
                     f"the allowance of {mb(tolerance + 2 * noise_fall)}: the tolerance of "
                     f"{mb(tolerance)} plus twice the {mb(noise_fall)} of that fall the "
                     "run-to-run noise could explain")
        ends = ("the largest k's peak is no higher than the smallest k's beyond the output's "
                "growth" if rise <= 0 else
                f"the largest k's peak is {mb(rise)} above the smallest k's beyond the "
                f"output's growth, within {allowance}")
        return (f"{spread} without a trend in k: {fell}, but {ends}, so it is not read as "
                f"working memory growing with k{scope}")
    if real_fall:
        return (f"so here the working memory grew with k beyond the output, though not "
                f"steadily: {fell} (from {mb(peak[0])} at the smallest k to "
                f"{mb(peak[-1])} at the largest){scope}")
    return f"so here the working memory grew with k beyond the output{scope}"


def device_agreement(device_name: str | None, n_images: int, engine_share: float | None = None,
                     layered_share: float | None = None) -> str:
    """The sentence on features computed on a GPU against the CPU engine's. ``device_name``:
    the GPU's, or None for a run on the CPU (then no comparison is made); ``*_share``: the
    share of features that differ, for the engine and for PyTorch's layer-by-layer network."""
    if device_name is None:
        return "This run is on the CPU, so it makes no GPU comparison."
    if engine_share is None or layered_share is None:
        raise ValueError("a GPU run's sentence needs both shares of differing features")
    said = (f"This run is on a GPU ({device_name}). On the first {n_images} images the "
            f"engine's GPU features differ from its CPU features in {engine_share:.2e} of the "
            "features, and PyTorch's layer-by-layer network on the GPU (cuDNN convolutions) "
            f"differs from the CPU engine in {layered_share:.2e}.")
    # 12-04, an H200: 3.01e-01, which "signs near zero" (the text before) does not explain
    strays = [name for name, share in (("the engine's", engine_share),
                                       ("the layer-by-layer network's", layered_share))
              if share > ROUNDING_SHARE]
    if strays:
        said += (f" {' and '.join(strays).capitalize()} share is above "
                 f"{100 * ROUNDING_SHARE:g}%, more than signs near zero explain: see the "
                 "float64 comparison above for which computation strays.")
    return said


def growth_exponent(x, y) -> float:
    """The slope ``b`` of the least-squares line ``log y = a + b log x``: ``y`` grows as ``x^b``.

    ``b = 1``: proportional; ``b < 1``: costs that do not depend on ``x`` weigh in.
    Needs at least two distinct positive ``x`` and positive ``y``.
    """
    import numpy as np
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(np.unique(x)) < 2:
        raise ValueError(f"need two 1-D arrays of equal length with two distinct x, got {x}, {y}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"a log-log fit needs finite x and y, got {x}, {y}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("a log-log fit needs positive x and y")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


#: a share of features above this between two float32 computations is not rounding near
#: zero: those differ in about 1e-5 of the features (fused against the chain, 11-28)
ROUNDING_SHARE = 1e-3


def float32_reading(share: float, engine_vs_exact: int, float32_vs_exact: int,
                    device: str | None = None) -> str:
    """Why the engine and the float32 layer-by-layer network disagree in ``share`` of the
    features, from their differences with the float64 network (on its images). ``device``:
    where they ran, when the reader's build is elsewhere (a record's)."""
    if share == 0 and engine_vs_exact == float32_vs_exact == 0:
        return "All three computations agree here, so rounding decided no sign."
    if share <= ROUNDING_SHARE:
        return ("Where two float32 computations disagree, summation order decides the "
                "sign of a value that is zero to about 7 digits.")
    where = f"on the {device}" if device else "on this run's device"
    # "3.0e-01, above 1e-03" once read as notation, not as 30%
    said = (f"A share this large ({100 * share:.3g}% of the features, where rounding near "
            f"zero moves at most about {100 * ROUNDING_SHARE:g}%) is not rounding near zero: "
            "against the float64 network the engine differs in "
            f"{engine_vs_exact:,} features and the layer-by-layer float32 network in "
            f"{float32_vs_exact:,}, so ")
    if float32_vs_exact > engine_vs_exact:
        return said + (f"the layer-by-layer network is the one that strays {where}. The "
                       "book asks PyTorch for full float32 convolutions "
                       "(`rdsc.network.exact_float32`); an error this coarse looks like "
                       "TF32's 10-bit rounding, which that request should rule out, and "
                       "the cause is not yet traced.")
    if engine_vs_exact > float32_vs_exact:   # a tie was once blamed on the engine
        return said + (f"the engine is the one that strays {where}: a fault in it, which "
                       "its tests against the float64 network should catch there.")
    return said + ("both stray from it equally: neither is the closer, and the "
                   "disagreement is between two inexact computations.")


#: the numbers of a chapter-2 record :func:`run_summary` and the chapter read
NETWORK_RECORD_NEEDS = ("n_features", "engine_fraction_differ", "against_float64.images",
                        "against_float64.engine", "against_float64.float32")


def _share(share: float) -> str:
    """A share of features as a table cell: ``"29.8%"``, or ``"2.4e-05"`` below 0.1%."""
    return "0" if share == 0 else f"{100 * share:.1f}%" if share >= 1e-3 else f"{share:.1e}"


def run_summary(results: dict) -> dict[str, str]:
    """Chapter 2's results JSON (this run's, or a paper-profile record's) as the rows of a
    table that sets runs side by side: label -> the value as printed ("–" for a timing or
    exponent a record lacks)."""
    exact = results["against_float64"]

    def exponent(name):
        if name not in results:   # an older record, not a noisy fit
            return "–"
        value = results[name]
        return ("too noisy" if value is None or value != value else
                f"{value:.2f}" if isinstance(value, (int, float)) else "–")

    try:  # the largest k timed on the smallest images
        size = min(row["image size"] for row in results["timing"])
        largest = max((row for row in results["timing"] if row["image size"] == size),
                      key=lambda row: row["k"])
        timed = (f"k = {largest['k']:,}: {largest['images/s']:,.0f} images/s, peak "
                 f"{largest['peak MB']:,.0f} MB")
        size_words = f"{size} × {size} images"
    except (KeyError, TypeError, ValueError):
        timed, size_words = "–", "images"
    environment = results.get("environment")   # a string once stopped the chapter
    device = ((environment.get("device") if isinstance(environment, dict) else None)
              or results.get("device", "–"))
    # torch's device names beside a GPU's model name (not "cpu")
    device = {"cpu": "CPU", "cuda": "CUDA"}.get(device, device)
    growth = [exponent(name) for name in ("growth_exponent_k", "growth_exponent_positions")]
    return {"device": device,
            "features k": f"{results['n_features']:,}",
            # a percentage as the prose gives it; e-notation only below 0.1% (not
            # "3.0e-01" beside the prose's 29.8%)
            "share of features, engine against float32 network":
                _share(results["engine_fraction_differ"]),
            "against float64, first images: engine / float32 network":
                f"{exact['engine']:,} / {exact['float32']:,} ({exact['images']} images)",
            f"largest k timed, {size_words}": timed,
            "growth exponent of time, in k / in positions":
                "too noisy in both" if growth == ["too noisy"] * 2 else " / ".join(growth)}
