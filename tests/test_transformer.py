"""The scikit-learn transformer: sklearn's estimator checks, the engine's exact features,
Pipeline and GridSearchCV, input shapes and their errors."""
import warnings

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from rdsc import RandomDepthwiseSignFeatures
from rdsc.features import extract
from rdsc.network import RandomDepthwiseSignNet


def pixels(n=10, side=16, channels=3, seed=0):
    return torch.randint(0, 256, (n, channels, side, side), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed)).numpy()


# sklearn's checks feed tabular rows of 1 to 10 values, which are no square images large
# enough for the paper's K=5, L=1. Read as one-pixel high images (image_shape=(1, 1, -1))
# through a 3 x 3 first layer with no pooling block, every row length is an image, and the
# estimator passes every check: none is marked as expected to fail. (The checks' random
# floats lie outside [0, 1]; the engine warns so, rightly: those warnings are muted here.)
@pytest.mark.filterwarnings("ignore:float images range")
@parametrize_with_checks([RandomDepthwiseSignFeatures(n_features=8, kernel_size=3, n_blocks=0,
                                                      image_shape=(1, 1, -1))],
                         expected_failed_checks=lambda estimator: {})
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _features(net, x):
    return np.asarray(extract(net, torch.as_tensor(x), progress=False))


@pytest.mark.parametrize("layout", ["uint8 NCHW", "float q/255 NCHW", "floats NCHW",
                                    "flat inferred", "flat image_shape", "flat -1", "grayscale NHW",
                                    "torch tensor"])
def test_exactly_the_engines_features(layout):
    x8 = pixels(7)
    k, net = 24, RandomDepthwiseSignNet(24, kernel_size=5, n_blocks=1, seed=11)
    expected = _features(net, x8)
    params, x = {}, x8
    if layout == "float q/255 NCHW":
        x = x8.astype(np.float64) / 255
    elif layout == "floats NCHW":
        x = np.random.default_rng(0).random(x8.shape, dtype=np.float32)
        expected = _features(net, x)
    elif layout == "flat inferred":
        x = x8.reshape(7, -1)
    elif layout == "flat image_shape":
        x, params = x8.reshape(7, -1), {"image_shape": (3, 16, 16)}
    elif layout == "flat -1":
        x, params = x8.reshape(7, -1), {"image_shape": (3, -1, 16)}
    elif layout == "grayscale NHW":
        x = pixels(7, channels=1)[:, 0]
        net = RandomDepthwiseSignNet(k, kernel_size=5, n_blocks=1, in_channels=1, seed=11)
        expected = _features(net, x[:, None])
    elif layout == "torch tensor":
        x = torch.from_numpy(x8)
    t = RandomDepthwiseSignFeatures(n_features=k, kernel_size=5, n_blocks=1, seed=11, **params)
    got = t.fit_transform(x)
    assert got.dtype == np.float32 and got.shape == (7, k)
    assert np.array_equal(got, expected)
    assert t.n_features_in_ == int(np.prod(t.image_shape_))
    assert list(t.get_feature_names_out()[:2]) == ["randomdepthwisesignfeatures0",
                                                   "randomdepthwisesignfeatures1"]


def test_paper_presets_and_cache(tmp_path):
    x = pixels(5, side=40)
    net = RandomDepthwiseSignNet.for_dataset("stl10", 16)
    t = RandomDepthwiseSignFeatures(n_features=16, kernel_size=3, n_blocks=3, cache=tmp_path)
    assert np.array_equal(t.fit_transform(x), _features(net, x))
    assert len(list(tmp_path.glob("*.npy"))) == 1
    assert np.array_equal(t.transform(x), _features(net, x))  # read back from the cache


