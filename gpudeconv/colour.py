"""Colour transfer of integer frames: decode tables and the float64 reference encoder."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .degrade import linear_to_srgb, srgb_to_linear

__all__ = ["SRGB_KNEE", "decode_table", "encode_reference"]

#: Linear value where the sRGB encoding switches from the line to the power law.
SRGB_KNEE = 0.0031308


@lru_cache(maxsize=8)
def decode_table(dtype: str, space: str, precision: str = "float32") -> np.ndarray:
    """Code value → working value for every code of ``dtype`` (read-only).

    ``space='linear'`` decodes sRGB to linear light (exact IEC 61966-2-1 curve);
    ``'srgb'`` only scales code values to [0, 1].
    """
    codes = np.arange(np.iinfo(dtype).max + 1, dtype=np.float64) / np.iinfo(dtype).max
    values = srgb_to_linear(codes[None])[0] if space == "linear" else codes
    table = values.astype(precision)
    table.flags.writeable = False
    return table


def encode_reference(values: np.ndarray, dtype: np.dtype, space: str) -> np.ndarray:
    """Float64 reference of the encoder: curve, scale, round half to even, saturate."""
    values = np.asarray(values, dtype=np.float64)
    top = np.iinfo(dtype).max
    coded = linear_to_srgb(np.clip(values, 0.0, None)) if space == "linear" else values
    return np.clip(np.round(coded * top), 0, top).astype(dtype)
