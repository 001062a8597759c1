"""``gpudeconv deblur``: restore a photo or a video file.

Photos (PNG, JPEG, TIFF; 8- or 16-bit; grey, RGB, RGBA) keep their bit depth and alpha.
Videos are restored frame by frame through the streaming pipeline at the same size and
frame rate; OpenCV writes video only, so the audio track is copied afterwards when the
optional ``imageio-ffmpeg`` package provides an ffmpeg (``pip install imageio-ffmpeg``),
and is otherwise dropped with a notice. Output goes to a temporary file renamed into
place at the end: an interrupted run leaves nothing half-written, and the input is never
overwritten.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import psf as _psf
from .colour import decode_table, encode_reference
from .filters import DeconvFilter
from .fit import FitQualityWarning, fit
from .fit.targets import total_noise
from .frames import FrameSpec
from .io import atomic_output
from .pipeline import Pipeline
from .wiener import wiener

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "MediaError", "deblur_file", "wiener_frame"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")
METHODS = ("gauss-lap", "atrous", "fir", "unsharp", "wiener")


class MediaError(Exception):
    """A one-line failure of ``gpudeconv deblur``; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _check_paths(source: Path, target: Path, overwrite: bool) -> None:
    if not source.is_file():
        raise MediaError(f"input {str(source)!r} does not exist or is not a file")
    if target.exists() and target.resolve() == source.resolve():
        raise MediaError("OUTPUT is the INPUT file; the input is never overwritten")
    if target.exists() and not overwrite:
        raise MediaError(f"output {str(target)!r} already exists; pass --overwrite to replace it")
    if not target.parent.is_dir():
        raise MediaError(f"output folder {str(target.parent)!r} does not exist")
    for path, role in ((source, "input"), (target, "output")):
        if path.suffix.lower() not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            raise MediaError(
                f"{role} {str(path)!r}: unsupported format {path.suffix!r}; "
                f"photos {IMAGE_SUFFIXES}, videos {VIDEO_SUFFIXES}"
            )
    if (source.suffix.lower() in VIDEO_SUFFIXES) != (target.suffix.lower() in VIDEO_SUFFIXES):
        raise MediaError("INPUT and OUTPUT must both be photos or both be videos")


def wiener_frame(
    frame: np.ndarray, kernel: np.ndarray, noise: float, spec: FrameSpec
) -> np.ndarray:
    """The FFT reference on one frame: decoded to linear light, restored, encoded back.

    ``noise`` is the total noise std (quantisation included); alpha is copied.
    """
    colour = frame[..., :3] if spec.has_alpha else frame
    linear = (
        decode_table(spec.dtype.name, "linear", "float64")[colour] if spec.is_integer else colour
    )
    restored = wiener(linear, kernel, noise=noise)
    out = (
        encode_reference(restored, spec.dtype, "linear")
        if spec.is_integer
        else restored.astype(spec.dtype)
    )
    if spec.has_alpha:
        out = np.concatenate([out, frame[..., 3:]], axis=-1)
    return out


def _restorer(
    method: str, kernel: np.ndarray, noise: float, bits: int, spec: FrameSpec, backend: str
) -> tuple[Any, DeconvFilter | None]:
    """A callable restoring one frame, and the fitted filter (None for 'wiener')."""
    if method == "wiener":
        total = total_noise(noise, bits if spec.is_integer else None)

        def restore(frame: np.ndarray) -> np.ndarray:
            return wiener_frame(frame, kernel, total, spec)

        return restore, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitQualityWarning)
        filt = fit(
            kernel, noise=noise, basis=method, quantization_bits=bits if spec.is_integer else None
        )
    for w in caught:
        print(f"gpudeconv deblur: warning: {w.message}", file=sys.stderr)
    pipe = Pipeline(filt, shape=spec.shape, dtype=spec.dtype, backend=backend)
    return pipe, filt


