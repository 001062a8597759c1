"""Filter bases: the cheap separable filters whose combination approximates the inverse.

Each basis gives band responses ``L_j`` (what is fitted: ``F = 1 + Σ c_j L_j``), the
separable terms the filter is applied with, and the linear map from ``c`` to the terms'
weights ``w`` (``F x = Σ w_j T_j x``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import check_int, check_real
from ..filters import taps_response
from ..psf import gaussian_1d

__all__ = ["BASES", "Basis", "atrous_basis", "gauss_lap_basis", "unsharp_basis"]

BASES = ("gauss-lap", "atrous", "fir", "unsharp")

#: The article's Gaussian sigmas, used as a shape that is scaled to the blur.
ARTICLE_SIGMAS = (0.3, 0.6, 0.9, 1.2, 1.5)


@dataclass(frozen=True)
class Basis:
    """Separable low-passes ``T_0 = δ, T_1 … T_K`` and bands ``L_j = T_{j−1} − T_j``."""

    name: str
    params: dict[str, Any]
    terms: tuple[tuple[np.ndarray, np.ndarray], ...]  # (ky, kx) of T_0 … T_K

    @property
    def size(self) -> int:
        """Number of fitted coefficients K."""
        return len(self.terms) - 1

    def term_responses(self, wy: np.ndarray, wx: np.ndarray) -> list[np.ndarray]:
        """Responses of ``T_0 … T_K`` on the grid ``wy × wx`` (broadcast)."""
        return [taps_response(ky, wy) * taps_response(kx, wx) for ky, kx in self.terms]

    def band_responses(self, wy: np.ndarray, wx: np.ndarray) -> np.ndarray:
        """``(K, …)`` stack of ``L_j = T_{j−1} − T_j``."""
        t = self.term_responses(wy, wx)
        return np.stack([a - b for a, b in itertools.pairwise(t)])

    def weights(self, c: np.ndarray) -> np.ndarray:
        """Term weights of ``1 + Σ c_j (T_{j−1} − T_j)``.

        ``w_0 = 1 + c_1``, ``w_j = c_{j+1} − c_j``, ``w_K = −c_K``.
        """
        c = np.asarray(c, dtype=np.float64)
        padded = np.concatenate([[0.0], c, [0.0]])
        w = padded[1:] - padded[:-1]
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
    sy = [check_real("sigmas", s, positive=True) for s in sigmas_y]
    sx = sy if sigmas_x is None else [check_real("sigmas", s, positive=True) for s in sigmas_x]
    if not sy:
        raise ValueError("sigmas is empty; the gauss-lap basis needs at least one sigma")
    if len(sx) != len(sy):
        raise ValueError(f"sigmas_x has {len(sx)} entries but sigmas_y has {len(sy)}")
    if any(b <= a for a, b in itertools.pairwise(sy)):
        raise ValueError(f"sigmas must be strictly increasing; got {sy}")
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


def atrous_basis(levels: int = 2) -> Basis:
    """À-trous comb bands ``L_1 = 1 − A_1``, ``L_l = A_{l−1} − A_l``, levels 1–4."""
    levels = check_int("levels", levels, minimum=1)
    if levels > 4:
        raise ValueError(f"levels must be between 1 and 4; got {levels}")
    terms = [(_DELTA, _DELTA)] + [(a, a) for a in atrous_taps(levels)]
    return Basis("atrous", {"levels": levels}, tuple(terms))


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
