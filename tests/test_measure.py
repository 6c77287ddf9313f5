"""Peak memory of an extraction is measured in a fresh process, whatever this one holds."""
import numpy as np
import pytest
import torch

from rdsc.measure import extraction_cost, growth_exponent
from rdsc.network import RandomDepthwiseSignNet


def test_peak_memory_is_the_extractions_not_the_parents():
    parent = np.ones((300, 1024, 1024), np.uint8)  # 300 MB held here, as by a notebook kernel
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    cost = extraction_cost(RandomDepthwiseSignNet(256), x, device="cpu")
    assert cost["seconds"] > 0
    # the engine's working memory for 64 CIFAR images is tens of MB: more than nothing,
    # far less than the parent's 300 MB (which ru_maxrss would have reported)
    assert 1 << 20 < cost["peak_bytes"] < 250 << 20
    del parent  # held until here, through the measurement
    # memory measured in two fresh processes: the smaller is the peak, the time the first's
    twice = extraction_cost(RandomDepthwiseSignNet(256), x, device="cpu", repeats=2,
                            memory_repeats=2)
    assert len(twice["all_peak_bytes"]) == 2 and len(twice["all_seconds"]) == 2
    assert twice["peak_bytes"] == min(twice["all_peak_bytes"])
    with pytest.raises(ValueError, match="memory_repeats"):
        extraction_cost(RandomDepthwiseSignNet(8), x, device="cpu", memory_repeats=0)


def test_growth_is_read_only_from_timings_that_can_carry_it():
    from rdsc.measure import growth_reading
    ks = [100, 200, 400]
    said, slope = growth_reading(ks, [1.0, 2.0, 4.0], [0.05, 0.1, 0.02], "k")
    assert slope == pytest.approx(1.0) and said.startswith("about in proportion to k")
    # chapter 2 once fitted 1.30 to times that fell and rose, runs 1045% apart
    said, slope = growth_reading([64, 128, 256], [0.09, 0.04, 0.54], [0.2, 1.81, 10.45], "k")
    assert slope is None and "repeated runs differ by up to 1045%" in said
    said, slope = growth_reading(ks, [1.0, 0.9, 2.0], [0.01] * 3, "k")
    assert slope is None and "the time fell while k grew" in said
    said, slope = growth_reading(ks, [1.0, 1.2, 1.5], [0.01] * 3, "k")
    assert slope < 0.85 and said.startswith("less than in proportion")


def test_growth_is_fitted_to_the_sizes_whose_runs_agree():
    """Chapter 2 once called the growth with k "too noisy to estimate" because one row of
    four (k = 500) had runs 288% apart, while the other three agreed within 7% and lay
    on a line; the text says a fit is drawn from the runs that agree."""
    from rdsc.measure import growth_reading
    ks = [500, 1000, 2000, 4000]
    said, slope = growth_reading(ks, [0.3, 0.5, 1.0, 2.0], [2.88, 0.03, 0.03, 0.07], "k")
    assert slope == pytest.approx(1.0)
    assert said == ("about in proportion to k (exponent 1.00, fitted to the 3 of 4 sizes "
                    "whose repeated runs agree within 25%; the others' differ by up to "
                    "288%)")
    # two agreeing sizes of three are too few to fit, whatever the noisy one shows
    said, slope = growth_reading(ks[:3], [0.3, 0.5, 1.0], [2.88, 0.03, 0.03], "k")
    assert slope is None and "repeated runs differ by up to 288%" in said
    # the agreeing sizes must rise on their own
    said, slope = growth_reading(ks, [0.3, 0.5, 0.4, 2.0], [2.88, 0.03, 0.03, 0.07], "k")
    assert slope is None and ("(the time fell while k grew among the sizes whose runs "
                              "agree, and the others' runs differ by up to 288%;") in said


