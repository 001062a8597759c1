"""Blur read from edges: the re-blur gradient ratio, per edge direction.

A step edge blurred by a Gaussian of variance ``v`` across it has a gradient peak
``∝ 1/√v``; blurred once more by a Gaussian of variance ``r²`` it peaks at ``∝ 1/√(v + r²)``.
The ratio ``R`` of the two peaks gives the edge's own blur, ``v = r² / (R² − 1)`` (the
gradient-ratio idea of Hu & de Haan, ICIP 2006). Across an edge whose normal is ``n`` a
blur of covariance ``Σ`` has variance ``nᵀΣn``, so the ratios of edges in several
directions give ``Σ`` itself — anisotropic and rotated — by one small least-squares solve.

Why this and not only the power spectrum (:mod:`.spectrum`): a lossy codec (JPEG, MJPEG,
H.264) keeps a strong edge's profile — its low and middle frequencies — and destroys the
high frequencies the spectral fit reads; block edges and ringing even add energy there that
reads as sharpness. On ``skimage.data`` photographs blurred by σ = 1.4 in linear light, the
spectral fit reads 0.0–0.5 px from a JPEG q90 and 0 from H.264 CRF 23; the edges read the
same σ from PNG, JPEG and H.264 within ±0.15 px (``python -m bench.camera``).

What the edges cannot tell is how soft the *sharp* scene was: the strongest gradients of a
sharp photograph read a variance of 0.4–1.3 px² (pixel integration, optics, and textures
that are not steps: brick, fur). :data:`BASELINE` is subtracted, at the top of that range
on purpose — a sharp textured frame must not be sharpened, a mild blur may lose some gain.

Only the most textured tiles that the spectral estimate already chose are read, so the
cost is bounded whatever the frame size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["BASELINE", "EdgeFit", "edge_blur"]

#: The re-blur std (pixels): small enough to see a mild blur, large enough for a stable ratio.
REBLUR = 1.0
#: Share of the tiles' pixels taken as edges: the strongest gradient maxima.
EDGE_SHARE = 0.02
#: Edge-normal direction bins (over [0, π)) and the least number of edges a bin needs.
DIRECTIONS = 8
MIN_PER_DIRECTION = 8
#: The blur variance (px², per axis) the edges of a sharp photograph read (see the notes).
BASELINE = 1.0
#: Pixels at each tile edge not used (the re-blur and the differences reach that far).
MARGIN = 6


@dataclass(frozen=True)
class EdgeFit:
    """The blur the edges read.

    Attributes
    ----------
    covariance : (2, 2) ndarray
        Total blur covariance (px², x then rows), the sharp scene's own softness included.
    spread : float
        The scatter of the direction bins about the fit (px², rms): how far to trust it.
    edges : int
        How many edges were read.
    """

    covariance: np.ndarray
    spread: float
    edges: int


def _gradients(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central differences ``(∂x, ∂y)`` of a float32 plane (mirrored edges)."""
    gx = cv2.Sobel(plane, cv2.CV_32F, 1, 0, ksize=1, scale=0.5, borderType=cv2.BORDER_REFLECT)
    gy = cv2.Sobel(plane, cv2.CV_32F, 0, 1, ksize=1, scale=0.5, borderType=cv2.BORDER_REFLECT)
    return gx, gy


