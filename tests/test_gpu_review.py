"""The second GPU review (``shared/reviews/gpu-review-2.md``), point by point.

No GPU here: each point is shown with what can show it — the emulator (``cuda-sim``,
whose queued streams run only when waited for), :class:`SimDeviceArray` standing in for a
caller's CuPy array or PyTorch tensor on its own stream, or a stand-in module for CuPy.
Each test fails on the code the review read.
"""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from gpudeconv import Pipeline, fit
from gpudeconv.core import psf
from gpudeconv.core.frames import FrameSpec
from gpudeconv.engine.backends.cuda import SimDeviceArray, external_stream, frame_limit_reason
from gpudeconv.errors import InvalidArgumentError, InvalidTypeError
from tests import tolerances as tol

ROOT = Path(__file__).resolve().parent.parent


class FakeCupyArray:
    """A device array as OpenCV and NumPy meet it: CUDA array interface, no ``__array__``."""

    def __init__(self, host: np.ndarray) -> None:
        self._host = host
        self.shape, self.dtype = host.shape, host.dtype
        self.__cuda_array_interface__ = {"shape": host.shape, "typestr": host.dtype.str}

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed.")


def _filter():
    return fit(psf.gaussian(1.0), noise=0.01)


def _on_cpu(filt, host: np.ndarray) -> np.ndarray:
    return Pipeline(filt, shape=host.shape, dtype=host.dtype, backend="cpu")(host)


# --------------------------------------------------------------------------- 1, 2: the demo
def test_1_demo_keeps_frames_on_the_host_unless_the_backend_is_cuda(monkeypatch):
    """The demo moved frames to CuPy whenever a GPU existed, whatever backend ran."""
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    fake.asarray = FakeCupyArray
    monkeypatch.setitem(sys.modules, "cupy", fake)
    sys.path.insert(0, str(ROOT / "demos"))
    try:
        import render_postprocess
    finally:
        sys.path.remove(str(ROOT / "demos"))
    frame = np.zeros((4, 4, 3), np.float32)
    kept, kind = render_postprocess.to_device(frame, "cpu")
    assert kept is frame and kind == "numpy"


def test_2_demo_waits_for_the_upload_before_its_clock_starts(monkeypatch):
    """cupy.asarray is asynchronous: the timed region included the frame's upload."""
    events = []
    stream = types.SimpleNamespace(synchronize=lambda: events.append("synchronize"))
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(get_current_stream=lambda: stream)
    fake.asarray = lambda frame: events.append("upload") or FakeCupyArray(frame)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    sys.path.insert(0, str(ROOT / "demos"))
    try:
        import render_postprocess
    finally:
        sys.path.remove(str(ROOT / "demos"))
    _, kind = render_postprocess.to_device(np.zeros((4, 4, 3), np.float32), "cuda")
    assert kind == "cupy" and events == ["upload", "synchronize"]


def test_1_cpu_backend_names_a_gpu_array():
    filt = _filter()
    pipe = Pipeline(filt, shape=(8, 8, 3), dtype=np.float32, backend="cpu")
    with pytest.raises(InvalidTypeError, match=r"cpu backend restores host .* got a GPU array"):
        pipe(FakeCupyArray(np.zeros((8, 8, 3), np.float32)))


# --------------------------------------------------------------------------- 3: ExternalStream
def test_3_torch_streams_use_from_external_where_cupy_deprecates_external_stream():
    made = []

    class ExternalStream:  # CuPy 14: warns on every construction
        def __init__(self, ptr):
            warnings.warn("ExternalStream is deprecated", DeprecationWarning, stacklevel=2)

    class Stream:
        @staticmethod
        def from_external(obj):
            made.append(obj.__cuda_stream__())
            return "stream"

    cuda14 = types.SimpleNamespace(Stream=Stream, ExternalStream=ExternalStream)
    cupy14 = types.SimpleNamespace(cuda=cuda14)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert external_stream(cupy14, 0x1234) == "stream"
    assert made == [(0, 0x1234)]

    class OldStream:  # CuPy 13: no from_external
        pass

    cupy13 = types.SimpleNamespace(
        cuda=types.SimpleNamespace(Stream=OldStream, ExternalStream=lambda ptr: ("external", ptr))
    )
    assert external_stream(cupy13, 7) == ("external", 7)


