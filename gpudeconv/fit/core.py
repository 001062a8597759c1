"""``fit``: the least-squares fit of a small-filter basis to a blur's Wiener inverse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core._validate import check_choice, check_int, check_real
from ..core.psf import from_array
from ..core.spectra import PRIORS, total_noise
from ..errors import FitQualityWarning, InvalidArgumentError, InvalidTypeError, warn
from .bases import BASES
from .filter import DeconvFilter
from .objectives import OBJECTIVES, least_squares_target
from .problem import MixtureProblem, Problem
from .quadrature import GRIDS

__all__ = ["FitQualityWarning", "fit", "fit_posterior"]

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
    amplitude: float | None = None,
    **basis_options: Any,
) -> DeconvFilter:
    """Fit the coefficients of a cheap filter basis to undo a known blur.

    Parameters
    ----------
    psf : (h, w) ndarray
        The blur (any builder of :mod:`gpudeconv.core.psf`, or an array).
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
        Signal spectrum: natural-image power law (``gpudeconv.core.spectra.NATURAL_PRIOR``) or 1.
    quantization_bits : int, optional
        Add the rounding noise of this bit depth (``Δ²/12``) to ``noise``.
    nodes : int
        Quadrature nodes per axis (8–256).
    grid : {'gauss-legendre', 'uniform'}
        Gauss–Legendre nodes on [0, π] per axis, or a uniform midpoint grid.
    ridge : float
        Relative ridge of the least-squares solve (conditioning only).
    amplitude : float, optional
        The signal's own spectral amplitude ``A`` (e.g. ``estimate(...).prior_amplitude``)
        instead of the natural prior's.
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
    _check_settings(basis, objective, prior, grid, nodes, ridge, basis_options)
    if amplitude is not None:
        amplitude = check_real("amplitude", amplitude, positive=True)
    problem = Problem.build(kernel, sigma, prior, nodes=nodes, grid=grid, amplitude=amplitude)
    extra = {} if amplitude is None else {"amplitude": amplitude}
    filt = _fit_problem(
        problem, kernel, sigma, basis, objective, prior, ridge, basis_options, extra
    )
    _warn_if_poor(filt, problem)
    return filt


def fit_posterior(
    samples: Sequence[tuple[float, np.ndarray, float, float | None]],
    *,
    basis: str = "gauss-lap",
    objective: str = "mse",
    prior: str = "natural",
    nodes: int = 32,
    grid: str = "gauss-legendre",
    ridge: float = 1e-10,
    sharpen_only: bool = False,
    **basis_options: Any,
) -> DeconvFilter:
    """Fit for a blur known only roughly: least expected error over a posterior.

    Parameters
    ----------
    samples : sequence of (weight, psf, noise, amplitude)
        Points of the posterior (``gpudeconv.estimate(...).posterior()``): each a blur, a
        total noise std and a signal amplitude (None: the natural prior's), with a weight.
    basis, objective, prior, nodes, grid, ridge, **basis_options
        As for :func:`fit`.
    sharpen_only : bool
        Keep the response at or above 1 everywhere (a band basis): the filter may sharpen
        but never smooth. What the blind path uses: noise cannot be told from fine texture
        on a sharp frame, and smoothing texture is the one error a deblurrer must not make.

    Returns
    -------
    DeconvFilter
        Minimising ``Σ_k w_k E_k(F)`` — still one ``K × K`` least-squares solve, since
        the expectation is a sum (DESIGN §8). A wide posterior usually backs off
        toward the identity by itself (not always: one reaching toward wider blurs can
        sharpen more). The filter records the heaviest sample's PSF and noise.

    Notes
    -----
    No :class:`FitQualityWarning`: a basis's shortfall against a *mixture* is expected
    (no single filter is optimal for every point of it).
    """
    if not samples:
        raise InvalidArgumentError(
            "samples is empty; give at least one (weight, psf, noise, amplitude)"
        )
    _check_settings(basis, objective, prior, grid, nodes, ridge, basis_options)
    checked = []
    for weight, kernel, noise, amplitude in samples:
        checked.append(
            (
                check_real("weight", weight, nonnegative=True),
                from_array(kernel),
                check_real("noise", noise, nonnegative=True, upper=1.0),
                None if amplitude is None else check_real("amplitude", amplitude, positive=True),
            )
        )
    try:
        problem = MixtureProblem.build(checked, prior, nodes=nodes, grid=grid)
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from None
    head = max(checked, key=lambda s: s[0])
    extra = {"posterior_samples": len(checked)}
    if head[3] is not None:
        extra["amplitude"] = head[3]
    return _fit_problem(
        problem,
        head[1],
        head[2],
        basis,
        objective,
        prior,
        ridge,
        basis_options,
        extra,
        sharpen_only,
    )


def _check_settings(
    basis: str,
    objective: str,
    prior: str,
    grid: str,
    nodes: int,
    ridge: float,
    basis_options: dict[str, Any],
) -> None:
    spec = BASES[basis]
    check_choice("objective", objective, OBJECTIVES)
    check_choice("prior", prior, PRIORS)
    check_choice("grid", grid, GRIDS)
    nodes = check_int("nodes", nodes, minimum=MIN_NODES)
    if nodes > MAX_NODES:
        raise InvalidArgumentError(f"nodes must be <= {MAX_NODES}; got {nodes}")
    check_real("ridge", ridge, nonnegative=True)
    known = tuple(o.name for o in spec.options)
    unknown = sorted(set(basis_options) - set(known))
    if unknown:
        raise InvalidTypeError(
            f"basis {basis!r} does not take the options {unknown}; its options are {known}"
        )


def _fit_problem(
    problem: Problem | MixtureProblem,
    kernel: np.ndarray,
    noise: float,
    basis: str,
    objective: str,
    prior: str,
    ridge: float,
    basis_options: dict[str, Any],
    extra: dict[str, Any],
    sharpen_only: bool = False,
) -> DeconvFilter:
    target, weight = least_squares_target(problem, objective)
    result = BASES[basis].fit(
        kernel, problem, target, weight, float(ridge), sharpen_only, **basis_options
    )
    return DeconvFilter(
        basis,
        result.params,
        result.coefficients,
        result.weights,
        result.terms,
        kernel,
        noise,
        objective,
        prior,
        extra,
    )


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
