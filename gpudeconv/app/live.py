"""``gpudeconv live``: restore a camera, a video file or the built-in test card in real time.

The window (OpenCV HighGUI) shows original | restored with a draggable divider, or side by
side; trackbars set the assumed blur σ, the noise, the method and the backend; the overlay
shows fps and per-stage milliseconds. The ``auto`` method (the default unless ``--sigma``
is given) estimates blur and noise from the frames themselves and shows the estimate (σ,
angle, noise, confidence) in the overlay; the σ and noise trackbars then only matter for
the other methods. Headless (``--headless``, or automatically with no display) it runs a
number of frames, can record the view to a video, and prints a summary. Slider changes
go through a ``FilterTable``, estimates through an ``AutoTable``: they change weights,
never filters.
"""

from __future__ import annotations

import array
import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..core import degrade, psf
from ..core.frames import FrameSpec
from ..errors import AppError
from ..media.io import PendingOutput, atomic_output, check_output
from ..restoration.methods import METHODS, SLIDER_METHODS, SliderRestorer
from .testcard import test_card

__all__ = ["LiveError", "LiveOptions", "TestCardSource", "Viewer", "run_live"]

#: Methods on the viewer's trackbar, in its order.
LIVE_METHODS = SLIDER_METHODS
SIGMA_RANGE = (0.3, 3.0)
#: The σ trackbar's start (and the test card's blur) when no --sigma is given.
DEFAULT_SIGMA = 1.2
NOISE_RANGE = (0.0, 0.05)
_WINDOW = "gpudeconv live"
#: Highest camera index accepted (OpenCV also encodes a capture API as index + 100·k).
MAX_CAMERA = 9999
log = logging.getLogger("gpudeconv")


class LiveError(AppError):
    """A failure to report as one line; ``code`` is the process exit status (3 default)."""

    def __init__(self, message: str, code: int = 3) -> None:
        super().__init__(message, code)


@dataclass
class LiveOptions:
    """Everything ``gpudeconv live`` can be told (see ``gpudeconv live --help``)."""

    camera: int | None = None
    input: str | None = None
    #: The assumed blur for the σ trackbar (and the test card's own blur). Left None, it
    #: is 1.2 and the method defaults to ``auto``; given, the method defaults to gauss-lap.
    sigma: float | None = None
    noise: float = 0.004
    method: str | None = None
    backend: str = "auto"
    view: str = "split"
    size: tuple[int, int] = (480, 640)
    frames: int | None = None
    output: str | None = None
    overwrite: bool = False
    headless: bool | None = None
    virtual_camera: bool = False
    #: Called after every frame with the viewer (automation, tests, embedding).
    on_frame: Callable[[Viewer], None] | None = field(default=None, repr=False)
    #: Any frame source with ``read() -> (bgr_uint8, sharp_or_None) | None``, ``close()``
    #: and ``fps`` (a renderer, a network stream); overrides camera/input/test card.
    source: Any = field(default=None, repr=False)


# ---------------------------------------------------------------------------- sources
class TestCardSource:
    """The procedural card, panning, blurred in linear light, noisy, 8-bit BGR."""

    is_test_card = True
    what = "test card"
    #: Noise fields drawn once and cycled (drawing 1M normals per frame costs 10 ms).
    NOISE_BANK = 8

    def __init__(self, size: tuple[int, int], sigma: float, noise: float, fps: float = 30.0):
        self.size = size
        self.kernel = psf.gaussian(sigma).astype(np.float32)
        self.fps = fps
        self.index = 0
        rng = np.random.default_rng(0)
        self._noise = [
            (rng.standard_normal((*size, 3)) * noise).astype(np.float32)
            for _ in range(self.NOISE_BANK)
        ]

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """Next (blurred, sharp) pair of uint8 BGR frames."""
        sharp = test_card(*self.size, t=self.index / self.fps)[..., ::-1]
        linear = degrade.srgb_to_linear(np.ascontiguousarray(sharp))
        # The same blur as degrade.blur (reflect borders), in float32 for speed.
        blurred = cv2.filter2D(
            linear, cv2.CV_32F, self.kernel[::-1, ::-1], borderType=cv2.BORDER_REFLECT
        )
        blurred += self._noise[self.index % self.NOISE_BANK]
        self.index += 1
        encoded = degrade.linear_to_srgb(np.clip(blurred, 0.0, 1.0))
        return _to_u8(encoded), _to_u8(sharp)

    def close(self) -> None:
        """Nothing to release."""


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8)


