"""Block compression (JPEG, MJPEG, most H.264 intra blocks): seen, measured, kept out.

Block codecs quantise each 8×8 block on its own, so their error jumps at the block
boundaries: differences across a boundary are larger than differences inside a block.
On the 16×16 blocks the noise estimator samples (they sit on a 16-pixel grid, so their
middle row and column are 8-pixel boundaries), the excess energy of those differences is
twice the compression error's variance near the boundaries (measured on ``skimage.data``
photographs at JPEG quality 50–90: within ×0.9–1.5 of the true error's std). The
estimator adds it to the noise, so the filter treats compression error like noise — it
does not sharpen the block grid — and leaves the grid's frequencies out of the spectral
fit, where they would read as detail.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core._validate import array_module

__all__ = [
    "BLOCK_RATIO",
    "DEBLOCK_RATIO",
    "block_grid_bins",
    "block_ratio",
    "blockiness",
    "compression_noise",
    "deblock",
]

#: Boundary differences must exceed inside ones by this ratio to count as compression.
BLOCK_RATIO = 1.04


def _boundary_energy(blocks: Any, *, squared: bool = True) -> tuple[float, float]:
    """Mean squared (or absolute) differences across the 8-pixel boundary and inside.

    ``blocks`` is ``(N, 16, 16)``.
    """
    xp = array_module(blocks)
    measure = xp.square if squared else xp.abs
    dx = measure(xp.diff(blocks, axis=2))
    dy = measure(xp.diff(blocks, axis=1))
    across = float((dx[:, :, 7].mean() + dy[:, 7, :].mean()) / 2)
    inside = float(
        (dx.sum() - dx[:, :, 7].sum() + dy.sum() - dy[:, 7, :].sum())
        / (dx.size + dy.size - dx[:, :, 7].size - dy[:, 7, :].size)
    )
    return across, inside


#: A frame whose sampled blocks' mean absolute difference across the 8-pixel boundary exceeds
#: the inside one by this ratio is deblocked before restoring. Sampled ratios on camera-
#: like frames of ``skimage.data`` photographs: 0.95–1.03 stored as PNG (0.98 at most
#: after a blur), 1.07–1.95 as JPEG q90 (but grass, 0.99), 1.00–1.47 as H.264 CRF 18–23.
DEBLOCK_RATIO = 1.05


def block_ratio(luma_blocks: Any) -> float:
    """Mean absolute difference across the 8-pixel boundary of 16×16 blocks over inside (1: none).

    The measure of :func:`blockiness` on the estimator's sampled blocks: absolute
    differences, so strong edges inside the blocks do not drown the grid.
    """
    if luma_blocks.shape[0] == 0:
        return 1.0
    across, inside = _boundary_energy(luma_blocks, squared=False)
    return across / inside if inside > 0 else 1.0


def compression_noise(luma_blocks: Any) -> float:
    """Std of block-compression error from 16×16 luma blocks on the frame's 16-px grid.

    0 when the boundary differences do not stand out (:data:`BLOCK_RATIO`).
    """
    if luma_blocks.shape[0] == 0:
        return 0.0
    across, inside = _boundary_energy(luma_blocks)
    if across <= BLOCK_RATIO * inside:
        return 0.0
    return math.sqrt((across - inside) / 2)


def blockiness(image: Any) -> float:
    """Ratio of mean absolute difference across 8-pixel boundaries to inside (1: no grid).

    ``image`` is a 2-D plane (a frame's luma or one channel), aligned to the codec's grid
    at (0, 0). Above 1 means visible blocks; a restoration must not raise it.
    """
    plane = np.asarray(image, dtype=np.float64)
    dx = np.abs(np.diff(plane, axis=1))
    dy = np.abs(np.diff(plane, axis=0))
    across = dx[:, 7::8].sum() + dy[7::8].sum()
    count = dx[:, 7::8].size + dy[7::8].size
    inside = (dx.sum() + dy.sum() - across) / max(dx.size + dy.size - count, 1)
    return float(across / max(count, 1) / max(inside, 1e-300))


def block_grid_bins(n: int) -> np.ndarray:
    """``(n, n)`` mask of the ``fft2`` bins where an 8-pixel grid puts its energy.

    Columns and rows at multiples of ``n/8`` (±1 bin of window leakage), the zero
    frequency's own row and column excepted. Empty for tiles too small to resolve them.
    """
    mask = np.zeros((n, n), dtype=bool)
    if n % 8 or n < 32:
        return mask
    k = np.arange(n)
    step = n // 8
    near = (np.minimum(k % step, step - k % step) <= 1) & (np.minimum(k, n - k) > 1)
    mask[:, near] = True
    mask[near, :] = True
    return mask


#: Deblocking thresholds, in 8-bit code steps (scaled for other code ranges): a boundary
#: step below ``ALPHA`` between sides flatter than ``BETA`` is taken as the codec's, and
#: moved by at most ``CLIP`` per side (the shape of H.264's normal in-loop filter).
ALPHA, BETA, CLIP = 10.0, 4.0, 3.0


def deblock(image: Any, *, step: int = 8) -> Any:
    """The frame with the steps of a block codec's grid smoothed away (a new array).

    ``image`` is ``(H, W)`` or ``(H, W, C)``, NumPy or CuPy, integer codes or float
    values, its grid at (0, 0). At each boundary between pixels ``p0 | q0`` (with ``p1``,
    ``q1`` beyond them), where ``|p0 − q0| < ALPHA`` and both sides are flat (``|p1 − p0|``
    and ``|q1 − q0|`` below ``BETA``), the step in excess of the local slope,
    ``Δ = (4 (q0 − p0) + (p1 − q1)) / 8``, is clipped to ``±CLIP`` and taken out half on
    each side — H.264's normal deblocking filter. Real edges (large steps) and textured
    sides are left alone. Restoring after it keeps a sharpening filter from amplifying the
    grid (``blockiness`` must not rise).
    """
    xp = array_module(image)
    scale = _code_scale(image)
    out = image.copy()
    planar = out[..., None] if out.ndim == 2 else out
    planar = planar[..., :3]  # a view: alpha, if any, is not image content
    # 8-bit codes in int16 (exact, and twice as fast as float32); others in float32.
    work = xp.int16 if image.dtype == np.uint8 else xp.float32
    for axis in (1, 0):
        count = (planar.shape[axis] - 2) // step  # boundaries with two pixels each side
        if count < 1:
            continue

        def side(offset: int, count: int = count, axis: int = axis) -> tuple[slice, ...]:
            # Basic slices (views): the pixels at ``step·k + offset`` for every boundary k.
            cut = slice(step + offset, step + offset + step * count, step)
            return (slice(None), cut) if axis == 1 else (cut,)

        p1, p0, q0, q1 = (planar[side(k)].astype(work) for k in (-2, -1, 0, 1))
        edge = (
            (xp.abs(p0 - q0) < ALPHA * scale)
            & (xp.abs(p1 - p0) < BETA * scale)
            & (xp.abs(q1 - q0) < BETA * scale)
        )
        excess = 4 * (q0 - p0) + (p1 - q1)
        if work is xp.int16:  # integer bounds keep the arithmetic in int16
            delta = xp.clip((excess + 4) >> 3, -int(CLIP), int(CLIP))
        else:
            delta = xp.clip(excess / 8, -CLIP * scale, CLIP * scale)
        delta = delta * edge
        for offset, values in ((-1, p0 + delta), (0, q0 - delta)):
            if image.dtype.kind in "ui":
                info = np.iinfo(image.dtype)
                values = xp.clip(
                    values if work is xp.int16 else xp.rint(values), info.min, info.max
                )
            planar[side(offset)] = values
    return out


def _code_scale(image: Any) -> float:
    """One 8-bit code step in the image's own units."""
    if image.dtype == np.uint8:
        return 1.0
    if image.dtype.kind in "ui":
        return float(np.iinfo(image.dtype).max) / 255.0
    return 1.0 / 255.0
