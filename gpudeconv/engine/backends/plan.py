"""What every backend applies: a filter's separable terms as taps, plus weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...fit.filter import DeconvFilter

__all__ = ["CENTRE_SAMPLES", "INT_CENTRE", "FilterPlan", "dc_corrected", "float_level"]


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


#: Centre of integer frames' working values (baked into the decode tables).
INT_CENTRE = 0.5
#: Samples per axis of the grid the centring level of a float frame is taken from.
CENTRE_SAMPLES = 16


def float_level(frame: np.ndarray, channels: int, colour: int) -> np.ndarray:
    """Per colour channel centring level of a float frame: the median of a sparse sample.

    ``frame`` is (H, W) or (H, W, ``channels``); float64, one value per colour channel.
    """
    h, w = frame.shape[:2]
    sample = frame[:: max(1, h // CENTRE_SAMPLES), :: max(1, w // CENTRE_SAMPLES)]
    sample = sample.reshape(-1, channels)[:, :colour]
    return np.median(sample.astype(np.float64), axis=0)


def dc_corrected(dense: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``dense`` rounded to ``dtype`` with its centre tap adjusted so the taps' sum is kept."""
    rounded = dense.astype(dtype)
    cy, cx = dense.shape[0] // 2, dense.shape[1] // 2
    rounded[cy, cx] += dtype.type(dense.sum() - rounded.astype(np.float64).sum())
    return rounded
