"""``gpudeconv deblur``: restore a photo or a video file.

Photos (PNG, JPEG, TIFF; 8- or 16-bit; grey, RGB, RGBA) keep their bit depth and alpha.
Videos go through FFmpeg's libraries (:mod:`gpudeconv.media.video`, PyAV): decoded, restored in
YUV — the luma plane only, by default — and encoded with the input's codec family, pixel
format, bit depth, colour tags, timestamps and rotation, its audio and subtitles copied
as they are. Output goes to a temporary file renamed into place at the end: an
interrupted run leaves nothing half-written, and the input is never overwritten.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..core import psf as _psf
from ..core._validate import check_choice
from ..core.frames import CHANNEL_CHOICES, SPACES, FrameSpec
from ..errors import AppError, opencv_reason
from ..restoration.methods import (
    AUTO_METHODS,
    FILE_METHODS,
    METHODS,
    AutoRestorer,
    PsfRestorer,
    StillRestorer,
)
from ..restoration.stills import DEFAULT_KERNEL_SIZE, RESTORE_METHODS
from .bigimage import deblur_big, streams
from .io import atomic_output, check_output
from .metadata import jpeg_complete, read_metadata, with_metadata
from .video import PLANAR_YUV, EncodeSettings, PlaneRestorer, probe, transcode

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "MediaError", "deblur_file", "read_photo"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")
#: What ``--compare`` figures may be (matplotlib writes no BMP).
FIGURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
log = logging.getLogger("gpudeconv")


class MediaError(AppError):
    """A one-line failure of ``gpudeconv deblur``; ``code`` is the exit status."""


def _check_paths(
    source: Path, target: Path, compare: Path | None, overwrite: bool, inputs: list[Path]
) -> None:
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
    check_output(target, inputs=inputs, overwrite=overwrite, role="output")
    _check_figure(compare, inputs, target, overwrite)


def _check_figure(compare: Path | None, inputs: list[Path], target: Path, overwrite: bool) -> None:
    if compare is not None:
        if compare.suffix.lower() not in FIGURE_SUFFIXES:
            raise MediaError(
                f"--compare {str(compare)!r} must be an image file matplotlib writes "
                f"{FIGURE_SUFFIXES}"
            )
        check_output(
            compare, inputs=inputs, others=[target], overwrite=overwrite, role="--compare figure"
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
    space: str = "linear",
    channels: str | None = None,
    encode: EncodeSettings | None = None,
    iterations: int | None = None,
    kernel_size: int | None = None,
) -> str:
    """Restore a photo or video file; returns a one-line summary.

    ``psf_spec='auto'`` (the default) estimates the blur and noise (``noise`` then
    replaces the estimated noise of a photo); a known PSF needs ``noise``.
    ``psf_spec='estimate'`` (photos, with an iterative ``method``, by default
    ``hyper-laplacian``) estimates a camera-shake kernel of ``kernel_size`` pixels
    (default :data:`DEFAULT_KERNEL_SIZE`) with :func:`gpudeconv.estimate_kernel`. ``method``
    defaults to ``gauss-lap``; videos with ``auto`` use the per-frame table's basis.
    ``space``: restore in linear light (``linear``, optical blur) or on code values
    (``srgb``, blur made by software). ``channels``: ``luma`` (the default for videos:
    the Y plane, chroma untouched) or ``all`` (the default for photos). ``encode``: the
    video encoder's settings (codec, CRF, preset, bit rate).
    ``compare`` writes a figure (input, result, PSF, responses; for a video, its middle
    frame) under the same rules as the output: never an input or the output, an existing
    file only with ``overwrite``, written atomically.
    Images too big for memory — a Zarr store on either side, or a TIFF pair of more than
    :data:`~gpudeconv.media.bigimage.STREAM_PIXELS` pixels — stream band by band
    (:mod:`gpudeconv.media.bigimage`; ``--compare`` then shows a centre crop).
    """
    summary, _ = _deblur_file(
        input_path,
        output_path,
        psf_spec=psf_spec,
        noise=noise,
        method=method,
        backend=backend,
        overwrite=overwrite,
        compare=compare,
        progress=progress,
        space=space,
        channels=channels,
        encode=encode,
        iterations=iterations,
        kernel_size=kernel_size,
    )
    return summary


def _deblur_file(
    input_path: str,
    output_path: str,
    *,
    psf_spec: str,
    noise: float | None,
    method: str | None,
    backend: str,
    overwrite: bool,
    compare: str | None,
    progress: bool,
    space: str,
    channels: str | None,
    encode: EncodeSettings | None,
    iterations: int | None = None,
    kernel_size: int | None = None,
) -> tuple[str, int]:
    """:func:`deblur_file`, also returning the number of frames restored."""
    source, target = Path(input_path), Path(output_path)
    figure = Path(compare) if compare else None
    # The files the command reads — the input, and a --psf kernel file — are never written.
    kernel_file = _psf.spec_file(psf_spec)
    inputs = [source] + ([kernel_file] if kernel_file is not None else [])
    streamed = streams(source, target)
    if streamed:
        _check_figure(figure, inputs, target, overwrite)
    else:
        _check_paths(source, target, figure, overwrite, inputs)
    video = not streamed and source.suffix.lower() in VIDEO_SUFFIXES
    check_choice("space", space, SPACES)
    channels = channels or ("luma" if video else "all")
    check_choice("channels", channels, CHANNEL_CHOICES)
    auto = psf_spec == "auto"
    blind = psf_spec == "estimate"
    if kernel_size is not None and not blind:
        raise MediaError("--kernel-size is for --psf estimate (a blind camera-shake kernel)")
    if blind:
        if video or streamed:
            raise MediaError(
                "--psf estimate (a camera-shake kernel) is for photos; videos and streamed "
                "images take --psf auto or a known PSF"
            )
        method = method or "hyper-laplacian"
        if method not in RESTORE_METHODS:
            raise MediaError(
                f"--psf estimate restores with an iterative method ({', '.join(RESTORE_METHODS)}); "
                f"got --method {method}"
            )
        kernel_size = DEFAULT_KERNEL_SIZE if kernel_size is None else kernel_size
    still = method in RESTORE_METHODS
    if still and (video or streamed):
        raise MediaError(
            f"--method {method} is an iterative method for photos; videos and streamed "
            "images use a fitted filter (gauss-lap, atrous, ...)"
        )
    if iterations is not None and not still:
        raise MediaError("--iterations is for the iterative methods (tv, hyper-laplacian, rl)")
    if still:
        kernel = None if auto or blind else _psf.parse(psf_spec)
        if not (auto or blind) and noise is None:
            raise MediaError("--noise is required with a known --psf (or use --psf auto)")
    elif auto:
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
    job = _Job(
        kernel,
        noise,
        method,
        backend,
        space,
        channels == "luma",
        overwrite,
        iterations,
        progress,
        kernel_size,
        tuple(inputs),
    )
    if streamed:
        summary, crops, restore = deblur_big(source, target, job, progress=progress, compare=figure)
        frames = 1
    elif video:
        summary, crops, restore, frames = _deblur_video(source, target, job, encode, progress)
    else:
        summary, crops, restore = _deblur_photo(source, target, job)
        frames = 1
    if blind:
        side = restore.kernel.shape[0]
        summary += f"; estimated a {side}x{side} camera-shake kernel"
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
            lambda p: compare_figure(*crops, restore.kernel, restore.filter, p),
            overwrite=overwrite,
            inputs=inputs,
            others=[target],
            role="--compare figure",
        )
        summary += f"; figure -> {figure}"
    return summary, frames


def read_photo(path: str | Path) -> np.ndarray:
    """Read a photo as its code values (8- or 16-bit, grey, BGR or BGRA); one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{str(path)!r} does not exist or is not a file")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise MediaError(f"{str(path)!r}: unsupported photo format; photos {IMAGE_SUFFIXES}")
    data = path.read_bytes()  # read once: a JPEG's structure checked, then decoded
    # By content, not name: OpenCV decodes a PNG named .jpg, and a JPEG named .png.
    if data[:2] == b"\xff\xd8" and not jpeg_complete(data):
        raise MediaError(
            f"{str(path)!r} is a truncated JPEG: its end is missing (the decoder fills it "
            "with grey)"
        )
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # e.g. a header over OpenCV's 2^30-pixel limit
        raise MediaError(f"cannot read {str(path)!r} as an image: {opencv_reason(exc)}") from None
    if image is None:
        raise MediaError(f"cannot read {str(path)!r} as an image")
    if image.dtype not in (np.uint8, np.uint16):
        raise MediaError(f"{str(path)!r} has {image.dtype} samples; 8- or 16-bit images only")
    return image


