"""A procedural test card: Siemens star, zone plate, fine text and a noise texture.

Drawn without any image files, so demos and the live viewer always have a sharp reference
whose restoration can be measured. Values are sRGB code values in [0, 1].
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from ..core._validate import check_int, check_real
from ..errors import InvalidArgumentError

__all__ = ["test_card"]


def _siemens_star(size: int, spokes: int = 36) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] + 0.5 - size / 2
    angle = np.arctan2(y, x)
    star = 0.5 + 0.5 * np.sign(np.sin(spokes / 2 * angle))
    star[np.hypot(x, y) > size / 2 - 1] = 0.5
    return star


def _zone_plate(size: int) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] + 0.5 - size / 2
    # Local frequency grows linearly with radius and reaches Nyquist at the corners' edge.
    k = np.pi / size
    return 0.5 + 0.5 * np.cos(k * (x**2 + y**2))


def _texture(height: int, width: int, seed: int) -> np.ndarray:
    # 1/f noise: a natural-image-like spectrum, drawn from white noise in the FFT domain.
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft2(rng.standard_normal((height, width)))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    spectrum /= np.hypot(fx, fy) + 1.0 / max(height, width)
    tex = np.fft.irfft2(spectrum, s=(height, width))
    tex = (tex - tex.mean()) / (tex.std() * 6) + 0.5
    return np.clip(tex, 0.0, 1.0)


def _text(height: int, width: int) -> np.ndarray:
    canvas = np.full((height, width), 235, dtype=np.uint8)  # putText draws on 8-bit only
    lines = ["gpudeconv 0123456789", "The quick brown fox", "jumps over the lazy dog"]
    for row, line in enumerate(lines):
        for scale, offset in ((0.35, 72), (0.5, width // 2)):
            y = int((row + 1) * height / (len(lines) + 1))
            font = cv2.FONT_HERSHEY_SIMPLEX
            cv2.putText(canvas, line, (offset + 4, y), font, scale, 20, 1, cv2.LINE_AA)
    return canvas / 255.0


def test_card(height: int = 480, width: int = 640, *, t: float = 0.0, seed: int = 0) -> np.ndarray:
    """Draw the test card.

    Parameters
    ----------
    height, width : int
        Output size in pixels, each >= 16.
    t : float
        Time in seconds; the card pans slowly (a few pixels per second) so a live view moves.
    seed : int
        Seed of the noise texture.

    Returns
    -------
    card : (height, width, 3) ndarray of float32
        RGB sRGB code values in [0, 1].
    """
    height = check_int("height", height, minimum=16)
    width = check_int("width", width, minimum=16)
    if max(height, width) > MAX_SIDE:
        raise InvalidArgumentError(f"test card sides must be <= {MAX_SIDE}; got {height}x{width}")
    t = check_real("t", t)
    canvas = _canvas(height, width, seed)
    dy = round(_PAN + _PAN * 0.8 * math.sin(0.21 * t))
    dx = round(_PAN + _PAN * 0.8 * math.sin(0.13 * t + 1.0))
    return np.ascontiguousarray(canvas[dy : dy + height, dx : dx + width])


_PAN = 64  # margin the view pans over
#: Largest side of the card (8K): the card is drawn in memory several times over.
MAX_SIDE = 8192


@lru_cache(maxsize=4)
def _canvas(height: int, width: int, seed: int) -> np.ndarray:
    """The whole card, drawn once per size and seed (a moving view crops it)."""
    big_h, big_w = height + 2 * _PAN, width + 2 * _PAN
    grey = _texture(big_h, big_w, seed)
    cell = max(8, min(big_h, big_w) // 2 - 8)
    half_w = big_w // 2
    grey[4 : 4 + cell, 4 : 4 + cell] = _siemens_star(cell)
    grey[4 : 4 + cell, half_w : half_w + cell] = _zone_plate(cell)[:, : max(0, big_w - half_w)]
    text_h = min(cell // 2, big_h - cell - 8)
    if text_h > 8:
        grey[cell + 8 : cell + 8 + text_h, 4 : big_w - 4] = _text(text_h, big_w - 8)
    card = np.stack([grey, 0.9 * grey + 0.05, 0.8 * grey + 0.1], axis=-1).astype(np.float32)
    card.flags.writeable = False
    return card
