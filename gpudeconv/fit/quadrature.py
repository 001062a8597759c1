"""Frequency nodes and weights for integrating responses over the frequency plane.

Restoration filters here are zero-phase and even in each axis, so for a PSF that is
symmetric in both axes every integrand is even and ``[0, π]²`` is enough. Otherwise the
half-plane ``wy ∈ [−π, π], wx ∈ [0, π]`` is used (conjugate symmetry covers the rest).
Weights sum to 1, so a weighted sum is the mean over the plane (Parseval: per-pixel MSE).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["GRIDS", "Quadrature", "quadrature"]

GRIDS = ("gauss-legendre", "uniform")


@dataclass(frozen=True)
class Quadrature:
    """A product rule: nodes ``wy`` (column) × ``wx`` (row) and weights ``q`` (grid)."""

    wy: np.ndarray  # (ny, 1)
    wx: np.ndarray  # (1, nx)
    q: np.ndarray  # (ny, nx), sums to 1


@lru_cache(maxsize=64)
def _rule(n: int, lo: float, hi: float, grid: str) -> tuple[np.ndarray, np.ndarray]:
    if grid == "gauss-legendre":
        t, w = np.polynomial.legendre.leggauss(n)
    else:  # midpoint rule
        t = (np.arange(n) + 0.5) / n * 2 - 1
        w = np.full(n, 2.0 / n)
    nodes = lo + (t + 1) * (hi - lo) / 2
    nodes.flags.writeable = False
    w = w / w.sum()
    w.flags.writeable = False
    return nodes, w


def quadrature(n: int, *, full_y: bool = False, grid: str = "gauss-legendre") -> Quadrature:
    """Product rule with ``n`` nodes per axis (``2n`` along y when ``full_y``)."""
    ny = 2 * n if full_y else n
    wy, qy = _rule(ny, -np.pi if full_y else 0.0, np.pi, grid)
    wx, qx = _rule(n, 0.0, np.pi, grid)
    return Quadrature(wy[:, None], wx[None, :], np.outer(qy, qx))
