"""``AutoTable``: robust filters over a grid of estimates — per-frame changes are lookups.

An estimate's filter (:func:`robust_filter`) depends on a handful of numbers: the added
blur's mean covariance (two signed eigenvalues and an angle), the noise-to-signal ratio
``noise² / A`` (the filter depends on noise and amplitude only through it) and how wide
the posterior is. The table holds, for a fixed set of terms (an à-trous basis with
oriented bands), the weights of the robust fit at grid points of those five numbers and
interpolates them multilinearly — a filter response is linear in its weights, so this
interpolates responses. Cells are fitted the first time a lookup needs them (a few ms
each, 32 for a first lookup, then mostly cached: a video's estimate drifts slowly) and
kept; :meth:`AutoTable.fill` fits a range ahead of time.

Values beyond the grid are clamped to its edge (a blur above the largest tabulated one
is restored as that one: less than it could be, never more), so a lookup cannot fail.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..core.spectra import NATURAL_PRIOR
from ..fit import DeconvFilter
from ..fit.core import fit_posterior
from .estimator import POSTERIOR_WIDTH, SHARP_SOFTNESS, Estimate, gaussian_of

__all__ = ["AUTO_BASIS", "AutoKey", "AutoTable"]

#: The auto path's basis: a 2-level à-trous ladder with oriented (Hessian) bands at both
#: levels — 9 separable terms of 3, 5 or 7 taps (see ``bench.blind`` for its cost).
AUTO_BASIS: dict[str, Any] = {"basis": "atrous", "levels": 2, "oriented": 2}

#: Grid of the larger eigenvalue of the mean added blur covariance (pixels², signed: a
#: frame sharper than a sharp photograph reads negative), of the anisotropy (the gap
#: between the eigenvalues), of the angle (radians, periodic over π), of log10(noise²/A)
#: and of the posterior's width (pixels², log-interpolated).
MAJORS = (
    -0.6,
    -0.35,
    -0.2,
    -0.1,
    0.0,
    0.08,
    0.16,
    0.25,
    0.36,
    0.5,
    0.7,
    1.0,
    1.45,
    2.1,
    3.0,
    4.3,
    6.2,
    9.0,
    13.0,
)
ANISOTROPIES = (0.0, 0.4, 1.0, 2.0, 3.5, 6.0)
ANGLES = tuple(k * math.pi / 6 for k in range(6))
LOG_NSR = tuple(-6.5 + 0.75 * k for k in range(10))
WIDTHS = (0.04, 0.12, 0.36)
#: Spread of log(noise² / A) in a cell's posterior: the noise's and the amplitude's.
NSR_SPREAD = math.hypot(2 * 0.15, 0.4)


@dataclass(frozen=True)
class AutoKey:
    """Where an estimate sits in the table: the five numbers its robust filter needs."""

    major: float  # larger eigenvalue of the mean added blur covariance, pixels² (signed)
    anisotropy: float  # gap between the eigenvalues, pixels² (≥ 0)
    angle: float  # direction of the major axis, radians in [0, π)
    log_nsr: float  # log10(noise² / A)
    width: float  # posterior spread of the covariance entries, pixels²
    sharpen_only: bool

    @classmethod
    def of(cls, estimate: Estimate) -> AutoKey:
        """The key of an estimate (its mean added blur, noise, amplitude and spread)."""
        mean = estimate.measured - SHARP_SOFTNESS * np.eye(2)
        values, vectors = np.linalg.eigh(mean)
        major = vectors[:, 1]
        angle = math.atan2(-major[1], major[0]) % math.pi
        cov = estimate.covariance
        width = POSTERIOR_WIDTH * math.sqrt(max((cov[0, 0] + cov[2, 2]) / 2, 0.0))
        nsr = max(estimate.noise, 1e-9) ** 2 / max(estimate.prior_amplitude, 1e-30)
        return cls(
            float(values[1]),
            float(values[1] - values[0]),
            angle,
            math.log10(nsr),
            width,
            bool(estimate.noise_is_upper_bound),
        )


def _bracket(grid: tuple[float, ...], value: float) -> list[tuple[int, float]]:
    """``[(index, weight), ...]`` of the linear interpolation at ``value``, clamped."""
    if value <= grid[0]:
        return [(0, 1.0)]
    if value >= grid[-1]:
        return [(len(grid) - 1, 1.0)]
    hi = int(np.searchsorted(grid, value, side="right"))
    t = (value - grid[hi - 1]) / (grid[hi] - grid[hi - 1])
    return [(hi - 1, 1.0 - t), (hi, t)]


def _bracket_angle(value: float) -> list[tuple[int, float]]:
    step = ANGLES[1]
    position = (value % math.pi) / step
    lo = math.floor(position) % len(ANGLES)
    t = position - math.floor(position)
    return [(lo, 1.0 - t), ((lo + 1) % len(ANGLES), t)]


def _bracket_log(grid: tuple[float, ...], value: float) -> list[tuple[int, float]]:
    return _bracket(tuple(math.log(g) for g in grid), math.log(max(value, 1e-12)))


#: Most cells an AutoTable keeps (a few hundred bytes each; the least recently used go).
MAX_CELLS = 4096


class _Cell(NamedTuple):
    coefficients: np.ndarray
    weights: np.ndarray


class AutoTable:
    """Robust filters of :data:`AUTO_BASIS` over a grid of estimates, fitted on demand.

    ``table(estimate)`` gives the interpolated :class:`DeconvFilter`; ``table.weights(key)``
    the raw term weights (the per-frame path). Thread-safe; cells are fitted once.

    Parameters
    ----------
    nodes : int
        Quadrature nodes per axis of each cell's fit (as :func:`gpudeconv.fit`).
    max_cells : int
        Cells kept at most; the least recently used are dropped (and refitted if needed).
    """

    def __init__(self, *, nodes: int = 24, max_cells: int = MAX_CELLS) -> None:
        self.nodes = nodes
        self.max_cells = max_cells
        # Only the numbers of each cell are kept (a few hundred bytes), least recently
        # used first out: a long video visiting ever new estimates stays bounded.
        self._cells: OrderedDict[tuple[int, ...], _Cell] = OrderedDict()
        self._lock = threading.Lock()
        self.fits = 0
        self.template = self._fit_cell((MAJORS.index(0.0), 0, 0, 0, 0, 0))

    @property
    def terms(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """The separable terms shared by every cell."""
        return self.template.terms

    @property
    def fitted_cells(self) -> int:
        """How many fitted cells are held (at most ``max_cells``)."""
        return len(self._cells)

    # ------------------------------------------------------------------ cells
    def _cell_samples(self, index: tuple[int, ...]) -> list[tuple[float, Any, float, float]]:
        i_major, i_aniso, i_angle, i_nsr, i_width, _ = index
        major, aniso = MAJORS[i_major], ANISOTROPIES[i_aniso]
        angle, width = ANGLES[i_angle], WIDTHS[i_width]
        c, s = math.cos(angle), -math.sin(angle)  # screen angle: rows go down
        axis = np.array([c, s])
        mean = major * np.outer(axis, axis) + (major - aniso) * (np.eye(2) - np.outer(axis, axis))
        amplitude = NATURAL_PRIOR["amplitude"]
        noise = math.sqrt(10 ** LOG_NSR[i_nsr] * amplitude)
        n, kappa = 4, 1.0
        spread = np.sqrt((n + kappa) * np.array([width**2, width**2 / 2, width**2, NSR_SPREAD**2]))
        points = [np.zeros(n)] + [
            sign * spread[i] * np.eye(n)[i] for i in range(n) for sign in (1, -1)
        ]
        weights = [kappa / (n + kappa)] + [0.5 / (n + kappa)] * (2 * n)
        samples = []
        for offset, weight in zip(points, weights, strict=True):
            cov = mean + np.array([[offset[0], offset[1]], [offset[1], offset[2]]])
            kernel = gaussian_of(cov)
            samples.append((weight, kernel, noise * math.exp(offset[3] / 2), amplitude))
        return samples

    def _fit_cell(self, index: tuple[int, ...]) -> DeconvFilter:
        self.fits += 1
        return fit_posterior(
            self._cell_samples(index),
            nodes=self.nodes,
            sharpen_only=bool(index[5]),
            **AUTO_BASIS,
        )

    def _cell(self, index: tuple[int, ...]) -> _Cell:
        if ANISOTROPIES[index[1]] == 0.0:  # isotropic: the angle does not matter
            index = (index[0], index[1], 0, *index[3:])
        with self._lock:
            cell = self._cells.get(index)
            if cell is None:
                fitted = self._fit_cell(index)
                cell = self._cells[index] = _Cell(fitted.coefficients, fitted.weights)
                while len(self._cells) > self.max_cells:
                    self._cells.popitem(last=False)
            else:
                self._cells.move_to_end(index)
        return cell

    # ------------------------------------------------------------------ lookup
    def _corners(self, key: AutoKey) -> list[tuple[tuple[int, ...], float]]:
        axes = [
            _bracket(MAJORS, key.major),
            _bracket(ANISOTROPIES, key.anisotropy),
            _bracket_angle(key.angle),
            _bracket(LOG_NSR, key.log_nsr),
            _bracket_log(WIDTHS, key.width),
        ]
        corners = []
        for combo in itertools.product(*axes):
            weight = math.prod(w for _, w in combo)
            if weight > 0.0:
                corners.append(((*(i for i, _ in combo), int(key.sharpen_only)), weight))
        return corners

    def weights(self, key: AutoKey) -> np.ndarray:
        """Per-term weights at ``key``, multilinear in the grid (the per-frame path)."""
        return sum(w * self._cell(index).weights for index, w in self._corners(key))

    def __call__(self, estimate: Estimate) -> DeconvFilter:
        """The interpolated robust filter for ``estimate``."""
        key = AutoKey.of(estimate)
        corners = self._corners(key)
        coefficients = sum(w * self._cell(i).coefficients for i, w in corners)
        weights = sum(w * self._cell(i).weights for i, w in corners)
        return self.template.with_weights(
            coefficients,
            weights,
            psf=estimate.psf(),
            noise=estimate.noise,
            amplitude=estimate.prior_amplitude,
            auto_key=[key.major, key.anisotropy, key.angle, key.log_nsr, key.width],
        )

    def fill(self, key: AutoKey) -> int:
        """Fit every cell a lookup at ``key`` needs; returns how many were new."""
        before = self.fitted_cells
        for index, _ in self._corners(key):
            self._cell(index)
        return self.fitted_cells - before
