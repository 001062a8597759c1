"""Restoration methods of the apps (``deblur``, ``live``): a fitted basis, Wiener, or off.

:data:`METHODS` is the registry the command line, the live viewer's trackbar and the file
restorer read: every fitted basis of :data:`gpudeconv.fit.BASES`, the FFT Wiener
reference, and ``off``. Two restorers build on it:

- :class:`PsfRestorer` — one known PSF of any shape, fitted once (files);
- :class:`SliderRestorer` — a Gaussian blur whose σ and noise change per frame through a
  :class:`~gpudeconv.FilterTable` (weights only), switching methods without stalls.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..blind import AutoPipeline, estimate, robust_filter, working_luma
from ..core import psf as _psf
from ..core._registry import Registry
from ..core._validate import check_choice
from ..core.frames import FrameSpec
from ..core.spectra import total_noise
from ..engine.pipeline import Pipeline
from ..errors import FitQualityWarning, InvalidArgumentError
from ..fit import BASES, DeconvFilter, FilterTable, fit
from .reference import still_frame, wiener_frame
from .stills import RESTORE_METHODS, estimate_kernel

__all__ = [
    "AUTO_METHODS",
    "FILE_METHODS",
    "METHODS",
    "SLIDER_METHODS",
    "AutoRestorer",
    "Method",
    "PsfRestorer",
    "SliderRestorer",
]


@dataclass(frozen=True)
class Method:
    """One way to restore a frame."""

    name: str
    help: str
    #: The fitted basis, or None for the methods that fit nothing.
    basis: str | None = None

    @property
    def tabulable(self) -> bool:
        """Whether a slider can drive it (weights from a table, or no fit at all)."""
        return self.basis is None or BASES[self.basis].tabulable


METHODS: Registry[Method] = Registry(
    "method",
    [
        *(Method(b.name, f"fitted filter: {b.help}", b.name) for b in BASES),
        Method("wiener", "the FFT Wiener reference (exact for the model, slower)"),
        Method("auto", "blur and noise estimated per frame, robust filter (AutoPipeline)"),
        Method("off", "no restoration (to compare with the input)"),
    ],
)
#: What ``gpudeconv deblur --method`` offers: every method that restores a given PSF
#: (``--psf auto`` selects estimation; ``auto`` is the live viewer's per-frame method).
FILE_METHODS = METHODS.names_where(lambda m: m.name not in ("off", "auto"))
#: What the live viewer's method trackbar offers.
SLIDER_METHODS = METHODS.names_where(lambda m: m.tabulable)
#: Methods that can restore an *estimated* blur: the band bases (their robust fit keeps
#: the response ≥ 1 where the noise is unknown; a FIR or the Wiener filter cannot).
AUTO_METHODS = METHODS.names_where(lambda m: m.basis is not None and m.basis != "fir")

Frames = Iterable[np.ndarray]


class PsfRestorer:
    """Restores frames of one spec blurred by one known PSF, with one method.

    Integer frames add their quantisation noise to ``noise`` (``spec.quantization_bits``).
    """

    def __init__(
        self,
        method: str,
        kernel: np.ndarray,
        noise: float,
        spec: FrameSpec,
        backend: str = "auto",
        *,
        pipeline: bool = True,
    ) -> None:
        entry = METHODS[METHODS.check(method, allowed=FILE_METHODS)]
        self.method = entry.name
        self.kernel = _psf.from_array(kernel)
        self.spec = spec
        self.filter: DeconvFilter | None = None
        self.pipeline: Pipeline | None = None
        self.estimate = None  # the blur is known, not estimated
        if entry.basis is None:  # wiener
            self._total = total_noise(noise, spec.quantization_bits)
        else:
            self.filter = fit(
                self.kernel,
                noise=noise,
                basis=entry.basis,
                quantization_bits=spec.quantization_bits,
            )
            if pipeline:  # False: only the filter is wanted (applied on Dask, in tiles)
                self.pipeline = Pipeline(
                    self.filter, shape=spec.shape, dtype=spec.dtype, backend=backend, **spec.options
                )

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Restore one frame."""
        if self.pipeline is not None:
            return self.pipeline(frame)
        return wiener_frame(frame, self.kernel, self._total, self.spec)

    def stream(self, frames: Frames) -> Iterator[np.ndarray]:
        """Restore frames in order (two in flight on a GPU)."""
        if self.pipeline is not None:
            return self.pipeline.stream(frames)
        return map(self, frames)