class CaptureSource:
    """A camera or a video file through ``cv2.VideoCapture``."""

    is_test_card = False
    #: Consecutive failed reads a camera may have before it counts as gone.
    MAX_DROPS = 30

    def __init__(self, camera: int | None, path: str | None) -> None:
        self.is_file = path is not None
        if path is not None:
            if not Path(path).is_file():
                raise LiveError(f"input video {path!r} does not exist", 2)
            self.capture = cv2.VideoCapture(path)
            what = f"input video {path!r}"
        else:
            index = 0 if camera is None else camera
            # OpenCV crashes on some negative indices and logs a dozen lines when a camera
            # is missing: validate first, and keep its log quiet while probing.
            if (
                isinstance(index, bool)
                or not isinstance(index, int)
                or not 0 <= index <= MAX_CAMERA
            ):
                raise LiveError(
                    f"camera index must be an integer from 0 to {MAX_CAMERA}; got {camera!r}", 2
                )
            with _quiet_opencv():
                self.capture = cv2.VideoCapture(index)
            what = f"camera {index}"
        if not self.capture.isOpened():
            raise LiveError(f"cannot open {what} (is it connected and not in use?)")
        self.what = what
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and fps > 0 else 30.0

    def read(self) -> tuple[np.ndarray, None] | None:
        """Next frame, or None when a file ends; a camera that stops is a ``LiveError``."""
        for _ in range(1 if self.is_file else self.MAX_DROPS):
            ok, frame = self.capture.read()
            if ok and frame is not None:
                if frame.ndim == 2:
                    frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
                return frame, None
        if self.is_file:
            return None
        raise LiveError(f"{self.what} stopped delivering frames ({self.MAX_DROPS} failed reads)")

    def close(self) -> None:
        """Release the device or file."""
        self.capture.release()


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """OpenCV's own log silenced for the block, then restored."""
    logging_module = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_module is None:
        yield
        return
    level = logging_module.getLogLevel()
    logging_module.setLogLevel(logging_module.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging_module.setLogLevel(level)


def psnr_u8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


# ---------------------------------------------------------------------------- view
@dataclass
class Viewer:
    """State of the view: sliders, divider, layout, and the latest composed image."""

    sigma: float
    noise: float
    method: str
    backend_names: list[str]
    view: str = "split"
    backend: str = "auto"
    divider: float = 0.5
    paused: bool = False
    running: bool = True
    window: bool = False
    shown: bool = False
    image: np.ndarray | None = None
    stats: dict[str, float] = field(default_factory=dict)
    #: The estimate the ``auto`` method restored the last frame with.
    estimate: Any = None

    def compose(self, original: np.ndarray, restored: np.ndarray) -> np.ndarray:
        """Split view (original left of the divider) or side by side, with the overlay."""
        if self.view == "split":
            x = round(self.divider * original.shape[1])
            image = restored.copy()
            image[:, :x] = original[:, :x]
            cv2.line(image, (x, 0), (x, image.shape[0] - 1), (0, 255, 255), 1)
            labels = [("original", 8), ("restored", min(x + 8, image.shape[1] - 90))]
        else:
            image = np.concatenate([original, restored], axis=1)
            labels = [("original", 8), ("restored", original.shape[1] + 8)]
        for text, x0 in labels:
            _text(image, text, (x0, image.shape[0] - 10))
        if self.method == "auto" and self.estimate is not None:
            e = self.estimate
            first = (
                f"auto  sigma {e.sigma[0]:.2f} x {e.sigma[1]:.2f} @ {np.degrees(e.angle):.0f} deg"
                f"  noise {e.noise:.4f}  conf {e.confidence:.2f}  "
                f"{self.stats.get('backend', '')}"
            )
        else:
            first = (
                f"{self.method}  sigma {self.sigma:.2f}  noise {self.noise:.3f}  "
                f"{self.stats.get('backend', '')}"
            )
        overlay = [
            first,
            "fps {fps:.1f}  capture {capture:.1f}  filter {filter:.1f}  "
            "display {display:.1f} ms".format(
                **{k: self.stats.get(k, 0.0) for k in ("fps", "capture", "filter", "display")}
            ),
        ]
        if "psnr_in" in self.stats:
            overlay.append(
                f"PSNR vs sharp: blurred {self.stats['psnr_in']:.2f} dB, "
                f"restored {self.stats['psnr_out']:.2f} dB"
            )
        for i, line in enumerate(overlay):
            _text(image, line, (8, 20 + 18 * i))
        self.image = image
        return image

    # Window plumbing: trackbars, mouse, keys.
    def open_window(self) -> None:
        """Create the window and its trackbars."""
        _point_qt_at_fonts()
        # AUTOSIZE: the frame is shown pixel for pixel (aspect kept); the window grows
        # around it to fit the trackbars.
        cv2.namedWindow(_WINDOW, cv2.WINDOW_AUTOSIZE)
        lo, hi = SIGMA_RANGE
        cv2.createTrackbar(
            "sigma x100",
            _WINDOW,
            int(self.sigma * 100),
            int(hi * 100),
            lambda v: setattr(self, "sigma", min(max(v / 100, lo), hi)),
        )
        cv2.createTrackbar(
            "noise x1000",
            _WINDOW,
            int(self.noise * 1000),
            int(NOISE_RANGE[1] * 1000),
            lambda v: setattr(self, "noise", v / 1000),
        )
        cv2.createTrackbar(
            "method",
            _WINDOW,
            LIVE_METHODS.index(self.method),
            len(LIVE_METHODS) - 1,
            lambda v: setattr(self, "method", LIVE_METHODS[v]),
        )
        if len(self.backend_names) > 1:
            cv2.createTrackbar(
                "backend",
                _WINDOW,
                0,
                len(self.backend_names) - 1,
                lambda v: setattr(self, "backend", self.backend_names[v]),
            )
        cv2.setMouseCallback(_WINDOW, self._on_mouse)
        self.window = True

    def set_trackbar(self, name: str, value: int) -> None:
        """Move a trackbar as a user would (its callback updates the state)."""
        cv2.setTrackbarPos(name, _WINDOW, value)

    def _on_mouse(self, event: int, x: int, y: int, flags: int, _: object) -> None:
        if self.image is not None and (
            event == cv2.EVENT_LBUTTONDOWN
            or (event == cv2.EVENT_MOUSEMOVE and flags & cv2.EVENT_FLAG_LBUTTON)
        ):
            self.divider = min(max(x / self.image.shape[1], 0.0), 1.0)

    def show(self) -> None:
        """Display the composed image and handle keys and a closed window."""
        # A window the user closed must end the run; imshow would silently reopen it.
        if self.shown and not _window_visible():
            self.running = False
            return
        cv2.imshow(_WINDOW, self.image)
        self.shown = True
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27):
            self.running = False
        elif key == ord(" "):
            self.paused = not self.paused
        elif key == ord("d"):
            self.view = "side" if self.view == "split" else "split"
        elif key == ord("s"):
            self.save_screenshot(f"gpudeconv-{time.strftime('%Y%m%d-%H%M%S')}.png")

    def save_screenshot(self, path: str | os.PathLike) -> Path:
        """Write the current view as a PNG (atomically)."""
        if self.image is None:
            raise LiveError("no frame shown yet", 2)
        image = self.image

        def write(tmp: Path) -> None:
            if not cv2.imwrite(str(tmp), image):
                raise LiveError(f"cannot write screenshot {str(path)!r}", 2)

        return atomic_output(path, write, overwrite=True)

    def stop(self) -> None:
        """End the loop after the current frame."""
        self.running = False