# --------------------------------------------------------------------------- 4: bench error
def test_4_torch_round_trip_error_counts_results_too_low():
    from bench.gpu import max_abs_error

    expect = np.zeros(5)
    assert max_abs_error(expect - np.array([0, 0, 0.3, 0, 0]), expect) == pytest.approx(0.3)


# --------------------------------------------------------------------------- 6: stream order
def test_6_strided_device_frame_on_a_side_stream_is_copied_on_that_stream():
    """The contiguous copy ran on CuPy's current stream, the kernel on torch's side
    stream: unordered, so the kernel read the copy's buffer before it was written."""
    filt = _filter()
    rng = np.random.default_rng()
    host = rng.random((40, 96, 3), dtype=np.float32)
    pipe = Pipeline(filt, shape=(40, 48, 3), dtype=np.float32, backend="cuda-sim")
    runtime = pipe._backend.runtime
    side, current = runtime.stream(), runtime.stream()
    frame = host.view(SimDeviceArray)[:, ::2]
    frame.stream = side  # a tensor on a PyTorch side stream
    with current:  # CuPy's current stream: another queue, not run before the kernel
        out = pipe(frame)
    side.synchronize()
    expect = _on_cpu(filt, np.ascontiguousarray(host[:, ::2]))
    np.testing.assert_allclose(np.asarray(out), expect, atol=tol.PIPELINE_F32_GPU)
    current.synchronize()


def test_6_in_place_device_frame_keeps_its_copy_on_the_side_stream():
    """A guard, not a demonstration: the input's copy moved from the Pipeline (CuPy's
    stream) into the backend (the frame's stream); the emulator ran the old copy at
    once, so it could not show the race."""
    filt = _filter()
    host = np.random.default_rng().random((40, 48, 3), dtype=np.float32)
    pipe = Pipeline(filt, shape=host.shape, dtype=np.float32, backend="cuda-sim")
    side = pipe._backend.runtime.stream()
    frame = host.copy().view(SimDeviceArray)
    frame.stream = side
    pipe(frame, out=frame)
    side.synchronize()
    np.testing.assert_allclose(np.asarray(frame), _on_cpu(filt, host), atol=tol.PIPELINE_F32_GPU)


# --------------------------------------------------------------------------- 7: re-plan race
_REPLAN = """
import numpy as np
from gpudeconv import fit, psf
from gpudeconv.engine.backends.cuda import CudaBackend, SimRuntime
from gpudeconv.core.frames import FrameSpec

old = fit(psf.gaussian(1.0), noise=0.01, basis="atrous")   # 3 terms, radius 3
new = fit(psf.gaussian(2.5), noise=0.01)                     # 6 terms, radius 13
host = np.random.default_rng(3).random((48, 64, 3), dtype=np.float32)
seen = []

class Interleaving(SimRuntime):
    # Each device synchronisation of a re-plan: another thread launches a frame then.
    armed = False
    def synchronize(self):
        super().synchronize()
        if self.armed:
            out = np.empty_like(host)
            backend(host, out)
            seen.append(out)

spec = FrameSpec.create(host.shape, host.dtype)
runtime = Interleaving()
backend = CudaBackend(spec, old, runtime)
expect = np.empty_like(host)
backend(host, expect)
runtime.armed = True
backend.set_filter(new)
runtime.armed = False
print(len(seen), max(float(np.abs(o - expect).max()) for o in seen))
"""


def test_7_a_launch_during_a_re_plan_uses_one_plan_whole():
    """Taps and term table were published before the plan (outside its lock): a launch
    in between ran the old plan's term count and radius over the new tables."""
    result = subprocess.run(
        [sys.executable, "-c", _REPLAN], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-2000:]
    launches, worst = result.stdout.split()
    assert int(launches) >= 1 and float(worst) == 0.0  # every launch: the old plan, exactly


# --------------------------------------------------------------------------- 8: device memory
def test_8_a_pipeline_allocates_streaming_buffers_only_when_it_streams():
    """Four device frames (and two streams) per backend, used only by submit()."""
    filt = _filter()
    shape = (2160, 3840, 3)  # 4K RGB uint8: 24.9 MB a frame
    frame_bytes = int(np.prod(shape))
    tracemalloc.start()
    try:
        pipe = Pipeline(filt, shape=shape, dtype=np.uint8, backend="cuda-sim")
        built, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        small = Pipeline(filt, shape=(16, 16, 3), dtype=np.uint8, backend="cuda-sim")
        small.submit(np.zeros((16, 16, 3), np.uint8))
        small.result()
    finally:
        tracemalloc.stop()
    assert built < frame_bytes / 4, built  # was 4 frames: 99.5 MB
    assert pipe._backend.describe()["replans"] == 0


