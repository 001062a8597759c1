"""Proximal steps of the image priors: total variation and the hyper-Laplacian ``|∇x|^α``.

``prox(v, t) = argmin_w φ(w) + (w − v)² / (2t)``, element- (TV: pixel-) wise.

The hyper-Laplacian step (Krishnan & Fergus, NIPS 2009) uses a lookup table, made scale-free:
with ``c = t^(1/(2−α))``, ``w = c · z*(v/c)`` where ``z*(s) = argmin |z|^α + (z − s)²/2``
depends on α only. ``z*`` is 0 below a threshold τ (found by bisection) and above it the
larger root of ``z + α z^(α−1) = s`` (bisection once per α on a 4096-point grid from τ,
then interpolated; beyond the grid, ``s − α s^(α−1)``, the root to first order).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["hyper_laplacian_prox", "tv_prox"]

#: The table's range of s = v / c and its size.
LUT_END = 64.0
LUT_SIZE = 4096
#: The per-pixel lookup's cells (nearest cell; z* changes by < 2e-3 per cell of s).
LOOKUP_SIZE = 32768


def tv_prox(gy: Any, gx: Any, t: float, xp: Any) -> tuple[Any, Any]:
    """Isotropic TV: shrink the gradient vector's length by ``t`` (never past 0)."""
    length = xp.sqrt(gy * gy + gx * gx)
    factor = xp.maximum(1.0 - t / xp.maximum(length, 1e-30), 0.0).astype(gy.dtype)
    return gy * factor, gx * factor


def _root(s: np.ndarray, alpha: float) -> np.ndarray:
    """The larger root of ``z + α z^(α−1) = s`` (``z0`` where there is none)."""
    z0 = (alpha * (1.0 - alpha)) ** (1.0 / (2.0 - alpha))  # where z + α z^(α−1) is least
    lo = np.full_like(s, z0)
    hi = np.maximum(s, z0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = mid + alpha * mid ** (alpha - 1.0) > s
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return 0.5 * (lo + hi)


def _gain(s: np.ndarray, alpha: float) -> np.ndarray:
    """How much lower the objective is at the root than at z = 0 (> 0: the root wins)."""
    z = _root(s, alpha)
    return 0.5 * s * s - (z**alpha + 0.5 * (z - s) ** 2)


@lru_cache(maxsize=8)
def _table(alpha: float) -> tuple[float, np.ndarray, np.ndarray]:
    """``(τ, s, z*(s))``: the threshold below which z* = 0, and z* on [τ, LUT_END]."""
    lo, hi = np.array([0.0]), np.array([LUT_END])
    for _ in range(80):  # the threshold: where the root starts to beat zero
        mid = 0.5 * (lo + hi)
        wins = _gain(mid, alpha) > 0
        hi = np.where(wins, mid, hi)
        lo = np.where(wins, lo, mid)
    tau = float(hi[0])
    s = np.linspace(tau, LUT_END, LUT_SIZE)
    return tau, s, _root(s, alpha)


@lru_cache(maxsize=8)
def _lookup(alpha: float, dtype: str) -> tuple[float, float, np.ndarray]:
    """``(τ, step, table)``: ``table[0] = 0`` (below τ), then z* at τ + (i − ½)·step."""
    tau, s_grid, z_grid = _table(alpha)
    step = (s_grid[-1] - s_grid[0]) / (LOOKUP_SIZE - 1)
    fine = np.interp(tau + (np.arange(LOOKUP_SIZE) + 0.5) * step, s_grid, z_grid)
    return tau, step, np.concatenate([[0.0], fine]).astype(dtype)


_DEVICE_TABLES: dict[tuple[Any, ...], Any] = {}
_DEVICE_TABLES_LOCK = threading.Lock()


def _table_on(xp: Any, alpha: float, dtype: str) -> Any:
    """The lookup table in ``xp``'s memory: uploaded once per device, not per call."""
    table = _lookup(alpha, dtype)[2]
    if xp is np:
        return table
    device = getattr(getattr(xp, "cuda", None), "Device", None)
    key = (xp.__name__, device().id if device is not None else 0, alpha, dtype)
    with _DEVICE_TABLES_LOCK:
        if key not in _DEVICE_TABLES:
            _DEVICE_TABLES[key] = xp.asarray(table)
        return _DEVICE_TABLES[key]


def hyper_laplacian_prox(v: Any, t: float, alpha: float, xp: Any) -> Any:
    """Element-wise prox of ``|w|^α`` with weight ``t`` (0 < α < 1).

    One gather from a fine table (:data:`LOOKUP_SIZE` cells, the cell's midpoint value)
    and a few in-place passes: this runs twice per iteration on every pixel.
    """
    if t <= 0:
        return v
    kind = v.dtype.type
    tau, step, _ = _lookup(float(alpha), v.dtype.str)
    c = t ** (1.0 / (2.0 - alpha))
    s = xp.abs(v)
    s *= kind(1.0 / c)  # s = |v| / c: the scale-free argument
    position = s * kind(1.0 / step)
    position -= kind(tau / step - 1.0)  # below τ → < 1 → cell 0 (z* = 0)
    xp.clip(position, 0.0, LOOKUP_SIZE, out=position)
    z = _table_on(xp, float(alpha), v.dtype.str)[position.astype(xp.int32)]
    far = s > LUT_END
    if xp is np:  # beyond the table: the root to first order, where it is needed
        if far.any():
            s_far = s[far]
            z[far] = s_far - alpha * s_far ** (alpha - 1.0)
    else:  # on a device, a pass over every pixel costs less than a sync to ask first
        z = xp.where(far, s - alpha * xp.maximum(s, kind(LUT_END)) ** (alpha - 1.0), z)
    z *= kind(c)
    return xp.copysign(z, v, out=z)