def test_memory_reading_compares_only_the_k_that_fill_a_chunk():
    """k = 64, 128, 256 on the CPU (chunks of 128 channels) once read "grew", beside
    the sentence that beyond one chunk the working memory is not expected to grow: the
    growth came from the k below one chunk, where the maps do grow with k."""
    from rdsc.measure import memory_reading
    mb = 2 ** 20
    peaks, outputs = [20 * mb, 42 * mb, 43 * mb], [0.004 * mb, 0.008 * mb, 0.016 * mb]
    assert memory_reading(peaks, outputs) == "so here the working memory grew with k beyond " \
        "the output"
    assert memory_reading(peaks, outputs, ks=[64, 128, 256], chunk=128) == (
        "so beyond the output the engine's working memory did not grow with k (compared over "
        "k = 128 to 256, one chunk of 128 channels or more): the peak's range over k was 1 MB "
        "(42 MB at the smallest k, 43 MB at the largest), less than the output's growth plus "
        "a tolerance of 2.15 MB (5% of the largest peak), the least growth this run tells "
        "from noise")
    # the tolerance it moved within is named (a 9.2 MB spread once read as a rise
    # beside "the two processes differed by up to 6.6 MB")
    assert memory_reading(peaks[1:], outputs[1:], ks=[128, 256], chunk=128) == (
        "so beyond the output the engine's working memory did not grow with k: the peak's "
        "range over k was 1 MB (42 MB at the smallest k, 43 MB at the largest), less than the "
        "output's growth plus a tolerance of 2.15 MB (5% of the largest peak), the least "
        "growth this run tells from noise")
    assert memory_reading([60.5 * mb, 69.6 * mb], outputs[:2], 6.6 * mb).endswith(
        "the peak's range over k was 9.1 MB (60.5 MB at the smallest k, 69.6 MB at the "
        "largest), less than the output's growth plus a tolerance of 13.2 MB (twice 6.6 MB, "
        "the largest difference between repeated measurements of one k), the least growth "
        "this run tells from noise")
    # a peak that fell once read "moved by", and twice a printed 26.4 MB read 52.7
    said = memory_reading([115 * mb, 98 * mb], outputs[:2], 26.35 * mb)
    assert "(115 MB at the smallest k, 98 MB at the largest)" in said
    assert "a tolerance of 52.8 MB (twice 26.4 MB, the largest difference" in said
    assert memory_reading(peaks, outputs, ks=[32, 64, 128], chunk=128).startswith(
        "but only one of this run's k reaches one chunk of 128 channels")
    assert memory_reading(peaks, outputs, ks=[16, 32, 64], chunk=128).startswith(
        "but none of this run's k reaches one chunk")
    with pytest.raises(ValueError, match="chunk"):
        memory_reading(peaks, outputs, ks=[64, 128, 256], chunk=0)
    # the sentence after the verdict: a chunk on the CPU, a memory budget on a GPU
    from rdsc.features import CPU_CHANNEL_CHUNK
    from rdsc.measure import memory_expectation
    cpu = memory_expectation(torch.device("cpu"))
    assert f"({CPU_CHANNEL_CHUNK} channels on the CPU" in cpu and "not expected to grow" in cpu
    gpu = memory_expectation(torch.device("cuda"))  # a device name needs no GPU
    assert "memory budget" in gpu and "may grow" in gpu
    rising = [40 * mb, 60 * mb, 90 * mb]
    assert memory_reading(rising, outputs, ks=[128, 256, 512], chunk=128) == (
        "so here the working memory grew with k beyond the output")
    with pytest.raises(ValueError, match="both ks and chunk"):
        memory_reading(peaks, outputs, ks=[64, 128, 256])
    with pytest.raises(ValueError, match="one k per extraction"):
        memory_reading(peaks, outputs, ks=[64, 128], chunk=128)


