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

With ``luma_only`` the block's luma is computed once from the decoded channels, only it
is filtered, and its change joins every channel on the way to the encode table.

Terms with antisymmetric taps (the derivative bands of oriented à-trous, which the auto
table uses) read vertical *differences* ``x[y+r] − x[y−r]`` and horizontal ones likewise.

Used by :class:`~gpudeconv.engine.backends.cpu.CpuBackend` for uint8 frames of 1 or 3 channels
(no alpha) whose terms are each symmetric or antisymmetric along each axis (every basis
has such terms), when Numba is installed. Compiled once per machine (``cache=True``;
~10 s the first time), ``nogil`` so the backend's own thread pool runs the strips side by
side.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from ...core.colour import linear_to_srgb
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
    #: (T, 2): +1 where the term's taps along y / x are symmetric, −1 antisymmetric
    #: (the derivative bands of oriented à-trous: they read differences, not sums).
    parity: np.ndarray
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
        rows_y, rows_x, radii, parity, identity = [], [], [], [], 0.0
        for j in range(plan.size):
            ky = np.asarray(plan.taps_y[j], np.float64)
            kx = np.asarray(plan.taps_x[j], np.float64)
            if plan.is_identity(j):
                identity += float(applied[j]) * float(ky[0] * kx[0])
                continue
            signs = (_parity(ky), _parity(kx))
            if ky.size != kx.size or 0 in signs:
                return None
            r = ky.size // 2
            rows_y.append((r, ky[r:]))
            rows_x.append((r, kx[r:] * applied[j]))
            radii.append(r)
            parity.append(signs)
        radius = max(radii, default=0)
        taps_y = np.zeros((len(radii), radius + 1), np.float32)
        taps_x = np.zeros((len(radii), radius + 1), np.float32)
        for j, ((r, half_y), (_, half_x)) in enumerate(zip(rows_y, rows_x, strict=True)):
            taps_y[j, : r + 1] = half_y
            taps_x[j, : r + 1] = half_x
        signs = np.array(parity, np.int64).reshape(-1, 2)
        return cls(taps_y, taps_x, np.array(radii, np.int64), signs, identity, radius)


def _parity(taps: np.ndarray) -> int:
    """+1 for symmetric taps, −1 for antisymmetric ones, 0 otherwise (or an even length)."""
    if taps.size % 2 == 0:
        return 0
    if np.array_equal(taps, taps[::-1]):
        return 1
    return -1 if np.array_equal(taps, -taps[::-1]) else 0


def border_map(n: int, radius: int, border: int) -> np.ndarray:
    """Source index of every position ``-radius … n + radius − 1`` under OpenCV's ``border``."""
    return np.array(
        [cv2.borderInterpolate(i, n, border) for i in range(-radius, n + radius)], np.int64
    )


def scratch_shapes(plan: FusedPlan, width: int, channels: int, luma: bool) -> dict[str, tuple]:
    """Shapes of the float32 buffers one strip needs (reused frame after frame)."""
    r, t = plan.radius, plan.radii.size
    filtered = 1 if luma else channels  # the luma path filters one plane
    values = width * filtered
    shapes = {
        "fused_decoded": (BLOCK_ROWS + 2 * r, width * channels),
        "fused_pairs": (2 * r + 1, values),  # sums, then differences
        "fused_terms": (max(t, 1), values + 2 * r * filtered),
        "fused_acc": (1, values),
    }
    if luma:
        shapes["fused_luma"] = (BLOCK_ROWS + 2 * r, width)
    return shapes


def run_rows(
    frame: np.ndarray,
    out: np.ndarray,
    rows: tuple[int, int],
    plan: FusedPlan,
    tables: tuple[np.ndarray, np.ndarray],
    level: float,
    maps: tuple[np.ndarray, np.ndarray],
    scratch: dict[str, np.ndarray],
    luma: np.ndarray | None = None,
) -> None:
    """Restore rows ``rows[0]…rows[1]`` of ``frame`` (H, W·C uint8) into ``out``.

    ``tables`` are the decode table (centred working values) and :func:`encode_table`;
    ``level`` is what the centring took away, times ``F(0)``. With ``luma`` (the weights
    of the frame's three channels) only the luma is filtered and its change added to
    every channel, as ``luma_only`` does.
    """
    common = (
        plan.taps_y,
        plan.taps_x,
        plan.radii,
        plan.parity,
        np.float32(plan.identity),
        np.float32(level),
        tables[1],
        maps[0],
        maps[1],
        scratch["fused_decoded"],
        scratch["fused_pairs"],
        scratch["fused_terms"],
        scratch["fused_acc"][0],
    )
    kernels = _kernels()
    if luma is None:
        kernels[0](frame, out, rows[0], rows[1], tables[0], *common)
    else:
        weights = np.asarray(luma, np.float32)
        kernels[1](frame, out, rows[0], rows[1], tables[0], *common, scratch["fused_luma"], weights)


