"""Video files through FFmpeg's libraries (PyAV): decode, restore in YUV, encode, copy the rest.

- The output keeps the input's codec family (H.264 → libx264, HEVC → libx265, AV1 →
  SVT-AV1, VP9 → libvpx-vp9; anything else → libx264), its pixel format and bit depth
  where the encoder takes them, its colour primaries / transfer / matrix / range, its
  timestamps (frame for frame: variable frame rates stay variable), its rotation, and its
  audio and subtitle streams, copied packet for packet without re-encoding.
- Quality: constant-quality encoding by default (:data:`QUALITY`: x264 CRF 18, x265 CRF
  20, SVT-AV1 CRF 30, VP9 CRF 30 — visually lossless for these encoders); ``crf``,
  ``preset`` or a ``bitrate`` override it.
- Restoration stays in YUV: :class:`PlaneRestorer` filters the luma plane of planar YUV
  frames (8 to 16 bits) and leaves chroma untouched — chroma is subsampled and carries
  little detail, and no RGB round trip touches the picture. An RGB path (all channels,
  ``channels="all"``) converts through BGR, only when asked.

Every file is written through :class:`~gpudeconv.media.io.PendingOutput` by the caller: a
failed or interrupted run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AppError

__all__ = [
    "ENCODERS",
    "QUALITY",
    "EncodeSettings",
    "TranscodeStats",
    "VideoError",
    "VideoWriter",
    "luma_plane",
    "probe",
    "transcode",
]

#: Input codec → encoder of the same family; others fall back to libx264.
ENCODERS = {"h264": "libx264", "hevc": "libx265", "av1": "libsvtav1", "vp9": "libvpx-vp9"}
FALLBACK_ENCODER = "libx264"
#: Default encoder settings: constant quality, visually lossless for each encoder.
QUALITY: dict[str, dict[str, str]] = {
    "libx264": {"crf": "18", "preset": "medium"},
    "libx265": {"crf": "20", "preset": "medium", "x265-params": "log-level=error"},
    "libsvtav1": {"crf": "30", "preset": "8"},
    "libvpx-vp9": {"crf": "30", "b": "0", "deadline": "good", "cpu-used": "4"},
}
#: Planar YUV formats whose luma plane is filtered as it is: name → bits per sample.
PLANAR_YUV = {
    "yuv420p": 8,
    "yuvj420p": 8,
    "yuv422p": 8,
    "yuvj422p": 8,
    "yuv444p": 8,
    "yuvj444p": 8,
    "yuv420p10le": 10,
    "yuv422p10le": 10,
    "yuv444p10le": 10,
    "yuv420p12le": 12,
    "yuv422p12le": 12,
    "yuv444p12le": 12,
}
#: Stream kinds copied packet for packet.
COPIED = ("audio", "subtitle")


class VideoError(AppError):
    """A video that cannot be read or written: one line, exit code 2."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message, code)


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise VideoError(
            "video files need PyAV (pip install av; it ships FFmpeg's libraries)"
        ) from None
    return av


@dataclass(frozen=True)
class EncodeSettings:
    """How the output video is encoded; None fields follow the input (:data:`QUALITY`)."""

    codec: str | None = None
    crf: float | None = None
    preset: str | None = None
    bitrate: str | None = None

    def encoder(self, input_codec: str) -> str:
        """The encoder name: the one asked for, or the input's family's."""
        return self.codec or ENCODERS.get(input_codec, FALLBACK_ENCODER)

    def options(self, encoder: str) -> tuple[dict[str, str], int | None]:
        """``(codec options, bit rate in bit/s or None)`` for ``encoder``."""
        options = dict(QUALITY.get(encoder, {}))
        rate = None
        if self.bitrate is not None:
            rate = _bitrate(self.bitrate)
            options.pop("crf", None)
            options.pop("b", None)
        if self.crf is not None:
            options["crf"] = f"{self.crf:g}"
        if self.preset is not None:
            options["preset"] = self.preset
        return options, rate


def _bitrate(text: str) -> int:
    scale = {"k": 1e3, "m": 1e6, "g": 1e9}
    value = text.strip().lower()
    try:
        number = float(value[:-1]) * scale[value[-1]] if value[-1] in scale else float(value)
    except (ValueError, IndexError):
        raise VideoError(f"--bitrate must look like 8M, 2500k or 4000000; got {text!r}") from None
    if not 1e4 <= number <= 1e10:
        raise VideoError(f"--bitrate must be between 10k and 10G bit/s; got {text!r}")
    return int(number)


