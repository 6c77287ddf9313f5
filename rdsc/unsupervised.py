"""Single-layer unsupervised features: Coates, Lee & Ng (2011), and its random-filter control.

The pipeline (their best CIFAR-10 setting, 77.9% at 1,600 centroids):

1. random 6x6 patches from training images (``3 * 6 * 6 = 108`` values each);
2. contrast normalisation per patch: subtract its mean, divide by ``sqrt(var + 10)``
   (pixel units 0..255, as in their code);
3. ZCA whitening fitted on those patches, ``W = U (S + eps)^-1/2 U^T`` (:class:`Whitening`);
4. ``K`` filters: k-means centroids of the whitened patches (scikit-learn's
   MiniBatchKMeans) or, for the control, random Gaussian vectors of unit length;
5. for every 6x6 patch of an image (stride 1), the *triangle* activation
   ``f_k(x) = max(0, mean_j(d_j) - d_k)`` with ``d_k = |x - c_k|`` (:func:`triangle`);
6. sum pooling over the four quadrants of the response map (:func:`quadrant_pool`):
   ``4K`` features per image.

Images are ``N x 3 x H x W`` 8-bit pixels (uint8, or integers 0..255); floats are refused
(:func:`rdsc.data.pixel_images`: the method works in pixel units, and floats in [0, 1] or
0..255 cannot be told apart).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from rdsc.checks import seed_number
from rdsc.data import pixel_images


def normalize_patches(patches: torch.Tensor, eps: float = 10.0) -> torch.Tensor:
    """``N x D`` patches -> each minus its mean, divided by ``sqrt(its variance + eps)``."""
    patches = patches.float()
    mean = patches.mean(1, keepdim=True)
    var = patches.var(1, keepdim=True)  # unbiased, as Matlab's var in the authors' code
    return (patches - mean) / torch.sqrt(var + eps)


class Whitening:
    """ZCA whitening: ``(x - mean) @ W`` with ``W = U diag(1 / sqrt(s + eps)) U^T``.

    ``s, U``: eigenvalues and vectors of the patches' covariance. With ``eps -> 0`` the
    whitened patches have identity covariance; ``eps`` (0.1 in Coates et al.) damps the
    smallest directions, where there is mostly noise.
    """

    def __init__(self, eps: float = 0.1):
        if not eps >= 0:
            raise ValueError(f"eps must be >= 0, got {eps!r}")
        self.eps = float(eps)

    def fit(self, patches: torch.Tensor) -> "Whitening":
        """``patches``: ``N x D`` (N > D)."""
        x = patches.double()
        if x.ndim != 2 or x.shape[0] <= x.shape[1]:
            raise ValueError("need an N x D matrix with more rows than columns, "
                             f"got {tuple(x.shape)}")
        self.mean = x.mean(0)
        cov = torch.cov(x.T)
        s, u = torch.linalg.eigh(cov)
        self.matrix = ((u / torch.sqrt(s.clamp(min=0) + self.eps)) @ u.T).float()
        self.mean = self.mean.float()
        return self

    def __call__(self, patches: torch.Tensor) -> torch.Tensor:
        """``N x D`` patches -> ``N x D`` whitened patches."""
        return (patches.float() - self.mean) @ self.matrix


def triangle(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """``N x D`` points, ``K x D`` centroids -> ``N x K`` activations ``max(0, mean(d) - d_k)``."""
    xx = (x * x).sum(1, keepdim=True)
    cc = (centroids * centroids).sum(1)[None]
    d = torch.sqrt((xx + cc - 2 * x @ centroids.T).clamp(min=0))
    return (d.mean(1, keepdim=True) - d).clamp(min=0)


def quadrant_pool(maps: torch.Tensor) -> torch.Tensor:
    """``N x K x h x w`` -> ``N x 4K``: sums over the top-left, top-right, bottom-left and
    bottom-right quadrants (``ceil(h/2)`` rows and ``ceil(w/2)`` columns go to the first
    halves, as Coates et al.'s ``round``), features ordered quadrant by quadrant."""
    h, w = maps.shape[-2:]
    hr, hc = (h + 1) // 2, (w + 1) // 2
    parts = [maps[..., :hr, :hc], maps[..., :hr, hc:], maps[..., hr:, :hc], maps[..., hr:, hc:]]
    return torch.cat([p.sum((-2, -1)) for p in parts], 1)


def random_patches(images, n: int, size: int = 6, seed: int = 0) -> torch.Tensor:
    """``n x (C * size * size)`` patches at random images and positions (float, pixel units)."""
    images = torch.as_tensor(images)
    N, C, H, W = images.shape
    if size > min(H, W):
        raise ValueError(f"patch size {size} is larger than the images ({H}x{W})")
    gen = torch.Generator().manual_seed(seed_number(seed))
    which = torch.randint(0, N, (n,), generator=gen)
    r = torch.randint(0, H - size + 1, (n,), generator=gen)
    c = torch.randint(0, W - size + 1, (n,), generator=gen)
    rows = (r[:, None] + torch.arange(size))[:, None, :, None]
    cols = (c[:, None] + torch.arange(size))[:, None, None, :]
    patches = images[which[:, None, None, None], torch.arange(C)[None, :, None, None], rows, cols]
    return patches.reshape(n, -1).float()


class KMeansFeatures:
    """Coates-Lee-Ng single-layer features (``filters="kmeans"``) or the random control
    (``filters="random"``).

    Args:
        n_filters: K (1,600 in their CIFAR-10 result); features are ``4 K``.
        patch_size: side of the square receptive field (6).
        n_patches: random patches to fit whitening and k-means on.
        whitening_eps: ZCA regulariser (0.1).
        seed: patches, k-means initialisation and random filters.
    """

    def __init__(self, n_filters: int = 1600, *, filters: str = "kmeans", patch_size: int = 6,
                 n_patches: int = 100_000, whitening_eps: float = 0.1, seed: int = 0):
        if filters not in ("kmeans", "random"):
            raise ValueError(f"filters must be 'kmeans' or 'random', got {filters!r}")
        if n_filters < 1:
            raise ValueError(f"n_filters must be positive, got {n_filters}")
        self.n_filters, self.filters, self.patch_size = int(n_filters), filters, int(patch_size)
        self.n_patches, self.whitening_eps = int(n_patches), whitening_eps
        self.seed = seed_number(seed)

    def fit(self, images) -> "KMeansFeatures":
        """Fit whitening and the filters on random patches of ``images`` (training images,
        8-bit pixels ``N x C x H x W``: the patch normalisation works in pixel units)."""
        images = pixel_images(images)
        patches = random_patches(images, self.n_patches, self.patch_size, self.seed)
        patches = normalize_patches(patches)
        self.whitening = Whitening(self.whitening_eps).fit(patches)
        white = self.whitening(patches)
        if self.filters == "kmeans":
            from sklearn.cluster import MiniBatchKMeans
            km = MiniBatchKMeans(n_clusters=self.n_filters, random_state=self.seed, batch_size=4096,
                                 n_init=1, max_iter=50, max_no_improvement=10)
            km.fit(white.numpy())
            self.centroids = torch.from_numpy(km.cluster_centers_).float()
        else:
            gen = torch.Generator().manual_seed(self.seed)
            c = torch.randn(self.n_filters, white.shape[1], generator=gen)
            self.centroids = c / c.norm(dim=1, keepdim=True)
        return self

    @property
    def n_features(self) -> int:
        """``4K``: K filters x 4 quadrants."""
        return 4 * self.n_filters

    @torch.no_grad()
    def transform(self, images, batch_size: int = 32, device=None) -> np.ndarray:
        """``N x 3 x H x W`` 8-bit images -> ``N x 4K`` float32 features (on ``device``)."""
        if not hasattr(self, "centroids"):
            raise RuntimeError("call fit(training images) before transform")
        images = pixel_images(images)
        device = torch.device(device) if device is not None else torch.device("cpu")
        whiten = Whitening(self.whitening_eps)
        whiten.mean = self.whitening.mean.to(device)
        whiten.matrix = self.whitening.matrix.to(device)
        centroids = self.centroids.to(device)
        s = self.patch_size
        out = []
        for lo in range(0, len(images), batch_size):
            x = images[lo:lo + batch_size].to(device).float()
            n, _, H, W = x.shape
            h, w = H - s + 1, W - s + 1
            # every s x s patch, channel-major like random_patches: (n*h*w) x (C*s*s)
            p = F.unfold(x, s).transpose(1, 2).reshape(n * h * w, -1)
            act = triangle(whiten(normalize_patches(p)), centroids)
            maps = act.reshape(n, h, w, -1).permute(0, 3, 1, 2)
            out.append(quadrant_pool(maps).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, self.n_features), np.float32)