@dataclass(frozen=True)
class _Job:
    """What to restore with: the blur (None: estimate it), noise, method, where, how."""

    kernel: np.ndarray | None
    noise: float | None
    method: str
    backend: str
    space: str
    luma: bool
    overwrite: bool
    iterations: int | None = None
    progress: bool = False
    kernel_size: int | None = None
    #: Every file the command reads (the input, a kernel file): never written.
    inputs: tuple[Path, ...] = ()

    def restorer(self, spec: FrameSpec) -> PsfRestorer | AutoRestorer | StillRestorer:
        """The restorer of one frame format."""
        if self.method in RESTORE_METHODS:
            return StillRestorer(
                self.method,
                self.kernel,
                self.noise,
                spec,
                iterations=self.iterations,
                progress=self.progress,
                kernel_size=self.kernel_size,
            )
        if self.kernel is None:
            return AutoRestorer(spec, self.backend, method=self.method, noise=self.noise)
        assert self.noise is not None
        return PsfRestorer(self.method, self.kernel, self.noise, spec, self.backend)


def _deblur_photo(
    source: Path, target: Path, job: _Job
) -> tuple[str, tuple[np.ndarray, np.ndarray], PsfRestorer | AutoRestorer]:
    image = read_photo(source)
    _check_memory(image, job.method)
    luma = job.luma and image.ndim == 3 and image.shape[2] in (3, 4)
    spec = FrameSpec.create(image.shape, image.dtype, space=job.space, luma_only=luma)
    restore = job.restorer(spec)
    side_note = ""
    if isinstance(restore, AutoRestorer) and source.suffix.lower() in (".jpg", ".jpeg"):
        from ..blind.sideinfo import Compression

        restore.compression = Compression.from_jpeg(source)  # its tables: the codec's error
        side_note = " (its JPEG quantisation tables read as the codec's error)"
    start = time.perf_counter()
    restored = restore(image)
    seconds = time.perf_counter() - start
    written, note = _for_format(restored, target)
    note = side_note + note
    metadata = read_metadata(source)
    carried: list[bool] = []

    def write(tmp: Path) -> None:
        try:
            ok, encoded = cv2.imencode(target.suffix, written)
        except cv2.error as exc:
            raise MediaError(f"cannot encode {str(target)!r}: {opencv_reason(exc)}") from None
        if not ok:
            raise MediaError(f"cannot encode {str(target)!r}")
        data, copied = with_metadata(encoded.tobytes(), target.suffix, metadata)
        carried.append(copied)
        tmp.write_bytes(data)

    atomic_output(target, write, overwrite=job.overwrite, inputs=job.inputs, role="output")
    if metadata and not all(carried):
        note += f" (the input's EXIF/ICC profile not copied: a {target.suffix} output)"
    if metadata.pages > 1:
        note += f" (page 1 of {metadata.pages} restored: one image per output file)"
    summary = (
        f"restored {source.name} ({image.shape[1]}x{image.shape[0]}, "
        f"{image.dtype.itemsize * 8}-bit, {spec.channels} channel(s)) with {job.method} in "
        f"{seconds * 1e3:.0f} ms -> {target}{note}"
    )
    return summary, (image, restored), restore


