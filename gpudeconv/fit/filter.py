"""``DeconvFilter``: what the fitter produces — coefficients, weights and separable terms.

A filter is a weighted sum of separable terms, ``F x = Σ_j w_j (ky_j ⊗ kx_j) x``: for the
Gaussian–Laplacian basis the terms are Gaussians (``G_0 = δ``), for à-trous the cumulative
comb low-passes, for a FIR one separable pair or a few SVD terms. Only the weights depend
on the blur, so per-frame code keeps the terms and swaps weights. How a backend applies
them is :class:`gpudeconv.engine.backends.plan.FilterPlan`; the float64 definition of applying
one is :func:`gpudeconv.restoration.reference.apply_reference`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..core.psf import MAX_PSF_SIDE, from_array
from ..core.spectra import PRIORS, taps_parity, terms_response
from ..errors import InvalidArgumentError
from .bases import BASES, MAX_TERMS
from .diagnostics import diagnose
from .objectives import OBJECTIVES

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "DeconvFilter",
    "FilterDocument",
    "FilterFileError",
    "dense_kernel",
]

SCHEMA = "gpudeconv.filter"
SCHEMA_VERSION = 1


def dense_kernel(weights: Any, taps_y: Any, taps_x: Any) -> np.ndarray:
    """``Σ_j w_j ky_j ⊗ kx_j`` on a common centred grid, in float64."""
    ry = max(t.size // 2 for t in taps_y)
    rx = max(t.size // 2 for t in taps_x)
    dense = np.zeros((2 * ry + 1, 2 * rx + 1))
    for w, ky, kx in zip(weights, taps_y, taps_x, strict=True):
        oy, ox = ry - ky.size // 2, rx - kx.size // 2
        dense[oy : oy + ky.size, ox : ox + kx.size] += w * np.outer(ky, kx)
    return dense


def _frozen(a: Any) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class DeconvFilter:
    """A fitted restoration filter ``F = Σ_j w_j (ky_j ⊗ kx_j)``.

    Parameters
    ----------
    basis : str
        ``'gauss-lap'``, ``'atrous'``, ``'fir'`` or ``'unsharp'``.
    basis_params : dict
        What defines the basis (sigmas, levels, radius, …), JSON-serialisable.
    coefficients : (K,) ndarray
        The fitted coefficients ``c`` of ``F = 1 + Σ c_j L_j`` (band form).
    weights : (T,) ndarray
        Per-term weights ``w`` of ``F x = Σ w_j (ky_j ⊗ kx_j) x``: what kernels apply.
    terms : tuple of (ky, kx)
        Odd-length 1-D taps of each separable term: both symmetric, or both
        antisymmetric (``g' ⊗ g'``), so that every term has zero phase.
    psf : ndarray
        The blur the filter was fitted for.
    noise : float
        Total noise std it was fitted for (quantisation included).
    objective, prior : str
        How it was fitted.
    """

    basis: str
    basis_params: dict[str, Any]
    coefficients: np.ndarray
    weights: np.ndarray
    terms: tuple[tuple[np.ndarray, np.ndarray], ...]
    psf: np.ndarray
    noise: float
    objective: str = "mse"
    prior: str = "natural"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "coefficients", _frozen(self.coefficients))
        object.__setattr__(self, "weights", _frozen(self.weights))
        object.__setattr__(self, "psf", _frozen(self.psf))
        object.__setattr__(self, "terms", tuple((_frozen(y), _frozen(x)) for y, x in self.terms))
        if len(self.terms) != self.weights.size:
            raise InvalidArgumentError(
                f"weights has {self.weights.size} entries but there are {len(self.terms)} terms"
            )
        for ky, kx in self.terms:
            for taps in (ky, kx):
                if taps.ndim != 1 or taps.size % 2 == 0:
                    raise InvalidArgumentError(
                        f"term taps must be 1-D of odd length; got {taps.shape}"
                    )
            if taps_parity(ky) * taps_parity(kx) != 1:
                raise InvalidArgumentError(
                    "each term's taps must be both symmetric or both antisymmetric (a "
                    "zero-phase filter); got a term that would shift the image"
                )

    # ------------------------------------------------------------------ evaluation
    def response(self, wy: Any, wx: Any) -> np.ndarray:
        """Frequency response ``F(wy, wx)`` (real, zero phase); arrays broadcast.

        Rows first, as everywhere in :mod:`gpudeconv.core.spectra`.
        """
        return terms_response(self.weights, self.terms, wy, wx)

    @property
    def dc_gain(self) -> float:
        """``F(0)``: what a constant image is multiplied by (1 for every fitted basis)."""
        return float(
            sum(
                w * ky.sum() * kx.sum()
                for w, (ky, kx) in zip(self.weights, self.terms, strict=True)
            )
        )

    @property
    def radius(self) -> tuple[int, int]:
        """Half-size ``(ry, rx)`` of the dense equivalent kernel."""
        return (
            max(ky.size // 2 for ky, _ in self.terms),
            max(kx.size // 2 for _, kx in self.terms),
        )

    def kernel(self) -> np.ndarray:
        """Dense 2-D equivalent kernel (exact: the sum of the terms' outer products)."""
        return dense_kernel(
            self.weights, [ky for ky, _ in self.terms], [kx for _, kx in self.terms]
        )

    @cached_property
    def diagnostics(self) -> dict[str, float]:
        """Fit quality against the Wiener target; computed on first use (see ``diagnose``)."""
        return diagnose(self)

    # ------------------------------------------------------------------ serialisation
    def to_json(self) -> str:
        """Serialise (schema ``gpudeconv.filter`` v1); floats round-trip exactly."""
        doc = {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "basis": self.basis,
            "basis_params": self.basis_params,
            "objective": self.objective,
            "prior": self.prior,
            "noise": self.noise,
            "coefficients": self.coefficients.tolist(),
            "weights": self.weights.tolist(),
            "terms": [{"y": ky.tolist(), "x": kx.tolist()} for ky, kx in self.terms],
            "psf": self.psf.tolist(),
            "extra": self.extra,
        }
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str, *, source: str = "filter JSON") -> DeconvFilter:
        """Load and validate a filter written by :meth:`to_json`.

        Every field is checked (known names, finite and bounded numbers, consistent
        shapes); a bad one raises :class:`FilterFileError` naming ``source`` and the field.
        """
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            raise FilterFileError(source, f"is not valid JSON: {exc}") from None
        fields = FilterDocument(doc, source, SCHEMA, SCHEMA_VERSION)
        return cls(
            basis=fields.choice("basis", BASES.names),
            basis_params=fields.mapping("basis_params"),
            coefficients=fields.vector("coefficients", bound=MAX_WEIGHT),
            weights=fields.vector("weights", bound=MAX_WEIGHT),
            terms=fields.terms(),
            psf=fields.psf(),
            noise=fields.number("noise", 0.0, 1.0),
            objective=fields.choice("objective", OBJECTIVES),
            prior=fields.choice("prior", PRIORS),
            extra=fields.mapping("extra", required=False),
        )

    def same_as(self, other: DeconvFilter) -> bool:
        """True when both filters serialise identically (exact float equality)."""
        return self.to_json() == other.to_json()

    def with_weights(
        self,
        coefficients: np.ndarray,
        weights: np.ndarray,
        *,
        psf: np.ndarray,
        noise: float,
        **extra: Any,
    ) -> DeconvFilter:
        """A filter with the same terms and new weights (what a ``FilterTable`` lookup gives)."""
        return DeconvFilter(
            self.basis,
            self.basis_params,
            coefficients,
            weights,
            self.terms,
            psf,
            noise,
            self.objective,
            self.prior,
            {**self.extra, **extra},
        )

    def __repr__(self) -> str:
        coeffs = ", ".join(f"{c:.4g}" for c in self.coefficients)
        ry, rx = self.radius
        return (
            f"DeconvFilter(basis={self.basis!r}, terms={len(self.terms)}, "
            f"kernel={2 * ry + 1}x{2 * rx + 1}, c=[{coeffs}], noise={self.noise:.4g}, "
            f"objective={self.objective!r}, prior={self.prior!r})"
        )