def _maxima(magnitude: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Pixels that are maxima of ``magnitude`` along the gradient ``(gx, gy)``'s direction.

    The direction is quantised to 4 (x, y and the diagonals) by comparing the components,
    not by an arctangent of every pixel.
    """
    padded = np.pad(magnitude, 1, mode="edge")
    h, w = magnitude.shape
    ax, ay = np.abs(gx), np.abs(gy)
    tan = math.tan(math.pi / 8)
    along_x = ay <= tan * ax
    along_y = ax <= tan * ay
    diagonal = ~(along_x | along_y)
    same_sign = (gx > 0) == (gy > 0)
    sectors = (along_x, diagonal & same_sign, along_y, diagonal & ~same_sign)
    peak = np.zeros((h, w), dtype=bool)
    for sector, (dy, dx) in zip(sectors, ((0, 1), (1, 1), (1, 0), (1, -1)), strict=True):
        ahead = padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        behind = padded[1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w]
        peak |= sector & (magnitude >= ahead) & (magnitude >= behind)
    return peak


def edge_blur(tiles: np.ndarray, noise: float = 0.0) -> EdgeFit | None:
    """The blur covariance the strongest edges of float luma ``tiles`` ``(K, t, t)`` read.

    ``noise`` is the white-noise std of the tiles: its share of each gradient's square is
    taken out before the ratio (noise steepens every gradient and reads as sharpness).
    None when the tiles hold too few edges in too few directions (flat, tiny).
    """
    tiles = np.asarray(tiles, dtype=np.float32)
    count, side, width = tiles.shape
    if count == 0 or side <= 2 * MARGIN or width <= 2 * MARGIN:
        return None
    # The tiles stacked into one tall image: one pass of each filter. What leaks across a
    # seam stays within MARGIN of it, and the margins are not read.
    tall = np.ascontiguousarray(tiles.reshape(count * side, width))
    gx, gy = _gradients(tall)
    rx, ry = _gradients(cv2.GaussianBlur(tall, (0, 0), REBLUR, borderType=cv2.BORDER_REFLECT))
    soft = cv2.magnitude(rx, ry)
    # Maxima of the re-blurred gradient: located where noise cannot move them.
    peak = _maxima(soft, rx, ry) & (soft > 0)
    rows = np.arange(count * side) % side
    peak[(rows < MARGIN) | (rows >= side - MARGIN)] = False
    peak[:, :MARGIN] = False
    peak[:, width - MARGIN :] = False
    ys, xs = np.nonzero(peak)
    if ys.size == 0:
        return None
    strongest = np.argsort(soft[ys, xs])[::-1][
        : max(MIN_PER_DIRECTION * 3, int(EDGE_SHARE * tiles.size))
    ]
    ys, xs = ys[strongest], xs[strongest]
    sharp = gx[ys, xs] ** 2 + gy[ys, xs] ** 2 - noise * noise
    ratio = np.sqrt(np.maximum(sharp, 0.0)) / soft[ys, xs]
    angle = np.arctan2(ry[ys, xs], rx[ys, xs]) % math.pi
    return _fit_directions(ratio, angle)


def _fit_directions(ratio: np.ndarray, angle: np.ndarray) -> EdgeFit | None:
    """Least squares of ``nᵀΣn = v`` over the direction bins' median ratios."""
    bins = np.minimum((angle / math.pi * DIRECTIONS).astype(np.int64), DIRECTIONS - 1)
    rows, values, weights = [], [], []
    for index in range(DIRECTIONS):
        chosen = ratio[bins == index]
        if chosen.size < MIN_PER_DIRECTION:
            continue
        r = float(np.median(chosen))
        values.append(REBLUR**2 / max(r * r - 1.0, 1e-3))
        theta = (index + 0.5) * math.pi / DIRECTIONS
        c, s = math.cos(theta), math.sin(theta)
        rows.append((c * c, 2 * c * s, s * s))
        weights.append(math.sqrt(chosen.size))
    if len(values) < 3:
        if not values:
            return None
        v = float(np.average(values, weights=weights))
        return EdgeFit(np.eye(2) * v, v, int(ratio.size))
    design = np.array(rows) * np.array(weights)[:, None]
    target = np.array(values) * np.array(weights)
    params = np.linalg.lstsq(design, target, rcond=None)[0]
    residual = np.array(rows) @ params - np.array(values)
    spread = float(np.sqrt(np.average(residual**2, weights=weights)))
    sxx, sxy, syy = params
    return EdgeFit(np.array([[sxx, sxy], [sxy, syy]]), spread, int(ratio.size))
