"""``DeconvFilter``: what the fitter produces — coefficients, weights and separable terms.

A filter is a weighted sum of separable terms, ``F x = Σ_j w_j (ky_j ⊗ kx_j) x``: for the
Gaussian–Laplacian basis the terms are Gaussians (``G_0 = δ``), for à-trous the cumulative
comb low-passes, for a FIR one separable pair or a few SVD terms. Only the weights depend
on the blur, so per-frame code keeps the terms and swaps weights. How a backend applies
them is :class:`gpudeconv.backends.plan.FilterPlan`; the float64 definition of applying
one is :func:`gpudeconv.reference.apply_reference`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..spectra import terms_response
from .bases import BASES
from .diagnostics import diagnose

__all__ = ["SCHEMA", "SCHEMA_VERSION", "DeconvFilter", "dense_kernel"]

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
        Symmetric, odd-length 1-D taps of each separable term.
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

    # ------------------------------------------------------------------ evaluation
    def response(self, wy: Any, wx: Any) -> np.ndarray:
        """Frequency response ``F(wy, wx)`` (real, zero phase); arrays broadcast.

        Rows first, as everywhere in :mod:`gpudeconv.spectra`.
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
    def from_json(cls, text: str) -> DeconvFilter:
        """Load and validate a filter written by :meth:`to_json`."""
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise InvalidArgumentError(f"filter JSON is not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise InvalidArgumentError("filter JSON must be an object")
        if doc.get("schema") != SCHEMA:
            raise InvalidArgumentError(
                f"filter JSON schema is {doc.get('schema')!r}; expected {SCHEMA!r}"
            )
        if doc.get("version") != SCHEMA_VERSION:
            raise InvalidArgumentError(
                f"filter JSON version {doc.get('version')!r} is not supported; "
                f"this gpudeconv reads version {SCHEMA_VERSION}"
            )
        required = (
            "basis",
            "basis_params",
            "objective",
            "prior",
            "noise",
            "coefficients",
            "weights",
            "terms",
            "psf",
        )
        missing = [k for k in required if k not in doc]
        if missing:
            raise InvalidArgumentError(f"filter JSON is missing fields {missing}")
        BASES.check(doc["basis"])
        try:
            terms = tuple(
                (_finite_vector(t["y"], "terms.y"), _finite_vector(t["x"], "terms.x"))
                for t in doc["terms"]
            )
        except (TypeError, KeyError):
            raise InvalidArgumentError(
                "filter JSON field 'terms' must be a list of {'y': [...], 'x': [...]}"
            ) from None
        noise = doc["noise"]
        if not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
            raise InvalidArgumentError(
                f"filter JSON field 'noise' must be a finite number >= 0; got {noise!r}"
            )
        from ..psf import from_array

        return cls(
            basis=doc["basis"],
            basis_params=dict(doc["basis_params"]),
            coefficients=_finite_vector(doc["coefficients"], "coefficients"),
            weights=_finite_vector(doc["weights"], "weights"),
            terms=terms,
            psf=from_array(doc["psf"]),
            noise=float(noise),
            objective=str(doc["objective"]),
            prior=str(doc["prior"]),
            extra=dict(doc.get("extra", {})),
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


def _finite_vector(values: Any, name: str) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"filter JSON field {name!r} must be a list of numbers"
        ) from None
    if a.ndim != 1 or a.size == 0 or not np.isfinite(a).all():
        raise InvalidArgumentError(
            f"filter JSON field {name!r} must be a non-empty list of finite numbers"
        )
    return a