def stripes(n, side=12, seed=0):
    """Horizontal (class 0) or vertical (class 1) stripes of random phase and contrast, noisy."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    grid = np.arange(side)
    x = np.empty((n, 3, side, side), np.float32)
    for i in range(n):
        wave = 0.5 + 0.4 * rng.uniform(0.5, 1) * np.sin(2 * np.pi * (grid / 4 + rng.random()))
        img = np.repeat(wave[:, None], side, 1) if y[i] == 0 else np.repeat(wave[None, :], side, 0)
        x[i] = np.clip(img + rng.normal(0, 0.05, (side, side)), 0, 1)
    return (np.round(x * 255)).astype(np.uint8), y


def test_pipeline_with_linear_svc_and_grid_search_over_n_features():
    x, y = stripes(60)
    # the paper's C=0.005 is for k=100,000
    pipe = Pipeline([("features", RandomDepthwiseSignFeatures(n_features=64, kernel_size=3,
                                                              n_blocks=1)),
                     ("svm", LinearSVC(C=1.0, dual=False))])
    pipe.fit(x[:40], y[:40])
    assert pipe.score(x[40:], y[40:]) >= 0.9
    flat = x.reshape(len(x), -1)  # flattened rows in a grid search: 3 x 12 x 12 inferred
    search = GridSearchCV(pipe, {"features__n_features": [2, 64]}, cv=2).fit(flat[:40], y[:40])
    assert [p["features__n_features"] for p in search.cv_results_["params"]] == [2, 64]
    assert search.best_params_ == {"features__n_features": 64}
    assert search.best_estimator_["features"].transform(flat[40:]).shape == (20, 64)
    assert search.score(flat[40:], y[40:]) >= 0.9


def test_clear_errors():
    x = pixels(4)
    with pytest.raises(ValueError, match="cannot tell which images rows of 10 values"):
        RandomDepthwiseSignFeatures().fit(np.zeros((4, 10)))
    with pytest.raises(ValueError, match="holds 12 values, but the rows of X have 768"):
        RandomDepthwiseSignFeatures(image_shape=(3, 2, 2)).fit(x.reshape(4, -1))
    with pytest.raises(ValueError, match="image_shape must be"):
        RandomDepthwiseSignFeatures(image_shape=(3, -1, -1)).fit(x.reshape(4, -1))
    with pytest.raises(ValueError, match="channels-last"):
        RandomDepthwiseSignFeatures().fit(x.transpose(0, 2, 3, 1))
    with pytest.raises(ValueError, match="too small"):
        RandomDepthwiseSignFeatures(n_blocks=3).fit(pixels(4, side=8))
    # seeds are integers: None once gave int()'s TypeError, 1.5 was seed 1
    with pytest.raises(ValueError, match="seed=None .* pass an integer"):
        RandomDepthwiseSignFeatures(n_features=4, seed=None).fit(x)
    for bad in (1.5, "7", True):
        with pytest.raises(ValueError, match="seed must be an integer"):
            RandomDepthwiseSignFeatures(n_features=4, seed=bad).fit(x)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        RandomDepthwiseSignFeatures(n_features=4, batch_size=True).fit(x)
    with pytest.raises(ValueError, match="0 sample"):  # once numpy's "cannot reshape"
        RandomDepthwiseSignFeatures(n_features=4).fit_transform(x[:0])
    t = RandomDepthwiseSignFeatures(n_features=4).fit(x)
    with pytest.raises(ValueError, match="fitted on images of shape"):
        t.transform(pixels(4).reshape(4, 3, 8, 32))
    with pytest.raises(ValueError, match="X has 192 features, but RandomDepthwiseSignFeatures is "
                                         "expecting 768"):
        t.transform(pixels(4, side=8).reshape(4, -1))


def test_integers_are_pixels_and_whole_floats_above_one_are_refused():
    """0..255 pixels as int64 were once floats 0..255 (images 255 times too bright)."""
    x = torch.randint(0, 256, (4, 3, 16, 16), generator=torch.Generator().manual_seed(0),
                      dtype=torch.uint8).numpy()
    model = RandomDepthwiseSignFeatures(n_features=8, kernel_size=3, n_blocks=0)
    as_uint8 = model.fit_transform(x)
    for dtype in (np.int64, np.int32, np.int16):
        np.testing.assert_array_equal(model.fit_transform(x.astype(dtype)), as_uint8)
    with pytest.raises(ValueError, match="integers are read as 8-bit pixels"):
        model.fit_transform(x.astype(np.int64) - 1)
    with pytest.raises(ValueError, match="0..255 pixels given as floats"):
        model.fit_transform(x.astype(np.float32))
    np.testing.assert_array_equal(model.fit_transform(x.astype(np.float32) / 255), as_uint8)


def test_rows_flattened_channels_last_are_flagged():
    # rows flattened from H x W x C arrays scored 32% instead of 37%, without a word
    rng = np.random.default_rng(0)
    # neighbouring pixels alike, and the three channels of a pixel alike, as in photographs
    smooth = (np.cumsum(rng.normal(size=(6, 1, 16, 16)), axis=3)
              + 0.3 * rng.normal(size=(6, 3, 16, 16)))
    images = (255 * (smooth - smooth.min()) / np.ptp(smooth)).astype(np.uint8)
    chw_rows = images.reshape(6, -1)
    hwc_rows = images.transpose(0, 2, 3, 1).reshape(6, -1)
    with pytest.warns(UserWarning, match="flattened channels-last"):
        RandomDepthwiseSignFeatures(n_features=4, kernel_size=3, n_blocks=1).fit(hwc_rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RandomDepthwiseSignFeatures(n_features=4, kernel_size=3, n_blocks=1).fit(chw_rows)
    # fitted on the right rows, then given channels-last test rows: 12% (below
    # chance) without a word
    fitted = RandomDepthwiseSignFeatures(n_features=4, kernel_size=3, n_blocks=1).fit(chw_rows)
    with pytest.warns(UserWarning, match="flattened channels-last"):
        fitted.transform(hwc_rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.transform(chw_rows)


def test_colour_rows_of_a_square_length_are_not_read_as_grey_without_a_word():
    # 3 x 24 x 32 rows (2,304 = 48^2 values) were read as 1 x 48 x 48 images
    rows = np.random.default_rng(0).integers(0, 256, (4, 3 * 24 * 32), dtype=np.uint8)
    with pytest.warns(UserWarning, match=r"read as one-channel 48 x 48 images.*image_shape"):
        t = RandomDepthwiseSignFeatures(n_features=4, kernel_size=3).fit(rows)
    assert t.image_shape_ == (1, 48, 48)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert RandomDepthwiseSignFeatures(n_features=4, kernel_size=3, image_shape=(
            3, 24, 32)).fit(rows).image_shape_ == (3, 24, 32)
        # MNIST's 28 x 28: 784 values are no colour image's count, nothing to say
        RandomDepthwiseSignFeatures(n_features=4, kernel_size=3).fit(rows[:, :784])


def _images(n=6, side=16, seed=0):
    return torch.randint(0, 256, (n, 3, side, side), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed))


def test_half_precision_input_gives_the_engines_features():
    """float16 was once cast to float32 first, so q/255 was no longer q/255 and 1.8%
    of the features differed from extract's; a bfloat16 tensor failed in .numpy()."""
    x = _images()
    t = RandomDepthwiseSignFeatures(n_features=16, kernel_size=3).fit(x)
    expected = t.transform(x)
    for half in (x.half() / 255, x.bfloat16() / 255, (x.numpy() / 255).astype(np.float16)):
        assert np.array_equal(t.transform(half), expected), half.dtype
    net = RandomDepthwiseSignNet(16, 3, 1, in_channels=3, seed=t.seed)
    assert np.array_equal(np.asarray(extract(net, x.half() / 255, progress=False)), expected)


