"""The weighted least-squares solve that both objectives reduce to."""

from __future__ import annotations

import numpy as np

__all__ = ["solve_weighted", "solve_weighted_above"]


def solve_weighted(
    bands: np.ndarray,
    offset: np.ndarray | float,
    target: np.ndarray,
    weight: np.ndarray,
    *,
    ridge: float = 1e-10,
) -> np.ndarray:
    """Minimise ``Σ weight · (offset + Σ_j c_j bands_j − target)² + λ‖c‖²`` over ``c``.

    Parameters
    ----------
    bands : (K, N) ndarray
        Band responses at the N quadrature nodes.
    offset : (N,) ndarray or float
        The fixed part of the response (1 for band bases, 0 for a FIR).
    target, weight : (N,) ndarray
        What to match and how much each node counts (quadrature weight included).
    ridge : float
        Relative ridge: ``λ = ridge · trace(BᵀWB) / K``; keeps nearly collinear bands
        (neighbouring Gaussians) well conditioned without changing a well-posed fit.

    Returns
    -------
    c : (K,) ndarray
    """
    weighted = bands * weight
    gram = weighted @ bands.T
    rhs = weighted @ (target - offset)
    lam = ridge * np.trace(gram) / max(1, gram.shape[0])
    gram[np.diag_indices_from(gram)] += lam
    return np.linalg.solve(gram, rhs)


def solve_weighted_above(
    bands: np.ndarray,
    offset: float,
    target: np.ndarray,
    weight: np.ndarray,
    floor_bands: np.ndarray,
    *,
    ridge: float = 1e-10,
) -> np.ndarray:
    """:func:`solve_weighted` subject to ``Σ_j c_j floor_bands_j ≥ 0`` at every check node.

    With band bases (``F = 1 + Σ c_j L_j``) this keeps the response at or above 1 where
    ``floor_bands`` is evaluated: the filter may sharpen, never smooth. A small convex
    quadratic programme (``K`` ≤ a few dozen unknowns), solved by SLSQP from the
    unconstrained optimum.
    """
    from scipy.optimize import minimize

    weighted = bands * weight
    gram = weighted @ bands.T
    rhs = weighted @ (target - offset)
    lam = ridge * np.trace(gram) / max(1, gram.shape[0])
    gram[np.diag_indices_from(gram)] += lam
    free = np.linalg.solve(gram, rhs)
    scale = max(float(np.abs(floor_bands).max()), 1e-30)
    if (free @ floor_bands).min() >= -1e-12 * scale:
        return free
    norm = max(float(np.abs(gram).max()), 1e-300)  # a well-scaled objective for SLSQP
    result = minimize(
        lambda c: (0.5 * c @ gram @ c - rhs @ c) / norm,
        np.zeros_like(free),  # the identity: feasible
        jac=lambda c: (gram @ c - rhs) / norm,
        constraints=[
            {
                "type": "ineq",
                "fun": lambda c: (c @ floor_bands) / scale,
                "jac": lambda c: floor_bands.T / scale,
            }
        ],
        method="SLSQP",
        options={"maxiter": 200, "ftol": 1e-12},
    )
    if not result.success or not np.isfinite(result.x).all():
        return np.zeros_like(free)  # the identity satisfies every constraint
    return result.x
