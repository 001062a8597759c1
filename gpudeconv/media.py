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

import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import psf as _psf
from .errors import AppError
from .frames import FrameSpec
from .io import PendingOutput, atomic_output, check_output
from .methods import AUTO_METHODS, FILE_METHODS, METHODS, AutoRestorer, PsfRestorer

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "MediaError", "deblur_file", "read_photo"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")
log = logging.getLogger("gpudeconv")


class MediaError(AppError):
    """A one-line failure of ``gpudeconv deblur``; ``code`` is the exit status."""


def _check_paths(source: Path, target: Path, compare: Path | None, overwrite: bool) -> None:
    if not source.is_file():
        raise MediaError(f"input {str(source)!r} does not exist or is not a file")
    for path, role in ((source, "input"), (target, "output")):
        if path.suffix.lower() not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            raise MediaError(
                f"{role} {str(path)!r}: unsupported format {path.suffix!r}; "
                f"photos {IMAGE_SUFFIXES}, videos {VIDEO_SUFFIXES}"
            )
    if (source.suffix.lower() in VIDEO_SUFFIXES) != (target.suffix.lower() in VIDEO_SUFFIXES):
        raise MediaError("INPUT and OUTPUT must both be photos or both be videos")
    check_output(target, inputs=[source], overwrite=overwrite, role="output")
    if compare is not None:
        if compare.suffix.lower() not in IMAGE_SUFFIXES:
            raise MediaError(f"--compare {str(compare)!r} must be an image file {IMAGE_SUFFIXES}")
        check_output(
            compare, inputs=[source], others=[target], overwrite=overwrite, role="--compare figure"
        )


def deblur_file(
    input_path: str,
    output_path: str,
    *,
    psf_spec: str = "auto",
    noise: float | None = None,
    method: str | None = None,
    backend: str = "auto",
    overwrite: bool = False,
    compare: str | None = None,
    progress: bool = True,
) -> str:
    """Restore a photo or video file; returns a one-line summary.

    ``psf_spec='auto'`` (the default) estimates the blur and noise (``noise`` then
    replaces the estimated noise of a photo); a known PSF needs ``noise``. ``method``
    defaults to ``gauss-lap``; videos with ``auto`` use the per-frame table's basis.
    ``compare`` writes a figure (input, result, PSF, responses; for a video, its middle
    frame) under the same rules as the output: never an input or the output, an existing
    file only with ``overwrite``, written atomically.
    """
    source, target = Path(input_path), Path(output_path)
    figure = Path(compare) if compare else None
    _check_paths(source, target, figure, overwrite)
    video = source.suffix.lower() in VIDEO_SUFFIXES
    auto = psf_spec == "auto"
    if auto:
        if video and method is not None:
            raise MediaError(
                "videos with --psf auto use the per-frame table (atrous with oriented "
                "bands); --method applies to photos and known PSFs"
            )
        METHODS.check(method or "gauss-lap", allowed=AUTO_METHODS)
        kernel = None
    else:
        METHODS.check(method or "gauss-lap", allowed=FILE_METHODS)
        if noise is None:
            raise MediaError("--noise is required with a known --psf (or use --psf auto)")
        kernel = _psf.parse(psf_spec)
    method = method or "gauss-lap"
    if video:
        summary, pair, restore = _deblur_video(
            source, target, kernel, noise, method, backend, overwrite, progress
        )
    else:
        summary, pair, restore = _deblur_photo(
            source, target, kernel, noise, method, backend, overwrite
        )
    if auto and restore.estimate is not None:
        e = restore.estimate
        summary += (
            f"; estimated blur sigma {e.sigma[0]:.2f} x {e.sigma[1]:.2f} px at "
            f"{np.degrees(e.angle):.0f} deg, noise {e.noise:.4f}, confidence {e.confidence:.2f}"
        )
    if figure is not None:
        from .plots import compare_figure

        atomic_output(
            figure,
            lambda p: compare_figure(*pair, restore.kernel, restore.filter, p),
            overwrite=overwrite,
            inputs=[source],
            others=[target],
            role="--compare figure",
        )
        summary += f"; figure -> {figure}"
    return summary