def test_channels_last_rgba_is_refused():
    """N x 32 x 32 x 4 (np.asarray of RGBA images) was once read as 32 channels of
    32 x 4 pixels, with features 98% unlike the RGB ones and no warning."""
    rgba = np.zeros((4, 32, 32, 4), np.uint8)
    with pytest.raises(ValueError, match=r"channels-last with 4 channels \(RGBA\?\).*"
                       r"X\[\.\.\., :3\]\.transpose\(0, 3, 1, 2\)"):
        RandomDepthwiseSignFeatures(n_features=4).fit(rgba)
    # N x 4 x H x W is four-channel images, as given
    assert RandomDepthwiseSignFeatures(n_features=4).fit(
        rgba.transpose(0, 3, 1, 2)).image_shape_ == (4, 32, 32)


def test_a_transform_must_read_the_scale_its_fit_read():
    """uint8 training images and float 0..255 test images (resized, so not whole
    numbers) once took top-1 from 36% to 17% with a warning that said nothing of 255."""
    x = _images()
    t = RandomDepthwiseSignFeatures(n_features=8, kernel_size=3).fit(x)
    with pytest.raises(ValueError, match=r"fitted on pixels in \[0, 1\].*floats above 2 with "
                       r"none below 0 \(0\.\.255 pixels not divided by 255\?\)"):
        t.transform(x.float() * 0.999)
    with pytest.raises(ValueError, match="floats with negative values"):
        t.transform((x.float() / 255 - 0.5) / 0.25)
    assert t.transform(x.float() / 255).shape == (6, 8)  # the same scale as uint8
    wide = RandomDepthwiseSignFeatures(n_features=8, kernel_size=3).fit(x.float() * 0.999)
    with pytest.warns(UserWarning, match="0..255 pixels given as floats. Divide them by 255"):
        wide.transform(x.float() * 0.999)  # consistent: computed as given, with the hint
    with pytest.raises(ValueError, match="fitted on floats above 2"):
        wide.transform(x)  # integers are pixels: not a dark part of 0..255 floats
    with pytest.warns(UserWarning, match="fitted on floats above 2"):
        wide.transform(x.float() / 255)
    # normalised at fit, [0, 1] at transform was once silent
    normalised = RandomDepthwiseSignFeatures(n_features=8, kernel_size=3).fit(
        (x.float() / 255 - 0.5) / 0.25)
    with pytest.warns(UserWarning, match="fitted on floats with negative values"):
        normalised.transform(x.float() / 255)
    with pytest.raises(ValueError, match="fitted on floats with negative values"):
        normalised.transform(x)
    # 0..255 floats at fit, normalised at transform (and back) were once silent
    with pytest.raises(ValueError, match="fitted on floats above 2.*floats with negative"):
        wide.transform((x.float() / 255 - 0.5) / 0.25)
    with pytest.warns(UserWarning, match="fitted on floats with negative.*floats above 2"):
        normalised.transform(x.float() * 0.999)  # could be a bright normalised part


