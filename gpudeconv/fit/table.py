"""``FilterTable``: fitted weights over a grid of blur sizes × noise levels.

All cells share one set of separable terms, so moving a slider, or a per-pixel blur map,
changes only the weights: no new filters, no recompilation.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import check_choice, check_real
from ..filters import DeconvFilter
from ..psf import gaussian
from .bases import Basis, atrous_basis, default_sigmas, gauss_lap_basis, unsharp_basis
from .core import fit
from .objectives import OBJECTIVES, least_squares_target
from .problem import Problem
from .solve import solve_weighted
from .targets import total_noise

__all__ = ["FilterTable"]

TABLE_SCHEMA = "gpudeconv.filter-table"
TABLE_VERSION = 1
TABLE_BASES = ("gauss-lap", "atrous", "unsharp")
FAMILIES = ("gaussian",)


def _axis(name: str, values: Any) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError(f"{name} is empty; give at least one grid value")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or Inf")
    if a.size > 1 and np.any(np.diff(a) <= 0):
        raise ValueError(f"{name} must be strictly increasing; got {a.tolist()}")
    return a


def _table_basis(
    basis: str, sigmas: np.ndarray, noises: np.ndarray, prior: str, options: dict[str, Any]
) -> Basis:
    middle = float(np.sqrt(sigmas[0] * sigmas[-1]))  # the table's geometric middle blur
    if basis == "gauss-lap":
        ladder = options.pop("basis_sigmas", None)
        if ladder is None:  # one ladder for the whole table, sized to its middle blur
            ladder = default_sigmas(middle, options.pop("count", 5))
        truncate = options.pop("truncate", "auto")
        if truncate == "auto":  # what the middle cell's own fit prefers
            noise = float(noises[len(noises) // 2])
            truncate = fit(
                gaussian(middle), noise=noise, prior=prior, sigmas=list(ladder)
            ).basis_params["truncate"]
        return gauss_lap_basis(list(ladder), truncate=truncate)
    if basis == "atrous":
        return atrous_basis(options.pop("levels", 2))
    return unsharp_basis(options.pop("sigma", middle))


@dataclass(frozen=True, eq=False)
class FilterTable:
    """Weights of one basis fitted over ``sigmas × noises`` (Gaussian blur family).

    Use :meth:`fit` to build one, ``table(sigma, noise)`` for an interpolated
    :class:`DeconvFilter`, :meth:`weights` for the raw per-term weights (the per-frame path).
    """

    template: DeconvFilter  # basis, terms, objective, prior (weights of cell [0, 0])
    sigmas: np.ndarray
    noises: np.ndarray
    coefficients: np.ndarray  # (n_sigma, n_noise, K)
    term_weights: np.ndarray  # (n_sigma, n_noise, T)
    quantization_bits: int | None = None

    @classmethod
    def fit(
        cls,
        *,
        family: str = "gaussian",
        sigmas: Any,
        noises: Any,
        basis: str = "gauss-lap",
        objective: str = "mse",
        prior: str = "natural",
        quantization_bits: int | None = None,
        nodes: int = 32,
        **basis_options: Any,
    ) -> FilterTable:
        """Fit every cell of the grid with one shared basis.

        Parameters
        ----------
        family : {'gaussian'}
            The blur family; ``sigmas`` are its Gaussian standard deviations.
        sigmas, noises : array_like
            Strictly increasing grid values (noise std in [0, 1] units).
        basis : {'gauss-lap', 'atrous', 'unsharp'}
            Bases whose terms do not depend on the fit (a FIR's taps do).
        objective, prior, quantization_bits, nodes
            As for :func:`gpudeconv.fit`.
        **basis_options
            ``basis_sigmas=[...]`` / ``count=`` (gauss-lap; default ladder sized to the
            geometric middle of ``sigmas``), ``levels=`` (atrous), ``sigma=`` (unsharp).
        """
        check_choice("family", family, FAMILIES)
        check_choice("basis", basis, TABLE_BASES)
        check_choice("objective", objective, OBJECTIVES)
        sigmas = _axis("sigmas", sigmas)
        noises = _axis("noises", noises)
        for s in sigmas:
            check_real("sigmas", s, positive=True)
        totals = [total_noise(n, quantization_bits) for n in noises]
        options = dict(basis_options)
        table_basis = _table_basis(basis, sigmas, noises, prior, options)
        if options:
            raise TypeError(f"unexpected basis options for {basis!r}: {sorted(options)}")
        coefficients = np.empty((sigmas.size, noises.size, table_basis.size))
        bands = None
        for i, sigma in enumerate(sigmas):
            for j, noise in enumerate(totals):
                problem = Problem.build(gaussian(sigma), noise, prior, nodes=nodes)
                if bands is None:  # Gaussian PSFs are symmetric: one quadrature throughout
                    bands = table_basis.band_responses(problem.quad.wy, problem.quad.wx)
                    bands = bands.reshape(table_basis.size, -1)
                target, weight = least_squares_target(problem, objective)
                coefficients[i, j] = solve_weighted(bands, 1.0, target, weight)
        weights = np.stack(
            [table_basis.weights(c) for c in coefficients.reshape(-1, table_basis.size)]
        ).reshape(sigmas.size, noises.size, -1)
        template = DeconvFilter(
            table_basis.name,
            table_basis.params,
            coefficients[0, 0],
            weights[0, 0],
            table_basis.terms,
            gaussian(sigmas[0]),
            totals[0],
            objective,
            prior,
        )
        return cls(template, sigmas, noises, coefficients, weights, quantization_bits)

    # ------------------------------------------------------------------ lookup
    def _locate(self, name: str, grid: np.ndarray, value: float) -> tuple[int, int, float]:
        value = check_real(name, value)
        if not grid[0] <= value <= grid[-1]:
            raise ValueError(
                f"{name}={value} is outside the table's grid "
                f"[{grid[0]}, {grid[-1]}]; refit the table to cover it"
            )
        if grid.size == 1:
            return 0, 0, 0.0
        hi = int(np.clip(np.searchsorted(grid, value, side="right"), 1, grid.size - 1))
        lo = hi - 1
        return lo, hi, (value - grid[lo]) / (grid[hi] - grid[lo])

    def _interpolate(self, values: np.ndarray, sigma: float, noise: float) -> np.ndarray:
        i0, i1, ti = self._locate("sigma", self.sigmas, sigma)
        j0, j1, tj = self._locate("noise", self.noises, noise)
        top = (1 - tj) * values[i0, j0] + tj * values[i0, j1]
        bottom = (1 - tj) * values[i1, j0] + tj * values[i1, j1]
        return (1 - ti) * top + ti * bottom

    def weights(self, sigma: float, noise: float) -> np.ndarray:
        """Per-term weights at ``(sigma, noise)``, bilinear in the grid (the hot path)."""
        return self._interpolate(self.term_weights, sigma, noise)

    def __call__(self, sigma: float, noise: float) -> DeconvFilter:
        """The interpolated filter at ``(sigma, noise)`` (same terms as every cell)."""
        c = self._interpolate(self.coefficients, sigma, noise)
        w = self._interpolate(self.term_weights, sigma, noise)
        return self.template.with_weights(
            c, w, psf=gaussian(sigma), noise=total_noise(noise, self.quantization_bits)
        )

    @property
    def terms(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """The separable terms shared by every cell."""
        return self.template.terms

    # ------------------------------------------------------------------ persistence
    def _meta(self) -> dict[str, Any]:
        t = self.template
        return {
            "schema": TABLE_SCHEMA,
            "version": TABLE_VERSION,
            "basis": t.basis,
            "basis_params": t.basis_params,
            "objective": t.objective,
            "prior": t.prior,
            "quantization_bits": self.quantization_bits,
            "terms": [{"y": ky.tolist(), "x": kx.tolist()} for ky, kx in t.terms],
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``.npz`` (no pickles) or ``.json``, chosen by the suffix."""
        path = Path(path)
        if path.suffix == ".npz":
            np.savez(
                path,
                sigmas=self.sigmas,
                noises=self.noises,
                coefficients=self.coefficients,
                weights=self.term_weights,
                meta=np.array(json.dumps(self._meta())),
            )
        elif path.suffix == ".json":
            doc = {
                **self._meta(),
                "sigmas": self.sigmas.tolist(),
                "noises": self.noises.tolist(),
                "coefficients": self.coefficients.tolist(),
                "weights": self.term_weights.tolist(),
            }
            path.write_text(json.dumps(doc))
        else:
            raise ValueError(f"table file must end in .npz or .json; got {str(path)!r}")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> FilterTable:
        """Read a table written by :meth:`save`, validating every field."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"table file {str(path)!r} does not exist")
        try:
            if path.suffix == ".npz":
                with np.load(path, allow_pickle=False) as data:
                    meta = json.loads(str(data["meta"]))
                    arrays = {k: data[k] for k in ("sigmas", "noises", "coefficients", "weights")}
            elif path.suffix == ".json":
                doc = json.loads(path.read_text())
                meta = doc
                arrays = {
                    k: np.asarray(doc[k], dtype=np.float64)
                    for k in ("sigmas", "noises", "coefficients", "weights")
                }
            else:
                raise ValueError(f"table file must end in .npz or .json; got {str(path)!r}")
        except (KeyError, OSError, json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"cannot read filter table {str(path)!r}: {exc!r}") from None
        return cls._from_parts(meta, arrays)

    @classmethod
    def _from_parts(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> FilterTable:
        if meta.get("schema") != TABLE_SCHEMA or meta.get("version") != TABLE_VERSION:
            raise ValueError(
                f"not a gpudeconv filter table (schema {meta.get('schema')!r}, "
                f"version {meta.get('version')!r}); expected {TABLE_SCHEMA!r} "
                f"v{TABLE_VERSION}"
            )
        sigmas = _axis("sigmas", arrays["sigmas"])
        noises = _axis("noises", arrays["noises"])
        coefficients, weights = arrays["coefficients"], arrays["weights"]
        terms = tuple((np.asarray(t["y"], float), np.asarray(t["x"], float)) for t in meta["terms"])
        if (
            coefficients.shape[:2] != (sigmas.size, noises.size)
            or weights.shape != (sigmas.size, noises.size, len(terms))
            or coefficients.ndim != 3
        ):
            raise ValueError(
                "filter table arrays do not match its grid and terms: "
                f"coefficients {coefficients.shape}, weights {weights.shape}, "
                f"grid {(sigmas.size, noises.size)}, {len(terms)} terms"
            )
        if not (np.isfinite(coefficients).all() and np.isfinite(weights).all()):
            raise ValueError("filter table contains NaN or Inf weights")
        bits = meta.get("quantization_bits")
        template = DeconvFilter(
            meta["basis"],
            meta["basis_params"],
            coefficients[0, 0],
            weights[0, 0],
            terms,
            gaussian(sigmas[0]),
            total_noise(noises[0], bits),
            meta["objective"],
            meta["prior"],
        )
        return cls(template, sigmas, noises, coefficients, weights, bits)

    def __repr__(self) -> str:
        return (
            f"FilterTable(basis={self.template.basis!r}, sigmas={self.sigmas.size} in "
            f"[{self.sigmas[0]:g}, {self.sigmas[-1]:g}], noises={self.noises.size} in "
            f"[{self.noises[0]:g}, {self.noises[-1]:g}], terms={len(self.terms)})"
        )