def test_memory_reading_compares_the_peak_with_the_output_beyond_run_noise():
    from rdsc.measure import memory_reading
    mb = 2 ** 20
    # the peak grows 120 MB for a 100 MB output: within 10% of the output's growth plus the
    # run-to-run tolerance (5% of the 520 MB peak): no working-memory growth
    assert memory_reading([400 * mb, 440 * mb, 520 * mb], [10 * mb, 50 * mb, 110 * mb]) \
        .startswith("so beyond the output the engine's working memory did not grow")
    # the peak grows by 300 MB for a 100 MB output: it grew
    assert memory_reading([400 * mb, 700 * mb], [10 * mb, 110 * mb]) == (
        "so here the working memory grew with k beyond the output")
    # the quick build's peaks (k = 500 to 4,000) once read "grew" with no trend
    peaks = [96.6 * mb, 98.0 * mb, 92.7 * mb, 102.9 * mb]
    outputs = [0.244 * mb, 0.488 * mb, 0.977 * mb, 1.95 * mb]
    assert memory_reading(peaks, outputs).startswith(
        "a spread of 10.2 MB without a trend in k: the peak's run-to-run noise")
    # a rise that falls back on the way is no trend either, whatever the ends say
    assert "without a trend" in memory_reading([400 * mb, 700 * mb, 450 * mb, 720 * mb],
                                               [10 * mb, 20 * mb, 30 * mb, 40 * mb])
    # peaks that fell steadily with k were once called "without a trend"
    peaks = [115.316 * mb, 112.801 * mb, 106.215 * mb, 106.070 * mb]
    assert memory_reading(peaks, outputs) == (
        "a spread of 9.25 MB, falling as k grew (from 115 MB at the smallest k to 106 MB at "
        "the largest): whatever moves the peak between runs, it is not working "
        "memory growing with k")
    with pytest.raises(ValueError, match="at least two extractions"):
        memory_reading([400 * mb], [10 * mb])
    # a later build's peaks rose 78 -> 95 MB and read "grew"; two fresh
    # processes per k differing by 10 MB make that rise noise
    rising = [78.1 * mb, 84.0 * mb, 90.2 * mb, 94.6 * mb]
    assert memory_reading(rising, outputs) == (
        "so here the working memory grew with k beyond the output")
    assert memory_reading(rising, outputs, peak_spread=10 * mb).startswith(
        "so beyond the output the engine's working memory did not grow")
    with pytest.raises(ValueError, match="peak_spread"):
        memory_reading(rising, outputs, peak_spread=float("nan"))
    # two identical smoke runs once read "did not grow" and "grew"; the second's peaks
    # rose, then fell back by less than the tolerance
    assert memory_reading([41.426 * mb, 51.824 * mb, 48.945 * mb],
                          [0.008 * mb, 0.016 * mb, 0.031 * mb], peak_spread=3.56 * mb,
                          ks=[128, 256, 512], chunk=128).startswith(
        "a spread of 10.4 MB without a trend in k")
    # a working memory that grows until a budget binds (the GPU case) dips by
    # less than the noise at the top; the dip does not undo a rise of 60 MB
    output = [0.01 * mb, 0.02 * mb, 0.04 * mb]
    assert memory_reading([40 * mb, 100 * mb, 99.9 * mb], output, peak_spread=0.5 * mb) == (
        "so here the working memory grew with k beyond the output")
    # nor does a fall beyond the noise undo a rise more than twice as large (a
    # GPU's batch shrinking at one k); the old rule read both "run-to-run noise"
    assert memory_reading([40 * mb, 100 * mb, 90 * mb], output, peak_spread=0.5 * mb) == (
        "so here the working memory grew with k beyond the output, though not steadily: the "
        "peak fell by 10 MB from one k to the next, more than it moves between runs, so it "
        "depends on more than k (from 40 MB at the smallest k to 90 MB at the largest)")
    assert memory_reading([40 * mb, 200 * mb, 170 * mb, 400 * mb], output + [0.08 * mb],
                          peak_spread=1 * mb).startswith(
        "so here the working memory grew with k beyond the output, though not steadily")
    # a fall beyond the measured noise is real (the peak depends on more than k), so it is
    # no noise allowance: the rise of 320 MB beyond it grew, not steadily (it once
    # read "without a trend")
    said = memory_reading([400 * mb, 700 * mb, 450 * mb, 720 * mb], output + [0.08 * mb],
                          peak_spread=1 * mb)
    assert said == ("so here the working memory grew with k beyond the output, though not "
                    "steadily: the peak fell by 250 MB from one k to the next, more than it "
                    "moves between runs, so it depends on more than k (from 400 MB at the "
                    "smallest k to 720 MB at the largest)")
    # on a GPU the allocator's peak is exact (a spread of 0, measured): peaks that
    # rose 8x once read "the peak's run-to-run noise"; unmeasured, the fall is the noise's sign
    gpu = [40 * mb, 300 * mb, 160 * mb, 320 * mb]
    assert memory_reading(gpu, output + [0.08 * mb], exact=True).startswith(
        "so here the working memory grew with k beyond the output, though not steadily: the "
        "peak fell by 140 MB from one k to the next, and the allocator's peak is exact")
    assert memory_reading(gpu, output + [0.08 * mb], peak_spread=1 * mb).startswith(
        "so here the working memory grew with k beyond the output, though not steadily")
    assert memory_reading(gpu, output + [0.08 * mb]).startswith(
        "a spread of 280 MB without a trend in k: the peak's run-to-run noise")
    # a real fall once bought an allowance of up to the tolerance (5% of the peak on a
    # GPU, a floor, no noise): a dip turned "grew" into "noise". Only the measured noise
    # (twice the spread) counts: none for an exact peak
    assert memory_reading([1000 * mb, 1130 * mb], output[:2], exact=True) == (
        "so here the working memory grew with k beyond the output")
    # GPU-sized peaks in whole megabytes, not "1e+03 MB"
    assert memory_reading([1000 * mb, 960 * mb, 1130 * mb], output, exact=True) == (
        "so here the working memory grew with k beyond the output, though not steadily: the "
        "peak fell by 40 MB from one k to the next, and the allocator's peak is exact, so it "
        "depends on more than k (from 1,000 MB at the smallest k to 1,130 MB at the largest)")
    with pytest.raises(ValueError, match="exact peaks have no spread"):
        memory_reading([1000 * mb, 1130 * mb], output[:2], 5 * mb, exact=True)
    # a CPU run whose processes agreed to the byte is measured, not exact
    assert "more than it moves between runs" in memory_reading(
        [1000 * mb, 960 * mb, 1130 * mb], output, peak_spread=0.0)
    assert memory_reading([350 * mb, 400 * mb, 340 * mb, 400 * mb], output + [0.08 * mb],
                          peak_spread=1 * mb).startswith(
        "so here the working memory grew with k beyond the output, though not steadily")
    # an exact peak that ends within the tolerance of where it started: no "run-to-run"
    assert memory_reading([1000 * mb, 1100 * mb, 1040 * mb], output, exact=True) == (
        "a spread of 100 MB without a trend in k: the peak fell by 60 MB from one k to the "
        "next, and the allocator's peak is exact, so it depends on more than k, but the "
        "largest k's peak is 40 MB above the smallest k's beyond the output's growth, within "
        "the tolerance of 55 MB, so it is not read as working memory growing with k")
    # the sentence's numbers add up (the output's growth of 110 MB was once left out
    # of "its rise (120 MB) is within the tolerance and twice the falls"), and a rise below
    # 0 is no rise
    assert memory_reading([100 * mb, 300 * mb, 200 * mb, 210 * mb, 220 * mb],
                          [0, 25 * mb, 50 * mb, 75 * mb, 100 * mb], peak_spread=1 * mb) == (
        "a spread of 200 MB without a trend in k: the peak fell by 100 MB from one k to the "
        "next, more than it moves between runs, so it depends on more than k, but the "
        "largest k's peak is 10 MB above the smallest k's beyond the output's growth, within "
        "the allowance of 19 MB: the tolerance of 15 MB plus twice the 2 MB of that fall the "
        "run-to-run noise could explain, so it is not read as working memory growing with k")
    # the allowance's numbers are printed, so the sum can be checked
    assert memory_reading([100 * mb, 150 * mb, 138 * mb, 130 * mb], [0] * 4, 5 * mb).endswith(
        "the largest k's peak is 30 MB above the smallest k's beyond the output's growth, "
        "within the allowance of 30 MB: the tolerance of 10 MB plus twice the 10 MB of that "
        "fall the run-to-run noise could explain, so it is not read as working memory "
        "growing with k")
    assert "the largest k's peak is no higher than the smallest k's" in memory_reading(
        [400 * mb, 500 * mb, 395 * mb], output, peak_spread=1 * mb)
    # a fall counts as noise only within twice the measured spread: 1.2 times the tolerance
    # (24 MB here, the spread 10 MB) would make this rise of 65 MB noise (20 + 2 x 24)
    assert memory_reading([335 * mb, 400 * mb, 376 * mb, 400 * mb], output + [0.08 * mb],
                          peak_spread=10 * mb).startswith(
        "so here the working memory grew with k beyond the output, though not steadily")
    # a rise between the tolerance plus twice the fall (70 MB) and plus three
    # times it (100 MB) grew ("3 * largest_fall" once passed every test)
    assert memory_reading([100 * mb, 200 * mb, 170 * mb, 195 * mb], output + [0.08 * mb]) == (
        "so here the working memory grew with k beyond the output")
    # the same where the noise was measured and the fall is within it (tolerance 20 MB, fall
    # 15 MB: a rise of 55 MB is beyond 20 + 2 x 15 = 50, within 20 + 3 x 15 = 65)
    assert memory_reading([100 * mb, 160 * mb, 145 * mb, 155 * mb], output + [0.08 * mb],
                          peak_spread=10 * mb) == (
        "so here the working memory grew with k beyond the output")
    assert memory_reading([100 * mb, 160 * mb, 145 * mb, 149 * mb], output + [0.08 * mb],
                          peak_spread=10 * mb).startswith("a spread of 60 MB without a trend")