@pytest.mark.parametrize("device, message", [
    ("gpu", r"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu' \('cuda' is the GPU\)"),
    ("tpu", "got 'tpu'"),
    ("meta", "rdsc runs on 'cpu' or 'cuda'"),
])
def test_a_bad_device_is_refused_at_fit(device, message):
    with pytest.raises(ValueError, match=message):
        RandomDepthwiseSignFeatures(n_features=4, device=device).fit(_images())


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without a GPU")
def test_cuda_without_a_gpu_says_so():
    with pytest.raises(ValueError, match="torch sees no CUDA GPU here: pass device='cpu'"):
        RandomDepthwiseSignFeatures(n_features=4, device="cuda").fit(_images())


def test_integers_above_255_and_a_wrong_image_shape_are_refused():
    """Integers above 255 wrapping, and the image_shape check skipped, once passed these tests."""
    from rdsc.transformer import RandomDepthwiseSignFeatures as R
    with pytest.raises(ValueError, match="integer values from"):
        R(4, 3).fit(np.full((2, 3, 8, 8), 300, dtype=np.int64))
    with pytest.raises(ValueError, match="image_shape"):
        R(4, 3, image_shape=(3, 8, 8)).fit(np.zeros((2, 3, 16, 16), np.uint8))


def test_smooth_channels_last_rows_warn():
    """A higher channels-last threshold once passed these tests."""
    from rdsc.transformer import RandomDepthwiseSignFeatures as R
    c = np.arange(3)[None, None, :]
    w = np.arange(8)[None, :, None]
    img = (0.2 + 0.1 * c + 0.02 * w + 0 * np.arange(8)[:, None, None]).astype(np.float32)
    X = np.repeat(img.reshape(1, -1), 10, axis=0)
    with pytest.warns(UserWarning, match="channels-last"):
        R(4, 3).fit(X)


def test_a_dataframe_of_integer_pixels_is_read_as_pixels():
    # pd.read_csv gives int64 columns; they were once made float32 and refused as
    # "0..255 pixels given as floats"
    import io

    import pandas as pd
    X8 = np.random.default_rng(0).integers(0, 256, (20, 784)).astype(np.uint8)
    frame = pd.read_csv(io.StringIO(pd.DataFrame(X8).to_csv(index=False)))
    assert all(d == np.int64 for d in frame.dtypes)
    from_frame = RandomDepthwiseSignFeatures(n_features=16, device="cpu").fit_transform(frame)
    from_array = RandomDepthwiseSignFeatures(n_features=16, device="cpu").fit_transform(X8)
    assert np.array_equal(np.asarray(from_frame), np.asarray(from_array))


def test_a_list_of_images_of_two_sizes_is_named():
    # the error was once numpy's "setting an array element with a sequence ... inhomogeneous shape"
    images = [np.zeros((3, 32, 32), np.uint8), np.zeros((3, 40, 32), np.uint8)]
    with pytest.raises(ValueError, match=r"2 different shapes \(\(3, 32, 32\), \(3, 40, 32\)"
                                         r"\): bring them to one size"):
        RandomDepthwiseSignFeatures(n_features=8, device="cpu").fit_transform(images)