#: Bounds of what a filter file may hold: far beyond any fit, far below overflow.
MAX_WEIGHT = 1e6
MAX_TAP = 1e3


class FilterFileError(InvalidArgumentError):
    """A filter or table file (or JSON text) that does not hold a valid filter."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source} {problem}")


class FilterDocument:
    """One validation path for every filter file format: JSON filters, JSON and npz tables.

    Each accessor checks one field and raises :class:`FilterFileError` naming the source
    (a file path, or "filter JSON") and the field.
    """

    def __init__(self, doc: Any, source: str, schema: str, version: int) -> None:
        self.source = source
        if not isinstance(doc, dict):
            raise FilterFileError(source, "must be a JSON object")
        if doc.get("schema") != schema:
            raise FilterFileError(source, f"has schema {doc.get('schema')!r}; expected {schema!r}")
        if doc.get("version") != version:
            raise FilterFileError(
                source,
                f"has version {doc.get('version')!r}, which is not supported; this "
                f"gpudeconv reads version {version}",
            )
        self.doc = doc

    def _fail(self, name: str, problem: str) -> FilterFileError:
        return FilterFileError(self.source, f"field {name!r} {problem}")

    def get(self, name: str) -> Any:
        """A required field."""
        if name not in self.doc:
            raise FilterFileError(self.source, f"is missing field {name!r}")
        return self.doc[name]

    def choice(self, name: str, allowed: tuple[Any, ...]) -> Any:
        """A field that must be one of ``allowed``."""
        value = self.get(name)
        if value not in allowed or isinstance(value, bool):
            raise self._fail(name, f"is {value!r}; expected one of {allowed}")
        return value

    def mapping(self, name: str, *, required: bool = True) -> dict[str, Any]:
        """A JSON object field (``{}`` when optional and absent)."""
        if not required and name not in self.doc:
            return {}
        value = self.get(name)
        if not isinstance(value, dict):
            raise self._fail(name, f"must be an object; got {type(value).__name__}")
        return dict(value)

    def number(self, name: str, low: float, high: float) -> float:
        """A finite number in ``[low, high]``."""
        value = self.get(name)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not low <= value <= high
        ):
            raise self._fail(name, f"must be a finite number in [{low}, {high}]; got {value!r}")
        return float(value)

    def array(self, name: str, value: Any, *, ndim: int, bound: float) -> np.ndarray:
        """``value`` as a float64 array of ``ndim`` dimensions, finite, ``|x| <= bound``."""
        try:
            a = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise self._fail(name, "must hold numbers only") from None
        if a.ndim != ndim or a.size == 0:
            raise self._fail(name, f"must be a non-empty {ndim}-D array; got shape {a.shape}")
        if not np.isfinite(a).all() or np.abs(a).max() > bound:
            raise self._fail(name, f"must hold finite numbers with |x| <= {bound:g}")
        return a

    def vector(self, name: str, *, bound: float) -> np.ndarray:
        """A non-empty list of finite, bounded numbers."""
        return self.array(name, self.get(name), ndim=1, bound=bound)

    def terms(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """The separable terms: a list of ``{'y': [...], 'x': [...]}``, odd, bounded."""
        value = self.get("terms")
        if not isinstance(value, list) or not 0 < len(value) <= MAX_TERMS:
            raise self._fail("terms", f"must be a list of 1 to {MAX_TERMS} terms")
        terms = []
        for i, term in enumerate(value):
            if not isinstance(term, dict) or set(term) != {"y", "x"}:
                raise self._fail("terms", f"[{i}] must be {{'y': [...], 'x': [...]}}")
            pair = []
            for axis in ("y", "x"):
                taps = self.array(f"terms[{i}].{axis}", term[axis], ndim=1, bound=MAX_TAP)
                if taps.size % 2 == 0 or taps.size > MAX_PSF_SIDE:
                    raise self._fail(
                        f"terms[{i}].{axis}", f"must have an odd length <= {MAX_PSF_SIDE}"
                    )
                pair.append(taps)
            if taps_parity(pair[0]) * taps_parity(pair[1]) != 1:
                raise self._fail(
                    f"terms[{i}]", "must have both taps symmetric or both antisymmetric"
                )
            terms.append((pair[0], pair[1]))
        return tuple(terms)

    def psf(self) -> np.ndarray:
        """The PSF the filter was fitted for (a valid kernel)."""
        try:
            return from_array(self.array("psf", self.get("psf"), ndim=2, bound=np.inf))
        except InvalidArgumentError as exc:
            raise self._fail("psf", f"is not a valid PSF: {exc}") from None