def test_growth_reading_names_nan_spreads_and_equal_times():
    # J16 left open: NaN spreads passed the noise check and a fit was reported; equal
    # times read as "the time fell"
    from rdsc.measure import growth_reading
    with pytest.raises(ValueError, match="NaN"):
        growth_reading([1, 2, 4], [1.0, 2.0, 4.0], [0.1, float("nan"), 0.1], "k")
    text, slope = growth_reading([1, 2, 4], [1.0, 1.0, 2.0], [0.1, 0.1, 0.1], "k")
    assert slope is None and "the time did not change while k grew" in text
    text, slope = growth_reading([1, 2, 4], [1.0, 0.9, 2.0], [0.1, 0.1, 0.1], "k")
    assert "the time fell while k grew" in text
    assert growth_reading([1, 2, 4], [1.0, 2.0, 4.0], [0.1, 0.1, 0.1], "k")[1] == \
        pytest.approx(1.0)


def test_growth_reading_near_its_thresholds():
    from rdsc.measure import growth_reading
    said, slope = growth_reading([400, 200, 100], [4.0, 2.0, 1.0], [0.01] * 3, "k")
    assert slope == pytest.approx(1.0)  # sizes largest first: sorted before the fit
    said, slope = growth_reading([100, 200, 400], [1.0, 4.0, 16.0], [0.01] * 3, "k")
    assert slope == pytest.approx(2.0) and said.startswith("faster than in proportion to k")
    said, slope = growth_reading([100, 200, 400], [1.0, 2.5, 6.0], [0.01] * 3, "k")
    assert said.startswith("faster than in proportion")  # exponent 1.29
    with pytest.raises(ValueError, match="NaN"):
        growth_reading([100, 200, 400], [1.0, float("nan"), 4.0], [0.01] * 3, "k")


