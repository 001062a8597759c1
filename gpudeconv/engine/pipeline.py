"""``Pipeline``: the per-frame object (``gpudeconv.deblur`` is the one-shot function)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..core.frames import FrameSpec
from ..errors import InvalidArgumentError, InvalidTypeError, NonFiniteFrameError
from ..fit import DeconvFilter, FilterTable
from .backends import create_backend

__all__ = ["Pipeline"]


class Pipeline:
    """Restore frames of one shape and dtype with a fitted filter.

    Parameters
    ----------
    filter : DeconvFilter or FilterTable
        What to apply. With a table, :meth:`set_blur` picks weights per frame; the pipeline
        starts at the table's first cell.
    shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``, ``C ∈ {1, 3, 4}`` (the 4th channel is alpha, copied).
    dtype : {float32, uint8, uint16}
        Frame dtype. Integer frames are decoded sRGB → linear by table, filtered in linear
        light and encoded back with rounding and saturation.
    backend : {'auto', 'cpu', 'cuda', 'gl', 'cuda-sim'}
        ``auto`` takes CUDA when usable, else a hardware OpenGL 4.3 GPU, else the CPU
        (``backend_reason`` says why); ``GPUDECONV_BACKEND`` overrides it. A forced
        backend that cannot run raises.
    check_finite : bool
        Reject float frames holding NaN or Inf (one extra read of the frame; turn off for
        speed when frames are trusted).
    **frame_options
        How frames are coded: ``channel_order`` ('bgr' | 'rgb'), ``space`` ('linear' |
        'srgb'), ``luma_only`` (bool), ``boundary`` ('reflect' | 'clamp'); see
        :class:`~gpudeconv.core.frames.FrameSpec`.

    Notes
    -----
    Thread safety: one pipeline may be called from several threads at once; each call
    uses the weights current when it starts. ``submit``/``result``/``stream`` are one
    FIFO: use them from one thread.

    Examples
    --------
    >>> import numpy as np
    >>> from gpudeconv import Pipeline, fit, psf
    >>> pipe = Pipeline(fit(psf.gaussian(1.0), noise=0.002), shape=(48, 64, 3),
    ...                 dtype=np.uint8, backend="cpu")
    >>> frame = np.full((48, 64, 3), 128, np.uint8)
    >>> bool((pipe(frame) == 128).all())
    True
    """

    def __init__(
        self,
        filter: DeconvFilter | FilterTable,
        *,
        shape: tuple[int, ...],
        dtype: Any,
        backend: str = "auto",
        check_finite: bool = True,
        **frame_options: Any,
    ) -> None:
        self.spec = FrameSpec.create(shape, dtype, **frame_options)
        self._table: FilterTable | None = None
        if isinstance(filter, FilterTable):
            self._table = filter
            filter = filter(float(filter.sigmas[0]), float(filter.noises[0]))
        if not isinstance(filter, DeconvFilter):
            raise InvalidTypeError(
                f"filter must be a DeconvFilter or FilterTable; got {type(filter).__name__}"
            )
        self._filter = filter
        self.check_finite = bool(check_finite)
        self._backend, self.backend_reason = create_backend(backend, self.spec, filter)

    @property
    def backend(self) -> str:
        """Name of the backend in use ('cpu', 'cuda', 'gl', 'cuda-sim')."""
        return str(self._backend.name)

    def describe(self) -> dict[str, Any]:
        """What runs each frame: backend and why, strategy or kernel, buffers, re-plans.

        ``replans`` counts how often the backend rebuilt its plan (new terms); weight
        changes (``set_blur``, a same-terms ``set_filter``) never rebuild it.
        """
        return {**self._backend.describe(), "reason": self.backend_reason}

    @property
    def filter(self) -> DeconvFilter:
        """The filter currently applied."""
        return self._filter

    def set_filter(self, filt: DeconvFilter) -> None:
        """Apply ``filt`` from the next frame on.

        A filter with the same terms (any fit of the same basis and parameters, any
        table lookup) only changes weights; other terms re-plan the backend.
        """
        if not isinstance(filt, DeconvFilter):
            raise InvalidTypeError(f"filter must be a DeconvFilter; got {type(filt).__name__}")
        self._backend.set_filter(filt)
        self._filter = filt

    def set_weights(self, weights: Any) -> None:
        """New weights for the current filter's terms (an ``AutoTable`` lookup, say).

        Weights only: nothing is allocated or recompiled. ``weights`` must have one
        finite entry per term.
        """
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != self._filter.weights.shape or not np.isfinite(weights).all():
            raise InvalidArgumentError(
                f"weights must be {self._filter.weights.size} finite numbers (one per term); "
                f"got shape {weights.shape}"
            )
        self._backend.set_weights(weights)
        self._filter = self._filter.with_weights(
            self._filter.coefficients, weights, psf=self._filter.psf, noise=self._filter.noise
        )

    def set_blur(self, sigma: float, noise: float) -> None:
        """Look up ``(sigma, noise)`` in the pipeline's table and use those weights.

        Raises ``ValueError`` without a table or outside its grid. Weights only: nothing
        is allocated or recompiled.
        """
        if self._table is None:
            raise InvalidArgumentError(
                "set_blur needs a FilterTable: build the Pipeline with one "
                "(FilterTable.fit(...)), or use set_filter"
            )
        filt = self._table(sigma, noise)
        self._backend.set_weights(filt.weights)
        self._filter = filt

    def __call__(self, frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Restore one frame.

        Parameters
        ----------
        frame : ndarray
            Of the pipeline's shape and dtype; any strides.
        out : ndarray, optional
            Where to write (same shape and dtype, writeable). It may be ``frame`` itself
            (in place) but must not partially overlap it. Without it a new array is
            returned each call.

        Returns
        -------
        out : ndarray
        """
        original = frame  # a tensor's result is a tensor: same kind out as in
        frame = self.spec.check_frame(self._backend.view(frame))
        in_place = False
        if out is None:
            result = self._backend.empty_like(original)
            out = self._backend.view(result)
        else:
            result = out
            out = self._backend.view(out)
            self.spec.check_frame(out, "out")
            if not _writeable(out):
                raise InvalidArgumentError("out is read-only; pass a writeable array")
            if _shares_memory(out, frame):
                if not _same_view(out, frame):
                    raise InvalidArgumentError(
                        "out overlaps the input frame without being the same "
                        "array; pass the frame itself (in place) or a separate "
                        "array"
                    )
                in_place = True
        # The backend checks finiteness itself (fused with its first pass where it can),
        # before it writes anything to ``out``; in place, it copies the input first (on
        # the device's stream for a device frame).
        self._backend(
            frame, out, check_finite=self._checks_finite, like=original, in_place=in_place
        )
        return result

    @property
    def _checks_finite(self) -> bool:
        return self.check_finite and self.spec.dtype.kind == "f"

    def _check(self, frame: Any) -> Any:
        frame = self.spec.check_frame(frame)
        if self._checks_finite and not self._backend.all_finite(frame):
            raise NonFiniteFrameError()
        return frame

    # ------------------------------------------------------------------ streaming
    def submit(self, frame: np.ndarray) -> None:
        """Start restoring a host frame; collect it with :meth:`result` (FIFO).

        On the CUDA backend two frames can be in flight: the upload of one overlaps the
        kernel and download of the other. The frame may be reused after the call.
        """
        self._backend.submit(self._check(frame))

    def result(self, out: np.ndarray | None = None) -> np.ndarray:
        """Wait for the oldest submitted frame and return its restoration."""
        if out is not None:
            self.spec.check_frame(out, "out")
        return self._backend.result(out)

    def stream(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Restore an iterable of host frames in order, keeping two in flight.

        Yields a new array per frame.
        """
        for frame in frames:
            if self._backend.in_flight >= 2:
                yield self.result()
            self.submit(frame)
        while self._backend.in_flight:
            yield self.result()


def _writeable(a: Any) -> bool:
    flags = getattr(a, "flags", None)  # CuPy arrays and tensors have no read-only flag
    return True if flags is None else bool(getattr(flags, "writeable", True))


def _data_pointer(a: Any) -> int:
    interface = getattr(a, "__cuda_array_interface__", None) or a.__array_interface__
    return int(interface["data"][0])


def _same_view(a: Any, b: Any) -> bool:
    return _data_pointer(a) == _data_pointer(b) and a.strides == b.strides


def _shares_memory(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return bool(np.shares_memory(a, b))

    def span(x: Any) -> tuple[int, int]:  # device arrays: the byte ranges they cover
        start = _data_pointer(x)
        return start, start + int(np.prod(x.shape)) * x.dtype.itemsize

    (a0, a1), (b0, b1) = span(a), span(b)
    return a0 < b1 and b0 < a1