@dataclass
class TranscodeStats:
    """What a transcode did: frames, and where the time went."""

    frames: int = 0
    seconds: dict[str, float] = field(
        default_factory=lambda: {"decode": 0.0, "restore": 0.0, "encode": 0.0}
    )
    copied_packets: int = 0
    #: What the output could not carry over (chapters, attachments), named.
    dropped: list[str] = field(default_factory=list)
    encoder: str = ""
    pix_fmt: str = ""

    @property
    def total(self) -> float:
        """Seconds in decode + restore + encode."""
        return sum(self.seconds.values())

    def shares(self) -> str:
        """``decode 20 %, restore 30 %, encode 50 %``."""
        total = max(self.total, 1e-12)
        return ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in self.seconds.items())


def probe(path: str | Path) -> dict[str, Any]:
    """The video stream's facts (codec, size, pixel format, rate, frames, colour, rotation)."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{str(path)!r} has no video stream")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            rotation = 0
            for frame in container.decode(stream):
                rotation = int(frame.rotation or 0)
                break
            return {
                "codec": ctx.codec.canonical_name,  # the family (av1), not the decoder
                "width": ctx.width,
                "height": ctx.height,
                "pix_fmt": ctx.pix_fmt,
                "rate": stream.average_rate or stream.guessed_rate,
                "time_base": stream.time_base,
                "frames": stream.frames or None,
                "color_range": ctx.color_range,
                "colorspace": ctx.colorspace,
                "color_primaries": ctx.color_primaries,
                "color_trc": ctx.color_trc,
                "rotation": rotation,
                "streams": [s.type for s in container.streams],
            }
    except av.error.FFmpegError as exc:
        raise VideoError(f"cannot read {str(path)!r} as a video: {exc}") from None


def luma_plane(frame: Any) -> np.ndarray:
    """A view of a planar YUV frame's luma plane (uint8, or uint16 above 8 bits)."""
    plane = frame.planes[0]
    dtype = np.uint8 if PLANAR_YUV[frame.format.name] == 8 else np.dtype("<u2")
    items = plane.line_size // np.dtype(dtype).itemsize
    return np.frombuffer(plane, dtype=dtype).reshape(plane.height, items)[:, : plane.width]


class VideoWriter:
    """One output file: an encoded video stream, plus streams copied from an input.

    Parameters
    ----------
    path : Path
        Where to write (the container follows the suffix).
    width, height : int
    rate : Fraction
        Nominal frame rate (rate control); frames keep their own timestamps.
    time_base : Fraction, optional
        Of the frames' ``pts`` (the input stream's, to keep its timestamps exactly).
    encoder, pix_fmt : str
    settings : EncodeSettings
    colour : dict, optional
        ``color_range``, ``colorspace``, ``color_primaries``, ``color_trc`` to record.
    rotation : int
        Display rotation (degrees, counter-clockwise) to record.
    template_streams : sequence of streams
        Input streams to copy packet for packet (audio, subtitles).
    source : input container, optional
        Whose container metadata (title, location, …), chapters and attachments (fonts of
        subtitles) are carried over; :attr:`dropped` names what the output format could
        not take.
    """

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        rate: Fraction,
        time_base: Fraction | None = None,
        encoder: str = FALLBACK_ENCODER,
        pix_fmt: str = "yuv420p",
        settings: EncodeSettings | None = None,
        colour: dict[str, Any] | None = None,
        rotation: int = 0,
        template_streams: tuple[Any, ...] = (),
        source: Any = None,
    ) -> None:
        av = _av()
        self.av = av
        settings = settings or EncodeSettings()
        try:
            self.container = av.open(str(path), "w")
        except (av.error.FFmpegError, ValueError) as exc:
            raise VideoError(f"cannot write video {str(path)!r}: {exc}") from None
        try:
            self.stream = self.container.add_stream(encoder, rate=rate)
        except (av.error.FFmpegError, ValueError) as exc:
            self.container.close()
            raise VideoError(f"no encoder {encoder!r} here: {exc}") from None
        self.stream.width, self.stream.height = width, height
        self.stream.pix_fmt = pix_fmt
        if time_base is not None:
            self.stream.time_base = time_base
            self.stream.codec_context.time_base = time_base
        options, bitrate = settings.options(encoder)
        self.stream.codec_context.options = options
        if bitrate is not None:
            self.stream.codec_context.bit_rate = bitrate
        for name, value in (colour or {}).items():
            if value is not None:
                setattr(self.stream.codec_context, name, value)
        if rotation:
            self.stream.set_display_rotation(rotation)
        self.copies = {}
        for template in template_streams:
            try:
                self.copies[template.index] = self.container.add_stream_from_template(template)
            except (av.error.FFmpegError, ValueError) as exc:
                raise VideoError(
                    f"the output container cannot carry the input's {template.type} stream "
                    f"({template.codec_context.name}): {exc}; choose another suffix"
                ) from None
        self.encoder = encoder
        self.frames = 0
        self.dropped: list[str] = []
        if source is not None:
            self._carry(source)

    def _carry(self, source: Any) -> None:
        """Container metadata, chapters and attachments of ``source``, where they fit."""
        av = self.av
        metadata = {k: v for k, v in source.metadata.items() if k.lower() != "encoder"}
        self.container.metadata.update(metadata)
        try:
            chapters = source.chapters()
            if chapters:
                self.container.set_chapters(chapters)
        except (av.error.FFmpegError, ValueError, AttributeError) as exc:
            self.dropped.append(f"chapters ({exc})")
        attachments = [s for s in source.streams if s.type == "attachment"]
        for attachment in attachments:
            try:
                self.container.add_attachment(
                    attachment.name, attachment.mimetype, bytes(attachment.data)
                )
            except (av.error.FFmpegError, ValueError, AttributeError, TypeError):
                self.dropped.append(f"attachment {attachment.name!r}")

    def write(self, frame: Any) -> None:
        """Encode one ``av.VideoFrame`` (or a BGR uint8 array) and mux its packets."""
        if isinstance(frame, np.ndarray):
            frame = self.av.VideoFrame.from_ndarray(frame, format="bgr24")
            frame.pts = None
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def copy(self, packet: Any) -> bool:
        """Mux a packet of a copied stream as it is; False for packets it does not carry."""
        target = self.copies.get(packet.stream.index)
        if target is None or packet.size == 0 or packet.dts is None:
            return False
        packet.stream = target
        self.container.mux(packet)
        return True

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
        finally:
            self.container.close()

    def abort(self) -> None:
        """Close without flushing (the file is discarded by its owner)."""
        with contextlib.suppress(Exception):  # the file is being thrown away anyway
            self.container.close()


