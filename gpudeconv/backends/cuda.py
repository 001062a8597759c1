"""CUDA backend: one fused kernel launch per frame (CuPy), or the same code on the emulator.

The backend is written against a small runtime interface — an array module, a way to get
a compiled kernel, streams and pinned buffers — so :class:`CupyRuntime` runs it on a GPU
and :class:`SimRuntime` runs every line of it on NumPy arrays with the g++-built emulation
of the same kernel source (backend ``cuda-sim``).
"""

from __future__ import annotations

import math
from collections import deque
from functools import cache
from typing import Any

import numpy as np

from ..colour import decode_table
from ..filters import DeconvFilter
from ..frames import FrameSpec, luma_weights
from .kernels import BLOCK, NVRTC_OPTIONS, TILE, KernelSpec, index_type, kernel_code, shared_bytes
from .plan import FilterPlan

__all__ = ["CudaBackend", "CupyRuntime", "SimRuntime", "cuda_unavailable_reason"]

_OFFSET = 0.5  # working values are centred, as on the CPU (see backends/cpu.py)
_DLPACK_CUDA = 2  # kDLCUDA
#: Largest opt-in dynamic shared memory per block on an H100 (bytes); the emulator uses it.
_H100_SHARED = 227 * 1024


# ---------------------------------------------------------------------------- runtimes
def cuda_unavailable_reason() -> str | None:
    """Why CuPy cannot run kernels here, or None when a CUDA device is usable."""
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (pip install 'gpudeconv[cuda12]' or '[cuda13]')"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CuPy raises its own error types; the message says why
        return f"no usable CUDA device ({exc})"
    return None if count > 0 else "no CUDA device present"


@cache
def _cupy_function(device: int, name: str) -> Any:
    """Compile one instantiation with NVRTC, memoised per device (CuPy caches on disk)."""
    import cupy

    with cupy.cuda.Device(device):
        module = cupy.RawModule(code=kernel_code(), options=NVRTC_OPTIONS, name_expressions=[name])
        return module.get_function(name)