def test_memory_reading_threshold_is_pinned():
    from rdsc.measure import memory_reading
    mb = 2 ** 20
    out = [10 * mb, 110 * mb]  # the output grew 100 MB: 1.1 x 100 + 5% of 200 MB = 120 MB
    assert memory_reading([85 * mb, 200 * mb], out).startswith("so beyond the output")  # 115
    assert memory_reading([75 * mb, 200 * mb], out) == (                              # 125
        "so here the working memory grew with k beyond the output")
    with pytest.raises(ValueError):
        memory_reading([400 * mb, 500 * mb], [10 * mb])  # lengths differ
    with pytest.raises(ValueError):
        memory_reading([400 * mb, float("nan")], [10 * mb, 20 * mb])


def test_device_agreement_makes_no_gpu_claim_on_the_cpu():
    from rdsc.measure import device_agreement
    assert device_agreement(None, 64) == "This run is on the CPU, so it makes no GPU comparison."
    said = device_agreement("NVIDIA H200", 64, 1.5e-5, 0.0)
    assert said.startswith("This run is on a GPU (NVIDIA H200). On the first 64 images")
    assert "in 1.50e-05 of the features" in said and "CPU engine in 0.00e+00." in said
    with pytest.raises(ValueError, match="both shares"):
        device_agreement("NVIDIA H200", 64)