#: Peak memory of the whole-image methods (the FFT Wiener reference, tv, hyper-laplacian,
#: rl) in multiples of the photo's bytes as stored: 57–82× measured (a 192 MB 8K photo
#: took 11 GB with wiener). The fitted filters need 1.4–2.8× (README, Safety).
WHOLE_IMAGE_MEMORY = 82
#: Peak memory of the fitted filters and auto, in the same multiples (2.8× measured).
FITTED_MEMORY = 3


def _available_memory() -> int | None:
    """Bytes of memory available now (Linux's MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _check_memory(image: np.ndarray, method: str) -> None:
    """Refuse, before any work, a method that will not fit in memory."""
    whole = method in RESTORE_METHODS or method == "wiener"
    factor = WHOLE_IMAGE_MEMORY if whole else FITTED_MEMORY
    need = factor * image.nbytes
    free = _available_memory()
    if free is None or need <= free:
        return
    advice = (
        "use a fitted filter (--method gauss-lap or atrous: about 3x) or a smaller crop"
        if whole
        else "restore a smaller crop, or save it as TIFF, which is restored band by band"
    )
    raise MediaError(
        f"--method {method} needs about {need / 2**30:.1f} GiB for this "
        f"{image.shape[1]}x{image.shape[0]} photo ({factor}x its "
        f"{image.nbytes / 2**20:.0f} MiB) and {free / 2**30:.1f} GiB are available: {advice}",
        code=3,
    )


#: Photo formats that hold 8 bits per channel only (OpenCV would saturate 16-bit data
#: to 255: an all-white picture).
EIGHT_BIT_SUFFIXES = (".jpg", ".jpeg", ".bmp")


def _for_format(image: np.ndarray, target: Path) -> tuple[np.ndarray, str]:
    """``image`` as ``target``'s format can hold it, and a note for the summary if changed.

    16-bit data bound for an 8-bit format is scaled to 8 bits (rounded: ``x / 257``), and
    the summary says so — never silently saturated.
    """
    if image.dtype == np.uint16 and target.suffix.lower() in EIGHT_BIT_SUFFIXES:
        scaled = np.round(image.astype(np.float32) / 257.0).astype(np.uint8)
        note = f" (16-bit result written as 8 bits: {target.suffix} holds no more)"
        log.warning("16-bit result scaled to 8 bits for %s", target.suffix)
        return scaled, note
    return image, ""


def _deblur_video(
    source: Path, target: Path, job: _Job, encode: EncodeSettings | None, progress: bool
) -> tuple[str, tuple[np.ndarray, np.ndarray], PsfRestorer | AutoRestorer, int]:
    info = probe(source)
    height, width = info["height"], info["width"]
    rgb_format = "bgr24"
    if job.luma:
        bits = PLANAR_YUV.get(info["pix_fmt"])
        if bits is None:
            raise MediaError(
                f"{str(source)!r} is {info['pix_fmt']}, not planar YUV: use --channels all"
            )
        dtype = np.uint8 if bits == 8 else np.uint16
        spec = FrameSpec.create(
            (height, width), dtype, space=job.space, bits=None if bits in (8, 16) else bits
        )
        restore = job.restorer(spec)
        frame_restorer: Any = PlaneRestorer(_plane_function(restore, spec))
    else:
        # Deeper than 8 bits (10-bit HEVC, …): 16-bit BGR, never quantised to 8 bits.
        deep = PLANAR_YUV.get(info["pix_fmt"], 8) > 8
        rgb_format = "bgr48le" if deep else "bgr24"
        dtype = np.uint16 if deep else np.uint8
        spec = FrameSpec.create((height, width, 3), dtype, space=job.space)
        restore = job.restorer(spec)
        frame_restorer = _BgrFrames(_plane_function(restore, spec), rgb_format)
    middle = max((info["frames"] or 1) // 2, 0)
    pair: list[np.ndarray] = []
    count = 0

    def seen(before: Any, after: Any) -> None:
        nonlocal count
        if count == middle:
            pair.append(after.to_ndarray(format="bgr24"))
        count += 1

    def capture_before(frame: Any) -> Any:
        if count == middle:
            pair.insert(0, frame.to_ndarray(format="bgr24"))
        return frame_restorer(frame)

    bar = _progress(info["frames"], progress)
    start = time.perf_counter()
    stats = None

    def write(tmp: Path) -> None:
        nonlocal stats
        stats = transcode(
            source,
            tmp,
            capture_before,
            settings=encode,
            rgb=not job.luma,
            rgb_format=rgb_format,
            on_frame=seen,
            progress=bar.update,
        )

    try:
        atomic_output(target, write, overwrite=job.overwrite, inputs=job.inputs, role="output")
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    assert stats is not None
    what = "auto" if job.kernel is None else job.method
    summary = (
        f"restored {stats.frames} frames of {source.name} ({width}x{height} {info['pix_fmt']} "
        f"at {float(info['rate'] or 0):.3g} fps) with {what} on "
        f"{'the luma plane' if job.luma else 'all channels'} ({job.space}), "
        f"{stats.frames / seconds:.1f} fps ({stats.shares()}); {stats.encoder} "
        f"{stats.pix_fmt}, {stats.copied_packets} packets of other streams copied"
        + (f" (not carried over: {', '.join(stats.dropped)})" if stats.dropped else "")
        + f" -> {target}"
    )
    before_after = (pair[0], pair[1]) if len(pair) == 2 else (pair[0], pair[0])
    return summary, before_after, restore, stats.frames


def _plane_function(restore: PsfRestorer | AutoRestorer, spec: FrameSpec) -> Any:
    """Frames of ``spec`` → restored frames: a streaming AutoPipeline or the restorer."""
    if isinstance(restore, AutoRestorer):
        from ..blind import AutoPipeline

        pipe = AutoPipeline(
            shape=spec.shape, dtype=spec.dtype, backend=restore.backend, **spec.options
        )

        def auto(frame: np.ndarray) -> np.ndarray:
            out = pipe(frame)
            restore.estimate = pipe.estimate
            restore.filter = pipe.filter if pipe.estimate is not None else None
            return out

        return auto
    return restore


class _BgrFrames:
    """av.VideoFrame (BGR) → restored av.VideoFrame (BGR), through a frame function.

    ``rgb_format``: ``bgr24``, or ``bgr48le`` for video deeper than 8 bits.
    """

    def __init__(self, restore: Any, rgb_format: str = "bgr24") -> None:
        self.restore = restore
        self.rgb_format = rgb_format

    def __call__(self, frame: Any) -> Any:
        import av

        restored = self.restore(frame.to_ndarray())
        return av.VideoFrame.from_ndarray(restored, format=self.rgb_format)


def _progress(total: int | None, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", disable=not enabled, file=sys.stderr, dynamic_ncols=True)
