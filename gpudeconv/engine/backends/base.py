"""The contract between :class:`~gpudeconv.Pipeline` and the engines that restore frames.

A backend is built for one :class:`~gpudeconv.core.frames.FrameSpec` and one filter's terms;
the pipeline validates every frame (shape, dtype, finiteness, ``out`` rules) *before* it
reaches the backend, so a backend may assume valid input and raise only for conditions it
alone can see (a device that fails, a filter too large for its shared memory). The same
bad input therefore raises the same error on every backend (a test checks this).

Numerics every backend keeps (tests hold each to the float64 reference):

- weights are applied through one :class:`~gpudeconv.engine.backends.plan.FilterPlan`: rounded
  taps with their DC sums corrected, and ``F(0)`` from ``FilterPlan.dc_gain``;
- values are centred before filtering (a per-frame or per-tile level is subtracted and
  ``F(0)`` times it added back), so a constant frame comes back unchanged to float32
  rounding (≤ 2 ulp) and float32 rounding scales with local contrast, not brightness.

Concurrency: a backend may be called from several threads at once (each call is
independent; weight changes apply to calls that start after them). ``submit``/``result``
form one FIFO per backend: use them from one thread.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import numpy as np

from ...core._validate import is_gpu_array
from ...core.frames import FrameSpec
from ...errors import InvalidArgumentError, InvalidTypeError
from ...fit.filter import DeconvFilter

__all__ = ["Backend", "HostFifo", "Runtime", "Stream"]


class HostFifo:
    """``submit``/``result``/``in_flight`` for a backend whose calls do not overlap.

    The frame is restored when it is submitted and its result queued (the CPU, and the
    ``gl`` backend's synchronous passes); ``result`` hands results back in order. Needs
    the backend's ``empty_like`` and ``__call__``.
    """

    _done: deque[np.ndarray]

    def submit(self, frame: np.ndarray) -> None:
        """Restore ``frame`` now and keep it for :meth:`result` (nothing overlaps)."""
        out = self.empty_like(frame)  # type: ignore[attr-defined]
        self(frame, out)  # type: ignore[operator]
        self._done.append(out)

    def result(self, out: np.ndarray | None = None) -> np.ndarray:
        """The oldest submitted frame's result (in ``out`` if given)."""
        if not self._done:
            raise InvalidArgumentError("no frame in flight; call submit(frame) first")
        done = self._done.popleft()
        if out is None:
            return done
        np.copyto(out, done)
        return out

    @property
    def in_flight(self) -> int:
        """Frames submitted and not yet collected."""
        return len(self._done)


class Backend(Protocol):
    """A frame engine (``cpu``, ``cuda``, ``gl``, ``cuda-sim``)."""

    #: Registry name of the backend.
    name: str
    #: What it was built for.
    spec: FrameSpec

    def set_filter(self, filt: DeconvFilter) -> bool:
        """Use ``filt`` from the next frame on; False when its terms differ (a re-plan)."""
        ...

    def set_weights(self, weights: np.ndarray) -> None:
        """New per-term weights for the same terms: no allocation, no recompilation."""
        ...

    def view(self, frame: Any) -> Any:
        """The array the backend works on for ``frame`` (a CuPy view of a GPU tensor)."""
        ...

    def empty_like(self, frame: Any) -> Any:
        """A new output array of the input's kind (host for host, device for device)."""
        ...

    def all_finite(self, frame: Any) -> bool:
        """Whether a float frame holds only finite values (on its own device)."""
        ...

    def __call__(
        self,
        frame: Any,
        out: Any,
        *,
        check_finite: bool = False,
        like: Any = None,
        in_place: bool = False,
    ) -> None:
        """Restore a validated ``frame`` into ``out`` (same shape and dtype).

        With ``check_finite``, raise :class:`~gpudeconv.errors.NonFiniteFrameError`
        before anything is written to ``out`` if the frame holds NaN or Inf. ``like`` is
        the caller's own object (``frame`` may be a view of it): a PyTorch tensor's work
        goes on PyTorch's current stream. ``in_place``: ``out`` is ``frame`` itself, and
        the backend restores a copy of it (made where its other work runs).
        """
        ...

    def submit(self, frame: np.ndarray) -> None:
        """Start restoring a host frame (FIFO with :meth:`result`)."""
        ...

    def result(self, out: np.ndarray | None = None) -> np.ndarray:
        """The oldest submitted frame's result; ``InvalidArgumentError`` if none is pending."""
        ...

    @property
    def in_flight(self) -> int:
        """Frames submitted and not yet collected."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the backend does for this spec and filter: strategy, kernel, buffers, re-plans."""
        ...


class Stream(Protocol):
    """A queue of device work (a CUDA stream, or the emulator's stand-in)."""

    def __enter__(self) -> Stream: ...

    def __exit__(self, *exc: object) -> None: ...

    def synchronize(self) -> None:
        """Wait until everything queued so far has run."""
        ...

    def record(self) -> Any:
        """An event that completes when the work queued so far has run (``.synchronize()``)."""
        ...


class Runtime(Protocol):
    """Where the CUDA backend's memory and kernels live: a GPU (CuPy) or the emulator.

    The CUDA backend's Python is written against this interface only, so the same lines
    run on a GPU (:class:`~gpudeconv.engine.backends.cuda.CupyRuntime`) and in CI on the g++
    emulation (:class:`~gpudeconv.engine.backends.cuda.SimRuntime`).
    """

    name: str
    #: Array module of device memory (``cupy``, or ``numpy`` on the emulator).
    xp: Any

    def function(self, kernel_name: str) -> Any:
        """The compiled kernel, callable as ``f(grid, block, args, shared_mem=, stream=)``."""
        ...

    def max_shared_bytes(self) -> int:
        """Dynamic shared memory a block may use on this device."""
        ...

    def is_device_array(self, a: Any) -> bool:
        """True for arrays in device memory (CuPy, CUDA array interface, CUDA DLPack)."""
        ...

    def view(self, a: Any) -> Any:
        """A device-array view of a device tensor (no copy); host arrays unchanged."""
        ...

    def as_device(self, a: Any) -> Any:
        """A C-contiguous device array of a device array (a copy only if strided)."""
        ...

    def copy(self, a: Any) -> Any:
        """A new C-contiguous copy of a device array, queued on the current stream."""
        ...

    def pinned_empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Page-locked host memory (plain memory on the emulator)."""
        ...

    def stream(self) -> Stream:
        """A new stream that does not synchronise with the default stream."""
        ...

    def current_stream(self) -> Stream:
        """The stream device work is queued on when none is given (the caller's)."""
        ...

    def launch_stream(self, frame: Any) -> Stream:
        """The stream for work on the caller's device array ``frame`` (PyTorch's for a tensor)."""
        ...

    def empty_like(self, template: Any, shape: tuple[int, ...], dtype: Any) -> Any:
        """A new device array of the template's kind (a tensor for a tensor)."""
        ...

    def to_device(self, host: np.ndarray, stream: Stream) -> Any:
        """A new device array holding ``host``, copied on ``stream``."""
        ...

    def upload(self, host: np.ndarray, device: Any, stream: Stream) -> None:
        """Queue a host → device copy on ``stream``."""
        ...

    def download(self, device: Any, host: np.ndarray, stream: Stream) -> None:
        """Queue a device → host copy on ``stream`` (asynchronous: wait on an event)."""
        ...

    def synchronize(self) -> None:
        """Wait for all work on the device (before buffers in use are replaced)."""
        ...


def host_array(a: Any, backend: str) -> Any:
    """``a`` itself for a host backend; a GPU array is refused by name.

    OpenCV or an upload would otherwise fail on a CuPy array or a CUDA tensor with a
    message about their own arguments.
    """
    if not isinstance(a, np.ndarray) and is_gpu_array(a):
        raise InvalidTypeError(
            f"the {backend} backend restores host (NumPy) arrays; got a GPU array "
            f"({type(a).__module__}.{type(a).__name__}): build the Pipeline with "
            "backend='cuda', or copy the frame to the host first"
        )
    return a
