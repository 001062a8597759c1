"""The one frame-format policy: which frames a pipeline takes and how they are coded.

Frames are ``H×W`` or ``H×W×C`` arrays:

- float32, ``C ∈ {1, 3, 4}``: values are filtered as given (linear light assumed);
- uint8 / uint16, ``C ∈ {1, 3, 4}``: code values, decoded sRGB → linear by table, filtered
  in linear light and encoded back with rounding and saturation (``space='linear'``), or
  filtered as code values scaled to [0, 1] (``space='srgb'``).

A 4th channel is alpha and passes through untouched. ``channel_order`` ('bgr', OpenCV's
order, or 'rgb') matters only for the luma weights of ``luma_only``.

The frame options — ``channel_order``, ``space``, ``luma_only``, ``boundary``, ``bits`` — are
defined once, here (:data:`FRAME_OPTIONS`); ``Pipeline``, ``deblur`` and the Dask and
command-line front ends pass them through as keywords.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, InvalidTypeError
from ._validate import check_choice
from .boundaries import BOUNDARIES, FRAME_BOUNDARIES
from .colour import code_max

__all__ = ["FRAME_OPTIONS", "FrameSpec"]

DTYPES = (np.dtype(np.float32), np.dtype(np.uint8), np.dtype(np.uint16))
CHANNELS = (1, 3, 4)
ORDERS = ("bgr", "rgb")
SPACES = ("linear", "srgb")
#: What the front ends offer to restore: the luminance (``luma_only``, or a video's Y
#: plane) or every colour channel.
CHANNEL_CHOICES = ("luma", "all")


@dataclass(frozen=True)
class FrameSpec:
    """What a pipeline is built for: shape, dtype and how to read the channels.

    Attributes
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``, ``C ∈ {1, 3, 4}`` (the 4th channel is alpha, copied).
    dtype : numpy.dtype
        float32, uint8 or uint16. Integer frames are sRGB code values.
    channel_order : {'bgr', 'rgb'}
        Order of the colour channels (OpenCV's BGR by default); used for luma weights.
    space : {'linear', 'srgb'}
        Integer frames: decode sRGB to linear light and filter there (``linear``), or
        filter the code values scaled to [0, 1] (``srgb``).
    luma_only : bool
        Filter only the luminance and add its change to every colour channel.
    boundary : {'reflect', 'clamp'}
        OpenCV ``BORDER_REFLECT`` (mirror, edge pixel repeated once) or
        ``BORDER_REPLICATE``.
    bits : int, optional
        Significant bits of uint16 codes (9–16; e.g. 10 for a 10-bit video plane, codes
        0–1023); None: the dtype's own (8 or 16).
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    channel_order: str = "bgr"
    space: str = "linear"
    luma_only: bool = False
    boundary: str = "reflect"
    bits: int | None = None

    @classmethod
    def create(cls, shape: Any, dtype: Any, **options: Any) -> FrameSpec:
        """Validate every field and build the spec; ``options`` are :data:`FRAME_OPTIONS`."""
        unknown = sorted(set(options) - set(FRAME_OPTIONS))
        if unknown:
            raise InvalidTypeError(
                f"unknown frame options {unknown}; the frame options are {FRAME_OPTIONS}"
            )
        options = {**FRAME_DEFAULTS, **options}
        shape = _shape(shape)
        if len(shape) not in (2, 3) or any(s < 1 for s in shape):
            raise InvalidArgumentError(
                f"shape must be (H, W) or (H, W, C) with positive sizes; got {shape}"
            )
        if len(shape) == 3 and shape[2] not in CHANNELS:
            raise InvalidArgumentError(f"frames must have 1, 3 or 4 channels; got shape {shape}")
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise InvalidTypeError(f"dtype {dtype!r} is not a NumPy dtype") from None
        if dtype not in DTYPES:
            raise InvalidTypeError(
                f"dtype {dtype} is not supported; allowed: float32, uint8, uint16"
            )
        check_choice("channel_order", options["channel_order"], ORDERS)
        check_choice("space", options["space"], SPACES)
        boundary = BOUNDARIES.check(options["boundary"], allowed=FRAME_BOUNDARIES)
        if not isinstance(options["luma_only"], bool):
            raise InvalidTypeError(f"luma_only must be a bool; got {options['luma_only']!r}")
        bits = _bits(options["bits"], dtype)
        spec = cls(
            shape,
            dtype,
            options["channel_order"],
            options["space"],
            options["luma_only"],
            boundary,
            bits,
        )
        if spec.luma_only and spec.colour_channels != 3:
            raise InvalidArgumentError(
                f"luma_only needs 3 colour channels (H, W, 3 or 4); got {shape}"
            )
        return spec

    @property
    def height(self) -> int:
        """Rows."""
        return self.shape[0]

    @property
    def width(self) -> int:
        """Columns."""
        return self.shape[1]

    @property
    def channels(self) -> int:
        """Channels including alpha (1 for ``H×W``)."""
        return self.shape[2] if len(self.shape) == 3 else 1

    @property
    def colour_channels(self) -> int:
        """Channels that are filtered (alpha excluded)."""
        return 3 if self.channels == 4 else self.channels

    @property
    def has_alpha(self) -> bool:
        """Whether the last channel is alpha (4-channel frames)."""
        return self.channels == 4

    @property
    def is_integer(self) -> bool:
        """uint8 or uint16 frames (code values with a colour transfer)."""
        return self.dtype.kind == "u"

    @property
    def max_code(self) -> int:
        """Largest code value of an integer frame (255, 1023, 65535, …); 1 for floats."""
        return code_max(self.dtype, self.bits) if self.is_integer else 1

    @property
    def quantization_bits(self) -> int | None:
        """Bits of an integer frame's codes (8, 10, 16): their rounding is noise to fit for."""
        if not self.is_integer:
            return None
        return self.bits or self.dtype.itemsize * 8

    @property
    def options(self) -> dict[str, Any]:
        """The frame options of this spec, as keywords for ``FrameSpec.create``."""
        return {name: getattr(self, name) for name in FRAME_OPTIONS}

    def check_frame(self, frame: Any, name: str = "frame") -> np.ndarray:
        """Raise unless ``frame`` is an array of exactly this shape and dtype."""
        if not hasattr(frame, "shape") or not hasattr(frame, "dtype"):
            raise InvalidTypeError(f"{name} must be an array; got {type(frame).__name__}")
        if frame.dtype != self.dtype:
            raise InvalidTypeError(
                f"{name} has dtype {frame.dtype}; this pipeline was built for {self.dtype}"
            )
        if tuple(frame.shape) != self.shape:
            raise InvalidArgumentError(
                f"{name} has shape {tuple(frame.shape)}; this pipeline was built for {self.shape}"
            )
        return frame


#: The keywords that describe how a frame is coded, with their defaults.
def _bits(bits: Any, dtype: np.dtype) -> int | None:
    """Validate ``bits`` for ``dtype``; None means the dtype's own."""
    if bits is None:
        return None
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise InvalidTypeError(f"bits must be an integer or None; got {bits!r}")
    bits = int(bits)
    if dtype == np.uint16 and 9 <= bits <= 16:
        return None if bits == 16 else bits
    if dtype == np.uint8 and bits == 8:
        return None
    raise InvalidArgumentError(
        f"bits={bits} does not fit dtype {dtype}: uint16 frames take 9 to 16 significant "
        "bits (10 for 10-bit video), uint8 only 8, float frames none"
    )


FRAME_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(FrameSpec) if f.name not in ("shape", "dtype")
}
FRAME_OPTIONS = tuple(FRAME_DEFAULTS)


def _shape(shape: Any) -> tuple[int, ...]:
    """A shape as a tuple of Python ints; non-integral sizes are an error, not truncated."""
    try:
        sizes = tuple(shape)
    except TypeError:
        raise InvalidTypeError(f"shape must be a tuple of ints; got {shape!r}") from None
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise InvalidTypeError(f"shape must be a tuple of ints; got {shape!r}")
    return tuple(int(s) for s in sizes)
