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


def _maxima(magnitude: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Pixels that are maxima of ``magnitude`` along the (quantised) gradient direction."""
    padded = np.pad(magnitude, 1, mode="edge")
    h, w = magnitude.shape

    def shifted(dy: int, dx: int) -> np.ndarray:
        return padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    sector = np.round(angle / (math.pi / 4)).astype(np.int64) % 4  # 0: x, 1: diag, 2: y, 3
    peak = np.zeros((h, w), dtype=bool)
    for index, (dy, dx) in enumerate(((0, 1), (1, 1), (1, 0), (1, -1))):
        ahead, behind = shifted(dy, dx), shifted(-dy, -dx)
        peak |= (sector == index) & (magnitude >= ahead) & (magnitude >= behind)
    return peak


def edge_blur(tiles: np.ndarray, noise: float = 0.0) -> EdgeFit | None:
    """The blur covariance the strongest edges of float luma ``tiles`` ``(K, t, t)`` read.

    ``noise`` is the white-noise std of the tiles: its share of each gradient's square is
    taken out before the ratio (noise steepens every gradient and reads as sharpness).
    None when the tiles hold too few edges in too few directions (flat, tiny).
    """
    ratios, angles, strengths = [], [], []
    for tile in np.asarray(tiles, dtype=np.float32):
        gx, gy = _gradients(tile)
        reblurred = cv2.GaussianBlur(tile, (0, 0), REBLUR, borderType=cv2.BORDER_REFLECT)
        rx, ry = _gradients(reblurred)
        soft = np.hypot(rx, ry)
        angle = np.arctan2(ry, rx) % math.pi
        # Maxima of the re-blurred gradient: located where noise cannot move them.
        peak = _maxima(soft, angle)
        inner = np.zeros_like(peak)
        inner[MARGIN:-MARGIN, MARGIN:-MARGIN] = True
        peak &= inner & (soft > 0)
        sharp = gx[peak] ** 2 + gy[peak] ** 2 - noise * noise
        ratios.append(np.sqrt(np.maximum(sharp, 0.0)) / soft[peak])
        angles.append(angle[peak])
        strengths.append(soft[peak])
    strength = np.concatenate(strengths) if strengths else np.zeros(0)
    if strength.size == 0:
        return None
    count = max(MIN_PER_DIRECTION * 3, int(EDGE_SHARE * np.asarray(tiles).size))
    strongest = np.argsort(strength)[::-1][:count]
    ratio = np.concatenate(ratios)[strongest]
    angle = np.concatenate(angles)[strongest]
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
