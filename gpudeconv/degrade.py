"""Simulate the degradation the library undoes: blur, noise, quantisation, sRGB coding.

Used to make test data, demos and benchmarks. Images are float arrays in [0, 1]
(integers are scaled to float32 first); ``H×W`` or ``H×W×C``, blurred per channel.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

from . import psf as _psf
from ._validate import check_choice, check_int, check_real, image_array, to_float

__all__ = ["add_noise", "blur", "linear_to_srgb", "quantize", "srgb_to_linear"]

BOUNDARIES = ("reflect", "wrap", "clamp")
# OpenCV BORDER_REFLECT (…cba|abc…) is scipy's 'reflect'; 'clamp' repeats the edge pixel.
_SCIPY_MODE = {"reflect": "reflect", "wrap": "wrap", "clamp": "nearest"}


def blur(image: np.ndarray, psf: np.ndarray, *, boundary: str = "reflect") -> np.ndarray:
    """Convolve an image with a PSF (``y = h * x``), per channel, in float64.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        float32/float64, or uint8/uint16 (scaled to [0, 1] float32).
    psf : (h, w) ndarray
        Blur kernel; normalised by ``psf.from_array``. Must not be larger than the image.
    boundary : {'reflect', 'wrap', 'clamp'}
        How pixels outside the image are defined: mirrored including the edge pixel
        (OpenCV ``BORDER_REFLECT``), periodic, or the edge pixel repeated.

    Returns
    -------
    blurred : ndarray, same shape, float dtype of the input (float32 for integer input)
    """
    image = to_float(image_array("image", image))
    kernel = _psf.from_array(psf)
    check_choice("boundary", boundary, BOUNDARIES)
    _check_psf_fits(kernel, image.shape)
    mode = _SCIPY_MODE[boundary]
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
        raise ValueError(
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
        raise ValueError(f"bits must be <= 24, got {bits}")
    levels = float(2**bits - 1)
    return (np.round(np.clip(image, 0.0, 1.0) * levels) / levels).astype(image.dtype, copy=False)


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
    enc = np.where(a <= 0.0031308, a * 12.92, 1.055 * a ** (1 / 2.4) - 0.055)
    return (np.sign(v) * enc).astype(v.dtype, copy=False)
