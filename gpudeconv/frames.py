"""The one frame-format policy: which frames a pipeline takes and how they are coded.

Frames are ``H×W`` or ``H×W×C`` arrays:

- float32, ``C ∈ {1, 3, 4}``: values are filtered as given (linear light assumed);
- uint8 / uint16, ``C ∈ {1, 3, 4}``: code values, decoded sRGB → linear by table, filtered
  in linear light and encoded back with rounding and saturation (``space='linear'``), or
  filtered as code values scaled to [0, 1] (``space='srgb'``).

A 4th channel is alpha and passes through untouched. ``channel_order`` ('bgr', OpenCV's
order, or 'rgb') matters only for the luma weights of ``luma_only``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import check_choice

__all__ = ["BOUNDARIES", "FrameSpec", "luma_weights"]

DTYPES = (np.dtype(np.float32), np.dtype(np.uint8), np.dtype(np.uint16))
CHANNELS = (1, 3, 4)
ORDERS = ("bgr", "rgb")
SPACES = ("linear", "srgb")
BOUNDARIES = ("reflect", "clamp")
#: Rec. 709 / sRGB luminance weights of linear R, G, B.
_LUMA_RGB = (0.2126, 0.7152, 0.0722)


def luma_weights(channel_order: str) -> tuple[float, float, float]:
    """Luminance weights in the frame's own channel order."""
    return _LUMA_RGB if channel_order == "rgb" else _LUMA_RGB[::-1]


@dataclass(frozen=True)
class FrameSpec:
    """What a pipeline is built for: shape, dtype and how to read the channels."""

    shape: tuple[int, ...]
    dtype: np.dtype
    channel_order: str = "bgr"
    space: str = "linear"
    luma_only: bool = False
    boundary: str = "reflect"

    @classmethod
    def create(
        cls,
        shape: Any,
        dtype: Any,
        *,
        channel_order: str = "bgr",
        space: str = "linear",
        luma_only: bool = False,
        boundary: str = "reflect",
    ) -> FrameSpec:
        """Validate every field and build the spec."""
        try:
            shape = tuple(int(s) for s in shape)
        except TypeError:
            raise TypeError(f"shape must be a tuple of ints; got {shape!r}") from None
        if len(shape) not in (2, 3) or any(s < 1 for s in shape):
            raise ValueError(f"shape must be (H, W) or (H, W, C) with positive sizes; got {shape}")
        if len(shape) == 3 and shape[2] not in CHANNELS:
            raise ValueError(f"frames must have 1, 3 or 4 channels; got shape {shape}")
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype {dtype!r} is not a NumPy dtype") from None
        if dtype not in DTYPES:
            raise TypeError(f"dtype {dtype} is not supported; allowed: float32, uint8, uint16")
        check_choice("channel_order", channel_order, ORDERS)
        check_choice("space", space, SPACES)
        check_choice("boundary", boundary, BOUNDARIES)
        if not isinstance(luma_only, bool):
            raise TypeError(f"luma_only must be a bool; got {luma_only!r}")
        spec = cls(shape, dtype, channel_order, space, luma_only, boundary)
        if luma_only and spec.colour_channels != 3:
            raise ValueError(f"luma_only needs 3 colour channels (H, W, 3 or 4); got {shape}")
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
        """Largest code value of an integer frame (255 or 65535); 1 for floats."""
        return int(np.iinfo(self.dtype).max) if self.is_integer else 1

    @property
    def decodes_srgb(self) -> bool:
        """Integer frames filtered in linear light go through the sRGB curves."""
        return self.is_integer and self.space == "linear"

    def check_frame(self, frame: Any, name: str = "frame") -> np.ndarray:
        """Raise unless ``frame`` is an array of exactly this shape and dtype."""
        if not hasattr(frame, "shape") or not hasattr(frame, "dtype"):
            raise TypeError(f"{name} must be an array; got {type(frame).__name__}")
        if frame.dtype != self.dtype:
            raise TypeError(
                f"{name} has dtype {frame.dtype}; this pipeline was built for {self.dtype}"
            )
        if tuple(frame.shape) != self.shape:
            raise ValueError(
                f"{name} has shape {tuple(frame.shape)}; this pipeline was built for {self.shape}"
            )
        return frame
