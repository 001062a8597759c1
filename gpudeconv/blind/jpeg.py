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

from .._validate import array_module

__all__ = ["BLOCK_RATIO", "block_grid_bins", "blockiness", "compression_noise"]

#: Boundary differences must exceed inside ones by this ratio to count as compression.
BLOCK_RATIO = 1.04


def _boundary_energy(blocks: Any) -> tuple[float, float]:
    """Mean squared differences across the 8-pixel boundary and inside, ``(N, 16, 16)``."""
    xp = array_module(blocks)
    dx = xp.square(xp.diff(blocks, axis=2))
    dy = xp.square(xp.diff(blocks, axis=1))
    across = float((dx[:, :, 7].mean() + dy[:, 7, :].mean()) / 2)
    inside = float(
        (dx.sum() - dx[:, :, 7].sum() + dy.sum() - dy[:, 7, :].sum())
        / (dx.size + dy.size - dx[:, :, 7].size - dy[:, 7, :].size)
    )
    return across, inside


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
    """Ratio of mean |difference| across 8-pixel boundaries to inside (1: no grid).

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
