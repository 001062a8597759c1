"""Image quality metrics used by tests, demos and benchmarks."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgumentError
from ._validate import check_real, image_array

__all__ = ["psnr", "ssim"]


def _pair(ref: np.ndarray, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(image_array("ref", ref), dtype=np.float64)
    img = np.asarray(image_array("img", img), dtype=np.float64)
    if ref.shape != img.shape:
        raise InvalidArgumentError(
            f"ref and img must have the same shape; got {ref.shape} and {img.shape}"
        )
    return ref, img


def psnr(ref: np.ndarray, img: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range² / MSE)``.

    Returns ``inf`` for identical images. Computed in float64.
    """
    ref, img = _pair(ref, img)
    data_range = check_real("data_range", data_range, positive=True)
    mse = float(np.mean((ref - img) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(data_range**2 / mse))


def ssim(ref: np.ndarray, img: np.ndarray, data_range: float = 1.0) -> float:
    """Structural similarity (scikit-image's implementation, Gaussian-free defaults).

    Raises
    ------
    ImportError
        If scikit-image is not installed (``pip install 'gpudeconv[bench]'``).
    """
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        raise ImportError(
            "gpudeconv.core.metrics.ssim needs scikit-image; install it with "
            "pip install 'gpudeconv[bench]' (or the 'test' extra)"
        ) from None
    ref, img = _pair(ref, img)
    data_range = check_real("data_range", data_range, positive=True)
    channel_axis = -1 if ref.ndim == 3 else None
    return float(structural_similarity(ref, img, data_range=data_range, channel_axis=channel_axis))
