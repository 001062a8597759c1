"""CUDA backend: one fused kernel launch per frame (CuPy), or the same code on the emulator.

The backend is written against :class:`~gpudeconv.engine.backends.base.Runtime` — an array
module, compiled kernels, streams and pinned buffers — so :class:`CupyRuntime` runs it on
a GPU and :class:`SimRuntime` runs every line of it on NumPy arrays with the g++-built
emulation of the same kernel source (backend ``cuda-sim``), whose streams really are
asynchronous (work queued on a stream runs only when something waits for it), so a
missing ordering shows up in CI as a wrong frame.

Stream ordering, as the backend keeps it:

- the plan's buffers (taps, term table, decode table) are uploaded once per plan, and the
  device is synchronised before a kernel can read them and before they are replaced;
- weights travel with each launch: a fresh small device array uploaded on the launch's
  own stream just before the kernel, so a weight change can never reach a frame that
  was queued before it, on any stream;
- streamed frames (``submit``/``result``) alternate between two streams with their own
  pinned and device buffers; ``result`` waits on the frame's event, and a buffer pair is
  reused only after its previous frame was collected;
- device arrays are restored on the caller's current stream (PyTorch's, for a tensor).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from ...core._validate import array_module, is_gpu_array, values_in_range
from ...core.colour import decode_table, luma_weights
from ...core.frames import FrameSpec
from ...errors import InvalidArgumentError, InvalidTypeError, NonFiniteFrameError
from ...fit.filter import DeconvFilter
from .base import Runtime, Stream
from .kernels import BLOCK, NVRTC_OPTIONS, TILE, KernelSpec, index_type, kernel_code, shared_bytes
from .plan import FilterPlan

__all__ = [
    "CudaBackend",
    "CupyRuntime",
    "SimDeviceArray",
    "SimRuntime",
    "cuda_unavailable_reason",
    "frame_limit_reason",
]

#: A null pointer argument: 8 zero bytes (CuPy 13 passes garbage for None).
_NULL = np.uint64(0)
#: Largest opt-in dynamic shared memory per block on an H100 (bytes); the emulator uses it.
_H100_SHARED = 227 * 1024
#: Shared memory any kernel may use without opting in.
_DEFAULT_SHARED = 48 * 1024
_PROBE = r"""
extern "C" __global__ void gpudeconv_probe(float* x) { x[threadIdx.x] += 1.0f; }
"""


# ---------------------------------------------------------------------------- CuPy
@cache
def cuda_unavailable_reason() -> str | None:
    """Why CuPy cannot run kernels here, or None when a CUDA device is usable.

    Beyond counting devices, a tiny kernel is compiled (NVRTC, with CuPy's headers) and
    run once, so a driver without a toolkit, or a CuPy that cannot find its headers,
    makes ``auto`` fall back to the CPU with the reason instead of failing per frame.
    """
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (pip install 'gpudeconv[cuda12]' or '[cuda13]')"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CuPy raises its own error types; the message says why
        return f"no usable CUDA device ({exc})"
    if count < 1:
        return "no CUDA device present"
    try:
        probe = cupy.RawKernel(_PROBE, "gpudeconv_probe", options=NVRTC_OPTIONS)
        x = cupy.zeros(32, cupy.float32)
        probe((1,), (32,), (x,))
        if float(x.sum()) != 32.0:
            return "a test kernel ran but computed the wrong result"
    except Exception as exc:  # compile (headers, NVRTC) or launch failure: say which
        return f"CUDA device present but a test kernel failed: {type(exc).__name__}: {exc}"
    return None


@cache
def _cupy_function(device: int, name: str) -> Any:
    """Compile one instantiation with NVRTC, memoised per device (CuPy ≥ 14.1 caches on disk).

    The kernel uses only dynamic shared memory, so its opt-in limit is raised once to
    the device's maximum: a function object is shared by every pipeline, and setting it
    to one pipeline's need could lower it below another's.
    """
    import cupy

    with cupy.cuda.Device(device):
        module = cupy.RawModule(code=kernel_code(), options=NVRTC_OPTIONS, name_expressions=[name])
        kernel = module.get_function(name)
        optin = int(cupy.cuda.Device(device).attributes["MaxSharedMemoryPerBlockOptin"])
        kernel.max_dynamic_shared_size_bytes = optin - int(kernel.shared_size_bytes)
        return kernel


def _is_torch(a: Any) -> bool:
    return type(a).__module__.split(".")[0] == "torch"


class _StreamHandle:
    """A foreign stream's handle, as the CUDA stream protocol hands it over."""

    def __init__(self, ptr: int) -> None:
        self._ptr = int(ptr)

    def __cuda_stream__(self) -> tuple[int, int]:
        return (0, self._ptr)


def external_stream(cupy: Any, ptr: int) -> Any:
    """A CuPy stream for a stream CuPy did not create (PyTorch's).

    CuPy 14 deprecates ``ExternalStream`` (a ``DeprecationWarning`` on every
    construction: an error under ``-W error``) for ``Stream.from_external``, which takes
    any object of the CUDA stream protocol; CuPy 13 has only the former.
    """
    from_external = getattr(cupy.cuda.Stream, "from_external", None)
    if from_external is not None:
        return from_external(_StreamHandle(ptr))
    return cupy.cuda.ExternalStream(ptr)


class CupyRuntime:
    """Real GPU: CuPy arrays, NVRTC-compiled kernels, CUDA streams, pinned host memory."""

    name = "cuda"

    def __init__(self) -> None:
        import cupy

        self.xp = cupy
        self.device = cupy.cuda.Device().id

    def function(self, kernel_name: str) -> Any:
        """The compiled kernel (memoised per device and instantiation)."""
        return _cupy_function(self.device, kernel_name)

    def max_shared_bytes(self) -> int:
        """Opt-in shared memory per block of the current device."""
        attrs = self.xp.cuda.Device(self.device).attributes
        return int(attrs.get("MaxSharedMemoryPerBlockOptin", _DEFAULT_SHARED))

    def is_device_array(self, a: Any) -> bool:
        """True for GPU arrays: CuPy, a CUDA DLPack tensor, or the CUDA array interface."""
        return isinstance(a, self.xp.ndarray) or is_gpu_array(a)

    def view(self, a: Any) -> Any:
        """A CuPy view of a GPU array (no copy); other arrays unchanged.

        Tensors go through DLPack (a tensor that requires grad is detached: restoring is
        not differentiable); other objects through the CUDA array interface.
        """
        if isinstance(a, self.xp.ndarray) or not self.is_device_array(a):
            return a
        if _is_torch(a):
            return self.xp.from_dlpack(a.detach())
        if hasattr(a, "__dlpack__"):
            return self.xp.from_dlpack(a)
        return self.xp.asarray(a)

    def as_device(self, a: Any) -> Any:
        """C-contiguous CuPy array of a GPU array (a copy only if it is strided)."""
        return self.xp.ascontiguousarray(self.view(a))

    def copy(self, a: Any) -> Any:
        """A new C-contiguous CuPy copy of a GPU array, on the current stream."""
        return self.xp.array(self.view(a), copy=True, order="C")

    def empty_like(self, template: Any, shape: tuple[int, ...], dtype: Any) -> Any:
        """A new device array of the template's kind: a tensor for a tensor."""
        if _is_torch(template):
            import torch

            return torch.empty_like(template.detach(), memory_format=torch.contiguous_format)
        return self.xp.empty(shape, dtype)

    def launch_stream(self, frame: Any) -> Any:
        """Where device work on ``frame`` goes: PyTorch's current stream for a tensor."""
        if _is_torch(frame):
            import torch

            ptr = torch.cuda.current_stream(frame.device).cuda_stream
            return external_stream(self.xp, ptr)
        return self.xp.cuda.get_current_stream()

    def pinned_empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Page-locked host memory, so copies run asynchronously at full PCIe speed."""
        import cupyx

        return cupyx.empty_pinned(shape, dtype)

    def stream(self) -> Stream:
        """A new non-blocking CUDA stream."""
        return self.xp.cuda.Stream(non_blocking=True)

    def current_stream(self) -> Stream:
        """CuPy's current stream."""
        return self.xp.cuda.get_current_stream()

    def upload(self, host: np.ndarray, device: Any, stream: Stream) -> None:
        """Asynchronous host → device copy on ``stream`` (from pinned memory)."""
        device.set(host, stream=stream)

    def download(self, device: Any, host: np.ndarray, stream: Stream) -> None:
        """Asynchronous device → host copy on ``stream``; wait on an event for it.

        ``blocking=False``: CuPy's default would synchronise the stream here, which made
        the two-stream pipeline run one frame at a time.
        """
        device.get(stream=stream, out=host, blocking=False)

    def to_device(self, host: np.ndarray, stream: Stream) -> Any:
        """A new device array holding ``host``, copied on ``stream``."""
        with stream:
            return self.xp.asarray(host)

    def synchronize(self) -> None:
        """Wait for every stream of the device."""
        self.xp.cuda.Device(self.device).synchronize()


# ---------------------------------------------------------------------------- emulator
class _SimEvent:
    """Completes when the work its stream had queued at ``record()`` has run."""

    def __init__(self, stream: _SimStream, position: int) -> None:
        self._stream = stream
        self._position = position

    def synchronize(self) -> None:
        self._stream.run_until(self._position)


class _SimStream:
    """An emulated stream: work queues up and runs only when something waits for it.

    That is the most asynchronous a real stream can be, so any work ordered wrongly
    against it (a buffer reused too early, weights changed under a queued kernel) reads
    or writes the wrong data in CI, not only on a GPU.
    """

    def __init__(self, runtime: SimRuntime) -> None:
        self._runtime = runtime
        self._queue: deque[Any] = deque()
        self._done = 0  # items run so far
        self._lock = threading.Lock()  # guards the queue
        self._running = threading.Lock()  # one thread runs the queue, in order

    def enqueue(self, work: Any) -> None:
        with self._lock:
            self._queue.append(work)

    def run_until(self, position: int) -> None:
        with self._running:
            while True:
                with self._lock:
                    if self._done >= position or not self._queue:
                        return
                    work = self._queue.popleft()
                    self._done += 1
                work()

    def synchronize(self) -> None:
        """Run everything queued so far."""
        self.run_until(self._done + len(self._queue))

    def record(self) -> _SimEvent:
        """An event at the current end of the queue."""
        with self._lock:
            return _SimEvent(self, self._done + len(self._queue))

    def __enter__(self) -> _SimStream:
        self._runtime._current.stack = [*self._runtime._stack(), self]
        return self

    def __exit__(self, *exc: object) -> None:
        self._runtime._stack().pop()


class _SimDefaultStream:
    """The legacy default stream of the emulator: work runs at once (synchronously)."""

    def enqueue(self, work: Any) -> None:
        work()

    def synchronize(self) -> None:
        """Nothing is ever pending."""

    def record(self) -> _SimDefaultStream:
        """An event that is always complete."""
        return self

    def __enter__(self) -> _SimDefaultStream:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class SimRuntime:
    """Emulated GPU: NumPy arrays as device memory, g++-built kernels, queued streams."""

    name = "cuda-sim"
    xp = np

    def __init__(self) -> None:
        self._current = threading.local()
        self._default = _SimDefaultStream()
        self._streams: list[_SimStream] = []

    def _stack(self) -> list[Any]:
        stack = getattr(self._current, "stack", None)
        if stack is None:
            stack = self._current.stack = []
        return stack

    def function(self, kernel_name: str) -> Any:
        """The emulated kernel, run on the current stream when it is called."""
        from .cuda_sim import sim_function

        kernel = sim_function(kernel_name)

        def launch(grid: Any, block: Any, args: Any, *, shared_mem: int = 0) -> None:
            self.current_stream().enqueue(lambda: kernel(grid, block, args, shared_mem=shared_mem))

        return launch

    def max_shared_bytes(self) -> int:
        """The emulator enforces an H100's per-block limit, to fail like one."""
        return _H100_SHARED

    def is_device_array(self, a: Any) -> bool:
        """True for the emulator's device arrays; plain NumPy arrays are host frames.

        Device arrays are :class:`SimDeviceArray` (a tensor on its own stream) and any
        array exposing its emulated device memory as ``__sim_host__()`` (the tests'
        strict CuPy stand-in, ``tests/strict_cupy.py``).
        """
        return isinstance(a, SimDeviceArray) or hasattr(a, "__sim_host__")

    def view(self, a: Any) -> Any:
        """The NumPy memory behind an emulated device array (no copy)."""
        host = getattr(a, "__sim_host__", None)
        return host() if host is not None else a

    def as_device(self, a: Any) -> Any:
        """C-contiguous array; a strided device array is copied on the current stream."""
        if isinstance(a, SimDeviceArray) and not a.flags.c_contiguous:
            return self.copy(a)
        return np.ascontiguousarray(a)

    def copy(self, a: Any) -> Any:
        """A new contiguous array; a device array's copy is queued on the current stream.

        As CuPy queues it: a copy on the wrong stream shows as a wrong frame.
        """
        if not isinstance(a, SimDeviceArray):
            return np.array(a, copy=True, order="C")
        device = np.empty(a.shape, a.dtype).view(SimDeviceArray)
        self.current_stream().enqueue(lambda: np.copyto(device, a))
        return device

    def empty_like(self, template: Any, shape: tuple[int, ...], dtype: Any) -> Any:
        """A new array, a device one for a device template."""
        if hasattr(template, "__sim_host__"):  # the same kind as the caller's
            return array_module(template).empty(shape, dtype)
        out = np.empty(shape, dtype)
        if isinstance(template, SimDeviceArray):
            out = out.view(SimDeviceArray)
            out.stream = template.stream
        return out

    def launch_stream(self, frame: Any) -> Any:
        """A device array's own stream (a tensor's PyTorch stream), else the current one."""
        return getattr(frame, "stream", None) or self.current_stream()

    def pinned_empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Plain host memory."""
        return np.empty(shape, dtype)

    def stream(self) -> _SimStream:
        """A new queued stream."""
        stream = _SimStream(self)
        self._streams.append(stream)
        return stream

    def current_stream(self) -> Any:
        """The innermost ``with stream:`` of this thread, else the default stream."""
        stack = self._stack()
        return stack[-1] if stack else self._default

    def upload(self, host: np.ndarray, device: np.ndarray, stream: Any) -> None:
        """Queue a copy on ``stream``."""
        stream.enqueue(lambda: np.copyto(device, host))

    def download(self, device: np.ndarray, host: np.ndarray, stream: Any) -> None:
        """Queue a copy on ``stream``."""
        stream.enqueue(lambda: np.copyto(host, device))

    def to_device(self, host: np.ndarray, stream: Any) -> np.ndarray:
        """A new 'device' array holding a snapshot of ``host`` (filled on ``stream``)."""
        device = np.empty_like(host)
        snapshot = host.copy()  # the host buffer may change before the queue runs
        stream.enqueue(lambda: np.copyto(device, snapshot))
        return device

    def synchronize(self) -> None:
        """Run every stream's queue."""
        for stream in self._streams:
            stream.synchronize()


#: CUDA's largest grid y-dimension: the kernel's tile rows.
MAX_GRID_Y = 65535


def frame_limit_reason(spec: FrameSpec) -> str | None:
    """Why the kernel's launch cannot cover frames of ``spec`` (too tall), or None."""
    rows = math.ceil(spec.height / TILE[1])
    if rows > MAX_GRID_Y:
        return (
            f"{spec.height} rows need {rows} tile rows, over CUDA's grid limit of "
            f"{MAX_GRID_Y} ({MAX_GRID_Y * TILE[1]} rows); use the cpu backend, or tiles"
        )
    return None


class SimDeviceArray(np.ndarray):
    """A caller's device array on the emulator (a CuPy array, or a tensor).

    A tensor's work goes on its own ``stream`` (a PyTorch side stream); None: the
    current stream.
    """

    stream: Any = None

    def __array_finalize__(self, obj: Any) -> None:
        self.stream = getattr(obj, "stream", None)


# ---------------------------------------------------------------------------- backend
@dataclass
class _Slot:
    """One in-flight frame's buffers and stream (two slots: two frames in flight)."""

    stream: Any
    device_in: Any
    device_out: Any
    pinned_in: np.ndarray | None = None
    pinned_out: np.ndarray | None = None


class CudaBackend:
    """The fused kernel behind the ``Pipeline`` API, on a runtime (GPU or emulator)."""

    def __init__(self, spec: FrameSpec, filt: DeconvFilter, runtime: Runtime) -> None:
        self.spec = spec
        self.runtime = runtime
        self.name = runtime.name
        xp = runtime.xp
        nbytes = int(np.prod(spec.shape)) * spec.dtype.itemsize
        self._kspec = KernelSpec.for_frames(spec, index_type(nbytes))
        work = self._kspec.work_dtype
        self._index = np.int64 if self._kspec.index == "long long" else np.int32
        self._work = work.type
        luma = luma_weights(spec.channel_order) if spec.colour_channels == 3 else (1, 0, 0)
        self._luma = tuple(work.type(v) for v in luma)
        reason = frame_limit_reason(spec)
        if reason:
            raise InvalidArgumentError(f"the cuda backend cannot restore this frame: {reason}")
        self._grid = (math.ceil(spec.width / TILE[0]), math.ceil(spec.height / TILE[1]))
        self._lock = threading.Lock()
        self._lut = None
        if spec.is_integer:
            self._lut = xp.asarray(decode_table(spec.dtype.name, spec.space, work.name, spec.bits))
        # Streaming buffers and streams are made by the first submit(): a pipeline that
        # restores device arrays or single host frames never needs them (four frames of
        # device memory each, times every pipeline of a Dask cache or a batch worker).
        self._slots: list[_Slot | None] = [None, None]
        self._retired: tuple[Any, ...] = ()
        self._pending: deque[tuple[_Slot, Any]] = deque()
        self._next_slot = 0
        self._replans = -1  # the first plan is not a re-plan
        self._set_plan(filt)

    # ------------------------------------------------------------------ plan
    def _set_plan(self, filt: DeconvFilter) -> None:
        xp = self.runtime.xp
        plan = FilterPlan.from_filter(filt, self._work)
        taps, info, offset = [], [], 0
        for ky, kx in zip(plan.taps_y, plan.taps_x, strict=True):
            info += [ky.size // 2, kx.size // 2, offset, offset + ky.size]
            taps += [ky, kx]
            offset += ky.size + kx.size
        radius = max(max(plan.radius), 0)
        shared = shared_bytes(self._kspec, radius)
        limit = self.runtime.max_shared_bytes()
        if shared > limit:
            raise InvalidArgumentError(
                f"the filter's radius {radius} needs {shared} bytes of shared "
                f"memory per block; this device allows {limit} (use a smaller blur or the "
                "'cpu' backend)"
            )
        kernel = self.runtime.function(self._kspec.name)
        new_taps = xp.asarray(np.concatenate(taps))
        new_info = xp.asarray(np.array(info, np.int32))
        # Uploaded before any stream's kernel reads them; and every kernel queued so far
        # has run, so the buffers retired by the previous re-plan can go now.
        self.runtime.synchronize()
        self._retired = ()
        with self._lock:  # a launch takes the plan and its buffers together, never a mix
            old = (getattr(self, "_taps", None), getattr(self, "_term_info", None))
            self._plan, self._radius, self._shared, self._kernel = plan, radius, shared, kernel
            self._taps, self._term_info = new_taps, new_info
            self._weights = np.asarray(filt.weights, dtype=np.float64).copy()
            self._replans += 1
        # A launch that took the old plan just before may still be queued: its buffers
        # stay alive until the next re-plan has synchronised the device.
        self._retired = old

    def set_filter(self, filt: DeconvFilter) -> bool:
        """Use ``filt``; returns False (and re-plans) when its terms differ."""
        if FilterPlan.from_filter(filt, self._work).same_terms(self._plan):
            self.set_weights(filt.weights)
            return True
        self._set_plan(filt)
        return False

    def set_weights(self, weights: np.ndarray) -> None:
        """New per-term weights, for frames launched from now on (never a recompilation)."""
        weights = np.asarray(weights, dtype=np.float64).copy()
        with self._lock:
            self._weights = weights

    def describe(self) -> dict[str, Any]:
        """The kernel instantiation, its launch geometry and how often the plan changed."""
        with self._lock:
            return {
                "backend": self.name,
                "kernel": self._kspec.name,
                "index": self._kspec.index,
                "grid": self._grid,
                "block": BLOCK,
                "shared_bytes": self._shared,
                "terms": self._plan.size,
                "radius": self._radius,
                "replans": self._replans,
            }

    def _launch(self, src: Any, dst: Any, stream: Any) -> None:
        """Queue the kernel on ``stream``, with this moment's weights uploaded on it."""
        spec, work, index = self.spec, self._work, self._index
        with self._lock:
            plan, weights, kernel, radius, shared, taps, term_info = (
                self._plan,
                self._weights,
                self._kernel,
                self._radius,
                self._shared,
                self._taps,
                self._term_info,
            )
        row = spec.width * spec.channels
        with stream:
            device_weights = self.runtime.to_device(plan.weights(weights), stream)
            args = (
                src,
                dst,
                index(spec.height),
                index(spec.width),
                index(row),
                index(row),
                taps,
                term_info,
                device_weights,
                np.int32(plan.size),
                np.int32(radius),
                _NULL if self._lut is None else self._lut,
                np.int32(spec.space == "linear"),
                work(spec.max_code),
                np.float64(plan.dc_gain(weights)),
                *self._luma,
            )
            kernel(self._grid, BLOCK, args, shared_mem=shared)

    # ------------------------------------------------------------------ frames
    def view(self, a: Any) -> Any:
        """The array the backend works on for ``a`` (CuPy view of a GPU tensor)."""
        return self.runtime.view(a)

    def empty_like(self, frame: Any) -> Any:
        """An output of the input's kind: device (or tensor) for device input, else NumPy."""
        if self.runtime.is_device_array(frame):
            return self.runtime.empty_like(frame, self.spec.shape, self.spec.dtype)
        return np.empty(self.spec.shape, self.spec.dtype)

    def all_finite(self, frame: Any) -> bool:
        """NaN/Inf/range check on the frame's own device (NumPy or CuPy)."""
        return values_in_range(frame)

    def __call__(
        self,
        frame: Any,
        out: Any,
        *,
        check_finite: bool = False,
        like: Any = None,
        in_place: bool = False,
    ) -> None:
        """Restore ``frame`` into ``out``: on the device for device arrays, else staged.

        Device arrays run on the caller's current stream (PyTorch's for a tensor) and
        are not waited for, like any CuPy operation. Every copy they need (a strided
        frame made contiguous, the input kept for an in-place call, a strided ``out``
        filled) is queued on that same stream, so it is ordered with the kernel and its
        temporaries return to that stream's memory pool. Host frames are copied up,
        restored and copied back on the current stream, and waited for; they never touch
        the streaming buffers, so this may be mixed with ``submit``/``result``.
        """
        runtime = self.runtime
        on_device = runtime.is_device_array(frame)
        if on_device != runtime.is_device_array(out):
            # A host ``out`` would reach the kernel as a pointer argument (a 1-pixel NumPy
            # array is passed by value: a wild address that poisons the CUDA context).
            kinds = ("a host", "a device") if not on_device else ("a device", "a host")
            raise InvalidTypeError(
                f"frame is {kinds[0]} array but out is {kinds[1]} array: pass an out of the "
                "frame's kind (copy the result across yourself if you need it there)"
            )
        if check_finite and not self.all_finite(frame):
            raise NonFiniteFrameError()
        if on_device:
            stream = runtime.launch_stream(frame if like is None else like)
            with stream:
                # In place, the kernel reads neighbours it overwrites: restore a copy.
                src = runtime.copy(frame) if in_place else runtime.as_device(frame)
                if out.flags.c_contiguous:
                    self._launch(src, out, stream)
                else:
                    dst = runtime.xp.empty(self.spec.shape, self.spec.dtype)
                    self._launch(src, dst, stream)
                    out[...] = dst
            return
        stream = runtime.current_stream()
        src = runtime.to_device(np.ascontiguousarray(frame), stream)
        dst = runtime.xp.empty(self.spec.shape, self.spec.dtype)
        self._launch(src, dst, stream)
        host = np.empty(self.spec.shape, self.spec.dtype)
        runtime.download(dst, host, stream)
        stream.synchronize()
        np.copyto(out, host)

    def submit(self, frame: np.ndarray) -> None:
        """Queue a host frame: pinned copy, upload, kernel, download on its own stream.

        Two frames may be in flight, on two streams with two pinned buffer pairs, so the
        upload of one overlaps the kernel and download of the other.
        """
        if len(self._pending) >= 2:
            raise InvalidArgumentError("two frames are already in flight; call result() first")
        slot = self._slots[self._next_slot]
        if slot is None:  # made on first use (see __init__)
            xp, shape, dtype = self.runtime.xp, self.spec.shape, self.spec.dtype
            slot = _Slot(self.runtime.stream(), xp.empty(shape, dtype), xp.empty(shape, dtype))
            slot.pinned_in = self.runtime.pinned_empty(shape, dtype)
            slot.pinned_out = self.runtime.pinned_empty(shape, dtype)
            self._slots[self._next_slot] = slot
        self._next_slot = 1 - self._next_slot
        np.copyto(slot.pinned_in, frame)  # the slot's previous frame was collected: free
        self.runtime.upload(slot.pinned_in, slot.device_in, slot.stream)
        self._launch(slot.device_in, slot.device_out, slot.stream)
        self.runtime.download(slot.device_out, slot.pinned_out, slot.stream)
        self._pending.append((slot, slot.stream.record()))

    def result(self, out: np.ndarray | None = None) -> np.ndarray:
        """Wait for the oldest submitted frame and return it (in ``out`` if given)."""
        if not self._pending:
            raise InvalidArgumentError("no frame in flight; call submit(frame) first")
        slot, event = self._pending.popleft()
        event.synchronize()
        if out is None:
            return slot.pinned_out.copy()
        np.copyto(out, slot.pinned_out)
        return out

    @property
    def in_flight(self) -> int:
        """Frames submitted and not yet collected."""
        return len(self._pending)
