"""One fitting problem: a blur, a noise level and a prior, sampled on a quadrature."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..psf import quadrant_symmetric
from ..spectra import psf_response, signal_spectrum, wiener_response
from .quadrature import Quadrature, quadrature

__all__ = ["Problem", "psf_sigmas"]


@dataclass(frozen=True)
class Problem:
    """Everything an objective needs, flattened to the N quadrature nodes."""

    quad: Quadrature
    otf: np.ndarray  # complex H at the nodes (ny, nx)
    spectrum: np.ndarray  # S at the nodes (ny, nx)
    noise: float  # total noise std
    prior: str

    @classmethod
    def build(
        cls, psf: np.ndarray, noise: float, prior: str, *, nodes: int, grid: str = "gauss-legendre"
    ) -> Problem:
        """Sample ``H`` and ``S`` on a product rule suited to the PSF's symmetry."""
        quad = quadrature(nodes, full_y=not quadrant_symmetric(psf), grid=grid)
        otf = psf_response(psf, quad.wy, quad.wx)
        spectrum = signal_spectrum(prior, quad.wy, quad.wx)
        return cls(quad, otf, spectrum, noise, prior)

    @property
    def wiener(self) -> np.ndarray:
        """The unconstrained optimum: the (complex) Wiener response at the nodes."""
        return wiener_response(
            self.otf, self.quad.wy, self.quad.wx, noise=self.noise, prior=self.prior
        )

    def error(self, response: np.ndarray) -> float:
        """Expected per-pixel squared error of a filter with this response at the nodes."""
        residual = np.abs(response * self.otf - 1.0) ** 2
        power = np.abs(response) ** 2
        return float(np.sum(self.quad.q * (self.spectrum * residual + self.noise**2 * power)))

    def gains_db(self, response: np.ndarray) -> tuple[float, float]:
        """Expected gain in dB over the blurred input of ``response`` and of the Wiener filter."""
        blurred = self.error(np.ones_like(self.otf))
        return _gain_db(blurred, self.error(response)), _gain_db(blurred, self.error(self.wiener))


def _gain_db(before: float, after: float) -> float:
    """``10 log10(before / after)``: 0 when there is nothing to gain, inf when all is."""
    if before <= 0:
        return 0.0
    return math.inf if after <= 0 else 10 * math.log10(before / after)


def psf_sigmas(psf: np.ndarray) -> tuple[float, float]:
    """Equivalent Gaussian sigmas ``(σy, σx)`` from the PSF's second moments.

    The pixel-integration variance 1/12 is removed, so ``gaussian(σ)`` gives back σ.
    """
    ry, rx = psf.shape[0] // 2, psf.shape[1] // 2
    y = np.arange(-ry, ry + 1, dtype=np.float64)
    x = np.arange(-rx, rx + 1, dtype=np.float64)
    py, px = psf.sum(axis=1), psf.sum(axis=0)
    var_y = float(py @ y**2 - (py @ y) ** 2)
    var_x = float(px @ x**2 - (px @ x) ** 2)
    return (float(np.sqrt(max(var_y - 1 / 12, 0.01))), float(np.sqrt(max(var_x - 1 / 12, 0.01))))
