"""Filter bases: the cheap separable filters whose combination approximates the inverse.

Each basis gives band responses ``L_j`` (what is fitted: ``F = 1 + Σ c_j L_j``), the
separable terms the filter is applied with, and the linear map from ``c`` to the terms'
weights ``w`` (``F x = Σ w_j T_j x``). Every band is zero at DC, so every fitted filter
has unit DC gain by construction.

:data:`BASES` is the registry: each entry says how the basis is fitted, which options it
takes (the command line offers them), and how a :class:`~gpudeconv.FilterTable` builds
its one shared set of terms (None: the terms depend on the fit, so no table). Adding a
basis is one entry here plus its tests.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..core._registry import Registry
from ..core._validate import check_choice, check_int, check_real
from ..core.psf import MAX_PSF_RADIUS, gaussian, gaussian_1d
from ..core.spectra import term_response, terms_response
from ..errors import InvalidArgumentError, InvalidTypeError
from . import fir
from .objectives import least_squares_target
from .problem import Problem, psf_sigmas
from .solve import solve_weighted, solve_weighted_above

__all__ = [
    "BASES",
    "Basis",
    "BasisSpec",
    "FitResult",
    "Option",
    "atrous_basis",
    "gauss_lap_basis",
    "unsharp_basis",
]

#: The article's Gaussian sigmas, used as a shape that is scaled to the blur.
ARTICLE_SIGMAS = (0.3, 0.6, 0.9, 1.2, 1.5)


@dataclass(frozen=True)
class Basis:
    """Separable terms ``T_0 = δ, T_1 … T_T`` and the zero-DC bands ``L_j`` made of them.

    By default the terms are a ladder of low-passes and the bands their differences,
    ``L_j = T_{j−1} − T_j``; ``mixing`` (K × T+1) says otherwise: ``L_j = Σ_t m_jt T_t``
    (oriented bands are single derivative terms).
    """

    name: str
    params: dict[str, Any]
    terms: tuple[tuple[np.ndarray, np.ndarray], ...]  # (ky, kx) of T_0 … T_T
    mixing: np.ndarray | None = None

    @property
    def matrix(self) -> np.ndarray:
        """``(K, T+1)``: the bands as combinations of the terms."""
        if self.mixing is not None:
            return self.mixing
        count = len(self.terms) - 1
        ladder = np.zeros((count, count + 1))
        ladder[np.arange(count), np.arange(count)] = 1.0
        ladder[np.arange(count), np.arange(1, count + 1)] = -1.0
        return ladder

    @property
    def size(self) -> int:
        """Number of fitted coefficients K."""
        return self.matrix.shape[0]

    def term_responses(self, wy: np.ndarray, wx: np.ndarray) -> list[np.ndarray]:
        """Responses of ``T_0 … T_T`` at ``(wy, wx)`` (broadcast)."""
        return [term_response(ky, kx, wy, wx) for ky, kx in self.terms]

    def band_responses(self, wy: np.ndarray, wx: np.ndarray) -> np.ndarray:
        """``(K, …)`` stack of the bands ``L_j``."""
        t = np.stack(self.term_responses(wy, wx))
        return np.tensordot(self.matrix, t, axes=1)

    def weights(self, c: np.ndarray) -> np.ndarray:
        """Term weights of ``1 + Σ c_j L_j``: ``w = e_0 + Mᵀ c``.

        For a ladder: ``w_0 = 1 + c_1``, ``w_j = c_{j+1} − c_j``, ``w_K = −c_K``.
        """
        w = self.matrix.T @ np.asarray(c, dtype=np.float64)
        w[0] += 1.0
        return w


_DELTA = np.ones(1)


def _gaussian_taps(sigma: float, truncate: float) -> np.ndarray:
    return gaussian_1d(sigma, max(1, math.ceil(truncate * sigma)))


def gauss_lap_basis(
    sigmas_y: Sequence[float], sigmas_x: Sequence[float] | None = None, *, truncate: float = 3.0
) -> Basis:
    """Pixel-integrated Gaussians ``G_1 … G_K`` (increasing sigma) and their bands.

    ``sigmas_x`` defaults to ``sigmas_y`` (isotropic); differing lists give axis-aligned
    anisotropic Gaussians. Taps extend to ``ceil(truncate · σ)``; the fit uses the exact
    response of the truncated taps, so truncation never breaks the ``kernel()`` identity.
    """
    sy = [check_real("sigmas", s, positive=True) for s in _sequence("sigmas", sigmas_y)]
    sx = (
        sy
        if sigmas_x is None
        else [check_real("sigmas", s, positive=True) for s in _sequence("sigmas_x", sigmas_x)]
    )
    if not sy:
        raise InvalidArgumentError("sigmas is empty; the gauss-lap basis needs at least one sigma")
    if len(sx) != len(sy):
        raise InvalidArgumentError(f"sigmas_x has {len(sx)} entries but sigmas_y has {len(sy)}")
    if any(b <= a for a, b in itertools.pairwise(sy)):
        raise InvalidArgumentError(f"sigmas must be strictly increasing; got {sy}")
    truncate = check_real("truncate", truncate, positive=True)
    terms = [(_DELTA, _DELTA)] + [
        (_gaussian_taps(a, truncate), _gaussian_taps(b, truncate))
        for a, b in zip(sy, sx, strict=True)
    ]
    params = {"sigmas_y": sy, "sigmas_x": sx, "truncate": truncate}
    return Basis("gauss-lap", params, tuple(terms))


def atrous_taps(levels: int) -> list[np.ndarray]:
    """Cumulative à-trous low-passes ``A_1 … A_levels`` (1-D taps).

    ``c_l`` is [1, 2, 1]/4 with taps at ``0, ±2^(l−1)``; ``A_l = c_1 * c_2 * … * c_l``.
    """
    out, acc = [], _DELTA
    for level in range(1, levels + 1):
        step = 2 ** (level - 1)
        comb = np.zeros(2 * step + 1)
        comb[[0, step, 2 * step]] = (0.25, 0.5, 0.25)
        acc = np.convolve(acc, comb)
        out.append(acc)
    return out


#: Most levels of oriented (Hessian) bands an à-trous basis may carry.
MAX_ORIENTED = 2


def _dilated(taps: Sequence[float], step: int) -> np.ndarray:
    """3 taps spread ``step`` pixels apart (zeros between): the à-trous dilation."""
    out = np.zeros(2 * step + 1)
    out[[0, step, 2 * step]] = taps
    return out


def oriented_terms(level: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Hessian terms at à-trous ``level``: ``∂xx``, ``∂yy`` (smoothed across) and ``∂xy``.

    With the comb ``c = [1, 2, 1]/4``, second difference ``d2 = [1, −2, 1]`` and central
    difference ``d1 = [−1, 0, 1]/2``, dilated by ``2^(level−1)``: ``(c, d2)``, ``(d2, c)``
    and ``(d1, d1)`` (rows, columns). Each is zero at DC; together they steer a second
    derivative to any direction — what undoes a rotated, anisotropic blur to first
    order — for 3 taps per pass.
    """
    step = 2 ** (level - 1)
    comb = _dilated((0.25, 0.5, 0.25), step)
    second = _dilated((1.0, -2.0, 1.0), step)
    first = _dilated((-0.5, 0.0, 0.5), step)
    return [(comb, second), (second, comb), (first, first)]