# --------------------------------------------------------------------------- 9: mixed out
@pytest.mark.parametrize("device_side", ["frame", "out"])
def test_9_out_of_the_other_kind_is_refused(device_side):
    filt = _filter()
    host = np.random.default_rng().random((1, 1, 3), dtype=np.float32)
    pipe = Pipeline(filt, shape=host.shape, dtype=np.float32, backend="cuda-sim")
    device = host.copy().view(SimDeviceArray)
    frame, out = (device, np.empty_like(host)) if device_side == "frame" else (host, device)
    with pytest.raises(InvalidTypeError, match="out of the frame's kind"):
        pipe(frame, out=out)


# --------------------------------------------------------------------------- 10: grid limit
def test_10_frames_taller_than_the_grid_are_refused_by_cuda_and_go_to_the_cpu():
    tall = FrameSpec.create((65535 * 32 + 1, 1), np.uint8)
    assert "grid limit" in frame_limit_reason(tall)
    assert frame_limit_reason(FrameSpec.create((65535 * 32, 1), np.uint8)) is None
    with pytest.raises(InvalidArgumentError, match=r"cannot restore this frame: .* grid limit"):
        Pipeline(_filter(), shape=tall.shape, dtype=np.uint8, backend="cuda-sim")


# --------------------------------------------------------------------------- 11: CuPy 14.0
def test_11_cupy_extras_exclude_14_0_which_never_loads_its_disk_cache():
    import tomllib
    from packaging.requirements import Requirement

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for name in ("cuda12", "cuda13"):
        (requirement,) = (Requirement(r) for r in extras[name])
        assert requirement.name.startswith("cupy-cuda")
        assert not requirement.specifier.contains("14.0.1")
        assert requirement.specifier.contains("14.1.0") and requirement.specifier.contains("14.2.0")


# --------------------------------------------------------------------------- 12: timing
def test_12_device_time_is_many_calls_between_one_pair_of_events():
    """cupyx.profiler.benchmark's events bracket one Python call each: dispatch included."""
    from bench.gpu import back_to_back_us

    log = []

    class Event:
        def record(self, stream=None):
            log.append("event")

        def synchronize(self):
            pass

    stream = types.SimpleNamespace(synchronize=lambda: None)
    xp = types.SimpleNamespace(
        cuda=types.SimpleNamespace(
            Event=Event, get_current_stream=lambda: stream, get_elapsed_time=lambda a, b: 2.0
        )
    )
    us = back_to_back_us(xp, lambda: log.append("call"), n=10, warmup=2)
    assert log == ["call"] * 2 + ["event"] + ["call"] * 10 + ["event"]
    assert us == pytest.approx(2.0e3 / 10)


# --------------------------------------------------------------------------- 5: FMA and FTZ
_PROBE = """
__global__ void probe_fma(const float* a, const float* b, const float* c, float* out) {
    out[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x] + c[threadIdx.x];
}
__global__ void probe_mul(const float* a, const float* b, float* out) {
    out[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x];
}
"""


def _probe(name: str, *arrays: np.ndarray) -> np.ndarray:
    import ctypes

    from gpudeconv.engine.backends.cuda_sim import SimFunction, build_library

    library = ctypes.CDLL(str(build_library(["probe_fma", "probe_mul"], code=_PROBE)))
    index = ["probe_fma", "probe_mul"].index(name)
    out = np.zeros(arrays[0].size, np.float32)
    SimFunction(getattr(library, f"gpudeconv_launch_{index}"), name)(
        (1,), (out.size,), (*arrays, out)
    )
    return out


def test_5_emulator_fuses_multiply_adds_as_the_gpu_does():
    """The build said it contracted FMAs; without -mfma g++ emitted none (0 vfmadd)."""
    from gpudeconv.engine.backends.cuda_sim import SIM_FMA

    if not SIM_FMA:
        pytest.skip("this CPU has no FMA instructions: the emulator rounds a*b+c twice")
    a = np.float32(1 + 2**-12)  # a*a = 1 + 2^-11 + 2^-24: the last bit is lost unfused
    ones = np.ones(2, np.float32)
    out = _probe("probe_fma", ones * a, ones * a, -ones)
    fused, unfused = 2.0**-11 + 2.0**-24, 2.0**-11
    assert out[0] == np.float32(fused) != np.float32(unfused)


