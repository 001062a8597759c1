"""Float64 reference of a whole pipeline run: what every backend is tested against."""

from __future__ import annotations

import numpy as np

from .colour import decode_table, encode_reference
from .filters import DeconvFilter, apply_reference
from .frames import FrameSpec, luma_weights

__all__ = ["restore_reference"]


def restore_reference(frame: np.ndarray, filt: DeconvFilter, spec: FrameSpec) -> np.ndarray:
    """Restore ``frame`` in float64 through the same colour transfer as the pipeline.

    Returns float64 working values for float frames and code values (the frame's dtype)
    for integer frames; alpha is copied.
    """
    frame = np.asarray(frame)
    data = frame.reshape(spec.height, spec.width, spec.channels)
    if spec.is_integer:
        working = decode_table(spec.dtype.name, spec.space, "float64")[data]
    else:
        working = data.astype(np.float64)
    colour = working[..., : spec.colour_channels]
    if spec.luma_only:
        luma = colour @ np.asarray(luma_weights(spec.channel_order))
        restored = colour + (apply_reference(luma, filt, boundary=spec.boundary) - luma)[..., None]
    else:
        restored = apply_reference(colour, filt, boundary=spec.boundary)
    if spec.is_integer:
        result = encode_reference(restored, spec.dtype, spec.space)
    else:
        result = restored
    if spec.has_alpha:
        alpha = data[..., 3:].astype(result.dtype)
        result = np.concatenate([result, alpha], axis=-1)
    return result.reshape(spec.shape)
