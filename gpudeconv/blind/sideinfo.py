"""What a file or stream says about its compression, as the noise the codec added.

A decoded frame hides how it was compressed; the file does not. A JPEG carries its
quantisation tables, and FFmpeg's H.264 decoder exports each frame's quantiser (QP) as
``VIDEO_ENC_PARAMS`` side data. Either gives the codec's error as a noise std that the
estimator (``estimate(..., compression=)``) uses instead of guessing it from block
boundaries — which sees nothing on a JPEG of quality ≥ 90 whose grid does not show.

- JPEG: each DCT coefficient ``k`` of an 8×8 block is quantised with step ``q_k``. A
  coefficient kept (non-zero) carries a uniform error of variance ``q_k²/12``; one zeroed
  carries its own value, of Laplacian density (the classic model of DCT coefficients)
  whose scale follows from the share of zeros at that frequency, read from the decoded
  image's own DCT. The error's pixel variance is the mean over the 64 frequencies (the
  DCT is orthonormal). Measured on ``skimage.data`` photographs (sharp and blurred, with
  sensor noise) at q50–95: within 0.8–2.1× of the true error's std, where the
  block-boundary guess ranges 0–1.7× and reads 0 on three of six photographs at q90.
- H.264: the quantiser step ``0.625 · 2^(QP/6)`` (8-bit scale) as a uniform error,
  ``step/√12``. Measured on x264 CRF 18–28 (the same photographs): within 0.6–1.7× of the
  true error.

How much of it the estimator believes (:attr:`Compression.white_share`) was measured on
the camera frames of ``bench.camera`` (10 photographs × 7 blurs × 2 exposures; gain of
``deblur(frame, "auto")`` with and without the side information):

- JPEG q50/75/90 (OpenCV's libjpeg, 4:2:0) — the error's floor at half the stated std
  (the block-boundary reading is kept where it is larger; the stated std caps it): mean
  gain +0.36/+0.44/+0.46 → +0.37/+0.45/+0.48 dB on astronaut, coffee, chelsea and rocket,
  whose worst cell went from −0.13 to −0.07 dB; +0.22/+0.36/+0.41 → +0.23/+0.45/+0.51 dB
  on the other six (worst cell −0.15 dB either way).
- H.264 CRF 23/28 — any floor cost gain (text, CRF 28: +0.00 → −0.57 dB at half the
  stated std): x264's error is far from white (psy-RD and the deadzone put it where the
  blur already took the signal), so the QP only caps the reading (``white_share`` 0). In
  280 cells that cap never bound: the QP changes nothing measurable today.
"""

from __future__ import annotations

import enum
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core._validate import check_real
from ..errors import InvalidArgumentError

__all__ = ["Compression", "h264_noise", "jpeg_noise", "jpeg_tables"]

#: The share of a JPEG's stated error taken as white noise at least (module notes).
JPEG_WHITE_SHARE = 0.5
#: The most 8×8 blocks whose DCT is taken to count each frequency's zeros.
JPEG_BLOCKS = 4096


@dataclass(frozen=True)
class Compression:
    """A codec's error on one frame, from the file or stream.

    Attributes
    ----------
    codec : str
        ``'jpeg'`` or ``'h264'``.
    noise : float
        Std of the codec's error on the luma codes, as a fraction of the code range
        (0–1, like a noise std of the pipeline).
    detail : str
        What it was read from, for messages.
    white_share : float
        The share of ``noise`` the estimator takes as white noise at least (0–1; the
        rest may be error at frequencies the blur already took). Measured per codec:
        see the module notes.
    """

    codec: str
    noise: float
    detail: str = ""
    white_share: float = 0.0

    def __post_init__(self) -> None:
        check_real("noise", self.noise, nonnegative=True, upper=1.0)
        check_real("white_share", self.white_share, nonnegative=True, upper=1.0)

    @classmethod
    def from_jpeg(cls, source: str | Path | bytes) -> Compression | None:
        """Read a JPEG's luma table and decoded luma; None for a file that is not a JPEG."""
        from PIL import Image

        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.format != "JPEG":
                    return None
                tables = jpeg_tables(image)
                if image.mode in ("RGB", "YCbCr"):
                    image.draft("YCbCr", image.size)  # the decoder's own Y, not RGB's luma
                luma = np.asarray(image.getchannel(0), dtype=np.float64)
        except OSError:
            return None
        table = tables[0]
        noise = jpeg_noise(luma / 255.0, table)
        return cls("jpeg", noise, f"luma table, mean step {table.mean():.3g}", JPEG_WHITE_SHARE)

    @classmethod
    def from_video_frame(cls, frame: Any) -> Compression | None:
        """The QP a PyAV frame's ``VIDEO_ENC_PARAMS`` side data gives (H.264 only), or None.

        The decoder must export it: ``stream.codec_context.options =
        {"export_side_data": "venc_params"}`` before decoding.
        """
        for side in _side_data(frame):
            if type(side).__name__ != "VideoEncParams" or side.codec_type != 1:  # 1: H.264
                continue
            qp = float(side.qp)
            if side.nb_blocks:
                qp += float(np.mean(np.asarray(side.qp_map())) - side.qp)
            return cls("h264", h264_noise(qp), f"QP {qp:.1f}", 0.0)
        return None


