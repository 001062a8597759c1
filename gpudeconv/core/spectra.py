"""Frequency responses and spectra: the maths every other part evaluates, in one place.

Conventions, held by every function here and by every caller:

- frequencies are in radians per pixel, ``ω ∈ [−π, π]``;
- 2-D functions take ``(wy, wx)`` — rows first, like array indices. Responses of taps
  broadcast ``wy`` against ``wx`` (a column and a row make a grid); ``psf_response``
  always evaluates the product grid of the two;
- taps are centred: a kernel of odd size ``2r + 1`` has its origin at index ``r``;
- spectra are per-pixel normalised (``E|X(ω)|² / N`` for an ``N``-pixel image), the same
  units as a noise variance ``σ²``.

Examples
--------
A kernel's response at DC is the sum of its taps, and a symmetric kernel's response is real:

>>> import numpy as np
>>> from gpudeconv import psf, spectra
>>> h = psf.gaussian(1.0)
>>> H = spectra.psf_response(h, np.zeros(1), np.zeros(1))
>>> bool(np.isclose(H[0, 0], 1.0))
True
>>> g = psf.gaussian_1d(1.0, 4)
>>> w = np.linspace(0, np.pi, 5)
>>> sep = spectra.psf_response(np.outer(g, g), w, w)
>>> bool(np.allclose(sep, spectra.taps_response(g, w)[:, None] * spectra.taps_response(g, w)))
True

Parseval: the mean of ``|H|²`` over the frequency plane is the kernel's energy ``Σ h²``:

>>> n = 64
>>> w = 2 * np.pi * np.fft.fftfreq(n)
>>> energy = np.mean(np.abs(spectra.psf_response(h, w, w)) ** 2)
>>> bool(np.isclose(energy, (h**2).sum()))
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ._validate import array_module, check_int, check_real

__all__ = [
    "NATURAL_PRIOR",
    "PRIORS",
    "natural_spectrum",
    "psf_response",
    "quantization_noise",
    "regularizer_spectrum",
    "signal_spectrum",
    "taps_parity",
    "taps_response",
    "term_response",
    "terms_response",
    "total_noise",
    "wiener_response",
]

# ---------------------------------------------------------------------------- responses


def taps_parity(taps: Any) -> int:
    """``+1`` for symmetric (even) taps, ``−1`` for antisymmetric (odd) ones, else 0.

    Within a relative ``1e-12`` of the largest tap; all-zero taps count as even.
    """
    taps = np.asarray(taps, dtype=np.float64)
    scale = 1e-12 * max(float(np.abs(taps).max(initial=0.0)), 1e-300)
    if np.abs(taps - taps[::-1]).max(initial=0.0) <= scale:
        return 1
    if np.abs(taps + taps[::-1]).max(initial=0.0) <= scale:
        return -1
    return 0


def taps_response(taps: Any, w: Any) -> np.ndarray:
    """Response of symmetric 1-D taps (odd length, centred) at ``w``: real, zero phase.

    ``t_0 + 2 Σ_k t_k cos(k w)``; only the centre and right half of ``taps`` are read.
    For antisymmetric taps (``t_−k = −t_k``, a derivative) see :func:`term_response`.

    >>> import numpy as np
    >>> float(taps_response(np.array([0.25, 0.5, 0.25]), np.pi))  # [1, 2, 1]/4 kills Nyquist
    0.0
    """
    taps = np.asarray(taps, dtype=np.float64)
    r = taps.size // 2
    w = np.asarray(w, dtype=np.float64)
    k = np.arange(1, r + 1, dtype=np.float64)
    return taps[r] + 2.0 * np.cos(w[..., None] * k) @ taps[r + 1 :]


def _sine_series(taps: np.ndarray, w: Any) -> np.ndarray:
    """``2 Σ_k t_k sin(k w)`` of antisymmetric taps: their response is ``∓i`` times it."""
    r = taps.size // 2
    w = np.asarray(w, dtype=np.float64)
    k = np.arange(1, r + 1, dtype=np.float64)
    return 2.0 * np.sin(w[..., None] * k) @ taps[r + 1 :]


def term_response(ky: Any, kx: Any, wy: Any, wx: Any) -> np.ndarray:
    """Response of one separable term ``ky ⊗ kx`` at ``(wy, wx)`` (broadcast): real.

    Both taps symmetric: the product of their cosine series. Both antisymmetric (e.g.
    ``g' ⊗ g'``, the mixed second derivative): each response is ``−i S(w)`` (``+i S`` for
    correlation, what OpenCV and the kernels compute — the product is the same), so the
    term's is ``−S_y S_x``, real again. A symmetric-by-antisymmetric term would shift
    the image; it is rejected.
    """
    ky = np.asarray(ky, dtype=np.float64)
    kx = np.asarray(kx, dtype=np.float64)
    py, px = taps_parity(ky), taps_parity(kx)
    if py == px == 1:
        return taps_response(ky, wy) * taps_response(kx, wx)
    if py == px == -1:
        return -_sine_series(ky, wy) * _sine_series(kx, wx)
    raise ValueError(
        "a separable term needs both taps symmetric or both antisymmetric "
        f"(got parities {py:+d} and {px:+d}); other terms have a complex response"
    )


def terms_response(
    weights: Sequence[float], terms: Sequence[tuple[Any, Any]], wy: Any, wx: Any
) -> np.ndarray:
    """Response of ``Σ_j w_j (ky_j ⊗ kx_j)``: a filter of weighted separable terms.

    ``terms`` holds ``(ky, kx)`` pairs, each both symmetric or both antisymmetric
    (:func:`term_response`); the result is real.
    """
    wy = np.asarray(wy, dtype=np.float64)
    wx = np.asarray(wx, dtype=np.float64)
    total = np.zeros(np.broadcast_shapes(wy.shape, wx.shape))
    for w, (ky, kx) in zip(weights, terms, strict=True):
        total = total + w * term_response(ky, kx, wy, wx)
    return total


def psf_response(psf: np.ndarray, wy: Any, wx: Any) -> np.ndarray:
    """Transfer function (DTFT) of a centred, odd-sized 2-D kernel on a product grid.

    Returns ``H[i, j] = H(wy_i, wx_j)`` of shape ``(wy.size, wx.size)``: every ``wy``
    against every ``wx`` (both flattened), complex.
    """
    psf = np.asarray(psf, dtype=np.float64)
    ry, rx = psf.shape[0] // 2, psf.shape[1] // 2
    wy = np.asarray(wy, dtype=np.float64).reshape(-1, 1)
    wx = np.asarray(wx, dtype=np.float64).reshape(-1, 1)
    ey = np.exp(-1j * wy * np.arange(-ry, ry + 1))  # (ny, h)
    ex = np.exp(-1j * wx * np.arange(-rx, rx + 1))  # (nx, w)
    return ey @ psf @ ex.T


# ---------------------------------------------------------------------------- spectra

#: Natural-image power spectrum ``S(ω) = amplitude / (|ω|² + epsilon)``, ω in rad/pixel,
#: per-pixel normalised, for grey images in [0, 1] (linear or sRGB coded alike).
#: Calibrated by ``python -m bench.calibrate_prior`` on the ``skimage.data`` photographs
#: astronaut, camera, coffee, chelsea, rocket, brick, grass and gravel, two ways that agree:
#: a least-squares fit of ``A/|ω|²`` to their power spectra on ``0.1π < |ω| < 0.5π`` gives
#: A = 6.1e-3, and the amplitude that maximises the mean PSNR of the Wiener filter over
#: them (Gaussian blur σ ∈ {0.6, 1, 1.5, 2}, noise ∈ {0.002, 0.01} plus 8-bit quantisation,
#: reflect boundaries) is 6e-3 of {1e-3, 3e-3, 6e-3, 1e-2, 2e-2}: 31.96 dB mean against
#: 31.78 at 3e-3, 31.88 at 1e-2 and 30.94 at 1e-3. ``epsilon`` only keeps S finite at DC
#: (it matters below ~0.01 rad/pixel, where every blur passes the signal).
NATURAL_PRIOR = {"amplitude": 6.0e-3, "epsilon": 1.0e-4}

#: Signal spectra: ``natural`` (the power law above) or ``flat`` (``S = 1``, the textbook
#: Wiener filter of the source article).
PRIORS = ("natural", "flat")


def natural_spectrum(wy: Any, wx: Any, amplitude: float | None = None) -> Any:
    """``A / (wy² + wx² + ε)``; NumPy or CuPy arrays. ``amplitude`` defaults to the prior's."""
    a = NATURAL_PRIOR["amplitude"] if amplitude is None else amplitude
    return a / (wx * wx + wy * wy + NATURAL_PRIOR["epsilon"])


