"""Colour: the sRGB transfer curves, luma weights, and how integer frames are coded.

Integer frames hold sRGB code values; the pipeline decodes them to linear light through a
table, filters, and encodes back with rounding and saturation (``encode_reference`` is the
float64 definition every backend is tested against).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._validate import image_array, to_float

__all__ = [
    "SRGB_KNEE",
    "code_max",
    "decode_table",
    "encode_reference",
    "linear_to_srgb",
    "luma_weights",
    "srgb_to_linear",
]

#: Linear value where the sRGB encoding switches from the line to the power law.
SRGB_KNEE = 0.0031308
#: Rec. 709 / sRGB luminance weights of linear R, G, B.
_LUMA_RGB = (0.2126, 0.7152, 0.0722)


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """Decode sRGB code values in [0, 1] to linear light (IEC 61966-2-1, exact curve)."""
    v = to_float(image_array("values", np.atleast_2d(values)))
    v = v.reshape(np.shape(values))
    a = np.abs(v)
    lin = np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)
    return (np.sign(v) * lin).astype(v.dtype, copy=False)


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    """Encode linear light in [0, 1] to sRGB code values (IEC 61966-2-1, exact curve).

    Negative values (undershoot from sharpening) are mapped with the odd extension so the
    round trip with ``srgb_to_linear`` is exact everywhere.
    """
    v = to_float(image_array("values", np.atleast_2d(values)))
    v = v.reshape(np.shape(values))
    a = np.abs(v)
    enc = np.where(a <= SRGB_KNEE, a * 12.92, 1.055 * a ** (1 / 2.4) - 0.055)
    return (np.sign(v) * enc).astype(v.dtype, copy=False)


def luma_weights(channel_order: str) -> tuple[float, float, float]:
    """Luminance weights in the frame's own channel order ('rgb' or 'bgr')."""
    return _LUMA_RGB if channel_order == "rgb" else _LUMA_RGB[::-1]


def code_max(dtype: str | np.dtype, bits: int | None = None) -> int:
    """Largest code of an integer frame: the dtype's, or ``2**bits − 1`` (10-bit video)."""
    return (1 << bits) - 1 if bits else int(np.iinfo(dtype).max)


@lru_cache(maxsize=16)
def decode_table(
    dtype: str, space: str, precision: str = "float32", bits: int | None = None
) -> np.ndarray:
    """Code value → working value for every code of ``dtype`` (read-only).

    ``space='linear'`` decodes sRGB to linear light (exact IEC 61966-2-1 curve);
    ``'srgb'`` only scales code values to [0, 1]. ``bits`` scales by ``2**bits − 1``
    instead of the dtype's maximum (codes above it decode above 1).
    """
    codes = np.arange(np.iinfo(dtype).max + 1, dtype=np.float64) / code_max(dtype, bits)
    values = srgb_to_linear(codes[None])[0] if space == "linear" else codes
    table = values.astype(precision)
    table.flags.writeable = False
    return table


def encode_reference(
    values: np.ndarray, dtype: np.dtype, space: str, bits: int | None = None
) -> np.ndarray:
    """Float64 reference of the encoder: curve, scale, round half to even, saturate."""
    values = np.asarray(values, dtype=np.float64)
    top = code_max(dtype, bits)
    coded = linear_to_srgb(np.clip(values, 0.0, None)) if space == "linear" else values
    return np.clip(np.round(coded * top), 0, top).astype(dtype)
