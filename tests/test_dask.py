"""gpudeconv.media.dask (issue 16, first part): map_overlap equals the in-memory pipeline."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpudeconv import Pipeline, fit
from gpudeconv.core import psf
from gpudeconv.errors import InvalidArgumentError, InvalidTypeError
from tests import tolerances as tol

da = pytest.importorskip("dask.array", reason="dask is not installed")
from gpudeconv.media.dask import deblur  # noqa: E402 (after the skip)

FILTERS = {
    "gauss-lap": fit(psf.gaussian(1.2), noise=0.003),
    "atrous": fit(psf.gaussian(1.0, 0.6, angle=0.5), noise=0.003, basis="atrous", oriented=2),
    "fir": fit(psf.gaussian(1.0), noise=0.003, basis="fir"),
    "unsharp": fit(psf.gaussian(1.0), noise=0.003, basis="unsharp"),
}


def _chunks(draw, size: int) -> tuple[int, ...]:
    """A random chunking of one axis."""
    parts, left = [], size
    while left:
        parts.append(draw(st.integers(1, left)))
        left -= parts[-1]
    return tuple(parts)


@st.composite
def cases(draw):
    h, w = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    channels = draw(st.sampled_from([None, 3, 4]))
    shape = (h, w) if channels is None else (h, w, channels)
    chunks = (_chunks(draw, h), _chunks(draw, w)) + ((channels,) if channels else ())
    dtype = draw(st.sampled_from([np.float32, np.uint8]))
    return shape, chunks, dtype, draw(st.integers(0, 2**32 - 1))


@pytest.mark.parametrize("boundary", ["reflect", "clamp"])
@pytest.mark.parametrize("basis", list(FILTERS))
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=cases())
def test_every_chunking_equals_the_in_memory_pipeline(basis, boundary, case):
    shape, chunks, dtype, seed = case
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        frame = rng.random(shape, dtype=np.float32)
    else:
        frame = rng.integers(0, 255, shape, endpoint=True, dtype=np.uint8)
    filt = FILTERS[basis]
    lazy = deblur(da.from_array(frame, chunks=chunks), filt, boundary=boundary)
    assert lazy.shape == frame.shape and lazy.dtype == frame.dtype
    got = lazy.compute(scheduler="synchronous")
    want = Pipeline(filt, shape=shape, dtype=dtype, backend="cpu", boundary=boundary)(frame)
    if dtype == np.float32:
        np.testing.assert_allclose(got, want, rtol=0, atol=tol.PIPELINE_F32)
    else:
        assert np.abs(got.astype(int) - want.astype(int)).max() <= tol.PIPELINE_LSB


def test_from_a_psf_with_frame_options_and_threads():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (90, 70, 3), endpoint=True, dtype=np.uint8)
    kernel = psf.gaussian(1.1)
    lazy = deblur(da.from_array(frame, chunks=(32, 25, 3)), kernel, noise=0.004, space="srgb")
    got = lazy.compute(scheduler="threads")
    filt = fit(kernel, noise=0.004)
    want = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="cpu", space="srgb")(frame)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= tol.PIPELINE_LSB


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: deblur(np.zeros((8, 8), np.float32), FILTERS["fir"]), InvalidTypeError, "dask"),
        (
            lambda: deblur(da.zeros((8, 8), dtype=np.float32), psf.gaussian(1.0)),
            InvalidArgumentError,
            "noise",
        ),
        (
            lambda: deblur(da.zeros((8, 8), dtype=np.float32), FILTERS["fir"], noise=0.1),
            InvalidArgumentError,
            "PSF",
        ),
        (
            lambda: deblur(da.zeros((8, 8, 2), dtype=np.float32), FILTERS["fir"]),
            InvalidArgumentError,
            "channels",
        ),
        (
            lambda: deblur(da.zeros((8, 8), dtype=np.float64), FILTERS["fir"]),
            InvalidTypeError,
            "dtype",
        ),
        (
            lambda: deblur(da.zeros((8,), dtype=np.float32), FILTERS["fir"]),
            InvalidArgumentError,
            "shape",
        ),
        (
            lambda: deblur(da.zeros((8, 8), dtype=np.float32), FILTERS["fir"], boundary="periodic"),
            InvalidArgumentError,
            "boundary",
        ),
    ],
)
def test_bad_requests_say_what_is_wrong(call, error, match):
    with pytest.raises(error, match=match):
        call()