def signal_spectrum(prior: str, wy: Any, wx: Any, *, amplitude: float | None = None) -> Any:
    """Signal power spectrum of ``prior`` (one of :data:`PRIORS`) at ``(wy, wx)``.

    ``amplitude`` scales it: the natural prior's ``A`` replaced by an image's own, or the
    flat prior's level.
    """
    if prior == "flat":
        xp = array_module(wy)
        level = 1.0 if amplitude is None else amplitude
        return xp.full(np.broadcast_shapes(np.shape(wy), np.shape(wx)), level)
    return natural_spectrum(wy, wx, amplitude)


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
    """Restoration response ``W`` at ``(wy, wx)`` for the transfer function ``otf``.

    ``W = conj(H) S / (|H|² S + σ²)`` with ``noise=σ`` and the spectrum of ``prior``;
    ``nsr=`` gives ``conj(H) / (|H|² + nsr)``; ``reg='laplacian'`` with ``lam=`` gives
    Tikhonov ``conj(H) / (|H|² + λ|P|²)``, ``P`` the 5-point Laplacian. Arrays broadcast;
    NumPy or CuPy. Where the denominator is zero (no signal, no noise) ``W`` is 0.
    """
    xp = array_module(otf)
    power = (otf * otf.conj()).real
    regulariser = regularizer_spectrum(wy, wx, noise=noise, nsr=nsr, prior=prior, reg=reg, lam=lam)
    den = power + regulariser + xp.zeros_like(power)  # broadcast to the full grid
    safe = xp.where(den > 0, den, 1.0)
    return xp.where(den > 0, otf.conj() / safe, 0.0)


