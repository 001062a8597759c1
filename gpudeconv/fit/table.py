"""``FilterTable``: fitted weights over a grid of blur sizes × noise levels.

All cells share one set of separable terms, so moving a slider, or a per-pixel blur map,
changes only the weights: no new filters, no recompilation.
"""

from __future__ import annotations

import inspect
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core._validate import check_choice, check_real
from ..core.psf import MAX_PSF_RADIUS, gaussian
from ..core.spectra import PRIORS, total_noise
from ..errors import InvalidArgumentError, InvalidTypeError
from .bases import BASES, TableGrid
from .filter import MAX_WEIGHT, DeconvFilter, FilterDocument, FilterFileError
from .objectives import OBJECTIVES, least_squares_target
from .problem import Problem
from .solve import solve_weighted

__all__ = ["FilterTable"]

TABLE_SCHEMA = "gpudeconv.filter-table"
TABLE_VERSION = 1
#: Bases whose terms do not depend on the fit: one set of terms serves every cell.
TABLE_BASES = BASES.names_where(lambda b: b.tabulable)
FAMILIES = ("gaussian",)
#: Most cells a table is fitted for (about 20 µs each: a few seconds at most).
MAX_CELLS = 100_000
#: Largest blur a table may hold: a Gaussian PSF must fit in the largest PSF.
MAX_TABLE_SIGMA = MAX_PSF_RADIUS / 4
_ARRAYS = ("sigmas", "noises", "coefficients", "weights")


def _axis(name: str, values: Any) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64).ravel()
    if a.size == 0:
        raise InvalidArgumentError(f"{name} is empty; give at least one grid value")
    if not np.isfinite(a).all():
        raise InvalidArgumentError(f"{name} contains NaN or Inf")
    if a.size > 1 and np.any(np.diff(a) <= 0):
        raise InvalidArgumentError(f"{name} must be strictly increasing; got {a.tolist()}")
    return a


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
        spec = BASES[BASES.check(basis, allowed=TABLE_BASES)]
        check_choice("objective", objective, OBJECTIVES)
        sigmas = _axis("sigmas", sigmas)
        noises = _axis("noises", noises)
        for s in sigmas:
            check_real("sigmas", s, positive=True)
        if sigmas.size * noises.size > MAX_CELLS:
            raise InvalidArgumentError(
                f"a table of {sigmas.size} x {noises.size} cells is too large; at most "
                f"{MAX_CELLS} cells (each is a fit)"
            )
        totals = [total_noise(n, quantization_bits) for n in noises]
        known = tuple(
            p.name
            for p in inspect.signature(spec.table).parameters.values()
            if p.kind is p.KEYWORD_ONLY
        )
        unknown = sorted(set(basis_options) - set(known))
        if unknown:
            raise InvalidTypeError(
                f"a table of basis {basis!r} does not take the options {unknown}; "
                f"its options are {known}"
            )
        table_basis = spec.table(TableGrid(sigmas, noises, prior), **basis_options)
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
            raise InvalidArgumentError(
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
            raise InvalidArgumentError(f"table file must end in .npz or .json; got {str(path)!r}")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> FilterTable:
        """Read a table written by :meth:`save`, validating every field.

        A file that is not a valid table — unreadable, malformed, tampered with (unknown
        names, NaN or absurd weights, shapes that disagree) — raises
        :class:`~gpudeconv.fit.filter.FilterFileError` naming the file and the field.
        """
        path = Path(path)
        source = f"filter table {str(path)!r}"
        if not path.is_file():
            raise FilterFileError(source, "does not exist")
        if path.suffix not in (".npz", ".json"):
            raise FilterFileError(source, "must end in .npz or .json")
        try:
            if path.suffix == ".npz":  # our own handle: NumPy leaks its own on a bad zip
                with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
                    doc = json.loads(str(data["meta"]))
                    arrays = {k: data[k] for k in _ARRAYS if k in data}
            else:
                doc = json.loads(path.read_text())
                arrays = {k: doc[k] for k in _ARRAYS if isinstance(doc, dict) and k in doc}
        except (KeyError, OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
            # ValueError covers bad JSON, pickled objects and broken .npy headers.
            raise FilterFileError(source, f"cannot be read: {type(exc).__name__}: {exc}") from None
        return cls._from_parts(FilterDocument(doc, source, TABLE_SCHEMA, TABLE_VERSION), arrays)

    @classmethod
    def _from_parts(cls, fields: FilterDocument, arrays: dict[str, Any]) -> FilterTable:
        missing = [k for k in _ARRAYS if k not in arrays]
        if missing:
            raise FilterFileError(fields.source, f"is missing the arrays {missing}")
        sigmas = fields.array("sigmas", arrays["sigmas"], ndim=1, bound=MAX_TABLE_SIGMA)
        noises = fields.array("noises", arrays["noises"], ndim=1, bound=1.0)
        coefficients = fields.array(
            "coefficients", arrays["coefficients"], ndim=3, bound=MAX_WEIGHT
        )
        weights = fields.array("weights", arrays["weights"], ndim=3, bound=MAX_WEIGHT)
        try:
            sigmas, noises = _axis("sigmas", sigmas), _axis("noises", noises)
            if (sigmas <= 0).any() or (noises < 0).any():
                raise InvalidArgumentError("sigmas must be > 0 and noises >= 0")
        except InvalidArgumentError as exc:
            raise FilterFileError(fields.source, f"has a bad grid: {exc}") from None
        terms = fields.terms()
        if coefficients.shape[:2] != (sigmas.size, noises.size) or weights.shape != (
            sigmas.size,
            noises.size,
            len(terms),
        ):
            raise FilterFileError(
                fields.source,
                "has arrays that do not match its grid and terms: "
                f"coefficients {coefficients.shape}, weights {weights.shape}, "
                f"grid {(sigmas.size, noises.size)}, {len(terms)} terms",
            )
        bits = fields.doc.get("quantization_bits")
        if bits is not None:
            bits = int(fields.number("quantization_bits", 1, 32))
        template = DeconvFilter(
            fields.choice("basis", TABLE_BASES),
            fields.mapping("basis_params"),
            coefficients[0, 0],
            weights[0, 0],
            terms,
            gaussian(sigmas[0]),
            total_noise(noises[0], bits),
            fields.choice("objective", OBJECTIVES),
            fields.choice("prior", PRIORS),
        )
        return cls(template, sigmas, noises, coefficients, weights, bits)

    def __repr__(self) -> str:
        return (
            f"FilterTable(basis={self.template.basis!r}, sigmas={self.sigmas.size} in "
            f"[{self.sigmas[0]:g}, {self.sigmas[-1]:g}], noises={self.noises.size} in "
            f"[{self.noises[0]:g}, {self.noises[-1]:g}], terms={len(self.terms)})"
        )