def test_growth_exponent_is_the_log_log_slope():
    k = np.array([500, 1000, 2000, 4000])
    assert growth_exponent(k, 3e-4 * k) == pytest.approx(1.0)
    assert growth_exponent(k, 2.0 * k ** 0.5) == pytest.approx(0.5)
    assert growth_exponent(k, 0.1 + 1e-4 * k) < 1  # a fixed cost bends the curve
    for x, y in (([1, 1], [1, 2]), ([1, 2], [1, 0]), ([1, 2, 3], [1, 2])):
        with pytest.raises(ValueError):
            growth_exponent(x, y)


def test_cost_table_marks_rows_whose_runs_disagree_and_says_so():
    from rdsc.measure import agreement_reading, cost_table
    rows = [{"k": 500, "image size": 32, "seconds": 1.0, "all_seconds": [1.0, 15.9],
             "peak_bytes": 2**20, "output_bytes": 2**20},
            {"k": 1000, "image size": 32, "seconds": 0.5, "all_seconds": [0.5, 0.625],
             "peak_bytes": 2**20, "output_bytes": 2**21}]
    table = cost_table(rows, 100)
    assert list(table["spread of runs (%)"]) == [1490, 25]
    assert list(table["runs agree"]) == ["no", "yes"]  # 25% is still within the rule
    # a 25.3% spread shows as 25: it agrees, as chapter 2's fit (reading the shown column)
    # takes it to (once a row showed "25" beside "no")
    edge = cost_table([{**rows[1], "all_seconds": [0.5, 0.6265]}], 100)
    assert list(edge["spread of runs (%)"]) == [25] and list(edge["runs agree"]) == ["yes"]
    text = agreement_reading(table)
    assert text.startswith("1 of 2 rows (runs agree: no) had runs more than 25% apart")
    assert "not a rate to compare" in text
    assert agreement_reading(cost_table(rows[:1], 100)).startswith(
        "Every row's repeated runs were more than 25% apart")
    steady = cost_table(rows[1:], 100)
    assert agreement_reading(steady).startswith("Every row's repeated runs agree within 25%")
    # the table's sizes are the text's (once "0.00781 MB" beside 0.008)
    from rdsc.measure import megabytes
    sizes = [8192, 32768, 62.18 * 2**20, 1234.6 * 2**20]
    shown = cost_table([{**rows[1], "peak_bytes": b, "output_bytes": b} for b in sizes], 100)
    assert list(shown["output MB"]) == [0.00781, 0.0312, 62.2, 1235.0]
    assert [megabytes(b) for b in sizes] == ["0.00781 MB", "0.0312 MB", "62.2 MB", "1,235 MB"]
    assert [f"{v:.3g} MB" if v < 100 else f"{v:,.0f} MB" for v in shown["peak MB"]] == [
        megabytes(b) for b in sizes]
    # as displayed, each size in the text's digits: a float column printed 0.0312 as
    # "0.03120" beside 0.00781
    from rdsc.measure import cost_display
    displayed = cost_display(shown.assign(k=[1, 2, 3, 4], **{"image size": 32}))
    assert list(displayed.index.names) == ["k", "image size"]
    assert [f"{v} MB" for v in displayed["output MB"]] == [megabytes(b) for b in sizes]
    assert "0.03120" not in displayed.to_html() and "0.0312<" in displayed.to_html()


