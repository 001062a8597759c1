"""Blind camera-shake kernel estimation: coarse-to-fine MAP in the gradient domain.

:func:`estimate_kernel` works on the photograph's luma (a centre crop of at most
:data:`CROP`² pixels: the kernel is the same everywhere and the crop bounds the cost).
Over a pyramid of kernel sizes growing by √2 from 3 px to ``size``, it alternates
(Pan et al. 2014, as re-implemented by Anger, Facciolo & Delbracio, IPOL 2019):

1. **Kernel**, from the latent image's gradients (Cho & Lee 2009):
   ``min_k Σ_d ‖∂_d x ⊛ k − ∂_d y‖² + γ ‖k‖²`` with ``k ≥ 0`` on its square support —
   the normal equations are built from the gradients' auto- and cross-correlations
   (FFT) and solved by projected accelerated gradient (FISTA) — then faint values
   (under 5 % of the peak; 3 % for kernels of at most 21 px) and small disconnected
   parts removed, normalised, re-centred on its centre of mass (an image shift does not
   move it);
2. **Latent image**, with an L0 gradient prior (Xu, Zheng & Jia 2013; Pan et al. 2014):
   ``min_x ‖k ⊛ x − y‖² + λ ‖∇x‖₀`` by half-quadratic splitting (β doubling from 2λ). It
   keeps the salient edges, which is what a kernel can be read from.

λ falls by ``LAMBDA_DECAY`` per iteration to a floor; the latent image is carried to
the next scale, where the kernel is read afresh from it. What this implementation adds
for photographs: the scene beyond the border is unknown (physical blur), so the latent
solve treats the padding as unknowns (refilled with the current ``k ⊛ x`` at every
step: an EM step for the unknown pixels) and the kernel solve leaves out a
band one kernel wide inside the border. On six trial cases (camera/astronaut × 9/15/21-px
shakes, 256², noise 0.002) the border band alone took the median error ratio from 7.3
to 3.2; carrying the latent image (not the kernel) between scales, more iterations and
the non-negative solve (instead of the FFT solution cut to its support and clipped)
did the rest. A 5 % cut erased too much of a short kernel's shape at low noise: 3 %
for sizes ≤ 21 took 32 benchmark cases from 21 to 27 successes (3 % for every size
broke some long kernels; bench/results/stills_blind.md, every sweep in the closing
note of issue 15). At noise 0.01 the kernels of textured photographs (fur, cells) fell
apart at the finest scale, where noise and fine texture outweigh the edges: from noise
0.003 up, the kernel solve weights the gradients' frequencies by a Gaussian low-pass
(1 px at 0.01) and the L0 floor is 12σ² (edges of about 3.5σ): at noise 0.01 the
benchmark's 48 cases went from 40 to 47 successes (long kernels 17 to 23).

The kernel is centred on its centre of mass, so the restored photograph lines up with
the blurred one (not necessarily with a "true" kernel centred otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from scipy import fft, ndimage

from ...blind import estimate
from ...core import psf as _psf
from ...core._validate import array_module, check_int, check_real, image_array, to_float
from ...core.colour import luma_weights
from ...errors import InvalidArgumentError, InvalidTypeError, warn
from .operators import differences_adjoint, differences_power, forward_differences

__all__ = ["DEFAULT_KERNEL_SIZE", "estimate_kernel"]

#: The command line's kernel size when none is given (the blur's extent is unknown).
DEFAULT_KERNEL_SIZE = 25
#: The largest kernel side (the kernel solve's normal matrix has side² rows and
#: columns: 63 px is 126 MB in float64), and the side of the centre crop the kernel is
#: read from (the benchmark's photographs are at most this size; 512 takes 1.8× longer).
MAX_SIZE, CROP = 63, 384
#: Alternations per pyramid scale, and extra ones at the finest scale.
ITERATIONS, FINAL_ITERATIONS = 8, 10
#: L0 weight: start, decay per iteration, floor (images in [0, 1]); β range of its solve.
LAMBDA_START, LAMBDA_DECAY, LAMBDA_FLOOR = 0.016, 1 / 1.1, 1e-4
BETA_MAX, BETA_GROWTH = 1e5, 2.0
#: The L0 weight's floor rises with the noise variance: an edge must stand above the
#: noise (12σ²: edges of about 3.5σ; 4σ² let fur and cells through at noise 0.01).
FLOOR_PER_VARIANCE = 12.0
#: Noisy photographs: the kernel solve low-passes both sides' gradients by a Gaussian of
#: ``SMOOTH_PER_NOISE·σ`` px (1 px at σ = 0.01), ramping in from nothing at
#: ``SMOOTH_START`` to full at ``SMOOTH_FULL`` (at σ 0.0026 a quarter pixel already lost
#: fine kernel detail: of 48 benchmark cases 16 scored >10 % worse, 2 better).
SMOOTH_PER_NOISE, SMOOTH_START, SMOOTH_FULL = 100.0, 0.003, 0.007
#: Kernel solve: Tikhonov weight (relative to the mean gradient power) and FISTA steps.
GAMMA, KERNEL_STEPS = 0.02, 100
#: Kernel values below this share of the peak are set to 0 (``FAINT_SHORT`` for kernels
#: of at most ``SHORT`` px: a short kernel's faint pixels are a larger share of its shape,
#: and 3 % for every size broke some long kernels); connected parts holding less than
#: ``MINOR`` of the mass are dropped.
FAINT, MINOR = 0.05, 0.1
FAINT_SHORT, SHORT = 0.03, 21
#: A photograph whose values span less than this (0.5th to 99.5th percentile) is
#: stretched to it.
SPAN_FLOOR = 0.5


def estimate_kernel(
    image: Any,
    size: int,
    *,
    noise: float | None = None,
    iterations: int = ITERATIONS,
    crop: int = CROP,
    callback: Callable[[int, np.ndarray], None] | None = None,
) -> np.ndarray:
    """Estimate a camera-shake blur kernel from one blurred photograph.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array
        float in [0, 1], or uint8/uint16 (scaled); colour is reduced to its luma
        (Rec. 709 weights on the first three channels, taken as RGB: the package's luma).
        NumPy or CuPy (copied to the host: the estimator runs on the CPU).
    size : int
        The kernel's side in pixels: 3 to 63, odd (an even size is rounded up), and at
        most a third of the crop's shorter side. Give the blur's extent plus a few
        pixels: too small cuts the blur off; too large costs time and lets noise in.
    noise : float, optional
        Noise standard deviation; estimated from the image when not given. Above ~0.01
        the latent image's L0 weight starts (and stays) higher, so noise is not read as
        edges.
    iterations : int
        Alternations per pyramid scale (1 to 100).
    crop : int
        Side of the centre crop the kernel is estimated from (64 to 4096): larger is
        more accurate (more edges) and slower, about in proportion to its area.
    callback : callable, optional
        ``callback(scale, kernel)`` after each pyramid scale, with that scale's kernel.

    Returns
    -------
    kernel : (size, size) ndarray of float64
        Non-negative, summing to 1, its centre of mass on the middle pixel.

    Raises
    ------
    TypeError
        ``size``/``iterations``/``crop`` not ints, or an unsupported image dtype.
    ValueError
        An empty or non-finite image, ``size`` outside its range, absurd parameters.
    """
    data = image_array("image", image)
    if array_module(data) is not np:
        data = data.get()
    for name, value in (("size", size), ("iterations", iterations), ("crop", crop)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise InvalidTypeError(f"{name} must be an int; got {type(value).__name__}")
    check_int("iterations", iterations, minimum=1)
    if iterations > 100:
        raise InvalidArgumentError(f"iterations must be 1..100; got {iterations}")
    check_int("crop", crop, minimum=64)
    if crop > 4096:
        raise InvalidArgumentError(f"crop must be 64..4096 pixels; got {crop}")
    if callback is not None and not callable(callback):
        raise InvalidTypeError(f"callback must be callable; got {type(callback).__name__}")
    given = int(size)
    size = given | 1
    grey = _luma(np.asarray(to_float(data), dtype=np.float32))
    grey = grey[_centre(grey.shape, int(crop))]
    shorter = min(grey.shape)
    if not 3 <= size <= MAX_SIZE or size > shorter // 3:
        raise InvalidArgumentError(
            f"kernel size must be 3..{MAX_SIZE} (odd) and at most a third of the image's "
            f"shorter side after the {crop}-px centre crop ({shorter} px, so at most "
            f"{shorter // 3}); got {given}"
        )
    if noise is not None:
        noise = check_real("noise", noise, nonnegative=True)
        if noise >= 0.5:
            raise InvalidArgumentError(f"noise must be below 0.5 (images in [0, 1]); got {noise}")
    # The L0 weights are for photographs whose values span most of [0, 1]: a dark (or
    # otherwise scaled) one is brought to a span of 0.5 to 1, its noise with it. Spans
    # in between stay: stretching the benchmark's low-contrast photographs (spans
    # 0.65–0.79) to 1 let their texture through and cost 6 of 96 successes.
    low, high = (float(v) for v in np.percentile(grey, [0.5, 99.5]))
    span = high - low
    if not span > 1e-6:  # flat: no edge to read a blur from
        warn(
            f"the image is flat (its values span {span:.3g}): no edge to read a blur from; "
            "returning a delta (no blur)"
        )
        return _delta(size)
    gain = max(min(1.0, 1.0 / span), SPAN_FLOOR / span)
    grey = (grey - np.float32(low)) * np.float32(gain)
    if noise is None:
        noise = estimate(np.clip(grey, 0.0, 1.0)).noise
    else:
        noise = noise * gain

    # Noise-aware L0 weight: an edge must stand well above the noise to be kept.
    lam = max(LAMBDA_START, 40.0 * noise * noise)
    floor = max(LAMBDA_FLOOR, FLOOR_PER_VARIANCE * noise * noise)
    faint = FAINT_SHORT if size <= SHORT else FAINT
    smoothing = _smoothing(noise)
    latent = kernel = None
    for scale, ksize in enumerate(_pyramid(size)):
        observed = grey if ksize == size else _resize(grey, ksize / size)
        latent = (
            observed
            if latent is None
            else cv2.resize(latent, observed.shape[::-1], interpolation=cv2.INTER_CUBIC)
        )
        kernel = None  # re-read at each scale from the carried latent image
        steps = iterations + (FINAL_ITERATIONS if ksize == size else 0)
        for _ in range(steps):
            kernel = _kernel_step(latent, observed, ksize, kernel, faint, smoothing)
            latent = _l0_latent(observed, kernel, lam)
            lam = max(lam * LAMBDA_DECAY, floor)
        kernel = _clean(_kernel_step(latent, observed, ksize, kernel, faint, smoothing))
        if callback is not None:
            callback(scale, kernel.copy())
    return kernel


def _luma(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] < 3:
        return image[..., 0]
    return image[..., :3] @ np.array(luma_weights("rgb"), dtype=np.float32)


def _centre(shape: tuple[int, ...], side: int) -> tuple[slice, slice]:
    rows, cols = min(shape[0], side), min(shape[1], side)
    top, left = (shape[0] - rows) // 2, (shape[1] - cols) // 2
    return slice(top, top + rows), slice(left, left + cols)


def _pyramid(size: int) -> list[int]:
    """Odd kernel sizes from 3 up to ``size``, growing by about √2."""
    count = math.ceil(math.log(size / 3.0) / math.log(math.sqrt(2.0))) + 1
    sizes = {max(3, round(size / math.sqrt(2.0) ** (count - 1 - i)) | 1) for i in range(count)}
    return sorted(sizes | {size})


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    rows = max(8, round(image.shape[0] * scale))
    cols = max(8, round(image.shape[1] * scale))
    return cv2.resize(image, (cols, rows), interpolation=cv2.INTER_AREA)


def _smoothing(noise: float) -> float:
    """The kernel solve's Gaussian low-pass (px) for noise ``noise``: 0 when it is low."""
    ramp = min(max((noise - SMOOTH_START) / (SMOOTH_FULL - SMOOTH_START), 0.0), 1.0)
    return SMOOTH_PER_NOISE * noise * ramp


def _padding(length: int, pad: int) -> tuple[int, int]:
    """``(before, after)``: at least ``pad`` each side, to a fast FFT length."""
    extra = fft.next_fast_len(length + 2 * pad, real=True) - length
    return extra // 2, extra - extra // 2


def _l0_latent(observed: np.ndarray, kernel: np.ndarray, lam: float) -> np.ndarray:
    """``min_x ‖k ⊛ x − y‖² + λ ‖∇x‖₀`` on ``y``'s pixels, the border's unknown.

    Half-quadratic splitting, β doubling from 2λ. The domain is padded by the kernel
    size; the padding starts mirrored and is replaced by the current ``k ⊛ x`` at every
    step, so only the observed pixels constrain ``x`` (an EM step for the unknowns).
    """
    pad = kernel.shape[0]
    (top, bottom), (left, right) = (
        _padding(observed.shape[0], pad),
        _padding(observed.shape[1], pad),
    )
    y = np.pad(observed, ((top, bottom), (left, right)), mode="reflect")
    inside = np.zeros(y.shape, dtype=bool)
    inside[top : top + observed.shape[0], left : left + observed.shape[1]] = True
    h = _psf.otf(kernel, y.shape, half=True).astype(np.complex64)
    h_conj = np.conj(h)
    # |D|² of the forward differences; the gradients themselves are taken in space and
    # their adjoint (a backward difference) too, so the right-hand side is one FFT.
    d_power = differences_power(y.shape).astype(np.float32)
    h_power = (h.real**2 + h.imag**2).astype(np.float32)
    outside = ~inside
    x = y
    gy, gx, divergence, power = (np.empty_like(y) for _ in range(4))
    small = np.empty(y.shape, dtype=bool)
    beta = 2.0 * lam
    while beta < BETA_MAX:
        forward_differences(x, gy, gx)
        np.multiply(gy, gy, out=power)
        power += gx * gx
        np.less(power, lam / beta, out=small)
        np.copyto(gy, 0, where=small)
        np.copyto(gx, 0, where=small)
        differences_adjoint(gy, gx, divergence)
        rhs = h_conj * fft.rfft2(y, workers=-1)
        rhs += np.float32(beta) * fft.rfft2(divergence, workers=-1)
        rhs /= h_power + np.float32(beta) * d_power
        x = fft.irfft2(rhs, s=y.shape, workers=-1)
        np.multiply(h, rhs, out=rhs)  # h first: the operand order changes the rounding
        # y is a fresh padded copy (x no longer aliases it): refill its unknowns in place
        np.copyto(y, fft.irfft2(rhs, s=y.shape, workers=-1), where=outside)
        beta *= BETA_GROWTH
    return x[top : top + observed.shape[0], left : left + observed.shape[1]]


def _kernel_step(
    latent: np.ndarray,
    observed: np.ndarray,
    size: int,
    start: np.ndarray | None,
    faint: float,
    smoothing: float = 0.0,
) -> np.ndarray:
    """The non-negative kernel mapping the latent image's gradients onto the observed.

    ``smoothing`` > 0: both sides' gradients are low-passed by a Gaussian ``G`` of that
    many px. ``∂(G ⊛ y) = k ⊛ ∂(G ⊛ x)`` still holds, so the normal equations are only
    weighted by ``|G|²``: the fine gradients, where noise and texture outweigh the edges,
    count less, and the Tikhonov term smooths the kernel's finest detail a little (fed
    the true sharp image, correlation 0.93–0.98 with the truth at 1 px, 0.9999 without).
    """
    (top, bottom), (left, right) = (
        _padding(observed.shape[0], size),
        _padding(observed.shape[1], size),
    )
    widths = ((top, bottom), (left, right))
    x = np.pad(latent, widths, mode="reflect")
    y = np.pad(observed, widths, mode="reflect")
    # Only gradients a kernel width inside the photograph: the latent image is least
    # sure near its border, and the padding is no observation at all.
    window = np.outer(_ramp(x.shape[0], top, bottom, size), _ramp(x.shape[1], left, right, size))
    auto = np.zeros((x.shape[0], x.shape[1] // 2 + 1), dtype=np.float64)
    cross = np.zeros_like(auto, dtype=np.complex128)
    for axis in (0, 1):
        gx = fft.rfft2(window * (np.roll(x, -1, axis=axis) - x), workers=-1)
        gy = fft.rfft2(window * (np.roll(y, -1, axis=axis) - y), workers=-1)
        auto += gx.real**2 + gx.imag**2
        cross += np.conj(gx) * gy
    if smoothing > 0:
        fy = np.fft.fftfreq(x.shape[0])[:, None]
        fx = np.fft.rfftfreq(x.shape[1])[None, :]
        weight = np.exp(-4 * np.pi**2 * smoothing**2 * (fy**2 + fx**2))  # |G|²
        auto *= weight
        cross *= weight
    kernel = _nonnegative_solve(
        fft.irfft2(auto, s=x.shape, workers=-1),
        fft.irfft2(cross, s=x.shape, workers=-1),
        size,
        start,
    )
    return _threshold(kernel, faint)


def _ramp(length: int, before: int, after: int, size: int) -> np.ndarray:
    """A window: 0 over the padding and ``size // 2`` pixels, then a sin² rise.

    The rise is ``size`` pixels long; the far end is the mirror image.
    """
    ramp = np.ones(length)
    rise = np.sin(np.linspace(0.0, np.pi / 2, size)) ** 2
    start = before + size // 2
    ramp[:start] = 0.0
    ramp[start : start + size] = rise
    end = length - after - size // 2
    ramp[end:] = 0.0
    ramp[end - size : end] = np.minimum(ramp[end - size : end], rise[::-1])
    return ramp


def _nonnegative_solve(
    auto: np.ndarray, cross: np.ndarray, size: int, start: np.ndarray | None
) -> np.ndarray:
    """``min ½ kᵀ(M + γI)k − bᵀk`` over ``k ≥ 0`` (FISTA), ``M``/``b`` from correlations.

    ``M[i, j]`` is the gradients' autocorrelation at the offset between kernel taps i
    and j, ``b[i]`` their cross-correlation with the observed gradients at tap i.
    """
    r = size // 2
    oy, ox = (a.ravel().astype(np.int32) for a in np.mgrid[-r : r + 1, -r : r + 1])
    matrix = auto[
        (oy[:, None] - oy[None, :]) % auto.shape[0], (ox[:, None] - ox[None, :]) % auto.shape[1]
    ]
    rhs = cross[oy % cross.shape[0], ox % cross.shape[1]]
    scale = max(float(auto[0, 0]), 1e-30)  # the zero-offset power: makes γ relative
    matrix = matrix / scale + GAMMA * np.eye(oy.size)
    rhs = rhs / scale
    lipschitz = _largest_eigenvalue(matrix)
    k = np.full(oy.size, 1.0 / oy.size) if start is None else start.ravel()  # same scale
    z, t = k.copy(), 1.0
    for _ in range(KERNEL_STEPS):
        k_next = np.maximum(z - (matrix @ z - rhs) / lipschitz, 0.0)
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        z = k_next + (t - 1.0) / t_next * (k_next - k)
        k, t = k_next, t_next
    return k.reshape(size, size)


def _largest_eigenvalue(matrix: np.ndarray) -> float:
    """An upper bound on the largest eigenvalue (power iteration, 5 % margin)."""
    v = np.ones(matrix.shape[0])
    for _ in range(30):
        v = matrix @ v
        v /= np.linalg.norm(v)
    return 1.05 * float(v @ matrix @ v)


def _delta(size: int) -> np.ndarray:
    delta = np.zeros((size, size))
    delta[size // 2, size // 2] = 1.0
    return delta


def _threshold(kernel: np.ndarray, faint: float) -> np.ndarray:
    """Faint values to zero; normalised and re-centred; a delta if nothing is left."""
    peak = kernel.max()
    if not peak > 0:
        return _delta(kernel.shape[0])
    kernel = np.where(kernel < faint * peak, 0.0, kernel)
    return _recentre(kernel / kernel.sum())


def _clean(kernel: np.ndarray) -> np.ndarray:
    """Drop small disconnected parts (noise read as blur), renormalise, re-centre.

    ``kernel`` comes from :func:`_threshold`: non-negative, summing to 1.
    """
    labels, count = ndimage.label(kernel > 0, structure=np.ones((3, 3)))
    if count > 1:
        mass = ndimage.sum(kernel, labels, index=np.arange(1, count + 1)) / kernel.sum()
        minor = mass < MINOR
        minor[np.argmax(mass)] = False  # the largest part always stays
        kernel = np.where(np.isin(labels, 1 + np.flatnonzero(minor)), 0.0, kernel)
    return _recentre(kernel / kernel.sum())


def _recentre(kernel: np.ndarray) -> np.ndarray:
    """Shift the kernel by whole pixels so its centre of mass is the middle pixel."""
    rows, cols = np.indices(kernel.shape)
    r = kernel.shape[0] // 2
    sy = round(r - float((kernel * rows).sum()))
    sx = round(r - float((kernel * cols).sum()))
    if sy == 0 and sx == 0:
        return kernel
    out = np.zeros_like(kernel)
    src = kernel[
        max(0, -sy) : kernel.shape[0] - max(0, sy), max(0, -sx) : kernel.shape[1] - max(0, sx)
    ]
    out[max(0, sy) : max(0, sy) + src.shape[0], max(0, sx) : max(0, sx) + src.shape[1]] = src
    return out / out.sum()
