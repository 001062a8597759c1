"""Simulate the degradation the library undoes: blur, noise, quantisation, sRGB coding.

Used to make test data, demos and benchmarks. Images are float arrays in [0, 1]
(integers are scaled to float32 first); ``H×W`` or ``H×W×C``, blurred per channel.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

from ..errors import InvalidArgumentError
from . import psf as _psf
from ._validate import check_int, check_real, image_array, to_float
from .boundaries import BOUNDARIES, PADDING_BOUNDARIES

# The transfer curves live in colour.py; they are part of this module's public API too.
from .colour import linear_to_srgb, srgb_to_linear

__all__ = ["add_noise", "blur", "linear_to_srgb", "quantize", "srgb_to_linear"]


def blur(image: np.ndarray, psf: np.ndarray, *, boundary: str = "reflect") -> np.ndarray:
    """Convolve an image with a PSF (``y = h * x``), per channel, in float64.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        float32/float64, or uint8/uint16 (scaled to [0, 1] float32).
    psf : (h, w) ndarray
        Blur kernel; normalised by ``psf.from_array``. Must not be larger than the image.
    boundary : {'reflect', 'clamp', 'periodic'}
        How pixels outside the image are defined (:data:`gpudeconv.core.boundaries.BOUNDARIES`):
        mirrored including the edge pixel (OpenCV ``BORDER_REFLECT``), the edge pixel
        repeated, or periodic (``'wrap'`` is accepted as another name for it).

    Returns
    -------
    blurred : ndarray, same shape, float dtype of the input (float32 for integer input)
    """
    image = to_float(image_array("image", image))
    kernel = _psf.from_array(psf)
    mode = BOUNDARIES[BOUNDARIES.check(boundary, allowed=PADDING_BOUNDARIES)].ndimage
    _check_psf_fits(kernel, image.shape)
    data = image.astype(np.float64)
    if data.ndim == 2:
        out = ndi.convolve(data, kernel, mode=mode)
    else:
        out = np.stack(
            [ndi.convolve(data[..., c], kernel, mode=mode) for c in range(data.shape[2])],
            axis=-1,
        )
    return out.astype(image.dtype, copy=False)


def _check_psf_fits(kernel: np.ndarray, shape: tuple[int, ...]) -> None:
    if kernel.shape[0] > shape[0] or kernel.shape[1] > shape[1]:
        raise InvalidArgumentError(
            f"psf of shape {kernel.shape} is larger than the image {tuple(shape[:2])}; "
            "the PSF must fit inside the image"
        )


def add_noise(image: np.ndarray, sigma: float, *, seed: int | None = None) -> np.ndarray:
    """Add white Gaussian noise of standard deviation ``sigma`` (no clipping).

    Parameters
    ----------
    image : ndarray
        Float image (integers are scaled to float32 in [0, 1] first).
    sigma : float
        Noise standard deviation, >= 0, in the image's units.
    seed : int, optional
        Seed for ``numpy.random.default_rng``; the same seed gives the same noise.

    Returns
    -------
    noisy : ndarray, same shape and float dtype
    """
    image = to_float(image_array("image", image))
    sigma = check_real("sigma", sigma, nonnegative=True)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(image.shape) * sigma
    return (image + noise).astype(image.dtype, copy=False)


def quantize(image: np.ndarray, bits: int = 8) -> np.ndarray:
    """Round to ``2**bits`` levels on [0, 1] (saturating), as storing to an integer format.

    The rounding error has variance ``Δ²/12`` with ``Δ = 1 / (2**bits − 1)``.
    """
    image = to_float(image_array("image", image))
    bits = check_int("bits", bits, minimum=1)
    if bits > 24:
        raise InvalidArgumentError(f"bits must be <= 24, got {bits}")
    levels = float(2**bits - 1)
    return (np.round(np.clip(image, 0.0, 1.0) * levels) / levels).astype(image.dtype, copy=False)