def test_images_per_second_and_a_falling_memory_reading():
    """Images/s inverted and a fall read against 0 once passed these tests."""
    from rdsc import measure
    t = measure.cost_table([{"k": 10, "seconds": 2.0, "all_seconds": [2.0, 2.1], "peak_bytes": 0,
                             "output_bytes": 0}], n_images=100)
    assert t["images/s"][0] == 50.0
    said = measure.memory_reading(np.array([100, 110, 98]) * 2 ** 20, np.array([1, 2, 3]) * 2 ** 20)
    assert "without a trend" in said


def test_the_time_is_the_fastest_run(monkeypatch):
    """The slowest run as the time once passed these tests."""
    from rdsc import measure
    from rdsc.network import RandomDepthwiseSignNet
    class Done:
        def result(self):
            return [0.3, 0.1, 0.2], 100, 10
    class Pool:
        def __init__(self, *a, **k): pass
        def __enter__(self): return self
        def __exit__(self, *a): return False
        def submit(self, *a, **k): return Done()
    monkeypatch.setattr(measure, "ProcessPoolExecutor", Pool)
    net = RandomDepthwiseSignNet(4, kernel_size=3, n_blocks=1)
    c = measure.extraction_cost(net, torch.zeros(2, 3, 8, 8, dtype=torch.uint8), device="cpu",
                                repeats=3)
    assert c["seconds"] == 0.1 and c["all_seconds"] == [0.3, 0.1, 0.2]


def test_growth_readings_say_the_noise_once_when_no_series_fits():
    """Chapter 2 once repeated "(...; other work on the machine, or too little work per
    run)" for k and for the image size."""
    from rdsc.measure import growth_reading, growth_readings
    noisy_k = ([64, 128, 256], [1.0, 2.0, 4.0], [0.05, 4.53, 0.02], "k")
    noisy_p = ([100, 400, 900], [1.0, 0.5, 4.0], [0.01] * 3, "the positions")
    fits = ([100, 400, 900], [1.0, 4.0, 9.0], [0.01] * 3, "the positions")
    said, slopes = growth_readings({"with k": noisy_k, "with the size": noisy_p})
    assert said == ("the growth of time with k and with the size was too noisy to estimate "
                    "at this profile (against k: repeated runs differ by up to 453%; against "
                    "the positions: the time fell while the positions grew; other work on "
                    "the machine, or too little work per run)")
    assert slopes == {"with k": None, "with the size": None}
    same_why = ([100, 400, 900], [1.0, 2.0, 4.0], [0.01, 4.53, 0.1], "the positions")
    said, _ = growth_readings({"with k": noisy_k, "with the size": same_why})
    assert said.endswith("at this profile (repeated runs differ by up to 453%; other work on "
                         "the machine, or too little work per run)")
    said, slopes = growth_readings({"with k": noisy_k, "with the size": fits})
    assert said == ("the growth of time with k was " + growth_reading(*noisy_k)[0]
                    + "; with the size, " + growth_reading(*fits)[0])
    assert slopes["with k"] is None and abs(slopes["with the size"] - 1) < 1e-9


def test_growth_reading_names_every_cause_of_noise():
    """A row slow in all its runs (k = 256 slower than k = 512) once went unnamed
    beside another row's spread."""
    from rdsc.measure import growth_reading
    said, slope = growth_reading([128, 256, 512], [1.0, 6.0, 3.0], [0.6, 0.02, 0.02], "k")
    assert slope is None and "(repeated runs differ by up to 60%, and the time fell while k " \
        "grew;" in said