def deblur_file(
    input_path: str,
    output_path: str,
    *,
    psf_spec: str,
    noise: float,
    method: str = "gauss-lap",
    backend: str = "auto",
    overwrite: bool = False,
    compare: str | None = None,
    progress: bool = True,
) -> str:
    """Restore a photo or video file; returns a one-line summary."""
    source, target = Path(input_path), Path(output_path)
    _check_paths(source, target, overwrite)
    if method not in METHODS:
        raise MediaError(f"Invalid method {method!r}; expected one of {METHODS}")
    kernel = _psf.parse(psf_spec)
    if source.suffix.lower() in VIDEO_SUFFIXES:
        return _deblur_video(source, target, kernel, noise, method, backend, overwrite, progress)
    image = cv2.imread(str(source), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise MediaError(f"cannot read {str(source)!r} as an image")
    if image.dtype not in (np.uint8, np.uint16):
        raise MediaError(f"{str(source)!r} has {image.dtype} samples; 8- or 16-bit images only")
    spec = FrameSpec.create(image.shape, image.dtype)
    restore, filt = _restorer(method, kernel, noise, image.dtype.itemsize * 8, spec, backend)
    start = time.perf_counter()
    restored = restore(image)
    seconds = time.perf_counter() - start

    def write(tmp: Path) -> None:
        if not cv2.imwrite(str(tmp), restored):
            raise MediaError(f"cannot encode {str(target)!r}")

    atomic_output(target, write, overwrite=overwrite)
    if compare:
        atomic_output(
            compare, lambda p: _compare_figure(image, restored, kernel, filt, p), overwrite=True
        )
    return (
        f"restored {source.name} ({image.shape[1]}x{image.shape[0]}, "
        f"{image.dtype.itemsize * 8}-bit, {spec.channels} channel(s)) with {method} in "
        f"{seconds * 1e3:.0f} ms -> {target}"
    )


def _deblur_video(
    source: Path,
    target: Path,
    kernel: np.ndarray,
    noise: float,
    method: str,
    backend: str,
    overwrite: bool,
    progress: bool,
) -> str:
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise MediaError(f"cannot open {str(source)!r} as a video")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    ok, first = capture.read()
    if not ok:
        raise MediaError(f"{str(source)!r} contains no readable frame")
    spec = FrameSpec.create(first.shape, first.dtype)
    restore, _ = _restorer(method, kernel, noise, 8, spec, backend)

    def frames() -> Any:
        frame = first
        while frame is not None:
            yield frame
            ok, frame = capture.read()
            if not ok:
                frame = None

    count = 0
    start = time.perf_counter()

    def write(tmp: Path) -> None:
        nonlocal count
        writer = cv2.VideoWriter(
            str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (spec.width, spec.height)
        )
        if not writer.isOpened():
            raise MediaError(f"cannot write video {str(target)!r}")
        bar = _progress(total, progress)
        try:
            stream = (
                restore.stream(frames())
                if isinstance(restore, Pipeline)
                else map(restore, frames())
            )
            for restored in stream:
                writer.write(restored)
                count += 1
                bar.update(1)
        finally:
            writer.release()
            bar.close()
        _copy_audio(source, tmp)

    try:
        atomic_output(target, write, overwrite=overwrite)
    finally:
        capture.release()
    seconds = time.perf_counter() - start
    return (
        f"restored {count} frames of {source.name} ({spec.width}x{spec.height} at "
        f"{fps:.3g} fps) with {method}, {count / seconds:.1f} fps -> {target}"
    )


def _progress(total: int | None, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def _copy_audio(source: Path, video: Path) -> None:
    """Mux the source's audio into ``video`` in place, when an ffmpeg is available."""
    try:
        import imageio_ffmpeg

        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        print(
            "gpudeconv deblur: no ffmpeg (pip install imageio-ffmpeg): audio not copied",
            file=sys.stderr,
        )
        return
    muxed = video.with_name(video.stem + ".audio" + video.suffix)
    result = subprocess.run(
        [
            ffmpeg,
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(video),
            "-i",
            str(source),
            "-map",
            "0:v:0",
            "-map",
            "1:a?",
            "-c",
            "copy",
            "-shortest",
            str(muxed),
        ],
        capture_output=True,
        check=False,
    )
    if result.returncode == 0 and muxed.exists():
        os.replace(muxed, video)
    else:
        muxed.unlink(missing_ok=True)
        print(
            "gpudeconv deblur: the container did not take the audio track; video only",
            file=sys.stderr,
        )


def _compare_figure(
    before: np.ndarray, after: np.ndarray, kernel: np.ndarray, filt: DeconvFilter | None, path: Path
) -> None:
    from .plots import _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.2))
    h, w = before.shape[:2]
    crop = (slice(h // 4, h // 4 + min(h // 2, 256)), slice(w // 4, w // 4 + min(w // 2, 256)))
    for ax, image, title in ((axes[0], before, "input"), (axes[1], after, "restored")):
        shown = image[crop]
        if shown.ndim == 3:
            shown = cv2.cvtColor(shown[..., :3], cv2.COLOR_BGR2RGB)
        ax.imshow(shown.astype(np.float64) / np.iinfo(image.dtype).max, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title)
        ax.axis("off")
    axes[2].imshow(kernel, cmap="magma")
    axes[2].set_title(f"PSF {kernel.shape[0]}x{kernel.shape[1]}")
    omega = np.linspace(0, np.pi, 256)
    from .fit.targets import psf_response

    otf = np.abs(psf_response(kernel, np.zeros(1), omega))[0]
    axes[3].plot(omega, otf, label="blur |H|", color="0.5")
    if filt is not None:
        axes[3].plot(omega, filt.response(omega, 0 * omega), label=f"fitted F ({filt.basis})")
        axes[3].plot(omega, np.abs(filt.response(omega, 0 * omega) * otf), label="|F·H|")
    axes[3].axhline(1, color="k", lw=0.5)
    axes[3].set_xlabel("ω along x (rad/pixel)")
    axes[3].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
