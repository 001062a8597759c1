"""What every backend applies: a filter's separable terms as taps, plus weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fit.filter import DeconvFilter

__all__ = ["FilterPlan"]


@dataclass(frozen=True)
class FilterPlan:
    """Taps of each separable term ``ky_j ⊗ kx_j`` (term 0 may be the identity)."""

    taps_y: tuple[np.ndarray, ...]
    taps_x: tuple[np.ndarray, ...]
    #: Per-term factor ``Σky·Σkx`` (float64 taps) / the same of the rounded taps: weights
    #: are multiplied by it, so rounding the taps never changes a term's response to a
    #: constant (the weights reach the hundreds; 1e-7 in a tap sum would show). 1 for
    #: terms whose taps sum to zero (oriented derivative bands).
    dc_scale: np.ndarray
    #: ``F(0)`` of the filter in float64: what a constant frame is multiplied by.
    dc_terms: np.ndarray

    @classmethod
    def from_filter(cls, filt: DeconvFilter, dtype: type = np.float32) -> FilterPlan:
        """Plan the terms of ``filt`` in ``dtype`` (weights are set separately, per frame)."""
        ty = tuple(np.ascontiguousarray(ky, dtype=dtype) for ky, _ in filt.terms)
        tx = tuple(np.ascontiguousarray(kx, dtype=dtype) for _, kx in filt.terms)
        exact = np.array([float(ky.sum()) * float(kx.sum()) for ky, kx in filt.terms])
        rounded = np.array(
            [
                float(a.sum(dtype=np.float64)) * float(b.sum(dtype=np.float64))
                for a, b in zip(ty, tx, strict=True)
            ]
        )
        # Zero-DC terms (derivatives) have nothing to preserve: their scale stays 1.
        safe = np.where(rounded != 0.0, rounded, 1.0)
        scale = np.where((exact != 0.0) & (rounded != 0.0), exact / safe, 1.0)
        return cls(ty, tx, scale, exact)

    def weights(self, weights: np.ndarray) -> np.ndarray:
        """Float64 weights to apply with the rounded taps (``dc_scale`` folded in)."""
        return np.asarray(weights, dtype=np.float64) * self.dc_scale

    def dc_gain(self, weights: np.ndarray) -> float:
        """``F(0) = Σ_j w_j Σky_j Σkx_j`` in float64 (1 for band bases)."""
        return float(np.dot(np.asarray(weights, dtype=np.float64), self.dc_terms))

    @property
    def size(self) -> int:
        """Number of terms (and of weights)."""
        return len(self.taps_y)

    @property
    def radius(self) -> tuple[int, int]:
        """Largest half-size ``(ry, rx)`` over the terms."""
        return max(t.size // 2 for t in self.taps_y), max(t.size // 2 for t in self.taps_x)

    def is_identity(self, j: int) -> bool:
        """True when term ``j`` is the 1×1 identity (a scaled copy, no filtering)."""
        return self.taps_y[j].size == 1 and self.taps_x[j].size == 1

    def same_terms(self, other: FilterPlan) -> bool:
        """Whether two plans filter with identical taps (then only weights differ)."""
        return self.size == other.size and all(
            np.array_equal(a, b)
            for a, b in zip(self.taps_y + self.taps_x, other.taps_y + other.taps_x, strict=True)
        )
