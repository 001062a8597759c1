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
import os
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
from .io import atomic_output
from .methods import FILE_METHODS, METHODS, PsfRestorer

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "MediaError", "deblur_file"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")
log = logging.getLogger("gpudeconv")


class MediaError(AppError):
    """A one-line failure of ``gpudeconv deblur``; ``code`` is the exit status."""


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
    METHODS.check(method, allowed=FILE_METHODS)
    kernel = _psf.parse(psf_spec)
    if source.suffix.lower() in VIDEO_SUFFIXES:
        return _deblur_video(source, target, kernel, noise, method, backend, overwrite, progress)
    image = cv2.imread(str(source), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise MediaError(f"cannot read {str(source)!r} as an image")
    if image.dtype not in (np.uint8, np.uint16):
        raise MediaError(f"{str(source)!r} has {image.dtype} samples; 8- or 16-bit images only")
    spec = FrameSpec.create(image.shape, image.dtype)
    restore = PsfRestorer(method, kernel, noise, spec, backend)
    start = time.perf_counter()
    restored = restore(image)
    seconds = time.perf_counter() - start

    def write(tmp: Path) -> None:
        if not cv2.imwrite(str(tmp), restored):
            raise MediaError(f"cannot encode {str(target)!r}")

    atomic_output(target, write, overwrite=overwrite)
    if compare:
        from .plots import compare_figure

        atomic_output(
            compare,
            lambda p: compare_figure(image, restored, kernel, restore.filter, p),
            overwrite=True,
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
    restore = PsfRestorer(method, kernel, noise, spec, backend)

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
            for restored in restore.stream(frames()):
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
        log.warning("no ffmpeg (pip install imageio-ffmpeg): audio not copied")
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
        log.warning("the container did not take the audio track; video only")