def _side_data(frame: Any) -> list[Any]:
    """A PyAV frame's side data objects.

    PyAV up to 18.1.0 iterates its container over the objects; 18.1.1 made it a mapping
    whose iteration gives the *types* (``Type.VIDEO_ENC_PARAMS``) and ``values()`` the
    objects.
    """
    container = getattr(frame, "side_data", ())
    items = list(container)
    if items and isinstance(items[0], enum.Enum) and hasattr(container, "values"):
        return list(container.values())
    return items


def jpeg_tables(image: Any) -> dict[int, np.ndarray]:
    """A Pillow JPEG's quantisation tables as ``8×8`` float arrays (natural order).

    Table 0 is the luma table in baseline files written by libjpeg and its descendants.
    """
    raw = getattr(image, "quantization", None)
    if not raw:
        raise InvalidArgumentError("the image carries no JPEG quantisation tables")
    tables = {}
    for index, values in raw.items():
        table = np.asarray(list(values), dtype=np.float64)
        if table.size != 64 or (table < 1).any():
            raise InvalidArgumentError(f"JPEG quantisation table {index} is malformed")
        tables[int(index)] = table.reshape(8, 8)
    return tables


def jpeg_noise(luma: np.ndarray, table: np.ndarray) -> float:
    """Std (0–1 code range) of a JPEG's quantisation error from its luma table.

    ``luma`` is the decoded luma in 0–1, on the codec's grid at (0, 0); ``table`` the 8×8
    luma quantisation table in 8-bit code steps. See the module notes for the model.
    """
    from scipy.fft import dctn

    luma = np.asarray(luma, dtype=np.float64)
    table = np.asarray(table, dtype=np.float64)
    if luma.ndim != 2 or table.shape != (8, 8):
        raise InvalidArgumentError(
            f"jpeg_noise needs a 2-D luma plane and an 8x8 table; got {luma.shape}, {table.shape}"
        )
    height, width = (luma.shape[0] // 8) * 8, (luma.shape[1] // 8) * 8
    if height == 0 or width == 0:
        return float(math.sqrt((table**2 / 12).mean()) / 255)  # no block: the bound
    blocks = (luma[:height, :width] * 255 - 128).reshape(height // 8, 8, width // 8, 8)
    blocks = blocks.transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    step = max(1, blocks.shape[0] // JPEG_BLOCKS)
    coefficients = dctn(blocks[::step], axes=(1, 2), norm="ortho")
    zeros = np.clip((np.round(coefficients / table) == 0).mean(axis=0), 1e-6, 1 - 1e-6)
    half = table / 2
    rate = -np.log1p(-zeros) / half  # Laplacian: P(|c| < q/2) = 1 − exp(−λ q/2)
    x = rate * half
    zeroed = (2 / rate**2) * (1 - np.exp(-x) * (1 + x + x * x / 2)) / (1 - np.exp(-x))
    uniform = table**2 / 12
    variance = zeros * np.minimum(zeroed, uniform) + (1 - zeros) * uniform
    variance[0, 0] = uniform[0, 0]
    return float(math.sqrt(variance.mean()) / 255)


def h264_noise(qp: float) -> float:
    """Std (0–1 code range) of H.264's quantisation error at ``qp`` (8-bit scale)."""
    qp = check_real("qp", qp, nonnegative=True, upper=63.0)
    return min(0.625 * 2 ** (qp / 6) / math.sqrt(12) / 255, 1.0)