def regularizer_spectrum(
    wy: Any,
    wx: Any,
    *,
    noise: float | None = None,
    nsr: float | None = None,
    prior: str = "natural",
    reg: str | None = None,
    lam: float | None = None,
) -> Any:
    """``R(ω)`` with ``W = conj(H) / (|H|² + R)``: the regulariser of :func:`wiener_response`.

    ``σ²/S(ω)`` for ``noise=σ`` and ``prior``; ``nsr`` itself; ``λ|P|²`` for Tikhonov.
    """
    xp = array_module(wy)
    if reg == "laplacian":
        lap = 4.0 - 2.0 * xp.cos(wx) - 2.0 * xp.cos(wy)
        return lam * lap * lap
    if nsr is not None:
        return nsr + 0.0 * (wy + wx)
    spectrum = natural_spectrum(wy, wx) if prior == "natural" else 1.0
    return noise * noise / spectrum + 0.0 * (wy + wx)


# ---------------------------------------------------------------------------- noise


def quantization_noise(bits: int) -> float:
    """Std of the rounding error of ``bits``-bit storage on [0, 1]: ``Δ/√12``, ``Δ = 1/(2^b−1)``.

    >>> round(quantization_noise(8), 6)
    0.001132
    """
    return math.sqrt(_quantization_variance(bits))


#: Most bits of storage a quantisation step is computed for (float32 holds 24).
MAX_QUANTIZATION_BITS = 32


def _quantization_variance(bits: int) -> float:
    bits = check_int("quantization_bits", bits, minimum=1)
    if bits > MAX_QUANTIZATION_BITS:
        raise InvalidArgumentError(
            f"quantization_bits must be <= {MAX_QUANTIZATION_BITS}; got {bits}"
        )
    step = 1.0 / (2**bits - 1)
    return step**2 / 12.0


def total_noise(noise: float, quantization_bits: int | None) -> float:
    """Noise std with the rounding of ``quantization_bits``-bit storage added in quadrature."""
    noise = check_real("noise", noise, nonnegative=True, upper=1.0)
    if quantization_bits is None:
        return noise
    return math.sqrt(noise**2 + _quantization_variance(quantization_bits))
