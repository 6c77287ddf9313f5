"""The random network's features as a scikit-learn transformer.

    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC
    from rdsc import RandomDepthwiseSignFeatures

    model = make_pipeline(RandomDepthwiseSignFeatures(n_features=10_000),
                          LinearSVC(C=0.005, dual=False))
    model.fit(train_images, train_labels)      # N x 3 x 32 x 32 uint8, or N x 3072 rows
    model.score(test_images, test_labels)

:class:`RandomDepthwiseSignFeatures` computes exactly ``rdsc.features.extract(net, X)``
for ``net = RandomDepthwiseSignNet(n_features, kernel_size, n_blocks, in_channels=C,
seed=seed)``: nothing is learnt from the data; ``fit`` only settles the image shape and
draws the weights. For datasets larger than memory use :func:`rdsc.features.extract`
with a stream (:mod:`rdsc.streaming`) or ``python -m rdsc features``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from rdsc.features import _as_images, as_device, extract
from rdsc.network import RandomDepthwiseSignNet
from rdsc.paper import PAPER_SEED


def input_scale(X: np.ndarray) -> str:
    """How ``X``'s values read as pixels: ``"pixels"`` (integers 0..255, or floats from 0
    to at most 2: pixels in [0, 1], perhaps brightened), ``"0..255 floats"`` (floats, none
    below 0, some above 2: pixels not divided by 255) or ``"signed floats"`` (normalised
    images). The network takes any of them, but a transform must read the scale its fit
    read (uint8 training images and float 0..255 test images once took top-1 from 36%
    to 17%, with a warning that said nothing of 255)."""
    if not np.issubdtype(X.dtype, np.floating) or not X.size:
        return "pixels"
    lo, hi = float(X.min()), float(X.max())
    return "signed floats" if lo < 0 else "0..255 floats" if hi > 2 else "pixels"


_SCALE_WORDS = {"pixels": "pixels in [0, 1] (uint8 0..255, or floats in [0, 1])",
                "0..255 floats": "floats above 2 with none below 0 (0..255 pixels not divided "
                                 "by 255?)",
                "signed floats": "floats with negative values (normalised images?)"}


def _looks_channels_last(rows: np.ndarray, n: int = 64) -> bool:
    """Do 3-channel image rows repeat a pattern every 3 values, as H x W x C rows do?

    In C x H x W rows neighbouring values are neighbouring pixels of one channel, whichever
    the position; in H x W x C rows two of every three neighbours are channels of one pixel
    and the third crosses to the next pixel, so the mean step depends on the position
    modulo 3 (on CIFAR-10: 2.3x between positions; C x H x W: 1.00x; noise: 1.00x).
    """
    x = np.asarray(rows[:n], dtype=np.float32)
    steps = np.abs(np.diff(x, axis=1))
    means = [float(steps[:, k::3].mean()) for k in range(3)]
    return max(means) > 1.5 * max(min(means), 1e-6)


class RandomDepthwiseSignFeatures(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Images -> the ``n_features`` features of a random depthwise signed network (float32).

    Parameters
    ----------
    n_features : int, default=1000
        k, the number of random blocks (features). The paper: 100,000.
    kernel_size : int, default=5
        K of every convolution (the paper: 5 for CIFAR, 3 for STL-10 and Corel).
    n_blocks : int, default=1
        L, the number of (avg-pool, depthwise conv, sign, depthwise conv, sign) blocks.
    seed : int, default=2018
        Seeds every weight; the first k' features of a k-feature network are the
        k'-feature network's. There is no ``None`` (unlike ``random_state``): features are
        only comparable between fits, and reproducible, from one fixed seed.
    device : str or None, default=None
        Where to compute (``"cpu"``, ``"cuda"``...; default: CUDA when present).
    batch_size : int or None, default=None
        Images per step of the engine (default: chosen for the device).
    image_shape : tuple (C, H, W) or None, default=None
        How a row of 2-D input ``N x (C*H*W)`` is one image, flattened channel-first
        (as ``images.reshape(N, -1)`` and CIFAR's rows are); one entry may be ``-1``
        (inferred, as in ``numpy.reshape``): ``(1, 1, -1)`` reads each row as a one-pixel
        high image. ``None``: ``3 x s x s`` if the row length is ``3 s^2``, else
        ``1 x s x s`` if it is ``s^2``, else an error. Unused for ``N x C x H x W`` input.
    cache : None, True or a folder, default=None
        Cache the features on disk (see :func:`rdsc.features.extract`).

    Input ``X``: ``N x C x H x W`` (or ``N x H x W``, one channel) or ``N x (C*H*W)``; an
    array, tensor, list or DataFrame. uint8 values, and integers of any other type in
    0..255, are pixels 0..255; floats are taken as values in [0, 1] (the paper's scaling:
    divide 8-bit pixels by 255; floats that are all whole numbers above 1, 0..255 pixels as
    floats, are refused; other ranges are computed as given, with a warning), exactly as
    :func:`rdsc.features.extract` takes them.

    Attributes
    ----------
    image_shape_ : tuple (C, H, W)
    net_ : rdsc.network.RandomDepthwiseSignNet
    n_features_in_ : int, C*H*W
    feature_names_in_ : names of the columns of a DataFrame X (when it had string names)
    """

    def __init__(self, n_features=1000, kernel_size=5, n_blocks=1, seed=PAPER_SEED, device=None,
                 batch_size=None, image_shape=None, cache=None):
        self.n_features = n_features
        self.kernel_size = kernel_size
        self.n_blocks = n_blocks
        self.seed = seed
        self.device = device
        self.batch_size = batch_size
        self.image_shape = image_shape
        self.cache = cache

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # features are float32 whatever comes in
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.allow_nan = False
        return tags

    # --- input ---------------------------------------------------------------------------

    def _rows(self, X, reset: bool):
        """``X`` as float32/uint8 rows ``N x (C*H*W)`` (validated) and its image shape, if
        3-D/4-D."""
        if isinstance(X, (list, tuple)):
            shapes = {np.shape(x) for x in X}
            if len(shapes) > 1:  # not numpy's "inhomogeneous shape" error
                raise ValueError(f"the images of X have {len(shapes)} different shapes "
                                 f"({', '.join(map(str, sorted(shapes)[:4]))}"
                                 f"{', ...' if len(shapes) > 4 else ''}): bring them to one "
                                 "size first (e.g. PIL's resize)")
            X = np.asarray(X)
        dtypes = getattr(X, "dtypes", None)  # a DataFrame: one dtype per column
        if (dtypes is not None and hasattr(X, "to_numpy") and len(dtypes)
                and all(np.issubdtype(d, np.integer) for d in dtypes)):
            # pd.read_csv's int64 pixels were once made float32 by validation and
            # refused as "0..255 pixels given as floats"; integers are pixels
            X = X.to_numpy()
        if isinstance(X, np.ndarray) and X.dtype == np.float16:
            X = torch.from_numpy(X)
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu()
            if X.dtype in (torch.float16, torch.bfloat16):
                # as extract reads them (cast to float32 first, q/255 in float16
                # is no longer q/255, and 1.8% of the features differed from extract's)
                X = _as_images(X, warn=False)
                X = X if X.dtype == torch.uint8 else X.float()
            X = X.numpy()
        shape = None
        if getattr(X, "ndim", 2) in (3, 4):
            X = np.asarray(X)
            if X.ndim == 3:  # N x H x W: one channel
                X = X[:, None]
            if X.shape[1] not in (1, 3, 4) and X.shape[-1] in (1, 3):
                raise ValueError(f"images of shape {X.shape[1:]} look channels-last; pass "
                                 "N x C x H x W (numpy: X.transpose(0, 3, 1, 2))")
            if X.shape[-1] == 4 and X.shape[1] > 4:
                # N x 32 x 32 x 4 (np.asarray of RGBA images) was once read as 32
                # channels of 32 x 4 pixels
                raise ValueError(f"images of shape {X.shape[1:]} look channels-last with 4 "
                                 "channels (RGBA?); drop the alpha channel and pass "
                                 "N x C x H x W (numpy: X[..., :3].transpose(0, 3, 1, 2))")
            shape = tuple(int(s) for s in X.shape[1:])
            X = X.reshape(len(X), math.prod(shape))  # not -1: no rows is sklearn's error below
        elif getattr(X, "ndim", 2) > 4:
            raise ValueError("expected images N x C x H x W or rows N x (C*H*W), "
                             f"got {X.ndim} dimensions")
        dtype = getattr(X, "dtype", None)
        if (isinstance(dtype, np.dtype) and np.issubdtype(dtype, np.integer)
                and dtype != np.uint8):
            # integers are pixels: as floats, 0..255 would be images 255 times too bright
            X = np.asarray(X)
            if X.size and (X.min() < 0 or X.max() > 255):
                raise ValueError(f"integer values from {X.min()} to {X.max()}: integers are "
                                 "read as 8-bit pixels 0..255; pass floats in [0, 1] for "
                                 "other values")
            X = X.astype(np.uint8)
        X = validate_data(self, X, reset=reset, dtype=[np.float32, np.uint8])
        return X, shape

    def _resolve_shape(self, n_values: int) -> tuple[int, int, int]:
        """The image shape of rows of ``n_values`` numbers, from ``image_shape`` or inferred."""
        spec = self.image_shape
        if spec is None:
            for channels in (3, 1):
                side = math.isqrt(n_values // channels)
                if n_values % channels == 0 and channels * side * side == n_values:
                    return channels, side, side
            raise ValueError(
                f"cannot tell which images rows of {n_values} values are (not 3 x s x s nor "
                "1 x s x s): pass image_shape=(C, H, W), e.g. (3, 32, 48), or (1, 1, -1) to read "
                "each row as a one-pixel high image; or pass X as N x C x H x W")
        try:
            spec = tuple(int(s) for s in spec)
            ok = len(spec) == 3 and spec.count(-1) <= 1 and all(s >= 1 or s == -1 for s in spec)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError("image_shape must be (C, H, W) of positive ints (one may be -1), "
                             f"got {self.image_shape!r}")
        known = math.prod(s for s in spec if s != -1)
        if -1 in spec:
            if n_values % known:
                raise ValueError(f"rows of {n_values} values cannot be images of shape "
                                 f"{self.image_shape}")
            spec = tuple(n_values // known if s == -1 else s for s in spec)
        if math.prod(spec) != n_values:
            raise ValueError(f"image_shape {self.image_shape} holds {math.prod(spec)} values, "
                             f"but the rows of X have {n_values}")
        return spec

    # --- fit / transform -----------------------------------------------------------------

    def fit(self, X, y=None):
        """Settle the image shape and draw the network's weights (nothing is learnt from X)."""
        X, shape = self._rows(X, reset=True)
        if (shape is not None and self.image_shape is not None
                and self._resolve_shape(X.shape[1]) != shape):
            raise ValueError(f"X holds images of shape {shape}, but image_shape is "
                             f"{self.image_shape}")
        self.image_shape_ = shape if shape is not None else self._resolve_shape(X.shape[1])
        if shape is None and self.image_shape is None and self.image_shape_[0] == 1 \
                and X.shape[1] % 3 == 0:
            # 3 x H x W rows with H * W = 3 m^2 (every 4:3 image: 24 x 32, 480 x 640) have a
            # square length and would be read as one-channel images of another size
            warnings.warn(f"rows of {X.shape[1]} values are read as one-channel "
                          f"{self.image_shape_[1]} x {self.image_shape_[2]} images; if they "
                          "are colour images of another shape (3 x 24 x 32 has as many "
                          "values as 1 x 48 x 48), pass image_shape=(3, H, W) or the 4-D "
                          f"array; for grey images, image_shape=(1, {self.image_shape_[1]}, "
                          f"{self.image_shape_[2]}) says so and silences this",
                          stacklevel=2)
        self._warn_if_channels_last(X, shape)
        self.input_scale_ = input_scale(X)
        as_device(self.device)  # a bad device now, not at the first transform
        if self.seed is None:
            raise ValueError("seed=None (a fresh random seed, as random_state=None) is not "
                             "supported: the weights are drawn from the seed, so pass an integer "
                             "to get the same features every fit (default 2018, the paper's)")
        self.net_ = RandomDepthwiseSignNet(self.n_features, self.kernel_size, self.n_blocks,
                                           in_channels=self.image_shape_[0], seed=self.seed)
        # too small an image: say so now
        self.net_.check_input(torch.zeros((1, *self.image_shape_)))
        if self.batch_size is not None and (not isinstance(self.batch_size, (int, np.integer))
                                            or isinstance(self.batch_size, bool)
                                            or self.batch_size < 1):
            raise ValueError("batch_size must be a positive integer or None, "
                             f"got {self.batch_size!r}")
        return self

    def transform(self, X):
        """``N x n_features`` float32 features of the images ``X``."""
        check_is_fitted(self, "net_")
        X, shape = self._rows(X, reset=False)
        if shape is not None and shape != self.image_shape_:
            raise ValueError(f"X holds images of shape {shape}, but this transformer was fitted "
                             f"on images of shape {self.image_shape_}")
        self._warn_if_channels_last(X, shape)
        self._check_scale(X)
        # read-only input (a memory map): the engine never writes to it
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            images = torch.from_numpy(X).reshape(len(X), *self.image_shape_)
        features = extract(self.net_, images, batch_size=self.batch_size, device=self.device,
                           cache=self.cache, progress=False)
        return np.asarray(features, dtype=np.float32)

    def _check_scale(self, X) -> None:
        """Refuse X on another scale than fit's where it must be one (a part of pixel-scale
        data is pixel-scale; integers are pixels; no part of 0..255 floats is negative);
        warn where a part of the fit's data could be on X's scale (a dark image of 0..255
        floats has values below 2, a bright normalised one none below 0)."""
        fitted, given = getattr(self, "input_scale_", None), input_scale(X)
        if fitted is None or given == fitted:
            return
        text = (f"this transformer was fitted on {_SCALE_WORDS[fitted]}, but X holds "
                f"{_SCALE_WORDS[given]}: the features would not compare. Bring both to one "
                "scale (the paper's: uint8, or floats divided by 255)")
        # fitted on 0..255 floats, normalised X was once computed with no word
        if (fitted == "pixels" or not np.issubdtype(X.dtype, np.floating)
                or (fitted, given) == ("0..255 floats", "signed floats")):
            raise ValueError(text)
        if X.size and X.max() > 0:  # black images read the same on every scale
            warnings.warn(text, stacklevel=3)

    def _warn_if_channels_last(self, X, shape) -> None:
        """Rows of 3-channel images that look flattened H x W x C: in fit, and again in
        transform, where test images often come flattened another way than training's."""
        if shape is None and self.image_shape_[0] == 3 and _looks_channels_last(X):
            warnings.warn("the rows look flattened channels-last (H x W x C, as from PIL, "
                          "Keras or TensorFlow arrays): read as C x H x W they are other "
                          "images. Flatten N x C x H x W arrays (numpy: "
                          "X.transpose(0, 3, 1, 2).reshape(len(X), -1)), or pass the 4-D array",
                          stacklevel=3)

    @property
    def _n_features_out(self):
        return self.net_.n_features