def test_5_emulator_flushes_float_denormals_as_ftz_does():
    tiny = np.full(2, 2.0**-70, np.float32)  # product 2^-140: a float denormal
    assert np.float32(2.0**-70) * np.float32(2.0**-70) != 0  # NumPy keeps it
    assert (_probe("probe_mul", tiny, tiny) == 0).all()
    denormal = np.full(2, 2.0**-140, np.float32)  # read as zero too (DAZ)
    assert (_probe("probe_mul", denormal, np.full(2, 2.0**100, np.float32)) == 0).all()


# --------------------------------------------------------------------------- 13: host work
@pytest.fixture
def strict(monkeypatch):
    """The strict CuPy stand-in, counting transfers and syncs (see tests/strict_cupy.py)."""
    from tests import strict_cupy

    monkeypatch.setitem(sys.modules, "cupy", strict_cupy)
    strict_cupy.reset_transfers()
    memo = sys.modules.get("gpudeconv.core._memo")
    if memo is not None:  # a fresh start: nothing memoised by an earlier test
        memo.clear()
    return strict_cupy


def test_13_the_finite_check_of_a_device_frame_is_one_sync(strict):
    """Two host syncs (isfinite().all(), then abs().max()) per device frame."""
    from gpudeconv.core._validate import values_in_range

    frame = strict.asarray(np.random.default_rng().random((32, 48, 3), dtype=np.float32))
    strict.reset_transfers()
    assert values_in_range(frame)
    assert strict.syncs["count"] == 1
    for bad in (np.nan, np.inf, -np.inf, 1e31):
        spoiled = frame.copy()
        spoiled[3, 4, 1] = bad
        assert not values_in_range(spoiled)
        host = spoiled.get()
        assert not values_in_range(host)


def test_13_hyper_laplacian_prox_uploads_its_table_once_and_never_syncs(strict):
    """A 128 KB table upload and a sync (far.any()) in every call, twice per iteration."""
    from gpudeconv.restoration.stills.priors import LUT_END, hyper_laplacian_prox

    rng = np.random.default_rng()
    host = (rng.standard_normal((40, 50)) * LUT_END).astype(np.float32)  # some beyond it
    device = strict.asarray(host)
    strict.reset_transfers()
    results = [hyper_laplacian_prox(device, 0.5, 0.66, strict) for _ in range(4)]
    assert strict.transfers["to_device"] <= 1 and strict.syncs["count"] == 0
    expect = hyper_laplacian_prox(host, 0.5, 0.66, np)
    np.testing.assert_allclose(results[-1].get(), expect, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("boundary", ["reflect", "unknown"])
def test_13_fft_operators_are_uploaded_once_per_psf_and_grid(strict, boundary):
    """A host float64 FFT of the whole padded grid and its upload on every call."""
    from gpudeconv import wiener
    from tests.test_wiener import shake_kernel

    rng = np.random.default_rng()
    kernel = shake_kernel(rng, 9) if boundary == "unknown" else psf.gaussian(1.2)
    frames = [strict.asarray(rng.random((96, 128), dtype=np.float32)) for _ in range(3)]
    uploads = []
    for frame in frames:
        before = strict.transfers["to_device_bytes"]
        wiener(frame, kernel, noise=0.01, boundary=boundary)
        uploads.append(strict.transfers["to_device_bytes"] - before)
    assert uploads[0] > frames[0].nbytes  # the operators, on the padded grid
    assert uploads[1] <= 0.02 * uploads[0] and uploads[2] <= 0.02 * uploads[0]


def test_13_a_batch_bound_for_the_gpu_starts_two_workers(monkeypatch):
    """Eight worker processes by default: eight CUDA contexts on one GPU."""
    import gpudeconv.engine.backends as backends
    from gpudeconv.media import batch

    monkeypatch.setattr(backends, "cuda_unavailable_reason", lambda: None)
    monkeypatch.delenv("GPUDECONV_BACKEND", raising=False)
    monkeypatch.setattr(batch.os, "cpu_count", lambda: 16)
    assert batch.default_workers("auto") == batch.default_workers("cuda") == 2
    assert batch.default_workers("cpu") == batch.MAX_DEFAULT_WORKERS
    monkeypatch.setattr(backends, "cuda_unavailable_reason", lambda: "no device")
    assert batch.default_workers("auto") == batch.MAX_DEFAULT_WORKERS
