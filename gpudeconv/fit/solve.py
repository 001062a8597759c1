"""The weighted least-squares solve that both objectives reduce to."""

from __future__ import annotations

import numpy as np

__all__ = ["solve_weighted"]


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
