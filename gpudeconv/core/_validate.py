"""Named argument checks shared by every public function.

Each check raises :class:`~gpudeconv.errors.InvalidTypeError` (wrong kind of thing) or
:class:`~gpudeconv.errors.InvalidArgumentError` (right kind, bad value) — a ``TypeError``
and a ``ValueError`` — with a message that names the parameter, the value received, and
what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, InvalidTypeError


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ``ValueError``."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise InvalidArgumentError(f"Invalid {name} {value!r}; expected one of {allowed}")
    return value


def check_real(
    name: str,
    value: Any,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    upper: float | None = None,
) -> float:
    """Return ``value`` as a finite float after range checks.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : object
        The value to check; bools and non-real numbers are rejected.
    positive, nonnegative : bool
        Require ``value > 0`` or ``value >= 0``.
    upper : float, optional
        Inclusive upper bound.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidTypeError(
            f"{name} must be a real number, got {type(value).__name__} {value!r}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise InvalidArgumentError(f"{name} must be finite, got {value!r}")
    if positive and value <= 0:
        raise InvalidArgumentError(f"{name} must be > 0, got {value!r}")
    if nonnegative and value < 0:
        raise InvalidArgumentError(f"{name} must be >= 0, got {value!r}")
    if upper is not None and value > upper:
        raise InvalidArgumentError(f"{name} must be <= {upper}, got {value!r}")
    return value


def check_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int (bools rejected), optionally at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidTypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(f"{name} must be >= {minimum}, got {value}")
    return value


#: Largest magnitude a float input may hold. HDR render targets (half-float max 65504),
#: negative TAA undershoot and astronomical counts are far inside it; beyond it, weights in
#: the hundreds and FFT sums over millions of pixels could overflow float32 to Inf.
MAX_ABS_VALUE = 1e30


def values_in_range(array: Any) -> bool:
    """Whether every value of a float array is finite with ``|x| ≤ MAX_ABS_VALUE``."""
    xp = array_module(array)
    if array.size == 0:
        return True
    # One reduction, one device sync: NaN propagates through max and fails the
    # comparison, ±Inf exceeds the bound.
    return float(xp.abs(array).max()) <= MAX_ABS_VALUE


def check_finite_array(name: str, array: Any) -> None:
    """Raise unless a float array is finite and within ±``MAX_ABS_VALUE`` (NumPy or CuPy)."""
    if array.dtype.kind == "f" and not values_in_range(array):
        raise InvalidArgumentError(
            f"{name} contains NaN, Inf or a value beyond ±{MAX_ABS_VALUE:g}; float inputs "
            f"must be finite with |x| <= {MAX_ABS_VALUE:g}"
        )


#: DLPack's device type for CUDA memory (``kDLCUDA``).
DLPACK_CUDA = 2


def is_gpu_array(a: Any) -> bool:
    """True for GPU arrays: CuPy, a CUDA DLPack tensor, or the CUDA array interface."""
    if type(a).__module__.startswith("cupy"):
        return True
    device = getattr(a, "__dlpack_device__", None)
    if device is not None:
        try:
            return device()[0] == DLPACK_CUDA
        except Exception:  # a tensor on no device, or a broken protocol: not ours to judge
            return False
    return hasattr(a, "__cuda_array_interface__")


def array_module(array: Any) -> Any:
    """Return ``cupy`` for CuPy arrays and ``numpy`` for everything else.

    CuPy is imported only when the array's type comes from it, so NumPy users never pay
    for (or need) a CuPy import.
    """
    if type(array).__module__.startswith("cupy"):
        import cupy

        return cupy
    return np


def image_array(name: str, image: Any) -> Any:
    """Validate an image: 2-D ``H×W`` or 3-D ``H×W×C``, non-empty, real, finite.

    Returns the array itself (NumPy or CuPy); lists are converted with ``np.asarray``.
    """
    xp = array_module(image)
    if xp is np:
        image = np.asarray(image)
    if image.dtype.kind == "c":
        raise InvalidTypeError(f"{name} must be real; got complex dtype {image.dtype}")
    if image.dtype.kind not in "fu" or image.dtype == np.float16:
        raise InvalidTypeError(
            f"{name} has dtype {image.dtype}; allowed dtypes are float32, float64, uint8, uint16"
        )
    if image.dtype.kind == "u" and image.dtype not in (np.uint8, np.uint16):
        raise InvalidTypeError(
            f"{name} has dtype {image.dtype}; allowed integer dtypes: uint8, uint16"
        )
    if image.ndim not in (2, 3):
        raise InvalidArgumentError(
            f"{name} must be 2-D (H, W) or 3-D (H, W, C); got shape {image.shape}"
        )
    if image.size == 0:
        raise InvalidArgumentError(f"{name} is empty (shape {image.shape}); need at least 1x1")
    check_finite_array(name, image)
    return image


def to_float(image: Any) -> Any:
    """Integer images to float32 in [0, 1]; float images unchanged (the one dtype policy)."""
    if image.dtype.kind == "u":
        scale = float(np.iinfo(image.dtype).max)
        return image.astype(np.float32) / np.float32(scale)
    return image
