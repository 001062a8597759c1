"""The FIR basis: a least-squares symmetric FIR filter, separable or 2-D.

A symmetric FIR of radius ``r`` has the response ``a_0 + Σ_k a_k · 2cos(k ω)`` per axis.
Its DC gain is constrained to 1 exactly (``a_0 = 1 − 2 Σ_k a_k``), so the fit is a band
fit like the others: ``F = 1 + Σ_k a_k (2cos(k ω) − 2)`` — a flat region keeps its level.
"""

from __future__ import annotations

import numpy as np

from .problem import Problem
from .solve import solve_weighted

__all__ = ["MAX_RADIUS", "MODES", "fit_2d", "fit_separable"]

MODES = ("separable", "2d")
#: Largest radius offered: beyond it the filter is no longer "small".
MAX_RADIUS = 32
#: Alternating least-squares rounds of the separable fit (it converges in a few).
ITERATIONS = 30

Terms = tuple[tuple[np.ndarray, np.ndarray], ...]


def _cosines(w: np.ndarray, radius: int) -> np.ndarray:
    """``(radius + 1, n)``: 1 and ``2cos(k w)``, the responses of symmetric taps at ``±k``."""
    k = np.arange(radius + 1)[:, None]
    phi = 2.0 * np.cos(k * w.reshape(1, -1))
    phi[0] = 1.0
    return phi


def _cosine_bands(w: np.ndarray, radius: int) -> np.ndarray:
    """``(radius, n)``: ``2cos(k w) − 2`` for ``k = 1 … radius``, zero at DC."""
    return _cosines(w, radius)[1:] - 2.0


def _taps(a: np.ndarray) -> np.ndarray:
    """Symmetric taps ``a_r … a_1 a_0 a_1 … a_r`` from the band coefficients ``a_1 … a_r``."""
    centre = 1.0 - 2.0 * a.sum()
    return np.concatenate([a[::-1], [centre], a])


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def fit_separable(
    problem: Problem, target: np.ndarray, weight: np.ndarray, radius: int, ridge: float
) -> tuple[np.ndarray, Terms]:
    """``F = g(wy) f(wx)``, each factor of unit DC gain, by alternating least squares.

    Each half-step is linear: with ``g`` fixed, the error is a weighted least-squares fit
    of ``f`` to ``Σ_y q g t / Σ_y q g²`` per ``wx`` node (and vice versa).
    """
    bands_y = _cosine_bands(problem.quad.wy, radius)
    bands_x = _cosine_bands(problem.quad.wx, radius)
    ny, nx = bands_y.shape[1], bands_x.shape[1]
    t = target.reshape(ny, nx)
    wt = weight.reshape(ny, nx)

    def solve_x(a_y: np.ndarray) -> np.ndarray:
        g = 1.0 + a_y @ bands_y
        alpha, beta = (wt * g[:, None] ** 2).sum(0), (wt * g[:, None] * t).sum(0)
        return solve_weighted(bands_x, 1.0, _safe_div(beta, alpha), alpha, ridge=ridge)

    def solve_y(a_x: np.ndarray) -> np.ndarray:
        f = 1.0 + a_x @ bands_x
        alpha, beta = (wt * f[None, :] ** 2).sum(1), (wt * f[None, :] * t).sum(1)
        return solve_weighted(bands_y, 1.0, _safe_div(beta, alpha), alpha, ridge=ridge)

    a_y = np.zeros(radius)
    for _ in range(ITERATIONS):
        a_y_new = solve_y(solve_x(a_y))
        converged = np.abs(a_y_new - a_y).max() <= 1e-12 * max(np.abs(a_y_new).max(), 1e-300)
        a_y = a_y_new
        if converged:
            break
    a_x = solve_x(a_y)
    ky, kx = _taps(a_y), _taps(a_x)
    return np.concatenate([ky[radius:], kx[radius:]]), ((ky, kx),)


def fit_2d(
    problem: Problem, target: np.ndarray, weight: np.ndarray, radius: int, ridge: float
) -> tuple[np.ndarray, Terms]:
    """A symmetric 2-D stencil of unit DC gain, applied as the separable terms of its SVD."""
    cy = _cosines(problem.quad.wy, radius)
    cx = _cosines(problem.quad.wx, radius)
    # Responses of the stencil's coefficient pairs (k, l) minus their value at DC; c_00 is
    # what remains of 1 after the others, so F(0) = 1 exactly.
    at_dc = np.r_[1.0, np.full(radius, 2.0)]  # the cosines at ω = 0
    dc = np.outer(at_dc, at_dc).ravel()
    bands = (cy[:, None, :, None] * cx[None, :, None, :]).reshape((radius + 1) ** 2, -1)
    rest = solve_weighted(bands[1:] - dc[1:, None], 1.0, target, weight, ridge=ridge)
    c = np.concatenate([[1.0 - dc[1:] @ rest], rest])
    return c, _svd_terms(c.reshape(radius + 1, radius + 1))


def _svd_terms(c: np.ndarray) -> Terms:
    """Separable terms of the dense symmetric stencil whose cosine coefficients are ``c``."""
    r = c.shape[0] - 1
    idx = np.abs(np.arange(-r, r + 1))
    dense = c[idx][:, idx]
    u, s, vt = np.linalg.svd(dense)
    terms = []
    for k in np.flatnonzero(s > 1e-12 * s[0]):
        uy = 0.5 * (u[:, k] + u[::-1, k]) * np.sqrt(s[k])  # symmetric up to rounding
        vx = 0.5 * (vt[k] + vt[k, ::-1]) * np.sqrt(s[k])
        terms.append((uy, vx))
    return tuple(terms)