FrameRestorer = Callable[[Any], Any]


def transcode(
    source: Path,
    target: Path,
    restore: FrameRestorer,
    *,
    settings: EncodeSettings | None = None,
    rgb: bool = False,
    rgb_format: str = "bgr24",
    on_frame: Callable[[Any, Any], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> TranscodeStats:
    """Decode ``source``, restore every frame, encode to ``target``, copy the other streams.

    ``restore`` takes and returns an ``av.VideoFrame`` (a planar YUV one unless ``rgb``,
    then BGR in ``rgb_format``: ``bgr24``, or ``bgr48le`` to keep more than 8 bits);
    ``on_frame(before, after)`` sees each pair (figures); ``progress(n)``
    counts frames.
    """
    av = _av()
    settings = settings or EncodeSettings()
    stats = TranscodeStats()
    try:
        container = av.open(str(source))
    except av.error.FFmpegError as exc:
        raise VideoError(f"cannot open {str(source)!r} as a video: {exc}") from None
    writer = None
    try:
        if not container.streams.video:
            raise VideoError(f"{str(source)!r} has no video stream")
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        ctx = video.codec_context
        # The codec's family (av1), not the decoder that read it (libdav1d).
        encoder = settings.encoder(ctx.codec.canonical_name)
        pix_fmt = _output_format(av, encoder, ctx.pix_fmt, rgb)
        copied = tuple(s for s in container.streams if s.type in COPIED)
        frames = _decoded(container, video, copied, stats)
        early = []  # packets of copied streams that come before the first frame
        first = None
        for item in frames:
            if hasattr(item, "planes"):
                first = item
                break
            early.append(item)
        if first is None:
            raise VideoError(f"{str(source)!r} contains no readable frame")
        if not rgb and first.format.name not in PLANAR_YUV:
            raise VideoError(
                f"{str(source)!r} is {first.format.name}, not planar YUV: restore all "
                "channels (--channels all) for it"
            )
        writer = VideoWriter(
            target,
            width=ctx.width,
            height=ctx.height,
            rate=video.average_rate or video.guessed_rate or Fraction(30),
            time_base=video.time_base,
            encoder=encoder,
            pix_fmt=pix_fmt,
            settings=settings,
            colour={
                "color_range": ctx.color_range,
                "colorspace": ctx.colorspace,
                "color_primaries": ctx.color_primaries,
                "color_trc": ctx.color_trc,
            },
            rotation=int(first.rotation or 0),
            template_streams=copied,
            source=container,
        )
        stats.encoder, stats.pix_fmt = encoder, pix_fmt
        stats.dropped = list(writer.dropped)
        stats.copied_packets += sum(writer.copy(packet) for packet in early)
        for frame in _chain(first, frames, writer, stats):
            start = time.perf_counter()
            source_frame = frame.reformat(format=rgb_format) if rgb else frame
            restored = restore(source_frame)
            restored.pts, restored.time_base = frame.pts, frame.time_base
            mid = time.perf_counter()
            writer.write(restored)
            end = time.perf_counter()
            stats.seconds["restore"] += mid - start
            stats.seconds["encode"] += end - mid
            stats.frames += 1
            if on_frame is not None:
                on_frame(source_frame, restored)
            if progress is not None:
                progress(1)
        start = time.perf_counter()
        writer.close()
        stats.seconds["encode"] += time.perf_counter() - start
        writer = None
    except av.error.FFmpegError as exc:
        raise VideoError(f"video processing failed: {exc}") from None
    finally:
        if writer is not None:
            writer.abort()
        container.close()
    return stats


def _decoded(container: Any, video: Any, copied: tuple[Any, ...], stats: TranscodeStats):
    """Decoded video frames in order; packets of copied streams are yielded as is."""
    for packet in container.demux(video, *copied):
        if packet.stream.index != video.index:
            yield packet
            continue
        start = time.perf_counter()
        decoded = packet.decode()
        stats.seconds["decode"] += time.perf_counter() - start
        yield from decoded


def _chain(first: Any, rest: Iterator[Any], writer: VideoWriter, stats: TranscodeStats):
    """Video frames only: copied packets met on the way are muxed by ``writer``."""
    yield first
    for item in rest:
        if hasattr(item, "planes"):  # a frame
            yield _like_first(item, first, stats.frames)
        elif writer.copy(item):
            stats.copied_packets += 1


def _like_first(frame: Any, first: Any, index: int) -> Any:
    """``frame`` in the first frame's pixel format; a change of size mid-stream is refused.

    Streams may switch pixel format (8 to 10 bits, 4:2:0 to 4:4:4) at a splice; the
    pipeline and the encoder were set up for the first frame's, so later frames are
    converted to it, as ffmpeg's auto-inserted scaler does.
    """
    if (frame.width, frame.height) != (first.width, first.height):
        raise VideoError(
            f"the video changes size at frame {index + 1}: {first.width}x{first.height} -> "
            f"{frame.width}x{frame.height}; gpudeconv restores one size per stream — scale "
            f"it first (ffmpeg -i IN -vf scale={first.width}:{first.height} OUT) or split it"
        )
    if frame.format.name != first.format.name:
        return frame.reformat(format=first.format.name)
    return frame


def _output_format(av: Any, encoder: str, input_format: str, rgb: bool) -> str:
    """The input's pixel format when the encoder takes it, else the nearest it takes."""
    try:
        codec = av.codec.Codec(encoder, "w")
    except av.codec.codec.UnknownCodecError:
        raise VideoError(f"no encoder {encoder!r} here (PyAV's FFmpeg does not have it)") from None
    if codec.type != "video":
        raise VideoError(f"{encoder!r} is not a video encoder")
    supported = [f.name for f in (codec.video_formats or [])]
    if not rgb and input_format in supported:
        return input_format
    bits = PLANAR_YUV.get(input_format, 8)
    for candidate in ("yuv420p10le" if bits > 8 else "yuv420p", "yuv420p"):
        if candidate in supported:
            return candidate
    return supported[0] if supported else "yuv420p"


class PlaneRestorer:
    """Restores the luma plane of planar YUV frames with a per-plane callable.

    ``restore_plane(y) -> y'`` gets the luma plane (uint8, or uint16 holding ``bits``-bit
    codes) and returns a restored array of the same shape and dtype; chroma is copied.
    """

    def __init__(self, restore_plane: Callable[[np.ndarray], np.ndarray]) -> None:
        self.restore_plane = restore_plane

    def __call__(self, frame: Any) -> Any:
        """A new frame: restored luma, the same chroma, the same metadata."""
        y = luma_plane(frame)
        restored = self.restore_plane(y)
        frame.make_writable()  # decoded frames may be the decoder's references: copy first
        luma_plane(frame)[...] = restored
        return frame
