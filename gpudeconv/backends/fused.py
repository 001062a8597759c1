"""The CPU's fused path for 8-bit frames: decode, every band and encode in one pass (Numba).

For the most common frame there is — uint8 BGR from a webcam or a video decoder — the
OpenCV strips (``cpu.py``) make a pass per step: a table lookup to float, a dense
``filter2D`` (121 taps per value for the 11×11 gauss-lap kernel of σ = 1), the encode
through ``cv2.pow``. This module does it in one pass over row blocks that stay in cache,
with the filter's own structure: every term is a symmetric separable kernel, so

1. the vertical pairs ``P_r = x[y+r] + x[y−r]`` are summed once and shared by all terms;
2. each term's vertical pass is ``Σ_r ky_j[r]·P_r`` (``r ≤`` its own radius);
3. the horizontal passes fold the weights in and accumulate straight into one row,
   again over pairs ``v[x+r] + v[x−r]``, skipping zero taps (the à-trous combs);
4. the working values come from the decode table and leave through a 65 536-entry encode
   table (``round(code)`` of the level nearest ``v``: ≤ 0.03 code off before rounding, so
   within the 1-LSB contract), with no ``pow`` per value.

For gauss-lap (σ = 1) that is ~40 multiply-adds and ~20 adds per value, against 121
multiply-adds of the dense pass; measured side by side at 1080p on 2 cores
(``python -m bench.cpu_pipeline``, README "CPU speed").

Used by :class:`~gpudeconv.backends.cpu.CpuBackend` for uint8 frames of 1 or 3 channels
without ``luma_only``, whose terms are all symmetric (every basis but oriented à-trous),
when Numba is installed. Compiled once per machine (``cache=True``; ~10 s the first time),
``nogil`` so the backend's own thread pool runs the strips side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from ..colour import linear_to_srgb
from .plan import FilterPlan

__all__ = ["ENCODE_LEVELS", "FusedPlan", "encode_table", "fused_unavailable_reason"]

#: Levels of the encode table: working values in [0, 1] are rounded to the nearest of these.
ENCODE_LEVELS = 1 << 16
#: Rows per block inside a strip: the decoded block and the term rows stay in L2.
BLOCK_ROWS = 32


@lru_cache(maxsize=1)
def fused_unavailable_reason() -> str | None:
    """Why the fused path cannot run here (Numba missing), or None."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return "Numba is not installed (pip install numba)"
    return None


@lru_cache(maxsize=4)
def encode_table(space: str) -> np.ndarray:
    """uint8 code of each of :data:`ENCODE_LEVELS` working levels in [0, 1] (read-only)."""
    levels = np.arange(ENCODE_LEVELS, dtype=np.float64) / (ENCODE_LEVELS - 1)
    coded = linear_to_srgb(levels) if space == "linear" else levels
    table = np.clip(np.round(coded * 255.0), 0, 255).astype(np.uint8)
    table.flags.writeable = False
    return table


@dataclass(frozen=True)
class FusedPlan:
    """A filter plan as the fused kernel takes it: half-kernels, weights folded in."""

    #: (T, R+1): ``ky_j[r]`` for r = 0…R, zero beyond the term's radius.
    taps_y: np.ndarray
    #: (T, R+1): ``w_j · kx_j[r]``.
    taps_x: np.ndarray
    #: (T,) each term's radius.
    radii: np.ndarray
    #: Weight of the identity term(s).
    identity: float
    #: Largest radius R.
    radius: int

    @classmethod
    def of(cls, plan: FilterPlan, applied: np.ndarray) -> FusedPlan | None:
        """The fused form of ``plan`` with ``applied`` weights, or None.

        None when a term is not a symmetric separable kernel of square support (the
        oriented derivative bands).
        """
        rows_y, rows_x, radii, identity = [], [], [], 0.0
        for j in range(plan.size):
            ky = np.asarray(plan.taps_y[j], np.float64)
            kx = np.asarray(plan.taps_x[j], np.float64)
            if plan.is_identity(j):
                identity += float(applied[j]) * float(ky[0] * kx[0])
                continue
            if ky.size != kx.size or not (_symmetric(ky) and _symmetric(kx)):
                return None
            r = ky.size // 2
            rows_y.append((r, ky[r:]))
            rows_x.append((r, kx[r:] * applied[j]))
            radii.append(r)
        radius = max(radii, default=0)
        taps_y = np.zeros((len(radii), radius + 1), np.float32)
        taps_x = np.zeros((len(radii), radius + 1), np.float32)
        for j, ((r, half_y), (_, half_x)) in enumerate(zip(rows_y, rows_x, strict=True)):
            taps_y[j, : r + 1] = half_y
            taps_x[j, : r + 1] = half_x
        return cls(taps_y, taps_x, np.array(radii, np.int64), identity, radius)


def _symmetric(taps: np.ndarray) -> bool:
    return taps.size % 2 == 1 and bool(np.array_equal(taps, taps[::-1]))