@lru_cache(maxsize=1)
def _kernels() -> tuple[Any, Any]:
    """The compiled kernels (compiled, or loaded from Numba's cache, on first use).

    Every loop runs over a row *view* with unit stride: LLVM vectorises those (index
    arithmetic on one flat array measured 8x slower: it cannot prove the rows apart).
    """
    from numba import njit

    jit = njit(cache=True, fastmath=True, nogil=True)

    @jit
    def decode_rows(frame, ymap, first, count, table, decoded):
        """``decoded[i] = table[frame[ymap[first + i]]]`` for i < count."""
        for i in range(count):
            src, dst = frame[ymap[first + i]], decoded[i]
            for k in range(src.shape[0]):
                dst[k] = table[src[k]]

    @jit
    def filter_row(
        plane, centre, taps_y, taps_x, radii, parity, identity, xmap, pairs, terms, acc
    ):  # fmt: skip
        """``acc = F(plane)`` at row ``centre`` of the decoded block ``plane`` (rows × W·C)."""
        values = acc.shape[0]
        count, r_max = taps_y.shape[0], taps_y.shape[1] - 1
        width = xmap.shape[0] - 2 * r_max
        channels = values // width
        rc = r_max * channels
        pairs[0, :] = plane[centre]
        odd = False  # any antisymmetric vertical taps: they read differences
        for j in range(count):
            odd = odd or parity[j, 0] < 0
        for r in range(1, r_max + 1):  # vertical sums (and differences), shared by all
            p, up, down = pairs[r], plane[centre - r], plane[centre + r]
            for k in range(values):
                p[k] = down[k] + up[k]
            if odd:
                d = pairs[r_max + r]
                for k in range(values):
                    d[k] = down[k] - up[k]
        for j in range(count):  # each term's vertical pass, then its border columns
            v, t0, p0 = terms[j, rc : rc + values], taps_y[j, 0], pairs[0]
            for k in range(values):
                v[k] = t0 * p0[k]  # an antisymmetric term's centre tap is 0
            shift = 0 if parity[j, 0] > 0 else r_max
            for r in range(1, radii[j] + 1):
                tr = taps_y[j, r]
                if tr != 0.0:
                    p = pairs[shift + r]
                    for k in range(values):
                        v[k] += tr * p[k]
            row = terms[j]
            for x in range(r_max):
                for c in range(channels):
                    row[x * channels + c] = row[(xmap[x] + r_max) * channels + c]
                    far = width + r_max + x
                    row[far * channels + c] = row[(xmap[far] + r_max) * channels + c]
        here = plane[centre]
        for k in range(values):
            acc[k] = identity * here[k]
        for j in range(count):  # horizontal passes, weights folded in, into one row
            mid, t0 = terms[j, rc : rc + values], taps_x[j, 0]
            for k in range(values):
                acc[k] += t0 * mid[k]
            for r in range(1, radii[j] + 1):
                tr = taps_x[j, r]
                if tr != 0.0:
                    right = terms[j, rc + r * channels : rc + r * channels + values]
                    left = terms[j, rc - r * channels : rc - r * channels + values]
                    if parity[j, 1] > 0:
                        for k in range(values):
                            acc[k] += tr * (right[k] + left[k])
                    else:
                        for k in range(values):
                            acc[k] += tr * (right[k] - left[k])

    @jit
    def encode_value(value, level, encode):
        top = np.float32(encode.shape[0] - 1)
        index = (value + level) * top + np.float32(0.5)
        return encode[int(min(max(index, np.float32(0.0)), top))]

    @jit
    def colour_rows(
        frame, out, y_start, y_stop, decode, taps_y, taps_x, radii, parity, identity, level,
        encode, ymap, xmap, decoded, pairs, terms, acc,
    ):  # fmt: skip
        r_max = taps_y.shape[1] - 1
        block = decoded.shape[0] - 2 * r_max
        for b0 in range(y_start, y_stop, block):
            b1 = min(y_stop, b0 + block)
            decode_rows(frame, ymap, b0, b1 - b0 + 2 * r_max, decode, decoded)
            for y in range(b0, b1):
                filter_row(
                    decoded, y - b0 + r_max, taps_y, taps_x, radii, parity, identity, xmap,
                    pairs, terms, acc,
                )  # fmt: skip
                o = out[y]
                for k in range(o.shape[0]):
                    o[k] = encode_value(acc[k], level, encode)

    @jit
    def luma_rows(
        frame, out, y_start, y_stop, decode, taps_y, taps_x, radii, parity, identity, level,
        encode, ymap, xmap, decoded, pairs, terms, acc, luma, weights,
    ):  # fmt: skip
        # colour = working + F(Y) − Y + level, Y the luma of the working values.
        r_max = taps_y.shape[1] - 1
        block = decoded.shape[0] - 2 * r_max
        width = luma.shape[1]
        for b0 in range(y_start, y_stop, block):
            b1 = min(y_stop, b0 + block)
            rows = b1 - b0 + 2 * r_max
            decode_rows(frame, ymap, b0, rows, decode, decoded)
            for i in range(rows):
                src, dst = decoded[i], luma[i]
                for x in range(width):
                    dst[x] = (
                        weights[0] * src[3 * x]
                        + weights[1] * src[3 * x + 1]
                        + weights[2] * src[3 * x + 2]
                    )
            for y in range(b0, b1):
                centre = y - b0 + r_max
                filter_row(
                    luma, centre, taps_y, taps_x, radii, parity, identity, xmap, pairs, terms,
                    acc,
                )  # fmt: skip
                here, y_row, o = decoded[centre], luma[centre], out[y]
                for x in range(width):
                    delta = acc[x] - y_row[x]
                    for c in range(3):
                        o[3 * x + c] = encode_value(here[3 * x + c] + delta, level, encode)

    return colour_rows, luma_rows