def read_photo(path: str | Path) -> np.ndarray:
    """Read a photo as its code values (8- or 16-bit, grey, BGR or BGRA); one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{str(path)!r} does not exist or is not a file")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise MediaError(f"{str(path)!r}: unsupported photo format; photos {IMAGE_SUFFIXES}")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise MediaError(f"cannot read {str(path)!r} as an image")
    if image.dtype not in (np.uint8, np.uint16):
        raise MediaError(f"{str(path)!r} has {image.dtype} samples; 8- or 16-bit images only")
    return image


def _restorer(
    kernel: np.ndarray | None,
    noise: float | None,
    method: str,
    spec: FrameSpec,
    backend: str,
) -> PsfRestorer | AutoRestorer:
    if kernel is None:
        return AutoRestorer(spec, backend, method=method, noise=noise)
    assert noise is not None
    return PsfRestorer(method, kernel, noise, spec, backend)


def _deblur_photo(
    source: Path,
    target: Path,
    kernel: np.ndarray | None,
    noise: float | None,
    method: str,
    backend: str,
    overwrite: bool,
) -> tuple[str, tuple[np.ndarray, np.ndarray], PsfRestorer | AutoRestorer]:
    image = read_photo(source)
    spec = FrameSpec.create(image.shape, image.dtype)
    restore = _restorer(kernel, noise, method, spec, backend)
    start = time.perf_counter()
    restored = restore(image)
    seconds = time.perf_counter() - start

    def write(tmp: Path) -> None:
        if not cv2.imwrite(str(tmp), restored):
            raise MediaError(f"cannot encode {str(target)!r}")

    atomic_output(target, write, overwrite=overwrite, inputs=[source], role="output")
    summary = (
        f"restored {source.name} ({image.shape[1]}x{image.shape[0]}, "
        f"{image.dtype.itemsize * 8}-bit, {spec.channels} channel(s)) with {method} in "
        f"{seconds * 1e3:.0f} ms -> {target}"
    )
    return summary, (image, restored), restore


def _deblur_video(
    source: Path,
    target: Path,
    kernel: np.ndarray | None,
    noise: float | None,
    method: str,
    backend: str,
    overwrite: bool,
    progress: bool,
) -> tuple[str, tuple[np.ndarray, np.ndarray], PsfRestorer | AutoRestorer]:
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise MediaError(f"cannot open {str(source)!r} as a video")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    ok, first = capture.read()
    if not ok:
        raise MediaError(f"{str(source)!r} contains no readable frame")
    spec = FrameSpec.create(first.shape, first.dtype)
    restore = _restorer(kernel, noise, method, spec, backend)
    middle = (total or 1) // 2  # the frame the --compare figure shows
    at_middle: list[np.ndarray] = []

    def frames() -> Any:
        frame, index = first, 0
        while frame is not None:
            if index == middle:
                at_middle.append(frame.copy())
            yield frame
            ok, frame = capture.read()
            frame, index = (frame if ok else None), index + 1

    count = 0
    pair: tuple[np.ndarray, np.ndarray] = (first, first)
    start = time.perf_counter()

    def write(tmp: Path) -> None:
        nonlocal count, pair
        writer = cv2.VideoWriter(
            str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (spec.width, spec.height)
        )
        if not writer.isOpened():
            raise MediaError(f"cannot write video {str(target)!r}")
        bar = _progress(total, progress)
        try:
            for restored in restore.stream(frames()):
                writer.write(restored)
                if count == 0 or (count == middle and at_middle):
                    pair = (at_middle[0] if count == middle else first, restored)
                count += 1
                bar.update(1)
        finally:
            writer.release()
            bar.close()
        _copy_audio(source, tmp)

    try:
        atomic_output(target, write, overwrite=overwrite, inputs=[source], role="output")
    finally:
        capture.release()
    seconds = time.perf_counter() - start
    summary = (
        f"restored {count} frames of {source.name} ({spec.width}x{spec.height} at "
        f"{fps:.3g} fps) with {'auto' if kernel is None else method}, "
        f"{count / seconds:.1f} fps -> {target}"
    )
    return summary, pair, restore


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
        log.warning("no ffmpeg (pip install imageio-ffmpeg): audio not copied")
        return
    with PendingOutput(video) as muxed_file:  # removed on failure or Ctrl-C, renamed on success
        muxed = muxed_file.path
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
        if result.returncode != 0 or muxed.stat().st_size == 0:
            muxed_file.discard()
            log.warning("the container did not take the audio track; video only")
