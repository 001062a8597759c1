"""The backend contract (backends/base.py), held on every backend by one test body each."""

import warnings

import numpy as np
import pytest

import gpudeconv
from gpudeconv import FilterTable, Pipeline, fit
from gpudeconv.core import psf
from gpudeconv.fit import BASES

BACKENDS = ["cpu", "cuda-sim", pytest.param("cuda", marks=pytest.mark.cuda)]


@pytest.fixture
def backend(request):
    name = request.param
    if name == "cuda":
        request.getfixturevalue("cuda")
    return name


@pytest.fixture(scope="module")
def filters():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gpudeconv.FitQualityWarning)
        return {b: fit(psf.gaussian(1.0), noise=0.003, basis=b) for b in BASES.names}


def _ulps(out: np.ndarray, expect: np.ndarray) -> float:
    return float(np.max(np.abs(out.astype(np.float64) - expect) / np.spacing(np.float32(expect))))


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("basis", BASES.names)
def test_constant_frames_stay_constant(filters, backend, basis):
    """A flat frame keeps its level to float32 rounding (≤ 2 ulp): no flicker, no shift."""
    filt = filters[basis]
    for value in (0.9, 0.1, 37.0, 3.0e4, -0.25):  # HDR and TAA-negative levels too
        frame = np.full((45, 70), value, np.float32)
        out = Pipeline(filt, shape=frame.shape, dtype=np.float32, backend=backend)(frame)
        assert _ulps(out, np.float32(value)) <= 2, (basis, value)
    colour = np.empty((40, 75, 3), np.float32)
    colour[...] = (0.2, 0.5, 0.9)
    for options in ({}, {"luma_only": True}):
        pipe = Pipeline(filt, shape=colour.shape, dtype=np.float32, backend=backend, **options)
        out = pipe(colour)
        for c, value in enumerate((0.2, 0.5, 0.9)):
            assert _ulps(out[..., c], np.float32(value)) <= 2, (basis, options, value)
    codes = np.full((30, 50, 3), 200, np.uint8)
    out = Pipeline(filt, shape=codes.shape, dtype=np.uint8, backend=backend)(codes)
    np.testing.assert_array_equal(out, codes)


BAD_FRAMES = [
    ("wrong shape", lambda: np.zeros((9, 8, 3), np.float32)),
    ("wrong dtype", lambda: np.zeros((8, 9, 3), np.uint8)),
    ("not an array", lambda: [[0.0]]),
    ("nan", lambda: np.where(np.eye(8, 9)[..., None] > 0, np.nan, 0).astype(np.float32)),
    ("inf", lambda: np.full((8, 9, 3), np.inf, np.float32)),
]


@pytest.mark.parametrize(("what", "make"), BAD_FRAMES)
def test_the_same_bad_frame_raises_the_same_error_everywhere(filters, what, make):
    raised = {}
    for backend in ("cpu", "cuda-sim"):
        pipe = Pipeline(filters["gauss-lap"], shape=(8, 9, 3), dtype=np.float32, backend=backend)
        with pytest.raises((TypeError, ValueError)) as info:
            pipe(make())
        raised[backend] = (type(info.value), str(info.value))
    assert raised["cpu"] == raised["cuda-sim"], what
    assert issubclass(raised["cpu"][0], gpudeconv.GpudeconvError)


def test_emulated_streams_queue_work_until_waited_for(rng):
    """The emulator's streams are as asynchronous as a GPU's: nothing runs before a wait."""
    from gpudeconv.engine.backends.cuda import SimRuntime

    runtime = SimRuntime()
    stream = runtime.stream()
    host, device = np.ones(4), np.zeros(4)
    runtime.upload(host, device, stream)
    assert device.sum() == 0  # queued, not run
    event = stream.record()
    event.synchronize()
    assert device.sum() == 4


@pytest.mark.parametrize("backend", ["cpu", "cuda-sim"])
def test_weight_changes_reach_only_frames_submitted_after_them(rng, backend):
    """A slider moved while frames are in flight must not change those frames."""
    table = FilterTable.fit(sigmas=[0.6, 2.0], noises=[0.0, 0.01], quantization_bits=8)
    frames = [rng.integers(0, 256, (40, 52, 3), dtype=np.uint8) for _ in range(3)]
    settings = [(0.7, 0.001), (1.9, 0.008), (1.2, 0.004)]
    expect = [
        Pipeline(table(*s), shape=f.shape, dtype=np.uint8, backend=backend)(f)
        for f, s in zip(frames, settings, strict=True)
    ]
    pipe = Pipeline(table, shape=frames[0].shape, dtype=np.uint8, backend=backend)
    pipe.set_blur(*settings[0])
    pipe.submit(frames[0])
    pipe.set_blur(*settings[1])
    pipe.submit(frames[1])
    pipe.set_blur(*settings[2])  # two frames in flight, both with other weights
    first = pipe.result()
    pipe.submit(frames[2])
    np.testing.assert_array_equal(first, expect[0])
    np.testing.assert_array_equal(pipe.result(), expect[1])
    np.testing.assert_array_equal(pipe.result(), expect[2])


@pytest.mark.parametrize("backend", ["cpu", "cuda-sim"])
def test_a_call_between_submits_does_not_take_a_streamed_result(rng, backend, filters):
    pipe = Pipeline(filters["atrous"], shape=(20, 30), dtype=np.float32, backend=backend)
    a, b = rng.random((2, 20, 30), dtype=np.float32)
    pipe.submit(a)
    direct = pipe(b)
    np.testing.assert_array_equal(pipe.result(), pipe(a))
    np.testing.assert_array_equal(direct, pipe(b))


@pytest.mark.parametrize("backend", ["cpu", "cuda-sim"])
@pytest.mark.parametrize("row", [0, 150, 299])
def test_a_bad_value_anywhere_is_caught_before_out_is_written(filters, backend, row, rng):
    """The CPU fuses the finiteness check with its first pass; nothing reaches ``out``."""
    frame = rng.random((300, 90), dtype=np.float32)
    frame[row, 7] = np.nan
    out = np.full_like(frame, 7.0)
    pipe = Pipeline(filters["gauss-lap"], shape=frame.shape, dtype=np.float32, backend=backend)
    with pytest.raises(gpudeconv.errors.NonFiniteFrameError):
        pipe(frame, out=out)
    assert (out == 7.0).all()
