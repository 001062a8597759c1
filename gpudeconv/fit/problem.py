"""A fitting problem: a blur, a noise level and a signal spectrum, sampled on a quadrature.

:class:`Problem` is one such triple; :class:`MixtureProblem` a weighted set of them (the
points of an estimate's posterior), whose expected error is the weighted sum — so the
same least-squares fit minimises the error *expected over the uncertainty* (DESIGN §8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.psf import quadrant_symmetric
from ..core.spectra import psf_response, signal_spectrum
from .quadrature import Quadrature, quadrature

__all__ = ["MixtureProblem", "Problem", "psf_sigmas"]


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
        cls,
        psf: np.ndarray,
        noise: float,
        prior: str,
        *,
        nodes: int,
        grid: str = "gauss-legendre",
        amplitude: float | None = None,
        quad: Quadrature | None = None,
    ) -> Problem:
        """Sample ``H`` and ``S`` on a product rule suited to the PSF's symmetry.

        ``amplitude`` replaces the natural prior's ``A`` (an image's own, estimated);
        ``quad`` imposes a quadrature (the common one of a mixture).
        """
        if quad is None:
            quad = quadrature(nodes, full_y=not quadrant_symmetric(psf), grid=grid)
        otf = psf_response(psf, quad.wy, quad.wx)
        spectrum = signal_spectrum(prior, quad.wy, quad.wx, amplitude=amplitude)
        return cls(quad, otf, spectrum, noise, prior)

    @property
    def wiener(self) -> np.ndarray:
        """The unconstrained optimum: the (complex) Wiener response at the nodes."""
        power = self.spectrum * np.abs(self.otf) ** 2 + self.noise**2
        safe = np.where(power > 0, power, 1.0)
        return np.where(power > 0, np.conj(self.otf) * self.spectrum / safe, 0.0)

    def normal_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)`` with ``E(F) = Σ q [a F² − 2 b F] + const`` for a real response F."""
        return self.spectrum * np.abs(self.otf) ** 2 + self.noise**2, self.spectrum * self.otf.real

    def error(self, response: np.ndarray) -> float:
        """Expected per-pixel squared error of a filter with this response at the nodes."""
        residual = np.abs(response * self.otf - 1.0) ** 2
        power = np.abs(response) ** 2
        return float(np.sum(self.quad.q * (self.spectrum * residual + self.noise**2 * power)))

    def gains_db(self, response: np.ndarray) -> tuple[float, float]:
        """Expected gain in dB over the blurred input of ``response`` and of the Wiener filter."""
        blurred = self.error(np.ones_like(self.otf))
        return _gain_db(blurred, self.error(response)), _gain_db(blurred, self.error(self.wiener))


@dataclass(frozen=True)
class MixtureProblem:
    """Weighted problems on one quadrature: the expected error over a posterior."""

    quad: Quadrature
    parts: tuple[Problem, ...]
    weights: np.ndarray  # sum to 1

    @classmethod
    def build(
        cls,
        samples: list[tuple[float, np.ndarray, float, float | None]],
        prior: str,
        *,
        nodes: int,
        grid: str = "gauss-legendre",
    ) -> MixtureProblem:
        """From ``(weight, psf, noise, amplitude)`` samples (weights normalised here)."""
        symmetric = all(quadrant_symmetric(psf) for _, psf, _, _ in samples)
        quad = quadrature(nodes, full_y=not symmetric, grid=grid)
        parts = tuple(
            Problem.build(psf, noise, prior, nodes=nodes, amplitude=amplitude, quad=quad)
            for _, psf, noise, amplitude in samples
        )
        weights = np.array([w for w, _, _, _ in samples], dtype=np.float64)
        if weights.size == 0 or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("a mixture needs samples with non-negative weights summing > 0")
        return cls(quad, parts, weights / weights.sum())

    def normal_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """The parts' ``(a, b)`` summed with their weights."""
        terms = [p.normal_terms() for p in self.parts]
        a = sum(w * t[0] for w, t in zip(self.weights, terms, strict=True))
        b = sum(w * t[1] for w, t in zip(self.weights, terms, strict=True))
        return a, b

    @property
    def wiener(self) -> np.ndarray:
        """The best zero-phase response for the mixture: ``b / a`` per node."""
        a, b = self.normal_terms()
        return np.where(a > 0, b / np.where(a > 0, a, 1.0), 0.0)

    @property
    def otf(self) -> np.ndarray:
        """The weighted mean transfer function (shape of the nodes; used for ones_like)."""
        return sum(w * p.otf for w, p in zip(self.weights, self.parts, strict=True))

    def error(self, response: np.ndarray) -> float:
        """Expected error over the mixture."""
        return float(
            sum(w * p.error(response) for w, p in zip(self.weights, self.parts, strict=True))
        )

    def gains_db(self, response: np.ndarray) -> tuple[float, float]:
        """As :meth:`Problem.gains_db`, for the expected errors."""
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
