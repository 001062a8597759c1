"""FFT Wiener / Tikhonov deconvolution: the exact reference every fast path is measured by.

Notes
-----
With the blur ``y = h * x + n``, white noise of standard deviation ``σ`` and a signal
power spectrum ``S(ω)``, the linear filter of least expected squared error is::

    W(ω) = conj(H(ω)) S(ω) / (|H(ω)|² S(ω) + σ²).

``S`` is per-pixel normalised (``E|X(ω)|² / N`` for an ``N``-pixel image), the same units
as ``σ²``. ``prior='flat'`` takes ``S = 1`` (the textbook / article form); ``prior='natural'``
takes the power law ``S(ω) = A / (|ω|² + ε)``, ``ω`` in radians per pixel, with ``A`` and
``ε`` from :data:`gpudeconv.core.spectra.NATURAL_PRIOR` (see there for how they were
calibrated). ``nsr=`` gives
MATLAB's scalar form ``conj(H) / (|H|² + nsr)`` and ``reg='laplacian'`` with ``lam=`` gives
Tikhonov / constrained least squares ``conj(H) / (|H|² + λ|P|²)``, ``P`` the 5-point
Laplacian.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core import psf as _psf
from ..core._memo import grid_memo
from ..core._validate import array_module, check_choice, check_real, image_array, to_float
from ..core.boundaries import BOUNDARIES
from ..core.spectra import PRIORS, wiener_response
from ..errors import InvalidArgumentError
from .unknown_boundary import is_centrosymmetric, solve_unknown_boundary

__all__ = ["wiener"]

#: Boundary rules the FFT reference implements (see :mod:`gpudeconv.core.boundaries`).
WIENER_BOUNDARIES = ("reflect", "periodic", "unknown")
REGULARIZERS = (None, "laplacian")


def wiener(
    image: Any,
    psf: np.ndarray,
    *,
    noise: float | None = None,
    nsr: float | None = None,
    prior: str = "natural",
    boundary: str = "reflect",
    reg: str | None = None,
    lam: float | None = None,
    clip: bool = False,
) -> Any:
    """Deconvolve an image by FFT Wiener (or Tikhonov) filtering.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        NumPy or CuPy array; float32/float64, or uint8/uint16 (then scaled to float32 in
        [0, 1]). Channels are filtered independently.
    psf : (h, w) ndarray
        The blur, no larger than the image.
    noise : float, optional
        Total noise standard deviation in image units (include quantisation:
        ``sqrt(σ² + Δ²/12)``). Exactly one of ``noise`` / ``nsr`` unless ``reg`` is given.
    nsr : float, optional
        Scalar noise-to-signal ratio: ``W = conj(H) / (|H|² + nsr)`` (MATLAB ``deconvwnr``).
    prior : {'natural', 'flat'}
        Signal spectrum used with ``noise``: natural-image power law or flat ``S = 1``.
    boundary : {'reflect', 'periodic', 'unknown'}
        ``periodic`` treats the image as one period (reproduces MATLAB
        ``deconvwnr(I, PSF, NSR)``); ``reflect`` mirror-pads the image (OpenCV
        ``BORDER_REFLECT``) by a margin that covers the restoration filter's support, so
        non-periodic photographs do not ring at the borders, then crops. Mirroring is
        exact only for a centrosymmetric PSF: for any other (camera shake) ``reflect``
        solves with ``unknown`` instead, which assumes nothing beyond the edge and solves
        for those pixels too (:mod:`gpudeconv.restoration.unknown_boundary`: conjugate gradients
        preconditioned by this same filter; slower, tens of FFT pairs). Those pixels
        are more unknowns than the image has equations: ``unknown`` needs a regulariser
        (``nsr=0``, ``noise=0`` or ``lam=0`` with a PSF other than a shifted delta is a
        ``ValueError``).
    reg : {None, 'laplacian'}
        ``'laplacian'`` gives Tikhonov regularisation with weight ``lam``.
    lam : float, optional
        Tikhonov weight, >= 0; required with ``reg='laplacian'``.
    clip : bool
        Clip the result to the input's value range. Off by default: no silent clipping.

    Returns
    -------
    restored : ndarray
        Same shape and array module; same float dtype (float32 for integer input).

    Examples
    --------
    >>> import numpy as np
    >>> from gpudeconv import psf, degrade, wiener
    >>> sharp = np.random.default_rng(0).random((32, 32))
    >>> h = psf.gaussian(0.8)
    >>> blurred = degrade.blur(sharp, h, boundary="wrap")
    >>> restored = wiener(blurred, h, nsr=1e-12, boundary="periodic")
    >>> bool(np.abs(restored - sharp).max() < 1e-6)
    True
    """
    image = image_array("image", image)
    xp = array_module(image)
    data = to_float(image)
    kernel = _psf.from_array(psf)
    boundary = BOUNDARIES.check(boundary, allowed=WIENER_BOUNDARIES)
    if reg not in REGULARIZERS:
        raise InvalidArgumentError(f"Invalid reg {reg!r}; expected one of {REGULARIZERS}")
    if kernel.shape[0] > data.shape[0] or kernel.shape[1] > data.shape[1]:
        raise InvalidArgumentError(
            f"psf of shape {kernel.shape} is larger than the image {tuple(data.shape[:2])}"
        )
    params = _check_regularisation(noise=noise, nsr=nsr, prior=prior, reg=reg, lam=lam)

    if boundary == "reflect" and not is_centrosymmetric(kernel):
        boundary = "unknown"  # mirroring would see the flipped kernel
    if boundary == "unknown" and np.count_nonzero(kernel) > 1 and _unregularised(params):
        raise InvalidArgumentError(
            "boundary='unknown' (what 'reflect' becomes for a PSF that is not "
            "centrosymmetric) solves for the pixels beyond the border, which the blurred "
            "image alone does not determine: with no regulariser (nsr=0, noise=0 or lam=0) "
            "the answer is arbitrary. Give noise > 0, nsr > 0 or lam > 0, or "
            "boundary='periodic'"
        )
    squeeze = data.ndim == 2
    observed = data[..., None] if squeeze else data
    rows, cols = observed.shape[:2]
    margin_y, margin_x = (0, 0) if boundary == "periodic" else fft_margins(kernel, rows, cols)
    work = observed
    if margin_y or margin_x:
        pad = ((margin_y, margin_y), (margin_x, margin_x), (0, 0))
        work = xp.pad(work, pad, mode="symmetric")  # reflect; unknown starts from it

    if boundary == "unknown":
        restored = unknown_boundary_estimate(xp, observed, kernel, params, work)
    else:
        restored = periodic_estimate(xp, work, kernel, params)
        restored = restored[margin_y : margin_y + rows, margin_x : margin_x + cols]
    restored = restored[..., 0] if squeeze else restored
    restored = xp.ascontiguousarray(restored.astype(data.dtype, copy=False))
    if clip:
        restored = xp.clip(restored, data.min(), data.max())
    return restored


def _unregularised(params: dict[str, Any]) -> bool:
    """True when the regulariser is zero at every frequency."""
    return not any(params.get(key) for key in ("nsr", "noise", "lam"))


def _check_regularisation(
    *, noise: Any, nsr: Any, prior: str, reg: str | None, lam: Any
) -> dict[str, Any]:
    check_choice("prior", prior, PRIORS)
    if reg == "laplacian":
        if lam is None:
            raise InvalidArgumentError("reg='laplacian' needs lam= (the Tikhonov weight, >= 0)")
        if noise is not None or nsr is not None:
            raise InvalidArgumentError(
                "reg='laplacian' takes lam= only; do not pass noise= or nsr="
            )
        return {"reg": reg, "lam": check_real("lam", lam, nonnegative=True)}
    if lam is not None:
        raise InvalidArgumentError("lam= is only used with reg='laplacian'")
    if (noise is None) == (nsr is None):
        raise InvalidArgumentError(
            "pass exactly one of noise= (std in image units) or nsr= (scalar)"
        )
    if nsr is not None:
        return {"nsr": check_real("nsr", nsr, nonnegative=True)}
    return {"noise": check_real("noise", noise, nonnegative=True), "prior": prior}


def fft_margins(kernel: np.ndarray, rows: int, cols: int) -> tuple[int, int]:
    """Mirror-padding margin per axis.

    The wrap-around seam of the padded image is a discontinuity; the margin keeps it
    further from the image than the restoration filter reaches (its taps decay within a
    few PSF radii). The padded size is rounded up to a fast FFT length.
    """
    from scipy.fft import next_fast_len

    def one(radius: int, n: int) -> int:
        want = max(16, 4 * radius + 8)
        return (next_fast_len(n + 2 * want, real=True) - n + 1) // 2

    return one(kernel.shape[0] // 2, rows), one(kernel.shape[1] // 2, cols)


def periodic_estimate(xp: Any, work: Any, kernel: np.ndarray, params: dict[str, Any]) -> Any:
    """The FFT Wiener estimate of ``work`` (rows, cols, C) taken as periodic."""
    response = _response_grid(kernel, work.shape[:2], work.dtype, xp, params)
    spectrum = _rfft2(xp, work)
    spectrum *= response[..., None]
    return _irfft2(xp, spectrum, work.shape[:2])


def unknown_boundary_estimate(
    xp: Any,
    observed: Any,
    kernel: np.ndarray,
    params: dict[str, Any],
    mirrored: Any,
    **options: Any,
) -> Any:
    """The unknown-boundary estimate of ``observed`` (rows, cols, C).

    ``mirrored`` is ``observed`` mirror-padded (equal margins per axis, at least the PSF's
    radius): its periodic Wiener estimate starts
    :func:`~gpudeconv.restoration.unknown_boundary.solve_unknown_boundary`; ``options`` go to it
    (``padded=True`` returns the whole padded domain, ``tolerance=``).
    """
    margins = (
        (mirrored.shape[0] - observed.shape[0]) // 2,
        (mirrored.shape[1] - observed.shape[1]) // 2,
    )
    start = periodic_estimate(xp, mirrored, kernel, params)
    helpers = (lambda a: _rfft2(xp, a), lambda a, s: _irfft2(xp, a, s))
    restored, _ = solve_unknown_boundary(
        xp, observed, kernel, params, start, margins, helpers, **options
    )
    return restored


def _response_grid(
    kernel: np.ndarray, shape: tuple[int, int], dtype: Any, xp: Any, params: dict[str, Any]
) -> Any:
    """``W`` on the ``rfft2`` grid of ``shape``, in the working precision.

    Built on the host (a float64 FFT of the grid) and uploaded once per PSF, grid and
    parameters (:mod:`._memo`): a video's frames reuse it.
    """

    def build() -> Any:
        otf = _psf.otf(kernel, shape, half=True)
        wy = 2 * math.pi * np.fft.fftfreq(shape[0])[:, None]
        wx = 2 * math.pi * np.fft.rfftfreq(shape[1])[None, :]
        response = wiener_response(otf, wy, wx, **params)
        complex_dtype = np.complex64 if dtype == np.float32 else np.complex128
        return xp.asarray(response.astype(complex_dtype))

    return grid_memo("wiener", kernel, shape, dtype, params, xp, build)


def _rfft2(xp: Any, a: Any) -> Any:
    if xp is np:  # SciPy's pocketfft is multi-threaded and keeps float32 in single precision
        import scipy.fft

        return scipy.fft.rfft2(a, axes=(0, 1), workers=-1)
    return xp.fft.rfft2(a, axes=(0, 1))


def _irfft2(xp: Any, a: Any, shape: tuple[int, int]) -> Any:
    if xp is np:
        import scipy.fft

        return scipy.fft.irfft2(a, s=shape, axes=(0, 1), workers=-1)
    return xp.fft.irfft2(a, s=shape, axes=(0, 1))
