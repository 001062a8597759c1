"""Stills: iterative non-blind restoration with image priors (issue 15).

``restore(image, psf, method=...)``: ``"tv"`` and ``"hyper-laplacian"`` by half-quadratic
splitting with continuation, ``"rl"`` (Richardson–Lucy, optionally with TV) — see
:mod:`.solvers`. All three use the unknown-boundary data term
(:mod:`gpudeconv.restoration.unknown_boundary`): the pixels beyond the edge are unknowns, nothing is
mirrored or tapered, so any PSF (camera shake included) restores without border
ringing; ``tv`` and ``hyper-laplacian`` start from the unknown-boundary Wiener estimate.
NumPy or CuPy, through the same code.

``estimate_kernel(image, size)`` (:mod:`.kernel`): blind camera-shake kernel estimation,
coarse to fine, for ``restore`` to use.

Colour images are restored channel by channel with the same weight: the priors act on
each channel's gradients, and a luma-only solve would leave the blur in the chroma.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...blind import estimate
from ...core import psf as _psf
from ...core._validate import array_module, check_choice, check_real, image_array, to_float
from ...errors import InvalidArgumentError, InvalidTypeError
from ..wiener import unknown_boundary_estimate, wiener
from .kernel import DEFAULT_KERNEL_SIZE, estimate_kernel
from .operators import Operators
from .solvers import half_quadratic, richardson_lucy

__all__ = ["DEFAULT_KERNEL_SIZE", "RESTORE_METHODS", "estimate_kernel", "restore"]

RESTORE_METHODS = ("tv", "hyper-laplacian", "rl")
RESTORE_BOUNDARIES = ("unknown", "periodic")
#: The prior weight λ from the noise σ: λ = c σ² (MAP with a gradient prior of scale
#: ~1/c). Swept on 36 cases of ``bench.stills`` (6 photographs × 3 shake kernels × 2
#: noises): the hyper-Laplacian's mean gain over Wiener +1.07 / +1.25 / +1.20 dB at
#: c = 6 / 4 / 3; TV's c from camera/coffee at noise 0.002–0.01.
WEIGHT_PER_VARIANCE = {"tv": 20.0, "hyper-laplacian": 4.0, "rl": 2.0}
MAX_RL_ITERATIONS = 500


#: The start of ``tv`` and ``hyper-laplacian``: the unknown-boundary Wiener estimate,
#: solved until an iteration moves it by less than this share of the noise (a few
#: iterations at noise 0.01, tens at 0.002, the cap at 1e-4; 0.5 lost 0.6 dB, 0.1 gained
#: 0.2 dB for 60 % more time on the benchmark's cases). From the periodic Wiener
#: estimate instead, the border stays wrong: −9 to −15 dB below Wiener at noise 1e-4.
START_TOLERANCE = 0.2


def _restore_plane(
    ops: Operators,
    plane: Any,
    kernel: np.ndarray,
    method: str,
    noise: float,
    weight: float,
    alpha: float,
    boundary: str,
    iterations: int | None,
    accelerate: bool,
    callback: Callable[[int, Any], None],
) -> Any:
    """One channel ``(rows, cols, 1)`` on the padded domain; returns all of ``u``."""
    xp = ops.xp
    my, mx = ops.inside[0].start, ops.inside[1].start
    start = xp.pad(plane, ((my, my), (mx, mx), (0, 0)), mode="symmetric")
    if method == "rl":
        cap = MAX_RL_ITERATIONS if iterations is None else iterations
        u, _ = richardson_lucy(ops, plane, start, noise, weight, cap, accelerate, callback)
        return u
    params = {"noise": max(noise, 1e-5)}
    if boundary == "periodic":
        start = wiener(plane, kernel, noise=params["noise"], boundary="periodic")
    else:
        start = unknown_boundary_estimate(
            xp, plane, kernel, params, start, padded=True, tolerance=START_TOLERANCE
        )
    return half_quadratic(ops, plane, start, weight, method, alpha, callback, iterations=iterations)


def unknown_margins(kernel: np.ndarray, rows: int, cols: int) -> tuple[int, int]:
    """Unknown pixels per side: the PSF's radius, rounded up to a fast FFT length.

    No more is needed: the data term masks the padding, so the wrap-around seam lies
    among unknowns that no observed pixel sees.
    """
    from scipy.fft import next_fast_len

    def one(radius: int, n: int) -> int:
        return (next_fast_len(n + 2 * radius, real=True) - n + 1) // 2

    return one(kernel.shape[0] // 2, rows), one(kernel.shape[1] // 2, cols)


def restore(
    image: Any,
    psf: np.ndarray,
    *,
    method: str,
    noise: float | None = None,
    weight: float | None = None,
    alpha: float = 0.8,
    boundary: str = "unknown",
    iterations: int | None = None,
    accelerate: bool = True,
    callback: Callable[[int, Any], None] | None = None,
) -> Any:
    """Restore a still image blurred by a known ``psf`` with an iterative method.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array
        NumPy or CuPy; float, or uint8/uint16 (scaled to [0, 1]).
    psf : (h, w) array
        The blur (normalised here), no larger than the image.
    method : {'tv', 'hyper-laplacian', 'rl'}
    noise : float, optional
        Noise standard deviation in image units; estimated (:func:`gpudeconv.estimate`)
        when not given. Sets the prior weight and RL's stopping point.
    weight : float, optional
        The prior weight λ, overriding ``WEIGHT_PER_VARIANCE[method] · noise²`` (for
        ``rl``: the TV weight, 0 for plain Richardson–Lucy).
    alpha : float
        The hyper-Laplacian exponent, in (0, 1) (0.5–0.8 is the natural-image range).
    boundary : {'unknown', 'periodic'}
        ``unknown``: the border pixels are solved for (any PSF, any image);
        ``periodic``: a circular problem (for data that is one).
    iterations : int, optional
        RL: the cap (default 500; it stops at the noise level before that). TV and
        hyper-Laplacian: the total, spread over the continuation levels (default: 3 per
        level for TV, 39 in all; 2 per level for the hyper-Laplacian, 12 in all).
    accelerate : bool
        RL: Biggs–Andrews extrapolation.
    callback : callable, optional
        ``callback(step, current_estimate)`` after each iteration (the whole image;
        colour channels are restored one after another and ``step`` counts them all).

    Returns
    -------
    restored : same shape and array module; float (float32 for integer input).
    """
    method = check_choice("method", method, RESTORE_METHODS)
    boundary = check_choice("boundary", boundary, RESTORE_BOUNDARIES)
    image = image_array("image", image)
    xp = array_module(image)
    data = to_float(image)
    kernel = _psf.from_array(psf)
    if kernel.shape[0] > data.shape[0] or kernel.shape[1] > data.shape[1]:
        raise InvalidArgumentError(
            f"psf of shape {kernel.shape} is larger than the image {tuple(data.shape[:2])}"
        )
    if not 0.0 < float(alpha) < 1.0:
        raise InvalidArgumentError(f"alpha must be in (0, 1); got {alpha!r}")
    if noise is None:
        # The estimator reads float32 or integer frames (float64 is refused there).
        sample = xp.clip(data, 0.0, 1.0).astype(xp.float32) if data.dtype.kind == "f" else data
        noise = estimate(sample).noise
    noise = check_real("noise", noise, nonnegative=True)
    if weight is None:
        weight = WEIGHT_PER_VARIANCE[method] * noise * noise if method != "rl" else 0.0
    weight = check_real("weight", weight, nonnegative=True)
    if iterations is not None and (
        isinstance(iterations, bool) or not isinstance(iterations, int | np.integer)
    ):
        raise InvalidTypeError(f"iterations must be an int; got {type(iterations).__name__}")
    if iterations is not None and not 1 <= iterations <= 100_000:
        raise InvalidArgumentError(f"iterations must be in 1..100000; got {iterations!r}")

    work = data[..., None] if data.ndim == 2 else data
    rows, cols = work.shape[:2]
    margins = (0, 0) if boundary == "periodic" else unknown_margins(kernel, rows, cols)
    ops = Operators(xp, kernel, (rows, cols), margins, work.dtype)
    # Channels one after another, so every stopping rule (the start's CG, RL's discrepancy
    # and extrapolation) is the channel's own: a colour image restores exactly as its
    # channels do alone. Not yet restored channels show their input to the callback.
    restored = work.copy()
    shown = restored[..., 0] if data.ndim == 2 else restored
    steps = 0

    def reporter(channel: int) -> Callable[[int, Any], None]:
        def report(_: int, estimate: Any) -> None:
            nonlocal steps
            steps += 1
            restored[..., channel : channel + 1] = estimate
            if callback is not None:
                callback(steps, shown)

        return report

    for channel in range(work.shape[2]):
        plane = work[..., channel : channel + 1]
        u = _restore_plane(
            ops,
            plane,
            kernel,
            method,
            noise,
            weight,
            float(alpha),
            boundary,
            iterations,
            accelerate,
            reporter(channel),
        )
        restored[..., channel : channel + 1] = ops.crop(u)
    return xp.ascontiguousarray(shown.astype(data.dtype, copy=False))
