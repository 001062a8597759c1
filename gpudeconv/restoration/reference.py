"""The float64 references every fast path is measured against, applied to frames.

- :func:`apply_reference`: a fitted filter applied term by term in float64 (SciPy);
- :func:`restore_reference`: a whole pipeline run in float64 — decode, filter, encode,
  alpha — what every backend is tested against;
- :func:`wiener_frame`: the FFT Wiener reference through the same frame coding (the
  ``wiener`` method of ``deblur`` and the live viewer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from ..core._validate import image_array, to_float
from ..core.boundaries import BOUNDARIES, FRAME_BOUNDARIES
from ..core.colour import decode_table, encode_reference, luma_weights
from ..core.frames import FrameSpec
from ..fit.filter import DeconvFilter
from .stills import restore
from .wiener import wiener

__all__ = ["apply_reference", "restore_reference", "still_frame", "wiener_frame"]


def apply_reference(
    image: np.ndarray, filt: DeconvFilter, *, boundary: str = "reflect"
) -> np.ndarray:
    """Apply a filter in float64, term by term (the reference fast paths are tested against).

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Float image, or uint8/uint16 (scaled to [0, 1]); filtered per channel as given
        (no colour transfer).
    filt : DeconvFilter
    boundary : {'reflect', 'clamp'}
        OpenCV ``BORDER_REFLECT`` or ``BORDER_REPLICATE``.

    Returns
    -------
    out : ndarray of float64, same shape
    """
    data = to_float(image_array("image", image)).astype(np.float64)
    mode = BOUNDARIES[BOUNDARIES.check(boundary, allowed=FRAME_BOUNDARIES)].ndimage
    out = np.zeros_like(data)
    for w, (ky, kx) in zip(filt.weights, filt.terms, strict=True):
        # Symmetric taps: correlation equals convolution.
        term = ndi.correlate1d(data, ky, axis=0, mode=mode)
        out += w * ndi.correlate1d(term, kx, axis=1, mode=mode)
    return out


def _through_frame_coding(
    frame: np.ndarray, spec: FrameSpec, restore: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Run ``restore`` (float64 planes → planes) on ``frame`` as a pipeline of ``spec`` does.

    Decode to float64 working values, restore the colour channels (or only the luma, whose
    change is added to every channel), encode, copy alpha. Float frames come back as
    float64 working values, integer frames as code values of their own dtype.
    """
    data = np.asarray(frame).reshape(spec.height, spec.width, spec.channels)
    if spec.is_integer:
        working = decode_table(spec.dtype.name, spec.space, "float64", spec.bits)[data]
    else:
        working = data.astype(np.float64)
    colour = working[..., : spec.colour_channels]
    if spec.luma_only:
        luma = colour @ np.asarray(luma_weights(spec.channel_order))
        restored = colour + (restore(luma) - luma)[..., None]
    else:
        restored = restore(colour)
    result = (
        encode_reference(restored, spec.dtype, spec.space, spec.bits)
        if spec.is_integer
        else restored
    )
    if spec.has_alpha:
        result = np.concatenate([result, data[..., 3:].astype(result.dtype)], axis=-1)
    return result.reshape(spec.shape)


def restore_reference(frame: np.ndarray, filt: DeconvFilter, spec: FrameSpec) -> np.ndarray:
    """Restore ``frame`` in float64 through the same colour transfer as the pipeline.

    Returns float64 working values for float frames and code values (the frame's dtype)
    for integer frames; alpha is copied.
    """
    return _through_frame_coding(
        frame, spec, lambda planes: apply_reference(planes, filt, boundary=spec.boundary)
    )


def still_frame(
    frame: np.ndarray,
    kernel: np.ndarray,
    noise: float,
    spec: FrameSpec,
    method: str,
    **options: Any,
) -> np.ndarray:
    """An iterative stills method (:func:`gpudeconv.restore`) through the frame's coding.

    As :func:`wiener_frame`: ``noise`` is the total noise std; integer frames come back as
    code values, float frames in their own dtype, alpha copied.
    """
    restored = _through_frame_coding(
        frame, spec, lambda planes: restore(planes, kernel, method=method, noise=noise, **options)
    )
    return restored if spec.is_integer else restored.astype(spec.dtype)


def wiener_frame(
    frame: np.ndarray, kernel: np.ndarray, noise: float, spec: FrameSpec
) -> np.ndarray:
    """The FFT Wiener reference on one frame, through the frame's coding (as ``spec``).

    ``noise`` is the total noise std (quantisation included). Float frames come back in
    their own dtype; integer frames as code values; alpha is copied.
    """
    restored = _through_frame_coding(
        frame, spec, lambda planes: wiener(planes, kernel, noise=noise)
    )
    return restored if spec.is_integer else restored.astype(spec.dtype)
