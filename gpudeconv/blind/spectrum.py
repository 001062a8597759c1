"""Blur and signal spectrum, read from the frame's own power spectrum.

A frame blurred by a Gaussian of covariance ``Σ`` (pixels²) over a natural image has the
power spectrum::

    P(ω) = A |ω|^−2 exp(−ωᵀΣω) + σ²,

(the natural image's power law — the prior the filters are fitted with —, times ``|H|²``,
plus white noise). Where the signal stands well above the noise, ``log(P − σ²) + 2 log|ω|``
is *linear* in ``(log A, Σxx, Σxy, Σyy)``, so one weighted least-squares solve gives the
blur — anisotropic and rotated — and the image's own spectral amplitude, with their
covariance. ``P`` is a Welch estimate: the mean periodogram of the most textured tiles
(Hann window), where the signal is strongest.

The slope is *fixed* at 2. Left free it trades places with the blur (both bend the log
spectrum over the short band available): on ``skimage.data`` photographs a free slope
came out anywhere in 1.1–3.8 and the blur with it (``σ = 0.6`` read as 0.3–0.7), while
the fixed slope reads every added blur of ``σ`` 0.6–2.2 within ±(0.15 + 0.1 σ) but for
strongly oriented content (text, brick courses). Bins are weighted by the inverse variance
of their log, ``K ((P − σ²)/P)²`` for ``K`` tiles averaged — but a real spectrum departs
from the model smoothly, so neighbouring bins err together: the weights are scaled to
:data:`EFFECTIVE_BINS` independent observations and the covariance taken from the
residual, which keeps the stated uncertainty honest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core._validate import array_module

__all__ = [
    "SpectralFit",
    "choose_tiles",
    "crossover_amplitude",
    "fit_spectrum",
    "noise_ceiling",
    "periodogram",
]

#: Tile side for the Welch estimate, and how many of the most textured tiles are used.
TILE = 128
TILES = 12
#: How many independent observations the spectrum's bins are worth together (see above).
EFFECTIVE_BINS = 50.0
#: Prior spread of the blur's anisotropy, ``Σxx − Σyy`` and ``Σxy`` in pixels²: oriented
#: content (text lines, brick courses) tilts a spectrum much like an anisotropic blur, so
#: anisotropy must be clearly supported by the data before it is believed.
ANISOTROPY_SPREAD = 0.3
#: The band fitted, in rad/pixel: above the window's leakage, below the Nyquist corner.
BAND = (0.15 * math.pi, 0.95 * math.pi)
#: Bins count only where the signal exceeds this many noise powers.
SNR_FLOOR = 3.0


@dataclass(frozen=True)
class SpectralFit:
    """The fitted spectrum model; ``covariance`` is that of ``params``."""

    params: np.ndarray  # (log A, Σxx, Σxy, Σyy)
    covariance: np.ndarray  # (4, 4)
    bins: int  # frequency bins with enough signal to be fitted
    residual: float  # weighted rms of the log residuals

    @property
    def blur_covariance(self) -> np.ndarray:
        """``Σ`` (2×2, pixels², x then rows) of the total blur, pixel integration included."""
        _, sxx, sxy, syy = self.params
        return np.array([[sxx, sxy], [sxy, syy]])

    def scaled(self, share: float) -> SpectralFit:
        """The same fit with the amplitude multiplied by ``share``."""
        params = self.params.copy()
        params[0] += math.log(max(share, 1e-300))
        return SpectralFit(params, self.covariance, self.bins, self.residual)

    @property
    def amplitude(self) -> float:
        """The signal's ``A`` in ``S(ω) = A / |ω|²``."""
        return float(math.exp(self.params[0]))


#: The texture map that picks the tiles is measured on every ``DECIMATE``-th pixel.
DECIMATE = 8