def test_a_large_float32_disagreement_is_not_read_as_rounding_near_zero():
    """12-04, an H200: the float32 layer-by-layer network differed from the engine in 3e-01
    of the features, and the chapter explained it by summation order near zero."""
    from rdsc.measure import ROUNDING_SHARE, float32_reading
    assert "summation order" in float32_reading(2e-5, 0, 1)
    said = float32_reading(0.298, 21, 1_926_304)
    assert "summation order" not in said and "not rounding near zero" in said
    assert "engine differs in 21 features" in said and "network in 1,926,304" in said
    assert "the layer-by-layer network is the one that strays on this run's device" in said
    assert "TF32" in said
    engine = float32_reading(0.3, 500, 20, "NVIDIA H200")
    assert "the engine is the one that strays on the NVIDIA H200" in engine
    assert "TF32" not in engine
    # a tie was once blamed on the engine, against the paragraph's own verdict
    tie = float32_reading(0.3, 500, 500)
    assert "both stray from it equally" in tie and "the engine is the one" not in tie
    assert "summation order" in float32_reading(ROUNDING_SHARE, 1, 1)
    assert "All three computations agree" in float32_reading(0.0, 0, 0)
    assert "(29.8% of the features, where rounding near zero moves at most about 0.1%)" in said


def test_a_chapter_2_run_reads_as_one_column_beside_its_record():
    from rdsc.measure import run_summary
    run = {"n_features": 100_000, "engine_fraction_differ": 0.298,
           "against_float64": {"images": 64, "engine": 21, "float32": 1_926_304},
           "timing": [{"k": 10_000, "image size": 32, "images/s": 22217.9, "peak MB": 4325.0},
                      {"k": 100_000, "image size": 32, "images/s": 3063.5, "peak MB": 4033.0},
                      {"k": 10_000, "image size": 128, "images/s": 1973.6, "peak MB": 4303.0}],
           "growth_exponent_k": 0.8615, "growth_exponent_positions": None,
           "device": "cuda", "environment": {"device": "NVIDIA H200"}}
    rows = run_summary(run)
    assert rows["device"] == "NVIDIA H200"
    # the share as the prose gives it (once "3.0e-01" beside 29.8%)
    assert rows["share of features, engine against float32 network"] == "29.8%"
    assert run_summary({**run, "engine_fraction_differ": 2.4e-05})[
        "share of features, engine against float32 network"] == "2.4e-05"
    assert run_summary({**run, "engine_fraction_differ": 0})[
        "share of features, engine against float32 network"] == "0"
    assert rows["largest k timed, 32 × 32 images"] == (
        "k = 100,000: 3,064 images/s, peak 4,033 MB")
    assert rows["growth exponent of time, in k / in positions"] == "0.86 / too noisy"
    assert rows["against float64, first images: engine / float32 network"] == (
        "21 / 1,926,304 (64 images)")
    del run["growth_exponent_k"]                   # lacking, not noisy
    assert run_summary(run)["growth exponent of time, in k / in positions"] == (
        "– / too noisy")
    del run["timing"], run["environment"]         # an older record: named, not a crash
    rows = run_summary(run)
    # torch's names in capitals beside a model name (not "cpu")
    assert rows["largest k timed, images"] == "–" and rows["device"] == "CUDA"
    assert run_summary({**run, "environment": "H200"})["device"] == "CUDA"
    assert run_summary({**run, "device": "cpu"})["device"] == "CPU"
    assert run_summary({**run, "growth_exponent_k": float("nan"), "device": "cpu"})[
        "growth exponent of time, in k / in positions"] == "too noisy in both"


def test_a_gpu_disagreement_beyond_rounding_is_not_left_to_signs_near_zero():
    """12-04, an H200: the layer-by-layer network on the GPU differed from the CPU engine in
    3.01e-01 of the features, after a text blaming signs near zero."""
    from rdsc.measure import device_agreement
    said = device_agreement("NVIDIA H200", 64, 5.63e-06, 3.01e-01)
    assert said.endswith("The layer-by-layer network's share is above 0.1%, more than "
                         "signs near zero explain: see the float64 comparison above for "
                         "which computation strays.")
    assert "near zero" not in device_agreement("NVIDIA H200", 64, 1.5e-5, 2e-5)