class StillRestorer:
    """Restores one photo with an iterative stills method (:func:`gpudeconv.restore`).

    ``tv``, ``hyper-laplacian`` or ``rl``; the blur known or, with ``kernel=None``,
    estimated: a camera-shake kernel of ``kernel_size`` pixels
    (:func:`gpudeconv.estimate_kernel`) when that is given, else the blind estimate's
    Gaussian PSF. The noise, when not given, is the blind estimate's. A progress bar
    counts the iterations.
    """

    def __init__(
        self,
        method: str,
        kernel: np.ndarray | None,
        noise: float | None,
        spec: FrameSpec,
        *,
        iterations: int | None = None,
        progress: bool = False,
        kernel_size: int | None = None,
    ) -> None:

        self.method = check_choice("method", method, RESTORE_METHODS)
        self.kernel = None if kernel is None else _psf.from_array(kernel)
        self.noise = noise
        self.spec = spec
        self.iterations = iterations
        self.progress = progress
        self.kernel_size = kernel_size
        self.filter: DeconvFilter | None = None  # no fitted filter: an iterative solve
        self.estimate: Any = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Restore one photo."""
        import sys

        from tqdm import tqdm

        kernel = self.kernel
        if self.noise is not None:
            total = total_noise(self.noise, self.spec.quantization_bits)
        if kernel is None:
            decoding = {name: self.spec.options[name] for name in ("space", "channel_order")}
            if self.noise is None or self.kernel_size is None:
                self.estimate = estimate(frame, **decoding)
            if self.noise is None:
                total = self.estimate.noise  # the estimate's noise includes quantisation
            if self.kernel_size is not None:
                luma = working_luma(frame, **decoding)
                kernel = self.kernel = estimate_kernel(luma, self.kernel_size, noise=total)
            else:
                kernel = self.kernel = self.estimate.psf()
        elif self.noise is None:
            raise InvalidArgumentError(f"{self.method} needs a noise level with a known PSF")
        with tqdm(
            unit="iteration", disable=not self.progress, file=sys.stderr, dynamic_ncols=True
        ) as bar:
            return still_frame(
                frame,
                kernel,
                total,
                self.spec,
                self.method,
                iterations=self.iterations,
                callback=lambda step, estimate: bar.update(),
            )


class AutoRestorer:
    """Restores frames of unknown blur (``--psf auto``): estimated, then robustly fitted.

    A photo (``__call__``) gets its own estimate and robust fit with ``method``'s basis;
    a video (``stream``) goes through an :class:`~gpudeconv.AutoPipeline` (estimates
    amortised and smoothed, weights looked up per frame). ``noise``, when given, replaces
    the estimated noise of photos.
    """

    def __init__(
        self,
        spec: FrameSpec,
        backend: str = "auto",
        *,
        method: str = "gauss-lap",
        noise: float | None = None,
        compression: Any = None,
    ) -> None:
        entry = METHODS[METHODS.check(method, allowed=AUTO_METHODS)]
        self.method = entry.name
        self.spec = spec
        self.backend = backend
        self.noise = noise
        #: What the photo's file says of its compression (``blind.sideinfo.Compression``).
        self.compression = compression
        self.filter: DeconvFilter | None = None
        self.estimate: Any = None

    @property
    def kernel(self) -> np.ndarray:
        """The estimated blur (a delta before any frame)."""
        return np.ones((1, 1)) if self.estimate is None else self.estimate.psf()

    def filter_for(self, frame: np.ndarray) -> DeconvFilter:
        """Estimate the blur of ``frame`` (kept in ``estimate``) and fit its robust filter."""
        from dataclasses import replace

        options = self.spec.options
        found = estimate(
            frame,
            space=options["space"],
            channel_order=options["channel_order"],
            compression=self.compression,
        )
        if self.noise is not None:
            found = replace(found, noise=total_noise(self.noise, self.spec.quantization_bits))
        self.estimate = found
        self.filter = robust_filter(found, basis=METHODS[self.method].basis or "gauss-lap")
        return self.filter

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Estimate the blur of one frame and restore it with its own robust fit."""
        pipe = Pipeline(
            self.filter_for(frame),
            shape=self.spec.shape,
            dtype=self.spec.dtype,
            backend=self.backend,
            **self.spec.options,
        )
        return pipe(frame)

    def stream(self, frames: Frames) -> Iterator[np.ndarray]:
        """Restore a video's frames in order through an ``AutoPipeline``."""
        pipe = AutoPipeline(
            shape=self.spec.shape,
            dtype=self.spec.dtype,
            backend=self.backend,
            **self.spec.options,
        )
        for frame in frames:
            yield pipe(frame)
            self.estimate = pipe.estimate
        if pipe.estimate is not None:
            self.filter = pipe.filter


