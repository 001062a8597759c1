"""FFT Wiener / Tikhonov deconvolution: the exact reference every fast path is measured by.

Notes
-----
With the blur ``y = h * x + n``, white noise of standard deviation ``σ`` and a signal
power spectrum ``S(ω)``, the linear filter of least expected squared error is

    W(ω) = conj(H(ω)) S(ω) / (|H(ω)|² S(ω) + σ²).

``S`` is per-pixel normalised (``E|X(ω)|² / N`` for an ``N``-pixel image), the same units
as ``σ²``. ``prior='flat'`` takes ``S = 1`` (the textbook / article form); ``prior='natural'``
takes the power law ``S(ω) = A / (|ω|² + ε)``, ``ω`` in radians per pixel, with ``A`` and
``ε`` from :data:`NATURAL_PRIOR` (see there for how they were calibrated). ``nsr=`` gives
MATLAB's scalar form ``conj(H) / (|H|² + nsr)`` and ``reg='laplacian'`` with ``lam=`` gives
Tikhonov / constrained least squares ``conj(H) / (|H|² + λ|P|²)``, ``P`` the 5-point
Laplacian.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import psf as _psf
from ._validate import array_module, check_choice, check_real, image_array, to_float

__all__ = ["NATURAL_PRIOR", "natural_spectrum", "wiener", "wiener_response"]

#: Natural-image power spectrum ``S(ω) = amplitude / (|ω|² + epsilon)``, ω in rad/pixel,
#: per-pixel normalised, for grey images in [0, 1] (linear or sRGB coded alike).
#: Calibrated by ``python -m bench.calibrate_prior`` on the ``skimage.data`` photographs
#: astronaut, camera, coffee, chelsea, rocket, brick, grass and gravel, two ways that agree:
#: a least-squares fit of ``A/|ω|²`` to their power spectra on 0.1π < |ω| < 0.5π gives
#: A = 6.1e-3, and the amplitude that maximises the mean PSNR of this Wiener filter over
#: them (Gaussian blur σ ∈ {0.6, 1, 1.5, 2}, noise ∈ {0.002, 0.01} plus 8-bit quantisation,
#: reflect boundaries) is 6e-3 of {1e-3, 3e-3, 6e-3, 1e-2, 2e-2}: 31.96 dB mean against
#: 31.78 at 3e-3, 31.88 at 1e-2 and 30.94 at 1e-3. ``epsilon`` only keeps S finite at DC
#: (it matters below ~0.01 rad/pixel, where every blur passes the signal).
NATURAL_PRIOR = {"amplitude": 6.0e-3, "epsilon": 1.0e-4}

BOUNDARIES = ("reflect", "periodic")
PRIORS = ("natural", "flat")
REGULARIZERS = (None, "laplacian")


def natural_spectrum(wy: Any, wx: Any) -> Any:
    """Natural-image power spectrum ``A / (wx² + wy² + ε)`` at frequencies in rad/pixel."""
    return NATURAL_PRIOR["amplitude"] / (wx * wx + wy * wy + NATURAL_PRIOR["epsilon"])


def wiener_response(
    otf: Any,
    wy: Any,
    wx: Any,
    *,
    noise: float | None = None,
    nsr: float | None = None,
    prior: str = "natural",
    reg: str | None = None,
    lam: float | None = None,
) -> Any:
    """Restoration filter response ``W`` at frequencies ``(wy, wx)`` for transfer ``otf``.

    Arrays broadcast together; NumPy or CuPy. Where the denominator is zero (no signal
    and no noise) ``W`` is 0, the pseudo-inverse.
    """
    xp = array_module(otf)
    power = (otf * otf.conj()).real
    if reg == "laplacian":
        lap = 4.0 - 2.0 * xp.cos(wx) - 2.0 * xp.cos(wy)
        num, den = otf.conj(), power + lam * lap * lap
    elif nsr is not None:
        num, den = otf.conj(), power + nsr
    else:
        spectrum = natural_spectrum(wy, wx) if prior == "natural" else 1.0
        num, den = otf.conj() * spectrum, power * spectrum + noise * noise
    den = den + xp.zeros_like(power)  # broadcast to the full grid
    safe = xp.where(den > 0, den, 1.0)
    return xp.where(den > 0, num / safe, 0.0)


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
    boundary : {'reflect', 'periodic'}
        ``periodic`` treats the image as one period (reproduces MATLAB
        ``deconvwnr(I, PSF, NSR)``); ``reflect`` mirror-pads the image (OpenCV
        ``BORDER_REFLECT``) by a margin that covers the restoration filter's support, so
        non-periodic photographs do not ring at the borders, then crops.
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
    check_choice("boundary", boundary, BOUNDARIES)
    if reg not in REGULARIZERS:
        raise ValueError(f"Invalid reg {reg!r}; expected one of {REGULARIZERS}")
    if kernel.shape[0] > data.shape[0] or kernel.shape[1] > data.shape[1]:
        raise ValueError(
            f"psf of shape {kernel.shape} is larger than the image {tuple(data.shape[:2])}"
        )
    params = _check_regularisation(noise=noise, nsr=nsr, prior=prior, reg=reg, lam=lam)

    squeeze = data.ndim == 2
    work = data[..., None] if squeeze else data
    rows, cols = work.shape[:2]
    margin_y, margin_x = (0, 0) if boundary == "periodic" else _reflect_margin(kernel, rows, cols)
    if margin_y or margin_x:
        work = xp.pad(work, ((margin_y, margin_y), (margin_x, margin_x), (0, 0)), mode="symmetric")

    response = _response_grid(kernel, work.shape[:2], work.dtype, xp, params)
    spectrum = _rfft2(xp, work)
    spectrum *= response[..., None]
    restored = _irfft2(xp, spectrum, work.shape[:2])
    restored = restored[margin_y : margin_y + rows, margin_x : margin_x + cols]
    restored = restored[..., 0] if squeeze else restored
    restored = xp.ascontiguousarray(restored.astype(data.dtype, copy=False))
    if clip:
        restored = xp.clip(restored, data.min(), data.max())
    return restored


def _check_regularisation(
    *, noise: Any, nsr: Any, prior: str, reg: str | None, lam: Any
) -> dict[str, Any]:
    check_choice("prior", prior, PRIORS)
    if reg == "laplacian":
        if lam is None:
            raise ValueError("reg='laplacian' needs lam= (the Tikhonov weight, >= 0)")
        if noise is not None or nsr is not None:
            raise ValueError("reg='laplacian' takes lam= only; do not pass noise= or nsr=")
        return {"reg": reg, "lam": check_real("lam", lam, nonnegative=True)}
    if lam is not None:
        raise ValueError("lam= is only used with reg='laplacian'")
    if (noise is None) == (nsr is None):
        raise ValueError("pass exactly one of noise= (std in image units) or nsr= (scalar)")
    if nsr is not None:
        return {"nsr": check_real("nsr", nsr, nonnegative=True)}
    return {"noise": check_real("noise", noise, nonnegative=True), "prior": prior}


def _reflect_margin(kernel: np.ndarray, rows: int, cols: int) -> tuple[int, int]:
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


def _response_grid(
    kernel: np.ndarray, shape: tuple[int, int], dtype: Any, xp: Any, params: dict[str, Any]
) -> Any:
    """``W`` on the ``rfft2`` grid of ``shape``, in the working precision."""
    otf = _psf.otf(kernel, shape)[:, : shape[1] // 2 + 1]
    wy = 2 * math.pi * np.fft.fftfreq(shape[0])[:, None]
    wx = 2 * math.pi * np.fft.rfftfreq(shape[1])[None, :]
    response = wiener_response(otf, wy, wx, **params)
    complex_dtype = np.complex64 if dtype == np.float32 else np.complex128
    return xp.asarray(response.astype(complex_dtype))


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
