"""What the fit aims at: the blur's response, the signal prior, the Wiener target."""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_choice, check_int, check_real
from ..wiener import PRIORS, natural_spectrum

__all__ = ["psf_response", "quadrant_symmetric", "signal_spectrum", "total_noise"]


def psf_response(psf: np.ndarray, wy: np.ndarray, wx: np.ndarray) -> np.ndarray:
    """DTFT ``H(wy, wx)`` of a centred PSF on the product grid ``wy (ny,1) × wx (1,nx)``."""
    ry, rx = psf.shape[0] // 2, psf.shape[1] // 2
    ey = np.exp(-1j * wy.reshape(-1, 1) * np.arange(-ry, ry + 1))  # (ny, h)
    ex = np.exp(-1j * wx.reshape(-1, 1) * np.arange(-rx, rx + 1))  # (nx, w)
    return ey @ psf @ ex.T


def quadrant_symmetric(psf: np.ndarray) -> bool:
    """True when the PSF is even in both axes (its response then is real and even)."""
    return bool(
        np.allclose(psf, psf[::-1, :], atol=1e-14) and np.allclose(psf, psf[:, ::-1], atol=1e-14)
    )


def signal_spectrum(prior: str, wy: np.ndarray, wx: np.ndarray) -> np.ndarray:
    """Per-pixel signal power spectrum: natural-image power law or flat (1)."""
    check_choice("prior", prior, PRIORS)
    if prior == "flat":
        return np.ones(np.broadcast_shapes(wy.shape, wx.shape))
    return natural_spectrum(wy, wx)


def total_noise(noise: float, quantization_bits: int | None) -> float:
    """Noise std including the rounding of ``quantization_bits``-bit storage (Δ²/12)."""
    noise = check_real("noise", noise, nonnegative=True, upper=1.0)
    if quantization_bits is None:
        return noise
    bits = check_int("quantization_bits", quantization_bits, minimum=1)
    step = 1.0 / (2**bits - 1)
    return math.sqrt(noise**2 + step**2 / 12.0)