def choose_tiles(
    coarse: Any, shape: tuple[int, int], count: int, tile: int
) -> tuple[list[tuple[int, int]], float]:
    """Corners of the ``count`` most textured tiles (``tile`` px square) of a grid on a frame.

    ``coarse`` is the frame's luma at every :data:`DECIMATE`-th pixel (it is cheap to
    make from a frame that is not decoded yet); ``shape`` the full frame's (H, W).
    Also returns the whole frame's texture energy relative to the chosen tiles' (≤ 1):
    the spectrum of the most textured tiles overstates a frame's signal by its inverse.
    """
    h, w = shape
    ys = np.linspace(0, h - tile, max(1, (h - tile) // tile + 1)).astype(int)
    xs = np.linspace(0, w - tile, max(1, (w - tile) // tile + 1)).astype(int)
    xp = array_module(coarse)
    grad = xp.abs(xp.diff(coarse, axis=0))[:, :-1] + xp.abs(xp.diff(coarse, axis=1))[:-1, :]
    # Mean gradient per tile from an integral image: one pass, whatever the tile count.
    integral = xp.zeros((grad.shape[0] + 1, grad.shape[1] + 1))
    integral[1:, 1:] = grad.cumsum(axis=0).cumsum(axis=1)
    integral = np.asarray(integral if xp is np else integral.get())
    y0, x0 = np.minimum(ys // DECIMATE, grad.shape[0]), np.minimum(xs // DECIMATE, grad.shape[1])
    y1 = np.minimum((ys + tile) // DECIMATE, grad.shape[0])
    x1 = np.minimum((xs + tile) // DECIMATE, grad.shape[1])
    sums = integral[y1][:, x1] - integral[y0][:, x1] - integral[y1][:, x0] + integral[y0][:, x0]
    order = np.argsort(sums.ravel(), kind="stable")[::-1][:count]
    energy = np.square(sums.ravel())
    chosen = float(energy[order].mean())
    share = float(energy.mean()) / chosen if chosen > 0 else 1.0
    return [(int(ys[i // len(xs)]), int(xs[i % len(xs)])) for i in order], min(share, 1.0)


def periodogram(tiles: Any) -> tuple[np.ndarray, int]:
    """Welch power spectrum (per-pixel normalised) of float tiles ``(K, t, t)``; ``(P, K)``.

    ``P`` is ``(t, t)`` on the ``fft2`` grid (NumPy, whatever the input's module).
    """
    xp = array_module(tiles)
    size = tiles.shape[1]
    window = xp.asarray(np.outer(np.hanning(size), np.hanning(size)), dtype=tiles.dtype)
    tiles = tiles - tiles.mean(axis=(1, 2), keepdims=True)
    if xp is np:
        import scipy.fft

        spectra = scipy.fft.rfft2(tiles * window, axes=(1, 2), workers=-1)
    else:
        spectra = xp.fft.rfft2(tiles * window, axes=(1, 2))
    half = (spectra.real**2 + spectra.imag**2).mean(axis=0) / float((window * window).sum())
    half = np.asarray(half if xp is np else half.get(), dtype=np.float64)
    # Back to the full fft2 grid: P(ω) = P(−ω) for a real input.
    power = np.empty((size, size))
    power[:, : half.shape[1]] = half
    rest = size - half.shape[1]
    if rest:
        mirrored = half[(-np.arange(size)) % size][:, 1 : rest + 1][:, ::-1]
        power[:, half.shape[1] :] = mirrored
    return power, int(tiles.shape[0])


def _radial(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ωx, ωy, |ω|²)`` on the ``fft2`` grid of ``n × n`` (rad/pixel, rows are ωy)."""
    w = 2 * np.pi * np.fft.fftfreq(n)
    wy, wx = np.meshgrid(w, w, indexing="ij")
    return wx, wy, wx * wx + wy * wy


#: The corner of the spectrum (``|ω|`` above this, rad/pixel) where a frame holds the least
#: signal: its median power bounds the white noise from above.
CORNER = 0.85 * math.pi


def noise_ceiling(power: np.ndarray) -> float:
    """An upper bound of the white-noise std: the median power in the spectrum's corner.

    Tight when the frame is blurred (the corner is noise only); on a sharp frame the
    corner holds signal too. It caps the flat-block estimate of :mod:`.noise`, which
    reads fine texture as noise when a frame has no flat blocks (grass, gravel).
    """
    _, _, r2 = _radial(power.shape[0])
    return float(math.sqrt(np.median(power[r2 > CORNER**2])))


#: Where a filter's amplitude is matched: bins whose signal is 1 to 10 noise powers.
CROSSOVER = (1.0, 10.0)


def crossover_amplitude(
    power: np.ndarray, noise: float, blur: np.ndarray, exclude: np.ndarray | None = None
) -> float | None:
    """The amplitude that fits the observed signal where it crosses the noise.

    ``A`` of ``S = A/|ω|²`` seen through the blur ``blur`` (2×2, pixels²), matched on the
    bins of :data:`CROSSOVER`. That is where a Wiener filter turns from boosting to
    holding back, so that is where its signal model must be right; a real spectrum bends
    away from the power law, and an amplitude read elsewhere (or through another blur
    than the filter's) can be off by several times there. None when too few bins cross.
    """
    wx, wy, r2 = _radial(power.shape[0])
    signal = power - noise * noise
    half = (wx > 0) | ((wx == 0) & (wy > 0))
    lo, hi = CROSSOVER
    near = half & (r2 > BAND[0] ** 2) & (signal > lo * noise**2) & (signal < hi * noise**2)
    if exclude is not None:
        near &= ~exclude
    if near.sum() < 12:
        return None
    fx, fy = wx[near], wy[near]
    quad = blur[0, 0] * fx * fx + 2 * blur[0, 1] * fx * fy + blur[1, 1] * fy * fy
    return float(np.exp(np.median(np.log(signal[near] * r2[near]) + quad)))


def fit_spectrum(
    power: np.ndarray, tiles: int, noise: float, exclude: np.ndarray | None = None
) -> SpectralFit | None:
    """Fit the model of the module notes; None when too few bins carry signal.

    ``exclude`` masks bins out of the fit (a compression block grid's).
    """
    wx, wy, r2 = _radial(power.shape[0])
    signal = power - noise * noise
    half = (wx > 0) | ((wx == 0) & (wy > 0))  # P(ω) = P(−ω): one of each pair
    keep = (
        half
        & (r2 > BAND[0] ** 2)
        & (r2 < BAND[1] ** 2)
        & (signal > SNR_FLOOR * noise * noise)
        & (signal > 0)
    )
    if exclude is not None:
        keep &= ~exclude
    bins = int(keep.sum())
    if bins < 12:
        return None
    fx, fy = wx[keep], wy[keep]
    design = np.stack([np.ones(bins), -fx * fx, -2 * fx * fy, -fy * fy], axis=1)
    target = np.log(signal[keep] * r2[keep])
    share = (signal[keep] / power[keep]) ** 2
    share /= share.sum()
    # Priors enter as more (weighted) equations: Σxx − Σyy = 0 and Σxy = 0.
    priors = np.array([[0.0, 1.0, 0.0, -1.0], [0.0, 0.0, 1.0, 0.0]])
    prior_weight = 1.0 / np.square([2 * ANISOTROPY_SPREAD, ANISOTROPY_SPREAD])
    scale = EFFECTIVE_BINS  # first pass: residual variance 1; then the measured one
    for _ in range(2):
        normal = (design * (scale * share)[:, None]).T @ design
        normal += (priors * prior_weight[:, None]).T @ priors
        rhs = design.T @ (scale * share * target)
        params = np.linalg.solve(normal, rhs)
        variance = float(share @ np.square(design @ params - target))
        scale = EFFECTIVE_BINS / max(variance, 1e-6)
    return SpectralFit(params, np.linalg.inv(normal), bins, math.sqrt(variance))


#: The low band (rad/pixel) a lossy codec keeps: where the amplitude is read when the
#: high frequencies cannot be trusted.
LOW_BAND = (0.15 * math.pi, 0.4 * math.pi)
#: The band where a sharp frame's fine detail shows (above what codecs keep at mild
#: settings and where a blur of σ ≥ 0.8 px has taken most of it).
DETAIL_BAND = (0.55 * math.pi, 0.8 * math.pi)


def low_band_amplitude(
    power: np.ndarray, blur: np.ndarray, band: tuple[float, float] = LOW_BAND
) -> float:
    """``A`` of ``S = A/|ω|²`` read through the blur ``blur`` (2×2, px²) on :data:`LOW_BAND`.

    The median over the band of ``P |ω|² exp(ωᵀΣω)``: the low band is what every codec
    keeps, and there the blur's correction is small, so an error in ``blur`` costs little.
    """
    wx, wy, r2 = _radial(power.shape[0])
    inside = (r2 > band[0] ** 2) & (r2 < band[1] ** 2)
    quad = blur[0, 0] * wx * wx + 2 * blur[0, 1] * wx * wy + blur[1, 1] * wy * wy
    read = np.log(np.maximum(power[inside], 1e-300) * r2[inside]) + quad[inside]
    return float(np.exp(np.median(read)))


def detail_ratio(power: np.ndarray, noise: float) -> float:
    """How much fine detail a frame holds above its noise, relative to its coarse detail.

    The median of ``(P − σ²)|ω|²`` on :data:`DETAIL_BAND` over the same on
    :data:`LOW_BAND`: about 1 for a sharp natural image (power law of slope 2), 0.2–2 on
    sharp ``skimage.data`` photographs whether stored as PNG or JPEG q90, below 0.2 after a
    blur of σ ≥ 0.8 px (and on frames a codec has smoothed).
    """
    _, _, r2 = _radial(power.shape[0])
    weighted = (power - noise * noise) * r2
    low = (r2 > LOW_BAND[0] ** 2) & (r2 < LOW_BAND[1] ** 2)
    high = (r2 > DETAIL_BAND[0] ** 2) & (r2 < DETAIL_BAND[1] ** 2)
    coarse = float(np.median(weighted[low]))
    return float(np.median(weighted[high])) / coarse if coarse > 0 else 0.0
