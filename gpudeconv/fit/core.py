"""``fit``: the least-squares fit of a small-filter basis to a blur's Wiener inverse."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import check_choice, check_int, check_real
from ..errors import FitQualityWarning, InvalidArgumentError, InvalidTypeError, warn
from ..psf import from_array
from ..spectra import PRIORS, total_noise
from .bases import BASES
from .filter import DeconvFilter
from .objectives import OBJECTIVES, least_squares_target
from .problem import Problem
from .quadrature import GRIDS

__all__ = ["FitQualityWarning", "fit"]

#: Warn when a basis captures less than this share of the Wiener filter's gain (in dB).
CAPTURE_WARNING = 0.5
#: Bounds of the quadrature: below, integrals are inaccurate; above, a fit stops being cheap.
MIN_NODES, MAX_NODES = 8, 256


def fit(
    psf: np.ndarray,
    *,
    noise: float,
    basis: str = "gauss-lap",
    objective: str = "mse",
    prior: str = "natural",
    quantization_bits: int | None = None,
    nodes: int = 32,
    grid: str = "gauss-legendre",
    ridge: float = 1e-10,
    **basis_options: Any,
) -> DeconvFilter:
    """Fit the coefficients of a cheap filter basis to undo a known blur.

    Parameters
    ----------
    psf : (h, w) ndarray
        The blur (any builder of :mod:`gpudeconv.psf`, or an array).
    noise : float
        Total noise standard deviation in [0, 1] image units.
    basis : {'gauss-lap', 'atrous', 'fir', 'unsharp'}
        One of :data:`gpudeconv.fit.bases.BASES`:
        ``gauss-lap``: pixel-integrated Gaussians and their differences (options
        ``sigmas=[...]`` or ``count=5``, ``truncate='auto'``; default sigmas scale with
        the blur).
        ``atrous``: dilated [1, 2, 1]/4 comb bands (``levels=2``, 1–4).
        ``fir``: least-squares symmetric FIR (``radius=``, ``mode='separable'|'2d'``;
        separable PSFs default to one 1-D filter per axis).
        ``unsharp``: ``1 + a(1 − G_σ)`` (``sigma=``; by default the best of a few).
    objective : {'mse', 'response'}
        ``mse`` minimises the expected restoration error ``S|FH − 1|² + σ²|F|²``
        integrated over frequency; ``response`` fits the Wiener response itself (the
        article's formulation).
    prior : {'natural', 'flat'}
        Signal spectrum: natural-image power law (``gpudeconv.spectra.NATURAL_PRIOR``) or 1.
    quantization_bits : int, optional
        Add the rounding noise of this bit depth (``Δ²/12``) to ``noise``.
    nodes : int
        Quadrature nodes per axis (8–256).
    grid : {'gauss-legendre', 'uniform'}
        Gauss–Legendre nodes on [0, π] per axis, or a uniform midpoint grid.
    ridge : float
        Relative ridge of the least-squares solve (conditioning only).
    **basis_options
        Passed to the basis, as listed above.

    Returns
    -------
    DeconvFilter
        Its DC gain is 1: every basis is fitted as ``1 + Σ c_j L_j`` with bands that
        vanish at DC.

    Warns
    -----
    FitQualityWarning
        When the basis captures less than half of the Wiener filter's expected gain
        (in dB), e.g. for motion blur, whose inverse needs phase a zero-phase basis lacks.

    Notes
    -----
    With ``F = 1 + Σ c_j L_j``, both objectives are ``K × K`` weighted least-squares
    problems on the quadrature nodes (see :mod:`gpudeconv.fit.objectives`).
    """
    kernel = from_array(psf)
    sigma = total_noise(noise, quantization_bits)
    spec = BASES[basis]
    check_choice("objective", objective, OBJECTIVES)
    check_choice("prior", prior, PRIORS)
    check_choice("grid", grid, GRIDS)
    nodes = check_int("nodes", nodes, minimum=MIN_NODES)
    if nodes > MAX_NODES:
        raise InvalidArgumentError(f"nodes must be <= {MAX_NODES}; got {nodes}")
    ridge = check_real("ridge", ridge, nonnegative=True)
    known = tuple(o.name for o in spec.options)
    unknown = sorted(set(basis_options) - set(known))
    if unknown:
        raise InvalidTypeError(
            f"basis {basis!r} does not take the options {unknown}; its options are {known}"
        )

    problem = Problem.build(kernel, sigma, prior, nodes=nodes, grid=grid)
    target, weight = least_squares_target(problem, objective)
    result = spec.fit(kernel, problem, target, weight, ridge, **basis_options)
    filt = DeconvFilter(
        basis,
        result.params,
        result.coefficients,
        result.weights,
        result.terms,
        kernel,
        sigma,
        objective,
        prior,
    )
    _warn_if_poor(filt, problem)
    return filt


def _warn_if_poor(filt: DeconvFilter, problem: Problem) -> None:
    gain_fit, gain_wiener = problem.gains_db(filt.response(problem.quad.wy, problem.quad.wx))
    if gain_wiener > 1.0 and gain_fit < CAPTURE_WARNING * gain_wiener:
        warn(
            f"basis {filt.basis!r} captures only {gain_fit:.1f} dB of the {gain_wiener:.1f} dB "
            "expected gain of the Wiener filter for this PSF (too few terms for this blur, or "
            "a blur such as motion whose inverse needs phase, which a zero-phase basis "
            "lacks); use more terms or gpudeconv.wiener for this blur",
            FitQualityWarning,
        )