def border_map(n: int, radius: int, border: int) -> np.ndarray:
    """Source index of every position ``-radius … n + radius − 1`` under OpenCV's ``border``."""
    return np.array(
        [cv2.borderInterpolate(i, n, border) for i in range(-radius, n + radius)], np.int64
    )


def scratch_shapes(plan: FusedPlan, row_values: int, channels: int) -> dict[str, tuple]:
    """Shapes of the float32 buffers one strip needs (reused frame after frame)."""
    r, t = plan.radius, plan.radii.size
    return {
        "fused_decoded": (BLOCK_ROWS + 2 * r, row_values),
        "fused_pairs": (r + 1, row_values),
        "fused_terms": (max(t, 1), row_values + 2 * r * channels),
        "fused_acc": (1, row_values),
    }


def run_rows(
    frame: np.ndarray,
    out: np.ndarray,
    rows: tuple[int, int],
    plan: FusedPlan,
    decode: np.ndarray,
    level: float,
    encode: np.ndarray,
    maps: tuple[np.ndarray, np.ndarray],
    scratch: dict[str, np.ndarray],
) -> None:
    """Restore rows ``rows[0]…rows[1]`` of ``frame`` (H, W·C uint8) into ``out``."""
    _kernel()(
        frame,
        out,
        rows[0],
        rows[1],
        decode,
        plan.taps_y,
        plan.taps_x,
        plan.radii,
        np.float32(plan.identity),
        np.float32(level),
        encode,
        maps[0],
        maps[1],
        scratch["fused_decoded"],
        scratch["fused_pairs"],
        scratch["fused_terms"],
        scratch["fused_acc"][0],
    )


@lru_cache(maxsize=1)
def _kernel() -> Any:
    """The compiled kernel (compiled, or loaded from Numba's cache, on first use)."""
    from numba import njit

    @njit(cache=True, fastmath=True, nogil=True)
    def fused_rows(
        frame, out, y_start, y_stop, decode, taps_y, taps_x, radii, identity, level,
        encode, ymap, xmap, decoded, pairs, terms, acc,
    ):  # fmt: skip
        # Loops over row *views* with unit stride: LLVM vectorises those (index arithmetic
        # on one flat array measured 8x slower: it cannot prove the rows apart).
        row_values = frame.shape[1]
        count, r_max = taps_y.shape[0], taps_y.shape[1] - 1
        width = xmap.shape[0] - 2 * r_max
        channels = row_values // width
        rc = r_max * channels
        top = np.float32(encode.shape[0] - 1)
        scale = np.float32(encode.shape[0] - 1)
        half = np.float32(0.5)
        zero = np.float32(0.0)
        for b0 in range(y_start, y_stop, decoded.shape[0] - 2 * r_max):
            b1 = min(y_stop, b0 + decoded.shape[0] - 2 * r_max)
            for i in range(b1 - b0 + 2 * r_max):  # decode the block and its halo
                src = frame[ymap[b0 + i]]
                dst = decoded[i]
                for k in range(row_values):
                    dst[k] = decode[src[k]]
            for y in range(b0, b1):
                c0 = y - b0 + r_max
                pairs[0, :] = decoded[c0]
                for r in range(1, r_max + 1):
                    p, up, down = pairs[r], decoded[c0 - r], decoded[c0 + r]
                    for k in range(row_values):
                        p[k] = down[k] + up[k]
                for j in range(count):
                    v = terms[j, rc : rc + row_values]
                    t0, p0 = taps_y[j, 0], pairs[0]
                    for k in range(row_values):
                        v[k] = t0 * p0[k]
                    for r in range(1, radii[j] + 1):
                        tr = taps_y[j, r]
                        if tr != 0.0:
                            p = pairs[r]
                            for k in range(row_values):
                                v[k] += tr * p[k]
                    row = terms[j]  # the row's border columns, as the frame's border
                    for x in range(r_max):
                        for c in range(channels):
                            row[x * channels + c] = row[(xmap[x] + r_max) * channels + c]
                            far = width + r_max + x
                            row[far * channels + c] = row[(xmap[far] + r_max) * channels + c]
                here = decoded[c0]
                for k in range(row_values):
                    acc[k] = identity * here[k]
                for j in range(count):
                    centre = terms[j, rc : rc + row_values]
                    t0 = taps_x[j, 0]
                    for k in range(row_values):
                        acc[k] += t0 * centre[k]
                    for r in range(1, radii[j] + 1):
                        tr = taps_x[j, r]
                        if tr != 0.0:
                            right = terms[j, rc + r * channels : rc + r * channels + row_values]
                            left = terms[j, rc - r * channels : rc - r * channels + row_values]
                            for k in range(row_values):
                                acc[k] += tr * (right[k] + left[k])
                o = out[y]
                for k in range(row_values):
                    value = (acc[k] + level) * scale + half
                    o[k] = encode[int(min(max(value, zero), top))]

    return fused_rows