def atrous_basis(levels: int = 2, *, oriented: int = 0) -> Basis:
    """À-trous comb bands ``L_1 = 1 − A_1``, ``L_l = A_{l−1} − A_l``, levels 1–4.

    ``oriented`` adds the Hessian terms of :func:`oriented_terms` for that many levels
    (0–2), each its own band: the isotropic ladder shapes the response's radial profile,
    the oriented bands its dependence on direction (rotated, anisotropic blur).
    """
    levels = check_int("levels", levels, minimum=1)
    if levels > 4:
        raise InvalidArgumentError(f"levels must be between 1 and 4; got {levels}")
    oriented = check_int("oriented", oriented, minimum=0)
    if oriented > min(levels, MAX_ORIENTED):
        raise InvalidArgumentError(
            f"oriented must be between 0 and {min(levels, MAX_ORIENTED)} (at most the levels)"
            f"; got {oriented}"
        )
    ladder = [(_DELTA, _DELTA)] + [(a, a) for a in atrous_taps(levels)]
    if not oriented:
        return Basis("atrous", {"levels": levels}, tuple(ladder))
    extra = [t for level in range(1, oriented + 1) for t in oriented_terms(level)]
    mixing = np.zeros((levels + len(extra), len(ladder) + len(extra)))
    mixing[np.arange(levels), np.arange(levels)] = 1.0
    mixing[np.arange(levels), np.arange(1, levels + 1)] = -1.0
    mixing[levels + np.arange(len(extra)), len(ladder) + np.arange(len(extra))] = 1.0
    params = {"levels": levels, "oriented": oriented}
    return Basis("atrous", params, tuple(ladder + extra), mixing)