class CupyRuntime:
    """Real GPU: CuPy arrays, NVRTC-compiled kernels, CUDA streams, pinned host memory."""

    name = "cuda"

    def __init__(self) -> None:
        import cupy

        self.xp = cupy
        self.device = cupy.cuda.Device().id

    def function(self, spec: KernelSpec, shared: int) -> Any:
        """The compiled kernel, with its dynamic shared memory limit raised when needed."""
        kernel = _cupy_function(self.device, spec.name)
        if shared > 48 * 1024:
            kernel.max_dynamic_shared_size_bytes = shared
        return kernel

    def max_shared_bytes(self) -> int:
        """Opt-in shared memory per block of the current device."""
        import cupy

        attrs = cupy.cuda.Device(self.device).attributes
        return int(attrs.get("MaxSharedMemoryPerBlockOptin", 48 * 1024))

    def is_device_array(self, a: Any) -> bool:
        """True for GPU arrays: CuPy, CUDA array interface, or DLPack on a CUDA device."""
        if isinstance(a, self.xp.ndarray) or hasattr(a, "__cuda_array_interface__"):
            return True
        device = getattr(a, "__dlpack_device__", None)
        return device is not None and device()[0] == _DLPACK_CUDA

    def view(self, a: Any) -> Any:
        """A CuPy view of a GPU array (no copy); other arrays unchanged."""
        if isinstance(a, self.xp.ndarray) or not self.is_device_array(a):
            return a
        if hasattr(a, "__cuda_array_interface__"):
            return self.xp.asarray(a)
        return self.xp.from_dlpack(a)

    def as_device(self, a: Any) -> Any:
        """C-contiguous CuPy array of a GPU array (a copy only if it is strided)."""
        return self.xp.ascontiguousarray(self.view(a))

    def like_input(self, result: Any, template: Any) -> Any:
        """Return ``result`` as the same kind of array as ``template`` (zero-copy)."""
        if isinstance(template, self.xp.ndarray) or not hasattr(template, "__dlpack__"):
            return result
        module = type(template).__module__.split(".")[0]
        if module == "torch":
            import torch

            return torch.from_dlpack(result)
        return result

    def pinned_empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Page-locked host memory, so copies run asynchronously at full PCIe speed."""
        import cupyx

        return cupyx.empty_pinned(shape, dtype)

    def stream(self) -> Any:
        """A new non-blocking CUDA stream."""
        return self.xp.cuda.Stream(non_blocking=True)

    def upload(self, host: np.ndarray, device: Any, stream: Any) -> None:
        """Asynchronous host → device copy on ``stream``."""
        device.set(host, stream=stream)

    def download(self, device: Any, host: np.ndarray, stream: Any) -> None:
        """Asynchronous device → host copy on ``stream``."""
        device.get(stream=stream, out=host)


class _SimStream:
    """Stands in for a CUDA stream on the emulator, where everything is synchronous."""

    def __enter__(self) -> _SimStream:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def synchronize(self) -> None:
        """Nothing to wait for."""

    def record(self) -> _SimStream:
        """An 'event' that is always complete."""
        return self


class SimRuntime:
    """Emulated GPU: NumPy arrays as device memory, g++-built kernels, no-op streams."""

    name = "cuda-sim"
    xp = np

    def function(self, spec: KernelSpec, shared: int) -> Any:
        """The emulated kernel of ``spec`` (built on first use)."""
        from .cuda_sim import sim_module

        return sim_module(spec).get_function(spec.name)

    def max_shared_bytes(self) -> int:
        """The emulator enforces an H100's per-block limit, to fail like one."""
        return _H100_SHARED

    def is_device_array(self, a: Any) -> bool:
        """On the emulator NumPy arrays are the 'device' arrays."""
        return False

    def view(self, a: Any) -> Any:
        """NumPy arrays are used as they are."""
        return a

    def as_device(self, a: Any) -> Any:
        """C-contiguous NumPy array."""
        return np.ascontiguousarray(a)

    def like_input(self, result: Any, template: Any) -> Any:
        """Results are NumPy arrays, like the inputs."""
        return result

    def pinned_empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Plain host memory."""
        return np.empty(shape, dtype)

    def stream(self) -> _SimStream:
        """A no-op stream."""
        return _SimStream()

    def upload(self, host: np.ndarray, device: np.ndarray, stream: Any) -> None:
        """Copy, synchronously."""
        np.copyto(device, host)

    def download(self, device: np.ndarray, host: np.ndarray, stream: Any) -> None:
        """Copy, synchronously."""
        np.copyto(host, device)


# ---------------------------------------------------------------------------- backend
class CudaBackend:
    """The fused kernel behind the ``Pipeline`` API, on a runtime (GPU or emulator)."""

    def __init__(self, spec: FrameSpec, filt: DeconvFilter, runtime: Any) -> None:
        self.spec = spec
        self.runtime = runtime
        self.name = runtime.name
        xp = runtime.xp
        nbytes = int(np.prod(spec.shape)) * spec.dtype.itemsize
        self._kspec = KernelSpec.for_frames(spec, index_type(nbytes))
        work = self._kspec.work_dtype
        self._index = np.int64 if self._kspec.index == "long long" else np.int32
        self._work = work.type
        self._lut = None
        if spec.is_integer:
            table = decode_table(spec.dtype.name, spec.space, work.name) - work.type(_OFFSET)
            self._lut = xp.asarray(table)
        luma = luma_weights(spec.channel_order) if spec.colour_channels == 3 else (1, 0, 0)
        self._luma = tuple(work.type(v) for v in luma)
        self._grid = (math.ceil(spec.width / TILE[0]), math.ceil(spec.height / TILE[1]))
        self._device_in = xp.empty(spec.shape, spec.dtype)
        self._device_out = xp.empty(spec.shape, spec.dtype)
        self._streams = [runtime.stream(), runtime.stream()]
        self._pinned: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending: deque[tuple[int, Any]] = deque()
        self._next_slot = 0
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
        self._plan = plan
        self._taps = xp.asarray(np.concatenate(taps))
        self._term_info = xp.asarray(np.array(info, np.int32))
        self._radius = max(max(plan.radius), 0)
        self._shared = shared_bytes(self._kspec, self._radius)
        limit = self.runtime.max_shared_bytes()
        if self._shared > limit:
            raise ValueError(
                f"the filter's radius {self._radius} needs {self._shared} bytes of shared "
                f"memory per block; this device allows {limit} (use a smaller blur or the "
                "'cpu' backend)"
            )
        self._kernel = self.runtime.function(self._kspec, self._shared)
        self._weights_host = np.asarray(filt.weights, dtype=np.float64).copy()
        self._weights = xp.asarray(plan.weights(self._weights_host))

    def set_filter(self, filt: DeconvFilter) -> bool:
        """Use ``filt``; returns False (and re-plans) when its terms differ."""
        if FilterPlan.from_filter(filt, self._work).same_terms(self._plan):
            self.set_weights(filt.weights)
            return True
        self._set_plan(filt)
        return False

    def set_weights(self, weights: np.ndarray) -> None:
        """New per-term weights: a tiny host → device copy, never a recompilation."""
        self._weights_host[:] = weights
        self._weights[...] = self.runtime.xp.asarray(self._plan.weights(self._weights_host))

    def _offset_back(self) -> float:
        """``½·F(0)``: the constant that centring removed, added back by the kernel."""
        return _OFFSET * self._plan.dc_gain(self._weights_host)

    def _launch(self, src: Any, dst: Any) -> None:
        spec, work, index = self.spec, self._work, self._index
        row = spec.width * spec.channels
        args = (
            src,
            dst,
            index(spec.height),
            index(spec.width),
            index(row),
            index(row),
            self._taps,
            self._term_info,
            self._weights,
            np.int32(self._plan.size),
            np.int32(self._radius),
            self._lut,
            np.int32(spec.space == "linear"),
            work(spec.max_code),
            np.float64(self._offset_back()),
            *self._luma,
        )
        self._kernel(self._grid, BLOCK, args, shared_mem=self._shared)

    # ------------------------------------------------------------------ frames
    def view(self, a: Any) -> Any:
        """The array the backend works on for ``a`` (CuPy view of a GPU tensor)."""
        return self.runtime.view(a)

    def empty_like(self, frame: Any) -> Any:
        """An output of the input's kind: device for device input, else NumPy."""
        if self.runtime.is_device_array(frame):
            result = self.runtime.xp.empty(self.spec.shape, self.spec.dtype)
            return self.runtime.like_input(result, frame)
        return np.empty(self.spec.shape, self.spec.dtype)

    def all_finite(self, frame: Any) -> bool:
        """NaN/Inf check on the frame's own device."""
        if self.runtime.is_device_array(frame):
            return bool(self.runtime.xp.isfinite(frame).all())
        return bool(np.isfinite(frame).all())

    def __call__(self, frame: Any, out: Any) -> None:
        """Restore ``frame`` into ``out``: on the device for device arrays, else staged."""
        if self.runtime.is_device_array(frame):
            src = self.runtime.as_device(frame)
            dst = out
            if dst.flags.c_contiguous:
                self._launch(src, dst)
            else:
                self._launch(src, self._device_out)
                dst[...] = self._device_out
            return
        self.submit(frame)
        self.result(out)

    def submit(self, frame: np.ndarray) -> None:
        """Queue a host frame: pinned copy, upload, kernel, download on its own stream.

        Two frames may be in flight, on two streams with two pinned buffer pairs, so the
        upload of one overlaps the kernel and download of the other.
        """
        if len(self._pending) >= 2:
            raise ValueError("two frames are already in flight; call result() first")
        if not self._pinned:  # first streamed frame: the second buffer set
            self._pinned = [
                (
                    self.runtime.pinned_empty(self.spec.shape, self.spec.dtype),
                    self.runtime.pinned_empty(self.spec.shape, self.spec.dtype),
                )
                for _ in range(2)
            ]
            xp = self.runtime.xp
            self._buffers = [
                (self._device_in, self._device_out),
                (xp.empty_like(self._device_in), xp.empty_like(self._device_out)),
            ]
        slot = self._next_slot
        self._next_slot = 1 - slot
        pinned_in, pinned_out = self._pinned[slot]
        device_in, device_out = self._buffers[slot]
        stream = self._streams[slot]
        np.copyto(pinned_in, frame)
        with stream:
            self.runtime.upload(pinned_in, device_in, stream)
            self._launch(device_in, device_out)
            self.runtime.download(device_out, pinned_out, stream)
            event = stream.record()
        self._pending.append((slot, event))

    def result(self, out: np.ndarray | None = None) -> np.ndarray:
        """Wait for the oldest submitted frame and return it (in ``out`` if given)."""
        if not self._pending:
            raise ValueError("no frame in flight; call submit(frame) first")
        slot, event = self._pending.popleft()
        event.synchronize()
        pinned_out = self._pinned[slot][1]
        if out is None:
            return pinned_out.copy()
        np.copyto(out, pinned_out)
        return out

    @property
    def in_flight(self) -> int:
        """Frames submitted and not yet collected."""
        return len(self._pending)