#: Where fonts are looked for when OpenCV's Qt build has none of its own.
FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/truetype",
    "/usr/local/share/fonts",
    "/Library/Fonts",
)


def font_dir() -> str | None:
    """A directory of fonts Qt can use, or None when there is none.

    Qt's own setting if it holds fonts, else the system's: fontconfig's sans font's
    folder, or one of :data:`FONT_DIRS`.
    """
    current = os.environ.get("QT_QPA_FONTDIR")
    if current and _has_fonts(Path(current)):
        return current
    candidates = [Path(d) for d in FONT_DIRS]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found = subprocess.run(
            ["fc-match", "--format=%{file}", "sans"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        if found:
            candidates.insert(0, Path(found).parent)
    return next((str(folder) for folder in candidates if _has_fonts(folder)), None)


def _point_qt_at_fonts() -> str | None:
    """Point Qt at a font directory when OpenCV's own is missing; returns the one used.

    ``opencv-python``'s Qt build sets ``QT_QPA_FONTDIR`` to a ``cv2/qt/fonts`` folder it
    does not ship, and Qt then draws trackbar labels with no font at all — blank. Qt
    reads the variable when the first window opens, so this runs just before it.
    """
    folder = font_dir()
    if folder is None:
        log.warning("no font directory found: the window's trackbars will have no labels")
    else:
        os.environ["QT_QPA_FONTDIR"] = folder
    return folder


def _has_fonts(folder: Path) -> bool:
    try:
        return any(p.suffix.lower() in (".ttf", ".otf", ".pfb") for p in folder.iterdir())
    except OSError:
        return False


def _window_visible() -> bool:
    """Whether our window is still open (the Qt backend raises once it is gone)."""
    try:
        return cv2.getWindowProperty(_WINDOW, cv2.WND_PROP_VISIBLE) >= 1
    except cv2.error:
        return False


def _text(image: np.ndarray, text: str, origin: tuple[int, int]) -> None:
    """White text on a darkened band, readable over any content."""
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    x, y = origin
    band = image[max(0, y - h - 3) : y + base + 1, max(0, x - 3) : x + w + 3]
    band //= 3
    cv2.putText(
        image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA
    )


# ---------------------------------------------------------------------------- loop
def has_display() -> bool:
    """Whether a window can be opened (an X11/Wayland display on Linux)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class _Recorder:
    """Writes the view to a temporary video beside the target, renamed only on success.

    The output is checked like every output (never the input video, an existing file only
    with --overwrite) and written through :class:`~gpudeconv.media.io.PendingOutput` (a fresh
    ``mkstemp`` name: nothing planted beside the target is followed or deleted), encoded
    by the same writer as ``gpudeconv deblur`` (:class:`~gpudeconv.media.video.VideoWriter`:
    H.264, constant quality).
    """

    def __init__(self, target: Path, fps: float) -> None:
        self.target = target  # already checked (check_output)
        self.fps = fps
        self.pending: PendingOutput | None = None
        self.writer: Any = None
        self.size: tuple[int, int] | None = None

    def write(self, image: np.ndarray) -> None:
        from fractions import Fraction

        from ..media.video import VideoError, VideoWriter

        if self.writer is None:
            # Even sizes: 4:2:0 chroma needs them.
            self.size = (image.shape[1] // 2 * 2, image.shape[0] // 2 * 2)
            self.pending = PendingOutput(self.target)
            try:
                self.writer = VideoWriter(
                    self.pending.path,
                    width=self.size[0],
                    height=self.size[1],
                    rate=Fraction(self.fps).limit_denominator(1001),
                )
            except VideoError as exc:
                raise LiveError(str(exc), 2) from None
        if (image.shape[1], image.shape[0]) != self.size:
            image = np.ascontiguousarray(image[: self.size[1], : self.size[0]])
        self.writer.write(image)

    def finish(self, ok: bool) -> None:
        if self.writer is not None:
            if ok:
                self.writer.close()
            else:
                self.writer.abort()
        if self.pending is not None:
            if ok:
                self.pending.commit()
            else:
                self.pending.discard()


def run_live(options: LiveOptions) -> str:
    """Run the viewer (or its headless loop); returns the summary line."""
    if options.method is None:
        options.method = "auto" if options.sigma is None else "gauss-lap"
    if options.sigma is None:
        options.sigma = DEFAULT_SIGMA
    METHODS.check(options.method, allowed=LIVE_METHODS)
    target = None
    if options.output:  # before any camera is opened: a refused output changes nothing
        inputs = [options.input] if options.input else []
        target = check_output(
            options.output, inputs=inputs, overwrite=options.overwrite, role="--output"
        )
    headless = options.headless if options.headless is not None else not has_display()
    if headless and options.frames is None and options.input is None and options.source is None:
        options.frames = 300  # a camera or the card never ends by itself
    if options.source is not None:
        source: Any = options.source
    elif options.camera is not None or options.input is not None:
        source = CaptureSource(options.camera, options.input)
    else:
        source = TestCardSource(options.size, options.sigma, options.noise)
    backends = [options.backend]
    if options.backend == "auto":  # both, when a GPU is usable: the trackbar switches
        from ..engine.backends import cuda_unavailable_reason
        from ..engine.backends.gl import gl_software_reason

        if not cuda_unavailable_reason():
            backends = ["cuda", "cpu"]
        else:  # a hardware OpenGL GPU (Intel, AMD, Apple), never a software renderer
            backends = ["cpu"] if gl_software_reason() else ["gl", "cpu"]
    restorer = SliderRestorer(backends[0], sigma_range=SIGMA_RANGE, noise_range=NOISE_RANGE)
    viewer = Viewer(
        options.sigma, options.noise, options.method, backends, options.view, backends[0]
    )
    recorder = _Recorder(target, source.fps) if target else None
    camera = None
    # Per-frame records for the summary: 4 bytes a frame for latencies (their median and
    # p95 need them all), running sums for PSNR — a day of frames stays a few MB.
    latencies = array.array("f")
    psnrs = _RunningMean()
    ok = False
    spec: FrameSpec | None = None
    try:
        if not headless:
            viewer.open_window()
        frame = sharp = restored = None
        while viewer.running and (options.frames is None or len(latencies) < options.frames):
            start = time.perf_counter()
            if not viewer.paused or frame is None:
                got = source.read()
                if got is None:
                    break
                frame, sharp = got
            captured = time.perf_counter()
            if spec is None or frame.shape != spec.shape:
                if spec is not None:
                    log.warning(
                        "resolution changed %s -> %s; rebuilding the pipeline",
                        spec.shape,
                        frame.shape,
                    )
                spec = FrameSpec.create(frame.shape, frame.dtype)
                viewer.stats["backend"] = restorer.backend_name(spec)
            if restorer.backend != viewer.backend:  # the backend trackbar moved
                restorer.backend = viewer.backend
                viewer.stats["backend"] = restorer.backend_name(spec)
            if options.virtual_camera and camera is None:  # sized from the first frame
                camera = _virtual_camera(frame.shape)
            restored = restorer.restore(frame, viewer.method, viewer.sigma, viewer.noise, spec)
            viewer.estimate = restorer.estimate if viewer.method == "auto" else None
            filtered = time.perf_counter()
            if sharp is not None:
                pair = (psnr_u8(sharp, frame), psnr_u8(sharp, restored))
                psnrs.add(pair)
                viewer.stats["psnr_in"], viewer.stats["psnr_out"] = pair
            image = viewer.compose(frame, restored)
            if recorder:
                recorder.write(image)
            if camera is not None:
                camera.send(cv2.cvtColor(restored, cv2.COLOR_BGR2RGB))
            if not headless:
                viewer.show()
            done = time.perf_counter()
            latencies.append(done - start)
            viewer.stats.update(
                capture=1e3 * (captured - start),
                filter=1e3 * (filtered - captured),
                display=1e3 * (done - filtered),
                fps=1.0 / max(np.median(latencies[-30:]), 1e-9),
            )
            if options.on_frame is not None:
                options.on_frame(viewer)
        ok = bool(latencies)
        if not ok:
            raise LiveError(f"{getattr(source, 'what', 'source')} delivered no frames")
    finally:
        if recorder:
            recorder.finish(ok)
        source.close()
        if camera is not None:
            camera.close()
        if viewer.window and _window_visible():
            cv2.destroyWindow(_WINDOW)
    return _summary(latencies, psnrs, viewer, recorder)


class _RunningMean:
    """Mean of (before, after) pairs without keeping them."""

    def __init__(self) -> None:
        self.count = 0
        self.sums = np.zeros(2)

    def add(self, pair: tuple[float, float]) -> None:
        self.count += 1
        self.sums += pair

    def __bool__(self) -> bool:
        return self.count > 0

    def mean(self) -> np.ndarray:
        return self.sums / max(self.count, 1)


def _summary(
    latencies: array.array,
    psnrs: _RunningMean,
    viewer: Viewer,
    recorder: _Recorder | None,
) -> str:
    ms = np.array(latencies) * 1e3
    line = (
        f"frames {len(ms)}, fps {1e3 / np.median(ms):.1f} (median latency "
        f"{np.median(ms):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms), backend "
        f"{viewer.stats.get('backend', '?')}, method {viewer.method}"
    )
    if psnrs:
        before, after = psnrs.mean()
        line += f", PSNR blurred {before:.2f} dB -> restored {after:.2f} dB"
    if recorder:
        line += f", wrote {recorder.target}"
    return line


def _virtual_camera(shape: tuple[int, ...]) -> Any:
    """A virtual webcam of the frames' own size."""
    try:
        import pyvirtualcam
    except ImportError:
        raise LiveError(
            "--virtual-camera needs pyvirtualcam (pip install pyvirtualcam)", 2
        ) from None
    height, width = shape[:2]
    try:
        return pyvirtualcam.Camera(width=width, height=height, fps=30)
    except RuntimeError as exc:
        raise LiveError(f"no virtual camera available on this platform: {exc}") from None
