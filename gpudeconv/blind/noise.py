"""Noise: the std of white noise in a frame, measured where the frame is flat.

The finest Haar diagonal band ``HH = (a − b − c + d)/2`` of each 2×2 cell holds white noise
of the frame's own std and little signal (edges and textures put some there). The frame is
cut into 16×16 blocks; the blocks whose *coarse* structure (the gradient of the 2×2 means)
is weakest are taken as flat, and the noise variance is the mean ``HH²`` over them. Picking
by a different band than the one measured keeps the estimate unbiased (picking by ``HH``
itself would pick the blocks whose noise happened to be small), and a mean, unlike a
median, is not stuck to the code grid of 8-bit frames.

Compared with ``skimage.restoration.estimate_sigma`` (median of the finest wavelet band over
the whole image) on ``skimage.data`` photographs with noise 0.002 + 8-bit rounding: blurred
photographs within ±15 % for both; sharp photographs 1.1–2.3× the truth here against
1.2–3.7× there (texture read as noise: it only makes the filter gentler, and
:func:`~gpudeconv.blind.spectrum.noise_ceiling` caps it). ``python -m bench.blind``
reports both side by side.

Only a bounded sample of blocks is read (:data:`MAX_BLOCKS`, on a regular grid), and only
those are decoded, so the cost does not grow with the frame.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core._validate import array_module

__all__ = [
    "BLOCK",
    "block_noise",
    "haar_measures",
    "level_noise",
    "noise_std",
    "sample_blocks",
]

#: Block side in pixels, the share of blocks taken as flat, and how many are read at most.
BLOCK = 16
FLAT_SHARE = 0.2
MAX_BLOCKS = 256


def sample_blocks(frame: Any, *, max_blocks: int = MAX_BLOCKS) -> Any:
    """``(N, BLOCK, BLOCK, C)`` copies of at most ``max_blocks`` blocks on a regular grid.

    ``frame`` is ``(H, W, C)`` (NumPy or CuPy, any dtype); ``N`` is 0 for frames smaller
    than one block.
    """
    h, w = frame.shape[0] // BLOCK, frame.shape[1] // BLOCK
    if h == 0 or w == 0:
        return frame[:0, :BLOCK, :BLOCK].reshape(0, BLOCK, BLOCK, frame.shape[2])
    step = max(1, int(np.ceil(np.sqrt(h * w / max_blocks))))
    xp = array_module(frame)
    rows, cols = xp.arange(0, h, step), xp.arange(0, w, step)
    # (blocks_y, BLOCK, blocks_x, BLOCK, C) is a view; the indexing copies the sample only.
    grid = frame[: h * BLOCK, : w * BLOCK].reshape(h, BLOCK, w, BLOCK, frame.shape[2])
    picked = grid[rows][:, :, cols]  # (ny, BLOCK, nx, BLOCK, C)
    return picked.transpose(0, 2, 1, 3, 4).reshape(-1, BLOCK, BLOCK, frame.shape[2])


def block_noise(blocks: Any, luma_weights: Any = None, *, measures: Any = None) -> np.ndarray:
    """Noise std per channel of float ``(N, BLOCK, BLOCK, C)`` blocks, from the flat ones.

    With ``luma_weights`` (C,) the luma's noise is appended: its Haar bands are the
    weighted sums of the channels' (the transform is linear), so it costs no decoding.
    The flat blocks are chosen once, by the channels' mean coarse activity, so every plane
    is measured on the same ground (``measures``: :func:`haar_measures` of the blocks,
    when already made). Returns zeros when there are no blocks.
    """
    xp = array_module(blocks)
    planes = blocks.shape[3] + (luma_weights is not None)
    if blocks.shape[0] == 0:
        return np.zeros(planes)
    energy, activity, _ = measures or haar_measures(blocks, luma_weights)
    count = max(1, int(blocks.shape[0] * FLAT_SHARE))
    flat = xp.argsort(activity)[:count]
    result = xp.sqrt(energy[flat].mean(axis=0))
    return np.asarray(result if xp is np else result.get(), dtype=np.float64)


def haar_measures(blocks: Any, luma_weights: Any = None) -> tuple[Any, Any, Any]:
    """Per block: mean ``HH²`` per plane ``(N, planes)``, coarse activity and mean level.

    ``HH = (a − b − c + d)/2`` of each 2×2 cell (white noise of the frame's own std);
    the activity is the mean absolute difference of the 2×2 means (the coarse structure the
    flat blocks are chosen by); the level is the channels' mean.
    """
    xp = array_module(blocks)
    a, b = blocks[:, 0::2, 0::2], blocks[:, 1::2, 0::2]
    c, d = blocks[:, 0::2, 1::2], blocks[:, 1::2, 1::2]
    hh = (a - b - c + d) * 0.5  # (N, BLOCK/2, BLOCK/2, C)
    low = (a + b + c + d).mean(axis=3) * 0.25  # the channels' mean 2×2 average
    if luma_weights is not None:
        hh = xp.concatenate([hh, (hh @ luma_weights)[..., None]], axis=3)
    energy = (hh * hh).mean(axis=(1, 2))
    activity = xp.abs(xp.diff(low, axis=1)).mean(axis=(1, 2)) + xp.abs(xp.diff(low, axis=2)).mean(
        axis=(1, 2)
    )
    return energy, activity, low.mean(axis=(1, 2))


def noise_std(plane: Any, *, max_blocks: int = MAX_BLOCKS) -> float:
    """Std of the white noise of a 2-D float plane (NumPy or CuPy), from its flat blocks."""
    blocks = sample_blocks(plane[..., None], max_blocks=max_blocks)
    return float(block_noise(blocks.astype(array_module(plane).float64))[0])


#: Brightness bins of the noise-level function, and the share of each bin's blocks taken
#: as flat.
LEVEL_BINS = 5
LEVEL_FLAT_SHARE = 0.3


def level_noise(blocks: Any, luma_weights: Any = None, *, measures: Any = None) -> np.ndarray:
    """Frame-average noise std per channel (luma appended) from a noise-level function.

    Sensor noise is Poisson–Gaussian: its variance grows with the level (``a·level + b``),
    so the flattest blocks of a frame — often its brightest (sky, walls) — overstate the
    noise of the rest, and the darkest understate it. The blocks are binned by mean level
    (:data:`LEVEL_BINS` bins of equal count), the flattest :data:`LEVEL_FLAT_SHARE` of each
    bin measured as in :func:`block_noise`, ``variance = a·level + b`` fitted through the
    bins (``a, b ≥ 0``), and evaluated at the frame's mean level: the average variance a
    filter meets over the frame. Same arguments and result as :func:`block_noise`
    (``measures``: :func:`haar_measures` of the blocks, when already made).
    """
    planes = blocks.shape[3] + (luma_weights is not None)
    if blocks.shape[0] < 2 * LEVEL_BINS:
        return block_noise(blocks, luma_weights, measures=measures)
    energy, activity, level = (
        np.asarray(v if isinstance(v, np.ndarray) else v.get(), dtype=np.float64)
        for v in measures or haar_measures(blocks, luma_weights)
    )
    order = np.argsort(level, kind="stable")
    levels, variances = [], []
    for chunk in np.array_split(order, LEVEL_BINS):
        flat = chunk[
            np.argsort(activity[chunk], kind="stable")[: max(2, int(chunk.size * LEVEL_FLAT_SHARE))]
        ]
        levels.append(level[flat].mean())
        variances.append(energy[flat].mean(axis=0))
    levels, variances = np.array(levels), np.array(variances)  # (bins,), (bins, planes)
    mean_level = float(level.mean())
    result = np.empty(planes)
    for plane in range(planes):
        slope, offset = _nonnegative_line(levels, variances[:, plane])
        result[plane] = math.sqrt(max(slope * mean_level + offset, 0.0))
    return result


def _nonnegative_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares ``y = a·x + b`` with ``a, b ≥ 0`` (the best one-parameter fit else)."""
    design = np.stack([x, np.ones_like(x)], axis=1)
    slope, offset = np.linalg.lstsq(design, y, rcond=None)[0]
    if slope >= 0 and offset >= 0:
        return float(slope), float(offset)
    through_zero = float(x @ y / (x @ x)) if x @ x > 0 else 0.0
    candidates = [(max(through_zero, 0.0), 0.0), (0.0, max(float(y.mean()), 0.0))]
    return min(candidates, key=lambda p: float(np.sum((p[0] * x + p[1] - y) ** 2)))