def unsharp_basis(sigma: float, *, truncate: float = 3.0) -> Basis:
    """Unsharp mask ``1 + a(1 − G_σ)``: one coefficient."""
    basis = gauss_lap_basis([sigma], truncate=truncate)
    return Basis(
        "unsharp", {"sigma": basis.params["sigmas_y"][0], "truncate": truncate}, basis.terms
    )


def default_sigmas(psf_sigma: float, count: int = 5) -> list[float]:
    """Basis sigmas scaled to the blur: the article's 0.3 … 1.5 ladder at blur σ = 0.6.

    Below σ = 0.5 the ladder stops shrinking (smallest Gaussian 0.25): narrower Gaussians
    are nearly a delta, and their bands get weights in the thousands (float32 cancellation)
    for a few hundredths of a dB. Measured with ``python -m bench.quality`` and the model
    gains of ``DeconvFilter.diagnostics``: other ladders (geometric, 6 terms, up to 5σ)
    change PSNR by at most ±0.3 dB and often inflate the weights.
    """
    scale = max(psf_sigma, 0.5) / 0.6
    base = np.linspace(ARTICLE_SIGMAS[0], ARTICLE_SIGMAS[-1], count)
    return [float(s) for s in base * scale]


def _sequence(name: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise InvalidTypeError(f"{name} must be a list of numbers; got {values!r}")
    return list(values)


# ---------------------------------------------------------------------------- fitting
class FitResult(NamedTuple):
    """What fitting one basis gives: band coefficients, term weights, terms, parameters."""

    coefficients: np.ndarray
    weights: np.ndarray
    terms: tuple[tuple[np.ndarray, np.ndarray], ...]
    params: dict[str, Any]


#: Check grid (per axis, on [0, π]) of the sharpen-only constraint F(ω) ≥ 1.
FLOOR_GRID = 33


def fit_bands(
    basis: Basis,
    problem: Problem,
    target: np.ndarray,
    weight: np.ndarray,
    ridge: float,
    sharpen_only: bool = False,
) -> FitResult:
    """Least-squares coefficients of a band basis: ``F = 1 + Σ c_j L_j`` (unit DC gain).

    ``sharpen_only`` adds ``F(ω) ≥ 1`` on a grid over the frequency plane: the filter may
    sharpen but never smooth (what a blind restorer must promise when it cannot tell fine
    texture from noise).
    """
    bands = basis.band_responses(problem.quad.wy, problem.quad.wx).reshape(basis.size, -1)
    if sharpen_only:
        w = np.linspace(0.0, np.pi, FLOOR_GRID)
        floor = basis.band_responses(w[:, None], w[None, :]).reshape(basis.size, -1)
        c = solve_weighted_above(bands, 1.0, target, weight, floor, ridge=ridge)
    else:
        c = solve_weighted(bands, 1.0, target, weight, ridge=ridge)
    return FitResult(c, basis.weights(c), basis.terms, basis.params)


def _least_error(problem: Problem, fits: list[FitResult]) -> FitResult:
    """The fit whose response has the least expected restoration error."""
    if len(fits) == 1:
        return fits[0]
    errors = [
        problem.error(terms_response(f.weights, f.terms, problem.quad.wy, problem.quad.wx))
        for f in fits
    ]
    return fits[int(np.argmin(errors))]


#: Gaussian truncations (in sigmas) tried by ``truncate="auto"``. Truncated taps have a
#: different spectrum, and the fit uses their exact response: measured on the quality
#: grid, 2σ beats 3σ by 0.1–0.3 dB for blurs σ ≥ 1 (and halves the taps), 3σ wins below.
AUTO_TRUNCATE = (2.0, 3.0)


def _truncations(truncate: Any) -> tuple[float, ...]:
    if isinstance(truncate, str):
        if truncate != "auto":
            raise InvalidArgumentError(
                f"Invalid truncate {truncate!r}; expected 'auto' or a number > 0"
            )
        return AUTO_TRUNCATE
    return (check_real("truncate", truncate, positive=True),)


def _fit_gauss_lap(
    psf: np.ndarray,
    problem: Problem,
    target: np.ndarray,
    weight: np.ndarray,
    ridge: float,
    sharpen_only: bool = False,
    *,
    sigmas: Sequence[float] | None = None,
    sigmas_x: Sequence[float] | None = None,
    count: int = 5,
    truncate: float | str = "auto",
) -> FitResult:
    if sigmas is None:
        count = check_int("count", count, minimum=1)
        if count > MAX_TERMS - 1:
            raise InvalidArgumentError(f"count must be <= {MAX_TERMS - 1}; got {count}")
        sy, sx = psf_sigmas(psf)
        sigmas, sigmas_x = default_sigmas(sy, count), default_sigmas(sx, count)
    sigmas_x = None if sigmas_x is None else list(sigmas_x)
    _check_taps_fit(psf, list(sigmas) + (sigmas_x or []), max(_truncations(truncate)))
    fits = [
        fit_bands(
            gauss_lap_basis(sigmas, sigmas_x, truncate=cut),
            problem,
            target,
            weight,
            ridge,
            sharpen_only,
        )
        for cut in _truncations(truncate)
    ]
    return _least_error(problem, fits)


def _check_taps_fit(psf: np.ndarray, sigmas: list[float], truncate: float) -> None:
    """Refuse, naming the blur, a basis whose Gaussian taps exceed the largest kernel.

    The PSF builders accept blurs up to a 1025-pixel kernel (``gaussian:128``), but the
    bands scale with the blur (widest σ = 2.5 × the blur's) and are cut at ``truncate`` σ,
    so wide blurs are for the FFT methods.
    """
    radius = math.ceil(truncate * max(sigmas, default=0.0))
    if radius > MAX_PSF_RADIUS:
        sy, sx = psf_sigmas(psf)
        raise InvalidArgumentError(
            f"a blur this wide (spread {max(sy, sx):.3g} px, PSF {psf.shape[0]}x{psf.shape[1]}) "
            f"needs fitted-filter taps of radius {radius}, beyond the largest {MAX_PSF_RADIUS}; "
            "the fitted filters are for mild blur (spread up to about 60 px) — use "
            "method='wiener' or 'iterative' (FFT), or a still-image method"
        )


def _fit_atrous(
    psf, problem, target, weight, ridge, sharpen_only=False, *, levels: int = 2, oriented: int = 0
) -> FitResult:
    basis = atrous_basis(levels, oriented=oriented)
    return fit_bands(basis, problem, target, weight, ridge, sharpen_only)


def _fit_unsharp(
    psf,
    problem,
    target,
    weight,
    ridge,
    sharpen_only=False,
    *,
    sigma: float | None = None,
    truncate: float = 3.0,
) -> FitResult:
    if sigma is not None:
        candidates = [check_real("sigma", sigma, positive=True)]
    else:  # the best single Gaussian of a small ladder around the blur's size
        scale = max(0.3, float(np.mean(psf_sigmas(psf))))
        candidates = [scale * f for f in (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)]
    fits = [
        fit_bands(unsharp_basis(s, truncate=truncate), problem, target, weight, ridge, sharpen_only)
        for s in candidates
    ]
    return _least_error(problem, fits)


def _fit_fir(
    psf,
    problem,
    target,
    weight,
    ridge,
    sharpen_only=False,
    *,
    radius: int | None = None,
    mode: str | None = None,
) -> FitResult:
    if sharpen_only:
        raise InvalidArgumentError("the fir basis has no sharpen-only fit; use a band basis")
    if radius is None:
        radius = max(2, math.ceil(3 * max(psf_sigmas(psf))) + 1)
    radius = check_int("radius", radius, minimum=1)
    if radius > fir.MAX_RADIUS:
        raise InvalidArgumentError(
            f"radius must be <= {fir.MAX_RADIUS} for the fir basis; got {radius}"
        )
    if mode is None:
        s = np.linalg.svd(psf, compute_uv=False)
        mode = "separable" if s.size == 1 or s[1] <= 1e-12 * s[0] else "2d"
    check_choice("mode", mode, fir.MODES)
    design = fir.fit_separable if mode == "separable" else fir.fit_2d
    c, terms = design(problem, target, weight, radius, ridge)
    return FitResult(c, np.ones(len(terms)), terms, {"radius": radius, "mode": mode})


# ---------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class TableGrid:
    """What a table basis is chosen for: the grid of blurs and noises, and the prior."""

    sigmas: np.ndarray
    noises: np.ndarray  # total noise std per column
    prior: str

    @property
    def middle_sigma(self) -> float:
        """The grid's geometric middle blur: one set of terms is sized for it."""
        return float(np.sqrt(self.sigmas[0] * self.sigmas[-1]))


def _table_gauss_lap(
    grid: TableGrid,
    *,
    basis_sigmas: Sequence[float] | None = None,
    count: int = 5,
    truncate: float | str = "auto",
) -> Basis:
    ladder = basis_sigmas
    if ladder is None:  # one ladder for the whole table, sized to its middle blur
        ladder = default_sigmas(grid.middle_sigma, check_int("count", count, minimum=1))
    # The truncation the middle cell's own fit prefers.
    problem = Problem.build(
        gaussian(grid.middle_sigma), float(grid.noises[len(grid.noises) // 2]), grid.prior, nodes=32
    )
    target, weight = least_squares_target(problem, "mse")
    fits = [
        fit_bands(gauss_lap_basis(list(ladder), truncate=cut), problem, target, weight, 1e-10)
        for cut in _truncations(truncate)
    ]
    return gauss_lap_basis(list(ladder), truncate=_least_error(problem, fits).params["truncate"])


def _table_atrous(grid: TableGrid, *, levels: int = 2, oriented: int = 0) -> Basis:
    return atrous_basis(levels, oriented=oriented)


def _table_unsharp(grid: TableGrid, *, sigma: float | None = None) -> Basis:
    return unsharp_basis(grid.middle_sigma if sigma is None else sigma)


# ---------------------------------------------------------------------------- registry
#: Most separable terms any basis may have (the CUDA kernel takes them as arguments).
MAX_TERMS = 64


@dataclass(frozen=True)
class Option:
    """A keyword option of a basis, as ``fit(..., name=value)`` and ``--name`` on the CLI."""

    name: str
    help: str
    #: Parses the command-line text; ``None`` for options the CLI does not offer.
    parse: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidArgumentError(f"expected comma-separated numbers, got {text!r}") from None


def _truncate(text: str) -> float | str:
    return text if text == "auto" else float(text)


@dataclass(frozen=True)
class BasisSpec:
    """One basis: how it is fitted, its options, and how a table builds its terms."""

    name: str
    help: str
    fit: Callable[..., FitResult]
    options: tuple[Option, ...] = ()
    #: ``(grid, **options) -> Basis`` for a FilterTable; None when the terms depend on
    #: the fit itself (then every blur needs its own filters, and no table exists).
    table: Callable[..., Basis] | None = None

    @property
    def tabulable(self) -> bool:
        """Whether a FilterTable (and so a slider or a per-frame estimate) can use it."""
        return self.table is not None


BASES: Registry[BasisSpec] = Registry(
    "basis",
    [
        BasisSpec(
            "gauss-lap",
            "pixel-integrated Gaussians scaled to the blur and their differences (default)",
            _fit_gauss_lap,
            (
                Option("sigmas", "Gaussian sigmas of the basis, increasing", _floats),
                Option("sigmas_x", "sigmas along x, for axis-aligned anisotropy", _floats),
                Option("count", "number of Gaussians when sigmas are not given", int),
                Option("truncate", "tap radius in sigmas, or 'auto' (2 or 3)", _truncate),
            ),
            _table_gauss_lap,
        ),
        BasisSpec(
            "atrous",
            "dilated [1, 2, 1]/4 comb bands, 1-4 levels (3 taps per pass)",
            _fit_atrous,
            (
                Option("levels", "number of levels (1-4)", int),
                Option("oriented", "levels with oriented (Hessian) bands, 0-2", int),
            ),
            _table_atrous,
        ),
        BasisSpec(
            "fir",
            "least-squares symmetric FIR, separable or 2-D (a quality bound; no table)",
            _fit_fir,
            (
                Option("radius", "filter radius in pixels", int),
                Option("mode", "one 1-D filter per axis, or a 2-D stencil", str, fir.MODES),
            ),
        ),
        BasisSpec(
            "unsharp",
            "unsharp mask 1 + a(1 - G_sigma): one coefficient, the usual baseline",
            _fit_unsharp,
            (
                Option("sigma", "Gaussian sigma of the mask (default: best of a few)", float),
                Option("truncate", "tap radius in sigmas", float),
            ),
            _table_unsharp,
        ),
    ],
)
