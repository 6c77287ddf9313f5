"""The paper's classifier: a one-vs-rest linear SVM, squared hinge, L2, C = 0.005.

The authors used scikit-learn's ``LinearSVC(C=0.005, dual=False)`` (liblinear's
primal trust-region Newton method). For each class ``c`` it minimises::

    f(w_c) = 1/2 |w_c|^2 + C * sum_i max(0, 1 - y_ic * [x_i, 1] . w_c)^2

with ``y_ic = +1`` for images of class ``c`` and ``-1`` otherwise; the intercept is
the last weight (``intercept_scaling=1``) and is penalised like the others.

:class:`LinearSVM` solves exactly this objective either with liblinear
(``solver="liblinear"``, needs the whole float matrix in memory) or with a
Newton-CG solver written in torch (``solver="torch"``, the default): all classes
at once, on the GPU when present, reading the features in row blocks from a
:class:`rdsc.features.FeatureArray` (possibly a memory-mapped cache), so the
paper's 50,000 x 100,000 problem needs neither liblinear nor 20 GB of float32.

For hard margins (a very large ``C``, as :mod:`rdsc.separation` fits them) neither of
those reaches the optimum: the problem is then badly conditioned, and float32 Newton-CG
stops short of it. ``solver="exact"`` solves such problems, with few rows, in float64
(the weights are then kept as float32, like the others'): the dual, a non-negative
quadratic programme in N variables, by block principal pivoting, whose answer Newton's
method on the primal checks and, where needed, finishes; a fit that stops short of a
verified optimum is flagged (``converged_`` False, a warning).
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch

from rdsc.checks import label_vector, positive_number, whole_number
from rdsc.data import class_indices
from rdsc.features import FeatureArray, as_device
from rdsc.paper import PAPER_C


BLOCK_BYTES = 512 << 20  # one float32 block of rows: the solver's memory beyond kept blocks

#: above this C the torch solver's stopping test (the gradient relative to its value at
#: zero, which grows with C) ends far from the optimum: at C = 1e6 on chapter 5's 2,000
#: CIFAR-10 images, mean margins 4% (pixels), 12% (3,000 features) and 23% (Gaussian noise)
#: narrower than the exact solver's; it warns there, pointing to ``solver="exact"``
LARGE_C = 1e5

#: the exact solver holds two N x N float64 matrices: 3.6 GB at this N
EXACT_MAX_ROWS = 15_000

#: above this C (for rows of unit mean squared norm; the exact solver scales the bound by
#: the rows' norm) the ridge ``1 / 2C`` is lost in float64 rounding: on 400 non-separable
#: unit-scaled rows its margins matched a float64 reference to 4e-5 at C = 1e10, and were
#: garbage at 1e12
EXACT_LARGE_C = 1e10


#: below this C the weights (about C times the rows' scale) come near float32's smallest
#: numbers: on unit-scaled rows the solver found all-zero weights at C = 1e-25, and at 1e-22
#: its largest weight was 3e-29; chapters' C stays well above it
SMALL_C = 1e-12


def svm_penalty(name: str, C) -> float:
    """A chapter's SVM penalty ``C`` (the torch solver's, with the paper's 0.005 as the
    usual value), checked in its set-up cell rather than in the first fit after the
    features' extraction: a positive number from :data:`SMALL_C`, where
    float32 weights come near underflow, to :data:`LARGE_C`, above which the torch solver
    stops before the optimum, so accuracies would be those of unfinished fits."""
    C = positive_number(name, C)
    if C > LARGE_C:
        raise ValueError(
            f"{name} = {C:g} is above {LARGE_C:g}, where the torch SVM solver stops before "
            f"its optimum (margins up to 23% too narrow at 1e6), so the accuracies would be "
            f"those of unfinished fits; the paper's C is {PAPER_C:g} (chapter 5 measures "
            "hard margins, at large C, with the exact solver)")
    if C < SMALL_C:
        raise ValueError(
            f"{name} = {C:g} is below {SMALL_C:g}, where the SVM's weights come near "
            f"float32's smallest numbers; the paper's C is {PAPER_C:g}")
    return C


def block_rows_for(k: int, budget: int = BLOCK_BYTES) -> int:
    """Rows per block so that a float32 block of ``k + 1`` columns fits in ``budget`` bytes
    (at most 8,192, at least 64): 8,192 rows up to k = 16,383, 1,342 at k = 100,000."""
    return int(min(8192, max(64, budget // (4 * (k + 1)))))


class _RowBlocks:
    """The rows of ``X`` as blocks of float32 ``[x, 1]`` on a device, kept there if they fit.

    When they do not fit (a third of free memory on CPU), each pass reads one block at a
    time from ``X`` (an array, a memmap or a FeatureArray on disk), so the solver holds
    about one block (:data:`BLOCK_BYTES`) plus its integer counts, whatever ``N``.
    """

    def __init__(self, X, device, block_rows=None, keep_bytes=None):
        self.X, self.device = X, device
        self.n, self.d = X.shape[0], X.shape[1] + 1
        self.block_rows = block_rows = block_rows or block_rows_for(X.shape[1])
        if keep_bytes is None:  # keep the float32 blocks where they fit with room to spare
            keep_bytes = int(_free_memory(device) * (0.6 if device.type == "cuda" else 0.33))
        self.kept = None
        if self.n * self.d * 4 <= keep_bytes:
            self.kept = [self._load(lo) for lo in range(0, self.n, block_rows)]

    def _load(self, lo):
        hi = lo + self.block_rows
        if isinstance(self.X, FeatureArray):  # move the compact integer counts, divide there
            counts = torch.from_numpy(np.array(self.X.counts[lo:hi])).to(self.device)
            block = counts.float() / self.X.denominator
        else:
            block = torch.as_tensor(np.asarray(self.X[lo:hi], dtype=np.float32)).to(self.device)
            if not torch.isfinite(block).all():  # one NaN would make every weight NaN
                bad = lo + int(torch.nonzero(~torch.isfinite(block))[0, 0])
                raise ValueError(f"features contain NaN or infinite values (first in row {bad}); "
                                 "check how they were computed or scaled")
        ones = torch.ones(block.shape[0], 1, device=self.device)
        return torch.cat([block, ones], dim=1)

    def __iter__(self):
        """Yields ``(row offset, block rows x d)``."""
        for i, lo in enumerate(range(0, self.n, self.block_rows)):
            yield lo, (self.kept[i] if self.kept is not None else self._load(lo))


def _times(B: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """``B @ V`` for a tall block ``B`` (rows x d) and a few columns ``V`` (d x c).

    Computed as ``(V.T @ B.T).T``: the same product, but CPU BLAS runs this skinny shape
    2-3x faster in that orientation (measured on a 2-core x86 machine).
    """
    return (V.T @ B.T).T


def _transposed_times(B: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """``B.T @ R`` (d x c) for a block ``B`` (rows x d) and ``R`` (rows x c).

    Computed as ``(R.T @ B).T``: on CPU BLAS the direct form was 13x slower for 2,000 x 6,400
    blocks and 10 classes, which made the SVM's Hessian products the slowest step of a fit.
    """
    return (R.T @ B).T


def _free_memory(device) -> int:
    if device.type == "cuda":
        torch.cuda.empty_cache()  # memory the feature engine left cached counts as free
        return torch.cuda.mem_get_info(device)[0]
    try:
        import psutil
        return psutil.virtual_memory().available
    except ImportError:  # pragma: no cover
        return 4 << 30


def _as_matrix(X):
    """``X`` as it is when it has a ``shape`` (array, tensor, memmap, FeatureArray), else (a
    list of rows) as a float32 array."""
    if hasattr(X, "shape"):
        return X
    try:
        return np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"X must be an N x k matrix (array, tensor or FeatureArray), got a "
                         f"{type(X).__name__} that is not one: {error}") from error


def _first_columns(X, k):
    """The first ``k`` features of ``X``: ``X.columns(k)`` for a FeatureArray, else ``X[:, :k]``."""
    if isinstance(X, FeatureArray):
        return X.columns(k)
    X = _as_matrix(X)
    if len(X.shape) != 2:
        raise ValueError(f"features must be N x k, got shape {tuple(X.shape)}")
    # a slice past the end would quietly give fewer columns than k
    if isinstance(k, bool) or int(k) != k or not 1 <= k <= X.shape[1]:
        raise ValueError(f"k must be an integer from 1 to {X.shape[1]} (the features "
                         f"extracted), got {k!r}: extract with a larger network for more")
    return X[:, :int(k)]


def training_classes(y: np.ndarray) -> np.ndarray:
    """The sorted classes of training labels ``y`` (``N``), refusing NaN or infinite labels
    (``np.unique`` would make NaN a class of its own, and its rows negatives for every
    real class) and fewer than two classes."""
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        bad = int((~np.isfinite(y)).sum())
        raise ValueError(f"{bad} of {len(y)} training labels are NaN or infinite: drop those "
                         "rows, or give every row its class")
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("need at least two classes to train a classifier")
    return classes


class LinearSVM:
    """One-vs-rest linear SVM (squared hinge, L2), as ``LinearSVC(C, dual=False)``.

    Args:
        C: the penalty (the paper: 0.005).
        solver: ``torch`` (Newton-CG, GPU when present, streams row blocks),
            ``liblinear`` (scikit-learn's LinearSVC; needs all features in memory) or
            ``exact`` (solved to the optimum in float64, :meth:`_exact_dual`: for a large
            ``C`` on at most :data:`EXACT_MAX_ROWS` rows; GPU when present).
        tol: torch: stop when every class's gradient norm falls below ``tol`` times its
            initial one (or after three Newton steps that no longer lower any class's
            objective beyond float32 rounding: the gradient of float32 sums cannot always
            reach ``tol``); liblinear: its own tolerance; exact: not used (it stops at the
            optimum).
        max_iter: most Newton steps (exact: most exchanges of the support set, and ten
            times that in Newton steps where the exchanges stall).
        device: for the torch and exact solvers (``None`` or ``"auto"``: CUDA when present).
        verbose: print each Newton step's progress (torch solver).

    After :meth:`fit`: ``coef_`` (classes x k), ``intercept_`` (classes), ``classes_``,
    ``n_iter_``, ``converged_`` (False, with a ``ConvergenceWarning``, when ``max_iter``
    steps ended before ``tol`` was reached), ``fit_seconds_``.
    """

    def __init__(self, C: float = PAPER_C, solver: str = "torch", tol: float = 1e-4,
                 max_iter: int = 100, device=None, verbose: bool = False):
        # C=True once ran as C = 1, C="0.005" was parsed and max_iter=2.7 cut to 2
        C, tol = positive_number("C", C), positive_number("tol", tol)
        max_iter = whole_number("max_iter", max_iter)
        if solver not in ("torch", "liblinear", "exact"):
            raise ValueError(f"solver must be 'torch', 'liblinear' or 'exact', got {solver!r}")
        self.C, self.solver, self.tol, self.max_iter = float(C), solver, float(tol), int(max_iter)
        self.device = as_device(device)  # "auto" too, as everywhere else
        self.verbose = verbose

    def fit(self, X, y):
        """Fit on ``X`` (N x k: array, tensor, FeatureArray or list of rows) and labels ``y``
        (N)."""
        X, y = _as_matrix(X), np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be one label per row (shape N), got shape {y.shape}")
        if len(X.shape) != 2:
            raise ValueError(f"X must be N x k, got shape {tuple(X.shape)}")
        if X.shape[0] != len(y):
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(y)} labels")
        self.classes_ = training_classes(y)
        start = time.perf_counter()
        if self.solver == "liblinear":
            from sklearn.svm import LinearSVC
            svc = LinearSVC(C=self.C, dual=False, tol=self.tol, max_iter=max(self.max_iter, 1000))
            svc.fit(np.asarray(X, dtype=np.float32), y)
            coef, intercept = svc.coef_, svc.intercept_
            if len(self.classes_) == 2:  # sklearn keeps one vector for two classes
                coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
            self.n_iter_ = int(np.max(svc.n_iter_))
            self.converged_ = self.n_iter_ < svc.max_iter   # liblinear warns itself
        elif self.solver == "exact":
            if self.C > EXACT_LARGE_C:
                raise ValueError(f"LinearSVM(C={self.C:g}, solver='exact'): C above "
                                 f"{EXACT_LARGE_C:g} is lost in float64 rounding (its 1 / 2C "
                                 "beside the rows' products); use a C up to that")
            W, self.n_iter_, self.converged_ = self._exact_dual(X, y)
            if not W[:-1].any():
                raise ValueError("LinearSVM(solver='exact') found all-zero weights: the rows "
                                 "hold no variation to separate the classes by (all-zero "
                                 "or constant features?)")
            coef, intercept = W[:-1].T, W[-1]
            if not self.converged_:
                from sklearn.exceptions import ConvergenceWarning
                warnings.warn(f"LinearSVM(C={self.C:g}, solver='exact') did not reach an optimum "
                              "it could verify: the model may not be the SVM's optimum. Either "
                              f"max_iter={self.max_iter} exchanges (and ten times as many "
                              "Newton steps) ran out (raise max_iter), or at this C the rows "
                              "are too near the limit of separability for float64 solves "
                              "(use a smaller C)",
                              ConvergenceWarning, stacklevel=2)
        else:
            if self.C > LARGE_C:
                warnings.warn(f"LinearSVM(C={self.C:g}): above C = {LARGE_C:g} the torch "
                              "solver's stopping test ends before the optimum (margins came "
                              "out up to 23% too narrow at C = 1e6); for hard margins on up "
                              f"to {EXACT_MAX_ROWS:,} rows use solver='exact'",
                              RuntimeWarning, stacklevel=2)
            W, self.n_iter_, self.converged_ = self._newton_cg(X, y)
            if not np.isfinite(W).all() or not W[:-1].any():
                # one message for both ends once told a C of 1e-30 to get smaller
                advice = (f"a larger C (at such a small one the weights underflow float32; "
                          f"the paper's C is {PAPER_C:g})" if self.C < 1 else
                          "a smaller C (at 1e4 it converged on unit-scaled rows)")
                raise ValueError(f"LinearSVM(C={self.C:g}) found no weights (all zero or not "
                                 "finite): float32 Newton steps break down at such a C; use "
                                 + advice)
            coef, intercept = W[:-1].T, W[-1]
            if not self.converged_:
                from sklearn.exceptions import ConvergenceWarning
                warnings.warn(f"LinearSVM(C={self.C:g}) stopped at max_iter={self.max_iter} "
                              f"Newton steps before the gradient fell to tol={self.tol:g} of "
                              "its start: the model is not the SVM's optimum; raise max_iter",
                              ConvergenceWarning, stacklevel=2)
        self.coef_ = np.asarray(coef, np.float32)
        self.intercept_ = np.asarray(intercept, np.float32)
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _newton_cg(self, X, y):
        dev, C = self.device, self.C
        rows = _RowBlocks(X, dev)
        Y = torch.as_tensor(y[:, None] == self.classes_[None, :], device=dev).float() * 2 - 1
        W = torch.zeros(rows.d, len(self.classes_), device=dev)

        def margins(W):
            """1 - y * score, per image and class."""
            return torch.cat([1 - Y[lo:lo + len(B)] * _times(B, W) for lo, B in rows])

        def objective(M, W):
            return 0.5 * (W * W).sum(0) + C * (M.clamp(min=0) ** 2).sum(0)

        def grad(M, W):
            G = W.clone()
            for lo, B in rows:
                G -= 2 * C * _transposed_times(B, Y[lo:lo + len(B)]
                                               * M[lo:lo + len(B)].clamp(min=0))
            return G

        def hess_vec(active, V):
            HV = V.clone()
            for lo, B in rows:
                HV += 2 * C * _transposed_times(B, active[lo:lo + len(B)] * _times(B, V))
            return HV

        M = margins(W)
        f = objective(M, W)
        G = grad(M, W)
        g0 = G.norm(dim=0)
        it, converged, stalls = 0, False, 0
        for it in range(1, self.max_iter + 1):
            active = (M > 0).float()
            # Conjugate gradients on H s = -g, each class (column) on its own.
            S, R = torch.zeros_like(W), -G
            P, rr = R.clone(), (R * R).sum(0)
            cg_tol = (torch.minimum(torch.full_like(rr, 0.1), rr.sqrt() / g0.clamp(min=1e-30))
                      * rr.sqrt())
            for _ in range(50):
                if bool((rr.sqrt() <= cg_tol).all()):
                    break
                HP = hess_vec(active, P)
                alpha = rr / (P * HP).sum(0).clamp(min=1e-30)
                S += alpha * P
                R -= alpha * HP
                rr_new = (R * R).sum(0)
                P = R + (rr_new / rr.clamp(min=1e-30)) * P
                rr = rr_new
            # Backtracking line search per class (Armijo).
            step = torch.ones_like(f)
            slope = (G * S).sum(0)
            for _ in range(20):
                W_new = W + step * S
                M_new = margins(W_new)
                f_new = objective(M_new, W_new)
                ok = f_new <= f + 1e-4 * step * slope
                if bool(ok.all()):
                    break
                step = torch.where(ok, step, step / 2)
            # float32 sums bound how small the gradient can get: three steps in a row that no
            # longer lower any class's objective beyond rounding mean the optimum, as float32
            # sees it (a problem the gradient test ends is left as it was)
            stalls = stalls + 1 if bool(((f - f_new) <= 1e-6 * f.abs()).all()) else 0
            W, M, f = W_new, M_new, f_new
            G = grad(M, W)
            gnorm = G.norm(dim=0)
            if self.verbose:
                print(f"newton {it}: objective {f.sum().item():.6g}, max |g|/|g0| "
                      f"{(gnorm / g0).max().item():.2e}")
            if bool((gnorm <= self.tol * g0).all()) or stalls >= 3:
                converged = True
                break
        return W.cpu().numpy(), it, converged

    def _exact_dual(self, X, y):
        """The SVM solved in float64 to its optimum, one class at a time, from the rows' inner
        products ``K = Xa Xa^T`` (N x N; ``Xa = [X, 1]``, the intercept a last column).

        For one class (labels ``y_i = +-1``) the weights are ``w = Xa^T beta`` with
        ``beta_i = y_i a_i`` and ``a`` the solution of the dual, the non-negative quadratic
        programme ``min 1/2 a^T (Y K Y + I / 2C) a - 1^T a`` over ``a >= 0``. Block
        principal pivoting (:meth:`_pivoting`) solves it in 6-16 exchanges for chapter 5's
        2,000 images when the classes are clearly separable, at any C from 1e4 to 1e10.
        Where it stalls (rows near or past the limit of separability at a large C: the dual
        is then nearly singular), it climbs a ladder of C rising tenfold, each rung starting
        from the last one's support set. Its answer then starts Newton's method on the
        primal with exact line searches (:meth:`_primal_newton`), which confirms an optimum
        in one step and otherwise goes on from there (slower, but it cannot cycle; where it
        stops, only :meth:`_optimal`, which trusts no solve, can call it converged). Where
        the rows have fewer columns than there are rows (K is then singular), or K's
        solves leave a fit unverified (up to 2N columns), :meth:`_primal_newton_rows` does
        this on the rows themselves. On chapter
        5's unit-scaled rows at C = 1e6 every fit converged and was verified, at the
        optimum up to float64 rounding, where float32 Newton-CG stops far from it.

        Returns ``(W, steps, converged)``: ``W`` is (k + 1) x classes (the intercept last),
        ``steps`` the most exchanges plus Newton steps any class needed.
        """
        n = X.shape[0]
        if n > EXACT_MAX_ROWS:
            raise ValueError(f"solver='exact' holds N x N float64 matrices; N = {n:,} is above "
                             f"{EXACT_MAX_ROWS:,} (use solver='torch')")
        dev = self.device if self.device.type in ("cpu", "cuda") else torch.device("cpu")
        Xa = torch.as_tensor(np.asarray(X, dtype=np.float64), device=dev)
        if not torch.isfinite(Xa).all():
            raise ValueError("features contain NaN or infinite values; check how they were "
                             "computed or scaled")
        Xa = torch.cat([Xa, torch.ones(n, 1, dtype=Xa.dtype, device=dev)], dim=1)
        K = Xa @ Xa.T
        scale = float(K.diagonal().mean())  # [x, 1]'s mean squared norm: 2 for unit rows
        if not math.isfinite(scale) or self.C * scale > 4 * EXACT_LARGE_C:  # 2x spread
            raise ValueError(f"LinearSVM(C={self.C:g}, solver='exact'): C times the rows' mean "
                             f"squared norm ({scale:.3g}) is above {4 * EXACT_LARGE_C:g}, where "
                             "float64 loses 1 / 2C beside the rows' products; scale the rows "
                             "(unit average norm) or use a smaller C")
        # a ladder of C rising tenfold to this one, from a ridge 1 / 2C as large as the
        # rows' squared norms (where the dual is well conditioned)
        ladder = [self.C]
        while ladder[-1] / 10 >= 0.5 / scale and len(ladder) < 40:
            ladder.append(ladder[-1] / 10)
        V = torch.zeros(Xa.shape[1], len(self.classes_), dtype=Xa.dtype, device=dev)
        most, all_converged = 0, True
        for c, cls in enumerate(self.classes_):
            yc = torch.as_tensor(np.where(y == cls, 1.0, -1.0), device=dev)
            Q = yc[:, None] * K * yc[None, :]
            alpha, steps, converged = self._pivoting(Q, self.C)
            free = torch.ones(n, dtype=torch.bool, device=dev)
            for rung in (reversed(ladder) if not converged else []):
                alpha, more, converged = self._pivoting(Q, rung, free)  # warm: free kept
                steps += more
                if not converged:
                    break
            # pivoting's answer checked (and where it stalled, finished) by Newton's method
            # on the primal: at the optimum its first step confirms it; its test, unlike
            # pivoting's, does not trust a solve of a nearly singular system. Rows with
            # fewer columns than rows make K singular: there Newton works on the rows
            # themselves (K's solves once left such fits 3-12% off at C = 1e8)
            if Xa.shape[1] < n:
                V[:, c], more, converged = self._primal_newton_rows(Xa, yc, Xa.T @ (yc * alpha))
            else:
                beta, more, converged = self._primal_newton(K, yc, yc * alpha)
                V[:, c] = Xa.T @ beta
                if not converged and Xa.shape[1] <= 2 * n:
                    # K's solve not accurate enough to verify (chapter 5: 1 fit in ~100 at
                    # |gradient| 1.1 times the allowance); finish by least squares
                    steps += more
                    V[:, c], more, converged = self._primal_newton_rows(Xa, yc, V[:, c])
            steps += more
            most, all_converged = max(most, steps), all_converged and converged
        W = V.cpu().numpy()
        if not np.isfinite(W).all():  # pragma: no cover - the factorisation refuses first
            raise ValueError(f"LinearSVM(C={self.C:g}, solver='exact') found non-finite weights")
        return W, most, all_converged

    def _solve_ridged(self, K_part: torch.Tensor, rhs: torch.Tensor, C: float | None = None):
        """``(K_part + I / 2C)^-1 rhs`` by Cholesky (``C``: default the model's); refuses a
        system float64 cannot factor."""
        C = self.C if C is None else C
        system = K_part + torch.eye(len(K_part), dtype=K_part.dtype,
                                    device=K_part.device) / (2.0 * C)
        factor, info = torch.linalg.cholesky_ex(system)
        if int(info) != 0:
            raise ValueError(f"the exact SVM's system is not positive definite in float64 at "
                             f"1 / 2C = {0.5 / C:.1e}: C is too large for the rows' "
                             "scale; use a smaller C")
        return torch.cholesky_solve(rhs[:, None], factor)[:, 0]

    def _pivoting(self, Q: torch.Tensor, C: float, free: torch.Tensor | None = None):
        """Block principal pivoting (Judice & Pires 1994; Kim & Park 2011) for
        ``min 1/2 a^T (Q + I/2C) a - 1^T a`` over ``a >= 0`` (``Q = Y K Y``, N x N): guess
        which ``a_i`` are free (``free``, updated in place; default all), solve for them, and
        exchange every row that breaks the optimality conditions (a free ``a_i < 0``, or a
        fixed row inside the margin). Returns ``(a, exchanges, converged)``, unconverged as
        soon as three whole exchanges in a row fail to lower the count of such rows (it
        would cycle)."""
        n = len(Q)
        if free is None:
            free = torch.ones(n, dtype=torch.bool, device=Q.device)
        fewest, tries = n + 1, 3
        alpha = torch.zeros(n, dtype=Q.dtype, device=Q.device)
        for exchanges in range(1, self.max_iter + 1):
            alpha = torch.zeros_like(alpha)
            alpha[free] = self._solve_ridged(Q[free][:, free],
                                             torch.ones_like(alpha[free]), C)
            gradient = Q @ alpha + alpha / (2.0 * C) - 1  # y_i f_i - 1 + a_i / 2C
            # rounding tolerances, far below any margin the book reports
            wrong = ((free & (alpha < -1e-12 * float(alpha.abs().max())))
                     | (~free & (gradient < -1e-10)))
            count = int(wrong.sum())
            if count == 0:
                return alpha, exchanges, True
            if count < fewest:
                fewest, tries = count, 3
            elif tries == 0:
                return alpha.clamp(min=0), exchanges, False
            else:
                tries -= 1
            free ^= wrong
        return alpha.clamp(min=0), self.max_iter, False

    def _objective(self, K: torch.Tensor, yc: torch.Tensor, beta: torch.Tensor) -> float:
        """The primal objective at ``w = Xa^T beta``."""
        scores = K @ beta
        return float(0.5 * beta @ scores + self.C * ((1 - yc * scores).clamp(min=0) ** 2).sum())

    def _optimal(self, K: torch.Tensor, yc: torch.Tensor, beta: torch.Tensor) -> bool:
        """:func:`_verified` for ``w = Xa^T beta``: the gradient is ``Xa^T r``,
        ``r = beta - 2C y slack``."""
        scores = K @ beta
        margin_gap = 1 - yc * scores
        r = beta - 2 * self.C * yc * margin_gap.clamp(min=0)
        stiffness = 1 + 2 * self.C * float(K.diagonal()[margin_gap > -1e-9].sum())
        return _verified(max(float(r @ (K @ r)), 0.0) ** 0.5,
                         max(float(beta @ scores), 0.0) ** 0.5, stiffness)

    def _primal_newton(self, K: torch.Tensor, yc: torch.Tensor,
                       beta: torch.Tensor | None = None):
        """Newton's method on the primal with exact line searches (Chapelle, 2007), in the
        rows' span ``w = Xa^T beta``: on the rows inside the margin (``y f < 1``) the
        objective is a ridge regression, minimised by ``beta_A = (K_AA + I/2C)^-1 y_A``;
        each step moves towards that minimiser as far as the (piecewise quadratic,
        convex) objective keeps falling along the way. It ends at a full step that leaves
        the same rows inside the margin (the optimum, if the solve was accurate) or at a
        step that can no longer lower the objective in float64; either counts as
        converged only where :meth:`_optimal` agrees: an inaccurate solve can point the
        step uphill or end it early (such fits had been taken as optimal with
        margins 3-12% off). At most ten times ``max_iter`` steps (chapter 5's nearly
        separable rows needed 40 to 103 from zero), from ``beta`` (default zero; zero where
        ``beta`` is worse).

        Returns ``(beta, steps, converged)``."""
        zero = torch.zeros_like(yc)
        if beta is None or self._objective(K, yc, beta) > self._objective(K, yc, zero):
            beta = zero  # an unfinished pivoting start can be far above zero's
        scores = K @ beta
        for step in range(1, 10 * self.max_iter + 1):
            inside = (yc * scores) < 1
            target = torch.zeros_like(beta)
            target[inside] = self._solve_ridged(K[inside][:, inside], yc[inside])
            direction = target - beta
            K_dir = K @ direction
            if bool(((yc * (scores + K_dir)) < 1).eq(inside).all()):
                # the full step keeps its rows: the optimum, if the solve was accurate
                # (rows at C = 1e8 once kept theirs with |gradient| / |w| = 3e2)
                return target, step, self._optimal(K, yc, target)
            t = _step_length(float(beta @ K_dir), float(direction @ K_dir), self.C,
                             yc, scores, K_dir)
            if t == 0:  # no descent left along the step in float64: done, if optimal
                return beta, step, self._optimal(K, yc, beta)
            beta, scores = beta + t * direction, scores + t * K_dir
        return beta, step, False

    def _primal_newton_rows(self, Xa: torch.Tensor, yc: torch.Tensor, v: torch.Tensor):
        """:meth:`_primal_newton` on the weights ``v = [w, b]`` themselves (``d + 1``
        unknowns; ``Xa`` is N x (d + 1)), for rows with few columns (fewer than rows, or
        as many as K's solves cannot verify): the ridge
        regression on the rows inside the margin, ``min |v|^2 / 2 + C |Xa_A v - y_A|^2``,
        is solved as least squares on ``[Xa_A; I / sqrt(2C)]`` by a QR factorisation, not
        through ``K_AA``, whose condition number is the square of the rows' (at
        C = 1e8 those solves left margins 3-12% off). It ends as :meth:`_primal_newton`
        does, converged only where :func:`_verified` agrees.

        Returns ``(v, steps, converged)``."""
        zero = torch.zeros_like(v)

        def objective(u):
            return float(0.5 * u @ u + self.C * ((1 - yc * (Xa @ u)).clamp(min=0) ** 2).sum())

        def optimal(u):
            margin_gap = 1 - yc * (Xa @ u)
            gradient = u - 2 * self.C * Xa.T @ (yc * margin_gap.clamp(min=0))
            stiffness = 1 + 2 * self.C * float((Xa[margin_gap > -1e-9] ** 2).sum())
            return _verified(float(gradient.norm()), float(u.norm()), stiffness)

        if objective(v) > objective(zero):
            v = zero
        ridge = torch.eye(Xa.shape[1], dtype=Xa.dtype, device=Xa.device) / math.sqrt(2 * self.C)
        scores = Xa @ v
        for step in range(1, 10 * self.max_iter + 1):
            inside = (yc * scores) < 1
            stacked = torch.cat([Xa[inside], ridge])
            wanted = torch.cat([yc[inside], torch.zeros(len(ridge), dtype=Xa.dtype,
                                                        device=Xa.device)])
            target = torch.linalg.lstsq(stacked, wanted[:, None]).solution[:, 0]
            direction = target - v
            X_dir = Xa @ direction
            if bool(((yc * (scores + X_dir)) < 1).eq(inside).all()):
                return target, step, optimal(target)  # the full step keeps its rows
            t = _step_length(float(v @ direction), float(direction @ direction), self.C,
                             yc, scores, X_dir)
            if t == 0:  # (a real step can be 1e-10 long at C = 1e10)
                return v, step, optimal(v)
            v, scores = v + t * direction, scores + t * X_dir
        return v, step, optimal(v)

    def decision_function(self, X, block_rows: int | None = None) -> np.ndarray:
        """One-vs-rest scores, ``N x classes``, computed in row blocks."""
        if not hasattr(self, "coef_"):
            raise RuntimeError("this LinearSVM is not fitted yet: call fit(X, y) first")
        X = _as_matrix(X)
        if len(X.shape) != 2 or X.shape[1] != self.coef_.shape[1]:
            raise ValueError(f"X must be N x {self.coef_.shape[1]} (the features it was fitted "
                             f"on), got shape {tuple(X.shape)}")
        block_rows = block_rows or block_rows_for(X.shape[1])
        out = []
        for lo in range(0, X.shape[0], block_rows):
            block = np.asarray(X[lo:lo + block_rows], dtype=np.float32)
            if not np.isfinite(block).all():  # NaN scores would predict classes_[0] silently
                bad = lo + int(np.nonzero(~np.isfinite(block).all(1))[0][0])
                raise ValueError(f"X has NaN or inf values (first in row {bad}): the scores "
                                 "would be meaningless")
            out.append(block @ self.coef_.T + self.intercept_)
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)), np.float32)

    def predict(self, X) -> np.ndarray:
        """The class with the highest score, for each row of ``X`` (``N x k``)."""
        scores = self.decision_function(X)
        return self.classes_[scores.argmax(1)]

    def objective(self, X, y) -> float:
        """The summed one-vs-rest objective of the fitted weights on ``(X, y)``."""
        return svm_objective(self.coef_, self.intercept_, X, y, self.classes_, self.C)


_EPS = float(torch.finfo(torch.float64).eps)


def _verified(gradient: float, norm: float, stiffness: float) -> bool:
    """An optimality test that trusts no solve: the primal gradient's norm ``gradient``
    small beside the weights' ``norm``: relative 1e-6, plus what float64 rounding of the
    weights leaves in it, up to 64 units of rounding times the Hessian's largest
    eigenvalue (``stiffness``, bounded by ``1 + 2C`` times the squared norms of the rows
    inside the margin). A gradient this small is at most that far from zero in the
    directions that move the margin least, and far less in the stiff ones. Earlier,
    inaccurate solves had left |gradient| / |w| at 1e2-1e6 on fits taken as optimal, and
    an allowance blind to the stiffness (2C |A| = 4e9 for chapter 5's noise at
    k = 100) rejected optimal fits whose weights were right to 1e-14."""
    return gradient <= (1e-6 + 64 * _EPS * stiffness) * norm


def _step_length(slope0: float, curvature: float, C: float, yc: torch.Tensor,
                 scores: torch.Tensor, step_scores: torch.Tensor) -> float:
    """How far along a Newton step (0 to 1) the squared-hinge SVM's objective keeps
    falling. Along the step it is convex and piecewise quadratic, with slope
    ``slope0 + t curvature - 2C sum_i slack_i(t) y_i s_i`` at ``t`` (``slope0`` and
    ``curvature``: the regulariser's; ``s``: the step's change of the scores): 1 where it
    still falls there, else where the slope turns, by bisection."""
    def slope(t):
        slack = (1 - yc * (scores + t * step_scores)).clamp(min=0)
        return slope0 + t * curvature - 2 * C * float((slack * yc * step_scores).sum())
    if slope(1.0) <= 0:
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if slope(middle) <= 0 else (low, middle)
    return low


def svm_objective(coef, intercept, X, y, classes, C) -> float:
    """``sum_c 1/2 |[w_c, b_c]|^2 + C sum_i max(0, 1 - y_ic s_ic)^2`` for weights
    ``coef, intercept``."""
    y = np.asarray(y)
    total = 0.5 * (np.sum(np.asarray(coef, np.float64) ** 2)
                   + np.sum(np.asarray(intercept, np.float64) ** 2))
    for lo in range(0, X.shape[0], 8192):
        s = (np.asarray(X[lo:lo + 8192], dtype=np.float32) @ np.asarray(coef, np.float32).T
             + intercept)
        Y = np.where(y[lo:lo + 8192, None] == np.asarray(classes)[None, :], 1.0, -1.0)
        total += C * np.sum(np.maximum(0, 1 - Y * s).astype(np.float64) ** 2)
    return float(total)


def topk_accuracy(scores, labels, ks=(1, 2, 3, 4, 5), classes=None) -> dict[int, float]:
    """Fraction of rows whose true label is among the ``k`` highest scores, for each k:
    the means of :func:`topk_hits`, whose checks it shares."""
    hits = _topk_hits(scores, labels, ks, classes)
    return {k: float(hit.mean()) for k, hit in hits.items()}


def topk_hits(scores, labels, ks=(1, 2, 3, 4, 5), classes=None) -> dict[int, np.ndarray]:
    """Per row (``N``, bool), whether its true label is among the ``k`` highest scores, for
    each k: what a paired comparison of two methods on the same images needs.

    ``scores``: ``N x n`` (e.g. ``svm.decision_function(X)``); ``classes``: the label of
    each score column (``svm.classes_``). Without ``classes`` the columns must be the
    labels ``0..n-1``; a label outside that range raises, since it cannot be told which
    column it means. A label that is not among ``classes`` (a class absent from the
    training set) is never hit, as :meth:`LinearSVM.predict` never returns it, with a
    warning; labels that look 1-based against 0-based classes raise.

    A ``k`` above the number of score columns is left out of the result (every label would
    be hit): the default ``ks`` serve 2-class problems too, and callers look up
    ``k in acc`` (the command line prints "-" for it).
    """
    return _topk_hits(scores, labels, ks, classes)


def _topk_hits(scores, labels, ks, classes) -> dict[int, np.ndarray]:
    """:func:`topk_hits`, called by it and by :func:`topk_accuracy` alike, so that its
    warning's ``stacklevel=3`` names their caller's line."""
    # a column of labels (N x 1) broadcast against the ranks and gave wrong numbers
    # (top-1 0.24 read 0.10)
    scores, labels = np.asarray(scores), label_vector(labels)
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(f"scores must be N x classes for N labels; got {scores.shape} and "
                         f"{labels.shape}")
    if not len(labels):
        raise ValueError("no rows to score: scores and labels are empty")
    bad_k = [k for k in ks if isinstance(k, bool) or not isinstance(k, (int, np.integer))
             or k < 1]
    if bad_k:
        raise ValueError(f"every k of top-k must be a whole number >= 1, got {bad_k}")
    if not np.isfinite(scores).all():
        raise ValueError(f"{int((~np.isfinite(scores)).sum())} scores are NaN or infinite: "
                         "a diverged or broken model; top-k of them means nothing")
    if classes is None:
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels of dtype {labels.dtype} are not column indices: "
                             "pass classes=svm.classes_")
        if len(labels) and (labels.min() < 0 or labels.max() >= scores.shape[1]):
            raise ValueError(
                f"labels run from {labels.min()} to {labels.max()} but there are {scores.shape[1]} "
                "score columns: pass classes=svm.classes_ so labels map to their columns")
        column = labels
    else:
        classes = np.asarray(classes)
        if len(classes) != scores.shape[1]:
            raise ValueError(f"{len(classes)} classes for {scores.shape[1]} score columns")
        lookup = {c: i for i, c in enumerate(classes.tolist())}
        column = np.array([lookup.get(c, -1) for c in labels.tolist()], dtype=np.int64)
        unknown = int((column < 0).sum())
        if unknown == len(labels):
            raise ValueError(f"none of the {len(labels)} labels is among the classes "
                             f"{classes.tolist()[:5]}...: labels of another form (1-based, "
                             "strings, another dataset)? a top-k of them would be 0")
        if unknown and _shifted_by_one(classes, labels):
            raise ValueError(f"the labels run from {labels.min()} to {labels.max()}, the "
                             f"classes from {classes.min()} to {classes.max()}: labels shifted "
                             "by one (1-based?) would score a wrong number. Number the labels "
                             "as the training labels are (if the test set truly lacks the first "
                             "class and holds one the training set lacks, drop that class's "
                             "images: they can never be predicted)")
        if unknown:
            # the warning once named no label, where the class was a twin of a trained
            # one in another Unicode form
            missing = sorted(set(labels[column < 0].tolist()), key=str)
            shown = ", ".join(map(repr, missing[:5])) + (", ..." if len(missing) > 5 else "")
            warnings.warn(f"{unknown} of {len(labels)} labels are not among the classes the "
                          f"scores are for (label {shown}: a class absent from training?): "
                          "they count as misses", stacklevel=3)
    order = np.argsort(-scores, axis=1, kind="stable")
    hits = order == column[:, None]
    return {k: hits[:, :k].any(1) for k in ks if k <= scores.shape[1]}


def _shifted_by_one(classes: np.ndarray, labels: np.ndarray) -> bool:
    """Do integer ``labels`` look like the consecutive integer ``classes`` plus one (every
    label outside the classes is the one after the last, and the first class never
    occurs)? A class absent from training leaves the first class in the labels."""
    if not (np.issubdtype(classes.dtype, np.integer) and np.issubdtype(labels.dtype, np.integer)):
        return False
    first, last = int(classes.min()), int(classes.max())
    if not np.array_equal(np.sort(classes), np.arange(first, last + 1)):
        return False
    outside = labels[~np.isin(labels, classes)]
    return bool((outside == last + 1).all() and not (labels == first).any())


def per_class_accuracy(predicted, labels, n_classes: int) -> np.ndarray:
    """Accuracy on each class ``0 .. n_classes-1`` (nan for a class absent from ``labels``).
    ``predicted``, ``labels``: class indices, one per image (length ``N``)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    labels = class_indices(labels, "labels", n_classes)
    predicted = class_indices(predicted, "predicted", n_classes)
    return np.array([(predicted[labels == c] == c).mean() if (labels == c).any() else np.nan
                     for c in range(n_classes)])


def confusion_matrix(predicted, labels, n_classes: int) -> np.ndarray:
    """Counts, ``n_classes x n_classes``: rows = true class, columns = predicted class, from
    ``predicted`` and ``labels``, class indices ``0..n_classes-1`` one per image."""
    # columns (N x 1) counted N x N images
    labels, predicted = label_vector(labels), label_vector(predicted, "predicted")
    if len(labels) != len(predicted):
        raise ValueError(f"{len(predicted)} predictions for {len(labels)} labels: one of "
                         "each per image")
    labels = class_indices(labels, "labels", n_classes)
    predicted = class_indices(predicted, "predicted", n_classes)
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (labels, predicted), 1)
    return m


def accuracy_against_k(train_features, train_labels, test_features, test_labels, ks,
                       C: float = PAPER_C, device=None,
                       fitted: "LinearSVM | None" = None,
                       hits: dict | None = None) -> list[dict]:
    """Top-1/top-2 test accuracy of the SVM on the first ``k`` features, for each ``k``.

    The first ``k`` columns are the features of the same network with ``k`` blocks, so one
    extraction at the largest ``k`` serves every ``k``. The features: FeatureArrays (their
    compact counts are read) or ``N x k`` arrays. ``fitted``: an SVM already fitted on all
    columns, reused for the largest ``k``. Each row says whether its fit reached the
    solver's optimum (``solver converged``, not an unexplained "at optimum").
    ``hits``: a dict to fill with each ``k``'s top-1 hits (``N`` bools, one per test
    image), for a paired comparison of two ``k`` on the same images.
    """
    train_features, test_features = _as_matrix(train_features), _as_matrix(test_features)
    # ks=[10, 10] once gave two identical rows and ks=[] an empty table, in silence
    if isinstance(ks, (str, bytes)) or not hasattr(ks, "__iter__") or not len(ks := list(ks)):
        raise ValueError(f"ks must be a non-empty list of feature counts, got {ks!r}")
    if len(set(ks)) < len(ks):
        raise ValueError(f"ks lists a feature count twice: {ks}")
    rows = []
    for k in sorted(ks):
        if fitted is not None and k == train_features.shape[1]:
            m = fitted
            scores = m.decision_function(test_features)
        else:
            m = LinearSVM(C=C, device=device).fit(_first_columns(train_features, k),
                                                  train_labels)
            scores = m.decision_function(_first_columns(test_features, k))
        right = topk_hits(scores, test_labels, (1, 2), classes=m.classes_)
        acc = {n: float(r.mean()) for n, r in right.items()}
        if hits is not None:
            hits[k] = right[1]
        # at C = 1e6 a fit stopped at max_iter once sat in the table unmarked
        rows.append({"k": k, "top-1 (%)": 100 * acc[1], "top-2 (%)": 100 * acc[2],
                     "fit s": m.fit_seconds_, "solver converged": bool(m.converged_)})
    return rows