class SliderRestorer:
    """Restores frames with a method and a Gaussian blur that may change every frame.

    Fitted methods go through a :class:`~gpudeconv.FilterTable` over ``sigma_range`` ×
    ``noise_range`` (built once per method), so a change is a weight lookup; pipelines
    are kept per (method, frame spec, backend).
    """

    def __init__(
        self,
        backend: str = "auto",
        *,
        sigma_range: tuple[float, float] = (0.3, 3.0),
        noise_range: tuple[float, float] = (0.0, 0.05),
    ) -> None:
        self.backend = backend
        self.sigma_range = sigma_range
        self.noise_range = noise_range
        self._tables: dict[str, FilterTable] = {}
        self._pipes: dict[tuple[Any, ...], Any] = {}
        #: The estimate the last ``auto`` frame was restored with.
        self.estimate: Any = None

    def table(self, method: str) -> FilterTable:
        """The (cached) table of a fitted method."""
        basis = METHODS[method].basis
        if basis is None:
            raise InvalidArgumentError(f"method {method!r} fits no filter")
        if basis not in self._tables:
            with warnings.catch_warnings():  # one-term bases are poor at large σ: expected
                warnings.simplefilter("ignore", FitQualityWarning)
                self._tables[basis] = FilterTable.fit(
                    sigmas=np.linspace(*self.sigma_range, 28),
                    noises=np.linspace(*self.noise_range, 11),
                    basis=basis,
                    quantization_bits=8,
                )
        return self._tables[basis]

    def pipeline(self, method: str, spec: FrameSpec) -> Pipeline:
        """The (cached) pipeline of a method and frame spec; a new spec builds a new one."""
        key = (method, spec, self.backend)
        if key not in self._pipes:
            self._pipes[key] = Pipeline(
                self.table(method),
                shape=spec.shape,
                dtype=spec.dtype,
                backend=self.backend,
                **spec.options,
            )
        return self._pipes[key]

    def auto_pipeline(self, spec: FrameSpec) -> Any:
        """The (cached) :class:`~gpudeconv.AutoPipeline` of a frame spec."""
        key = ("auto", spec, self.backend)
        if key not in self._pipes:
            self._pipes[key] = AutoPipeline(
                shape=spec.shape, dtype=spec.dtype, backend=self.backend, **spec.options
            )
        return self._pipes[key]

    def restore(
        self, frame: np.ndarray, method: str, sigma: float, noise: float, spec: FrameSpec
    ) -> np.ndarray:
        """Restore one frame with the current slider values (``auto`` ignores them)."""
        entry = METHODS[METHODS.check(method, allowed=SLIDER_METHODS)]
        if entry.name == "off":
            return frame
        if entry.name == "auto":
            auto = self.auto_pipeline(spec)
            restored = auto(frame)
            self.estimate = auto.estimate
            return restored
        if entry.basis is None:  # wiener
            total = total_noise(noise, spec.quantization_bits)
            return wiener_frame(frame, _psf.gaussian(sigma), total, spec)
        pipe = self.pipeline(entry.name, spec)
        pipe.set_blur(sigma, noise)
        return pipe(frame)

    def backend_name(self, spec: FrameSpec) -> str:
        """The backend a pipeline of this spec runs on (after 'auto' chose)."""
        fitted = next(m for m in SLIDER_METHODS if METHODS[m].basis is not None)
        return self.pipeline(fitted, spec).backend
