"""The two objectives, each as a weighted least-squares target on the quadrature nodes.

``F`` is real (zero phase), so for the expected error::

    E(F) = Σ q [S |F H − 1|² + σ² F²] = Σ q a (F − b/a)² + const,
    a = S |H|² + σ²,  b = S Re(H),

the ``mse`` objective is a least-squares fit to ``Re W = b/a`` weighted by ``q · a``: it
spends accuracy where signal or noise power is, and its optimum over the span of a basis is
the best linear restoration that basis can give. ``response`` (the article's) fits ``Re W``
with the quadrature weight alone.
"""

from __future__ import annotations

import numpy as np

from .problem import MixtureProblem, Problem

__all__ = ["OBJECTIVES", "least_squares_target"]

OBJECTIVES = ("mse", "response")


def least_squares_target(
    problem: Problem | MixtureProblem, objective: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(target, weight)`` at the nodes, flattened, for ``objective``."""
    q = problem.quad.q
    if objective == "response":
        return problem.wiener.real.ravel(), q.ravel()
    a, b = problem.normal_terms()
    safe = np.where(a > 0, a, 1.0)
    return np.where(a > 0, b / safe, 0.0).ravel(), (q * a).ravel()
