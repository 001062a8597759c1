"""Frames made the way a camera makes them: linear-light blur, sensor noise, sRGB, codec.

``code = Q(encode(blur(x) + n(x)))``: a photograph's 8-bit sRGB codes are decoded to linear
light, blurred there (a lens blurs light, not codes), given Poisson–Gaussian sensor noise
(variance ``a·level + b``: shot noise grows with the signal), encoded back to 8-bit sRGB,
then stored as a PNG (lossless), a JPEG (OpenCV's libjpeg, 4:2:0) or a one-frame H.264
stream (x264 through PyAV, ``yuv420p``, CRF rate control) and decoded again.

Used by ``bench.camera`` (the table of issue 26) and by the tests of the estimator on
compressed frames.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import cv2
import numpy as np

from gpudeconv.core import psf
from gpudeconv.core.colour import linear_to_srgb, srgb_to_linear

__all__ = [
    "BLURS",
    "EXPOSURES",
    "STORAGES",
    "Blur",
    "Exposure",
    "camera_frame",
    "h264_roundtrip",
    "jpeg_roundtrip",
    "store",
]


@dataclass(frozen=True)
class Blur:
    """A named blur: ``kind`` in {'none', 'gaussian', 'disk', 'motion'} and its size."""

    kind: str
    size: float = 0.0

    @property
    def label(self) -> str:
        """A short name: 'none', 'gaussian 1.4', 'disk 2.5', 'motion 5'."""
        return "none" if self.kind == "none" else f"{self.kind} {self.size:g}"

    def kernel(self) -> np.ndarray:
        """The PSF (a delta for 'none'; motion is horizontal, ``size`` px long)."""
        if self.kind == "none":
            return np.ones((1, 1))
        if self.kind == "gaussian":
            return psf.gaussian(self.size)
        if self.kind == "disk":
            return psf.disk(self.size)
        if self.kind == "motion":
            return psf.motion(self.size, 0.0)
        raise ValueError(f"unknown blur kind {self.kind!r}")


@dataclass(frozen=True)
class Exposure:
    """Poisson–Gaussian sensor noise: variance ``gain · level + read²`` in linear light."""

    name: str
    gain: float
    read: float

    def std(self, level: np.ndarray) -> np.ndarray:
        """The noise std at linear ``level``."""
        return np.sqrt(self.gain * np.clip(level, 0.0, None) + self.read**2)


BLURS = (
    Blur("none"),
    Blur("gaussian", 0.8),
    Blur("gaussian", 1.4),
    Blur("gaussian", 2.0),
    Blur("disk", 1.5),
    Blur("disk", 2.5),
    Blur("motion", 5.0),
)
#: A well-lit scene (std 0.006 at mid grey, 0.18 linear) and a dim one (0.014): a full well
#: of ~5000 and ~900 electrons at white, with a little read noise.
EXPOSURES = (Exposure("bright", 2e-4, 1e-3), Exposure("dim", 1.1e-3, 2e-3))
#: Storage: 'png' (lossless), 'jpeg<q>' or 'h264-crf<c>'.
STORAGES = ("png", "jpeg50", "jpeg75", "jpeg90", "h264-crf18", "h264-crf23", "h264-crf28")


def camera_frame(
    sharp8: np.ndarray, blur: Blur, exposure: Exposure | None, seed: int = 0
) -> np.ndarray:
    """A sharp 8-bit sRGB BGR photograph as a camera would capture it (before storage).

    The blur is applied in linear light with mirrored edges; the noise is drawn from
    ``exposure`` (None: no noise); the result is rounded to 8-bit sRGB codes.
    """
    linear = srgb_to_linear(sharp8.astype(np.float64) / 255.0)
    kernel = blur.kernel()
    if kernel.size > 1:
        linear = cv2.filter2D(
            linear, -1, kernel[::-1, ::-1].copy(), borderType=cv2.BORDER_REFLECT_101
        )
    if exposure is not None:
        rng = np.random.default_rng(seed)
        linear = linear + rng.standard_normal(linear.shape) * exposure.std(linear)
    codes = linear_to_srgb(np.clip(linear, 0.0, 1.0)) * 255.0
    return np.clip(np.round(codes), 0, 255).astype(np.uint8)


def jpeg_roundtrip(frame: np.ndarray, quality: int) -> tuple[np.ndarray, bytes]:
    """``(decoded, file bytes)`` of a BGR frame stored as a baseline 4:2:0 JPEG."""
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode the JPEG")
    return cv2.imdecode(data, cv2.IMREAD_COLOR), data.tobytes()


def h264_roundtrip(frames: list[np.ndarray] | np.ndarray, crf: int) -> list[np.ndarray]:
    """BGR frames through x264 (``yuv420p``, CRF ``crf``, preset medium) and back.

    Even sizes are needed by 4:2:0; an odd edge row or column is cropped first.
    """
    import av

    frames = [frames] if isinstance(frames, np.ndarray) else list(frames)
    h, w = (frames[0].shape[0] // 2) * 2, (frames[0].shape[1] // 2) * 2
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(int(crf)), "preset": "medium"}
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:h, :w]), format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer, "r") as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def store(frame: np.ndarray, storage: str) -> np.ndarray:
    """The frame as read back after storing it as ``storage`` (see :data:`STORAGES`)."""
    if storage == "png":
        return frame.copy()
    if storage.startswith("jpeg"):
        return jpeg_roundtrip(frame, int(storage[4:]))[0]
    if storage.startswith("h264-crf"):
        return h264_roundtrip(frame, int(storage[8:]))[0]
    raise ValueError(f"unknown storage {storage!r}; allowed: {STORAGES}")


def even_crop(image: np.ndarray, side: int) -> np.ndarray:
    """The centre ``side``×``side`` crop (or the largest even one that fits)."""
    h, w = image.shape[:2]
    sh, sw = min(side, h) // 2 * 2, min(side, w) // 2 * 2
    y, x = (h - sh) // 2, (w - sw) // 2
    return np.ascontiguousarray(image[y : y + sh, x : x + sw])


def psnr8(reference: np.ndarray, image: np.ndarray, border: int = 8) -> float:
    """PSNR of 8-bit codes over the interior (``border`` px left out at each edge)."""
    a = reference[border:-border, border:-border].astype(np.float64)
    b = image[border:-border, border:-border].astype(np.float64)
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)
