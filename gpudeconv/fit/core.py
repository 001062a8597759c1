"""``fit``: the least-squares fit of a small-filter basis to a blur's Wiener inverse."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._validate import check_choice, check_int, check_real
from ..filters import DeconvFilter, taps_response
from ..psf import from_array
from ..wiener import PRIORS
from .bases import BASES, Basis, atrous_basis, default_sigmas, gauss_lap_basis, unsharp_basis
from .objectives import OBJECTIVES, least_squares_target
from .problem import Problem, psf_sigmas
from .quadrature import GRIDS
from .solve import solve_weighted
from .targets import total_noise

__all__ = ["FitQualityWarning", "fit"]

#: Warn when a basis captures less than this share of the Wiener filter's gain (in dB).
CAPTURE_WARNING = 0.5


class FitQualityWarning(UserWarning):
    """The basis cannot represent the restoration well; ``gpudeconv.wiener`` can."""


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
        ``gauss-lap``: pixel-integrated Gaussians and their differences (options
        ``sigmas=[...]`` or ``count=5``; default sigmas scale with the blur).
        ``atrous``: dilated [1, 2, 1]/4 comb bands (``levels=2``, 1–4).
        ``fir``: least-squares symmetric FIR (``radius=``, ``mode='separable'|'2d'``;
        separable PSFs default to one 1-D filter per axis).
        ``unsharp``: ``1 + a(1 − G_σ)`` (``sigma=``; by default the best of a few).
    objective : {'mse', 'response'}
        ``mse`` minimises the expected restoration error ``S|FH − 1|² + σ²|F|²``
        integrated over frequency; ``response`` fits the Wiener response itself (the
        article's formulation).
    prior : {'natural', 'flat'}
        Signal spectrum: natural-image power law (``gpudeconv.wiener.NATURAL_PRIOR``) or 1.
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
    check_choice("basis", basis, BASES)
    check_choice("objective", objective, OBJECTIVES)
    check_choice("prior", prior, PRIORS)
    check_choice("grid", grid, GRIDS)
    nodes = check_int("nodes", nodes, minimum=8)
    if nodes > 256:
        raise ValueError(f"nodes must be <= 256; got {nodes}")
    ridge = check_real("ridge", ridge, nonnegative=True)

    problem = Problem.build(kernel, sigma, prior, nodes=nodes, grid=grid)
    target, weight = least_squares_target(problem, objective)
    fitter = _FITTERS[basis]
    coefficients, weights, terms, params = fitter(
        kernel, problem, target, weight, ridge, **basis_options
    )
    filt = DeconvFilter(
        basis, params, coefficients, weights, terms, kernel, sigma, objective, prior
    )
    _warn_if_poor(filt, problem)
    return filt


def _warn_if_poor(filt: DeconvFilter, problem: Problem) -> None:
    blurred = problem.error(np.ones_like(problem.otf))
    response = filt.response(problem.quad.wx, problem.quad.wy)
    gain_fit = 10 * math.log10(blurred / problem.error(response))
    gain_wiener = 10 * math.log10(blurred / problem.error(problem.wiener))
    if gain_wiener > 1.0 and gain_fit < CAPTURE_WARNING * gain_wiener:
        warnings.warn(
            f"basis {filt.basis!r} captures only {gain_fit:.1f} dB of the {gain_wiener:.1f} dB "
            "expected gain of the Wiener filter for this PSF (too few terms for this blur, or "
            "a blur such as motion whose inverse needs phase, which a zero-phase basis "
            "lacks); use more terms or gpudeconv.wiener for this blur",
            FitQualityWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------- band bases
def _fit_bands(
    basis: Basis, problem: Problem, target: np.ndarray, weight: np.ndarray, ridge: float
) -> tuple[np.ndarray, np.ndarray]:
    bands = basis.band_responses(problem.quad.wy, problem.quad.wx).reshape(basis.size, -1)
    c = solve_weighted(bands, 1.0, target, weight, ridge=ridge)
    return c, basis.weights(c)


#: Gaussian truncations (in sigmas) tried by ``truncate="auto"``. Truncated taps have a
#: different spectrum, and the fit uses their exact response: measured on the quality
#: grid, 2σ beats 3σ by 0.1–0.3 dB for blurs σ ≥ 1 (and halves the taps), 3σ wins below.
AUTO_TRUNCATE = (2.0, 3.0)


def _fit_gauss_lap(
    kernel, problem, target, weight, ridge, *, sigmas=None, sigmas_x=None, count=5, truncate="auto"
):
    if sigmas is None:
        count = check_int("count", count, minimum=1)
        sy, sx = psf_sigmas(kernel)
        sigmas, sigmas_x = default_sigmas(sy, count), default_sigmas(sx, count)
    sigmas_x = None if sigmas_x is None else list(sigmas_x)
    if isinstance(truncate, str):
        if truncate != "auto":
            raise ValueError(f"Invalid truncate {truncate!r}; expected 'auto' or a number > 0")
        candidates = AUTO_TRUNCATE
    else:
        candidates = (truncate,)
    best = None
    for cut in candidates:  # the truncation with the least expected error
        basis = gauss_lap_basis(list(sigmas), sigmas_x, truncate=cut)
        responses = np.stack(basis.term_responses(problem.quad.wy, problem.quad.wx))
        bands = (responses[:-1] - responses[1:]).reshape(basis.size, -1)
        c = solve_weighted(bands, 1.0, target, weight, ridge=ridge)
        w = basis.weights(c)
        error = problem.error(np.tensordot(w, responses, 1)) if len(candidates) > 1 else 0.0
        if best is None or error < best[0]:
            best = (error, c, w, basis)
    _, c, w, basis = best
    return c, w, basis.terms, basis.params


def _fit_atrous(kernel, problem, target, weight, ridge, *, levels=2):
    basis = atrous_basis(levels)
    c, w = _fit_bands(basis, problem, target, weight, ridge)
    return c, w, basis.terms, basis.params


def _fit_unsharp(kernel, problem, target, weight, ridge, *, sigma=None, truncate=3.0):
    if sigma is not None:
        candidates = [check_real("sigma", sigma, positive=True)]
    else:  # the best single Gaussian of a small ladder around the blur's size
        scale = max(0.3, float(np.mean(psf_sigmas(kernel))))
        candidates = [scale * f for f in (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)]
    best = None
    for s in candidates:
        basis = unsharp_basis(s, truncate=truncate)
        c, w = _fit_bands(basis, problem, target, weight, ridge)
        err = problem.error(_grid_response(basis.terms, w, problem))
        if best is None or err < best[0]:
            best = (err, c, w, basis)
    _, c, w, basis = best
    return c, w, basis.terms, basis.params


def _grid_response(terms, weights, problem: Problem) -> np.ndarray:
    wy, wx = problem.quad.wy, problem.quad.wx
    return sum(
        w * taps_response(ky, wy) * taps_response(kx, wx)
        for w, (ky, kx) in zip(weights, terms, strict=True)
    )


# ---------------------------------------------------------------------------- FIR
def _cosine_basis(w: np.ndarray, radius: int) -> np.ndarray:
    """``(radius+1, n)``: 1 and ``2 cos(k w)``: the responses of symmetric taps ``±k``."""
    k = np.arange(radius + 1)[:, None]
    phi = 2.0 * np.cos(k * w.reshape(1, -1))
    phi[0] = 1.0
    return phi


def _symmetric_taps(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[:0:-1], a])


def _fit_fir(kernel, problem, target, weight, ridge, *, radius=None, mode=None, iterations=30):
    if radius is None:
        radius = max(2, math.ceil(3 * max(psf_sigmas(kernel))) + 1)
    radius = check_int("radius", radius, minimum=1)
    if radius > 32:
        raise ValueError(f"radius must be <= 32 for the fir basis; got {radius}")
    if mode is None:
        s = np.linalg.svd(kernel, compute_uv=False)
        mode = "separable" if s.size == 1 or s[1] <= 1e-12 * s[0] else "2d"
    check_choice("mode", mode, ("separable", "2d"))
    phi_y = _cosine_basis(problem.quad.wy, radius)
    phi_x = _cosine_basis(problem.quad.wx, radius)
    ny, nx = phi_y.shape[1], phi_x.shape[1]
    t = target.reshape(ny, nx)
    wt = weight.reshape(ny, nx)
    if mode == "2d":
        bands = (phi_y[:, None, :, None] * phi_x[None, :, None, :]).reshape((radius + 1) ** 2, -1)
        c = solve_weighted(bands, 0.0, target, weight, ridge=ridge)
        terms = _svd_terms(c.reshape(radius + 1, radius + 1))
        return c, np.ones(len(terms)), terms, {"radius": radius, "mode": mode}
    # Separable F = g(wy) f(wx): alternate two linear least-squares solves.
    a_y = np.zeros(radius + 1)
    a_y[0] = 1.0
    for _ in range(iterations):
        g = a_y @ phi_y
        alpha, beta = (wt * g[:, None] ** 2).sum(0), (wt * g[:, None] * t).sum(0)
        a_x = solve_weighted(phi_x, 0.0, _safe_div(beta, alpha), alpha, ridge=ridge)
        f = a_x @ phi_x
        alpha, beta = (wt * f[None, :] ** 2).sum(1), (wt * f[None, :] * t).sum(1)
        a_y_new = solve_weighted(phi_y, 0.0, _safe_div(beta, alpha), alpha, ridge=ridge)
        converged = np.abs(a_y_new - a_y).max() <= 1e-12 * np.abs(a_y_new).max()
        a_y = a_y_new
        if converged:
            break
    g = a_y @ phi_y
    alpha, beta = (wt * g[:, None] ** 2).sum(0), (wt * g[:, None] * t).sum(0)
    a_x = solve_weighted(phi_x, 0.0, _safe_div(beta, alpha), alpha, ridge=ridge)
    terms = ((_symmetric_taps(a_y), _symmetric_taps(a_x)),)
    return np.concatenate([a_y, a_x]), np.ones(1), terms, {"radius": radius, "mode": mode}


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _svd_terms(c: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Separable terms of the dense symmetric stencil whose cosine coefficients are ``c``."""
    r = c.shape[0] - 1
    idx = np.abs(np.arange(-r, r + 1))
    dense = c[idx][:, idx]
    u, s, vt = np.linalg.svd(dense)
    keep = s > 1e-12 * s[0]
    terms = []
    for k in np.flatnonzero(keep):
        uy = 0.5 * (u[:, k] + u[::-1, k]) * np.sqrt(s[k])  # symmetric up to rounding
        vx = 0.5 * (vt[k] + vt[k, ::-1]) * np.sqrt(s[k])
        terms.append((uy, vx))
    return tuple(terms)


_FITTERS = {
    "gauss-lap": _fit_gauss_lap,
    "atrous": _fit_atrous,
    "fir": _fit_fir,
    "unsharp": _fit_unsharp,
}
