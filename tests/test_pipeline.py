"""One test body over format × boundary × basis × backend, plus the API's rules."""

import tracemalloc

import numpy as np
import pytest

import gpudeconv
from gpudeconv import FilterTable, Pipeline, deblur, fit
from gpudeconv.core import psf
from gpudeconv.restoration.reference import restore_reference
from tests import tolerances as tol

#: Backends under test: one body, every backend. 'cuda' runs the real GPU path and is
#: skipped (with the reason) where no device exists; 'gl' runs on whatever OpenGL 4.3
#: renderer EGL gives (Mesa's llvmpipe here) and is skipped with the reason where none.
BACKENDS = ["cpu", "cuda-sim", "gl", pytest.param("cuda", marks=pytest.mark.cuda)]

FORMATS = {
    "f32-plane": ((), np.float32, {}),
    "f32-1ch": ((1,), np.float32, {}),
    "f32-rgb": ((3,), np.float32, {}),
    "f32-rgba": ((4,), np.float32, {}),
    "f32-luma": ((3,), np.float32, {"luma_only": True}),
    "u8-bgr": ((3,), np.uint8, {}),
    "u8-rgb": ((3,), np.uint8, {"channel_order": "rgb"}),
    "u8-bgra": ((4,), np.uint8, {}),
    "u8-grey": ((), np.uint8, {}),
    "u8-srgb-space": ((3,), np.uint8, {"space": "srgb"}),
    "u8-luma": ((3,), np.uint8, {"luma_only": True}),
    "u8-rgba-luma": ((4,), np.uint8, {"luma_only": True, "channel_order": "rgb"}),
    "u16-rgb": ((3,), np.uint16, {"channel_order": "rgb"}),
    "u16-bgra": ((4,), np.uint16, {}),
    # A 10-bit video plane (Y of yuv420p10le): codes 0–1023 in uint16 samples.
    "u16-10bit-plane": ((), np.uint16, {"bits": 10, "space": "srgb"}),
    "u16-10bit-linear": ((), np.uint16, {"bits": 10}),
}
BASES = {
    "gauss-lap": {"basis": "gauss-lap"},
    "atrous": {"basis": "atrous", "levels": 3},
    "fir": {"basis": "fir"},
    "fir-2d": {"basis": "fir", "mode": "2d", "radius": 3},
    "unsharp": {"basis": "unsharp"},
    # Oriented (Hessian) bands, one of them g'⊗g' (antisymmetric taps), for a rotated blur.
    "atrous-oriented": {"basis": "atrous", "levels": 2, "oriented": 2},
}
#: The blur each filter is fitted for (a rotated one where the basis can follow it).
PSFS = {"atrous-oriented": psf.gaussian(1.5, 0.7, angle=0.5)}
SIZES = [(1, 1), (1, 17), (17, 1), (7, 5), (37, 23)]


@pytest.fixture(scope="module")
def filters():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gpudeconv.FitQualityWarning)
        return {
            name: fit(PSFS.get(name, psf.gaussian(1.0)), noise=0.002, quantization_bits=8, **opts)
            for name, opts in BASES.items()
        }


def _frame(rng, size, fmt):
    extra, dtype, options = FORMATS[fmt]
    shape = (*size, *extra)
    if dtype == np.float32:
        return rng.random(shape, dtype=np.float32)
    top = (1 << options["bits"]) - 1 if "bits" in options else np.iinfo(dtype).max
    return rng.integers(0, top, shape, endpoint=True, dtype=dtype)


def _check(out, frame, filt, pipe):
    ref = restore_reference(frame, filt, pipe.spec)
    assert out.shape == frame.shape and out.dtype == frame.dtype and out.flags.c_contiguous
    if frame.dtype == np.float32:
        gpu = pipe.describe()["backend"] in ("cuda", "cuda-sim", "gl")
        atol = tol.PIPELINE_F32_GPU if gpu else tol.PIPELINE_F32
        np.testing.assert_allclose(out, ref, atol=atol, rtol=0)
    else:
        diff = np.abs(out.astype(np.int64) - ref.astype(np.int64))
        assert diff.max() <= tol.PIPELINE_LSB
    if pipe.spec.has_alpha:
        np.testing.assert_array_equal(out[..., 3], frame[..., 3])


@pytest.fixture
def backend(request):
    """The backend under test; 'cuda' needs a device and skips with the reason if none."""
    name = request.param
    if name in ("cuda", "gl"):
        request.getfixturevalue(name)
    return name


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("basis", list(BASES))
@pytest.mark.parametrize("boundary", ["reflect", "clamp"])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_matches_float64_reference(rng, filters, backend, basis, boundary, fmt):
    filt = filters[basis]
    options = FORMATS[fmt][2]
    if backend == "gl" and FORMATS[fmt][1] == np.uint16:  # refused, saying why
        with pytest.raises(ValueError, match="uint16 frames need float64 filtering"):
            Pipeline(filt, shape=(8, 8), dtype=np.uint16, backend="gl", **options)
        return
    for size in SIZES:
        frame = _frame(rng, size, fmt)
        pipe = Pipeline(
            filt,
            shape=frame.shape,
            dtype=frame.dtype,
            boundary=boundary,
            backend=backend,
            **options,
        )
        _check(pipe(frame), frame, filt, pipe)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("fmt", ["u8-bgr", "f32-rgb", "u8-luma"])
def test_full_hd(rng, filters, backend, fmt):
    frame = _frame(rng, (1080, 1920), fmt)
    pipe = Pipeline(
        filters["gauss-lap"],
        shape=frame.shape,
        dtype=frame.dtype,
        backend=backend,
        **FORMATS[fmt][2],
    )
    _check(pipe(frame), frame, filters["gauss-lap"], pipe)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("fmt", ["f32-rgb", "u8-bgr", "u8-bgra", "f32-plane"])
def test_non_contiguous_views(rng, filters, backend, fmt):
    big = _frame(rng, (90, 70), fmt)
    filt = filters["gauss-lap"]
    for view in (big[::2, ::-1], big[5:50, 3:40], np.asfortranarray(big)):
        pipe = Pipeline(
            filt, shape=view.shape, dtype=view.dtype, backend=backend, **FORMATS[fmt][2]
        )
        _check(pipe(view), np.ascontiguousarray(view), filt, pipe)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_impulse_response_is_the_dense_kernel(filters, backend):
    for name, filt in filters.items():
        k = filt.kernel()
        frame = np.zeros((k.shape[0] + 10, k.shape[1] + 12), np.float32)
        cy, cx = frame.shape[0] // 2, frame.shape[1] // 2
        frame[cy, cx] = 1.0
        pipe = Pipeline(filt, shape=frame.shape, dtype=np.float32, backend=backend)
        out = pipe(frame)
        ry, rx = k.shape[0] // 2, k.shape[1] // 2
        np.testing.assert_allclose(
            out[cy - ry : cy + ry + 1, cx - rx : cx + rx + 1],
            k,
            atol=tol.PIPELINE_F32,
            err_msg=name,
        )


def test_pipeline_and_deblur_agree(rng, filters):
    frame = _frame(rng, (40, 50), "u8-bgr")
    kernel = psf.gaussian(1.0)
    one_shot = deblur(frame, kernel, noise=0.002)  # uint8: quantization_bits=8 implied
    pipe = Pipeline(filters["gauss-lap"], shape=frame.shape, dtype=np.uint8)
    np.testing.assert_array_equal(one_shot, pipe(frame))
    np.testing.assert_array_equal(deblur(frame, filters["gauss-lap"]), one_shot)
    as64 = frame / 255.0
    out64 = deblur(as64, filters["gauss-lap"])
    assert out64.dtype == np.float64 and out64.shape == frame.shape


def test_out_rules(rng, filters):
    frame = _frame(rng, (30, 40), "f32-rgb")
    pipe = Pipeline(filters["gauss-lap"], shape=frame.shape, dtype=np.float32)
    expect = pipe(frame)
    out = np.empty_like(frame)
    assert pipe(frame, out=out) is out
    np.testing.assert_array_equal(out, expect)
    in_place = frame.copy()
    assert pipe(in_place, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, expect)
    frozen = np.empty_like(frame)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        pipe(frame, out=frozen)
    big = np.zeros((31, 40, 3), np.float32)
    with pytest.raises(ValueError, match="out overlaps the input frame"):
        pipe(big[:30], out=big[1:31])
    with pytest.raises(ValueError, match=r"out has shape \(30, 40\)"):
        pipe(frame, out=np.empty((30, 40), np.float32))
    with pytest.raises(TypeError, match="out has dtype uint8"):
        pipe(frame, out=np.empty(frame.shape, np.uint8))


def test_no_allocation_per_frame(rng, filters):
    frame = _frame(rng, (256, 256), "u8-bgr")
    pipe = Pipeline(filters["gauss-lap"], shape=frame.shape, dtype=np.uint8, backend="cpu")
    out = np.empty_like(frame)
    # Warm-up: each pool thread makes its strip scratch the first time it runs a strip,
    # and one frame need not reach every thread (one warm-up frame left a thread idle in
    # 11 of 100 tries: 283 kB allocated in the traced call).
    # The least of 3 traced frames: a per-frame allocation shows in each, a thread that a
    # busy machine kept idle through the warm-up makes its scratch in one only.
    for _ in range(8):
        pipe(frame, out=out)
    peaks = []
    for _ in range(3):
        tracemalloc.start()
        try:
            pipe(frame, out=out)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert min(peaks) < frame.size, peaks  # far below one float32 copy (4 × size)


@pytest.mark.parametrize("backend", ["cpu", "cuda-sim", "gl"], indirect=True)
def test_table_weights_change_without_replanning(rng, backend):
    table = FilterTable.fit(sigmas=[0.6, 1.0, 1.6], noises=[0.0, 0.01], quantization_bits=8)
    frame = _frame(rng, (33, 47), "u8-bgr")
    pipe = Pipeline(table, shape=frame.shape, dtype=np.uint8, backend=backend)
    assert pipe.describe()["replans"] == 0
    pipe.set_blur(1.3, 0.004)
    np.testing.assert_allclose(pipe.filter.weights, table.weights(1.3, 0.004))
    fresh = Pipeline(table(1.3, 0.004), shape=frame.shape, dtype=np.uint8, backend=backend)
    np.testing.assert_array_equal(pipe(frame), fresh(frame))
    pipe.set_filter(table(0.8, 0.0))
    assert pipe.describe()["replans"] == 0  # same terms: weights only
    pipe.set_filter(fit(psf.gaussian(1.0), noise=0.002, basis="atrous"))
    assert pipe.describe()["replans"] == 1  # other terms: a new plan
    with pytest.raises(ValueError, match=r"sigma=2\.0 is outside the table's grid"):
        pipe.set_blur(2.0, 0.0)
    plain = Pipeline(table(1.0, 0.0), shape=frame.shape, dtype=np.uint8, backend=backend)
    with pytest.raises(ValueError, match="set_blur needs a FilterTable"):
        plain.set_blur(1.0, 0.0)


def test_set_filter_with_other_terms_replans(rng, filters):
    frame = _frame(rng, (20, 30), "f32-rgb")
    pipe = Pipeline(filters["atrous"], shape=frame.shape, dtype=np.float32)
    pipe.set_filter(filters["gauss-lap"])  # larger kernels: buffers grow
    _check(pipe(frame), frame, filters["gauss-lap"], pipe)


def test_finite_checks(filters):
    frame = np.zeros((8, 9, 3), np.float32)
    frame[2, 3, 1] = np.nan
    pipe = Pipeline(filters["gauss-lap"], shape=frame.shape, dtype=np.float32)
    with pytest.raises(ValueError, match="frame contains NaN, Inf"):
        pipe(frame)
    with pytest.raises(ValueError, match="NaN, Inf"):
        deblur(frame, filters["gauss-lap"])
    unchecked = Pipeline(
        filters["gauss-lap"], shape=frame.shape, dtype=np.float32, check_finite=False
    )
    assert np.isnan(unchecked(frame)).any()  # documented: no check, NaN spreads
    for shape in [(1, 1), (1, 1, 3), (5, 4, 4)]:
        bad = np.zeros(shape, np.float32)
        bad.flat[-1] = np.inf
        tiny = Pipeline(filters["gauss-lap"], shape=shape, dtype=np.float32)
        with pytest.raises(ValueError, match="frame contains NaN, Inf"):
            tiny(bad)
        with pytest.raises(ValueError, match="frame contains NaN, Inf"):
            tiny(np.asfortranarray(bad))


def test_backend_selection(monkeypatch, filters):
    from gpudeconv.engine.backends import cuda_unavailable_reason

    f = filters["gauss-lap"]
    monkeypatch.delenv("GPUDECONV_BACKEND", raising=False)
    pipe = Pipeline(f, shape=(8, 8), dtype=np.float32)
    why_not = cuda_unavailable_reason()
    if why_not:  # auto falls back and says why; a forced 'cuda' raises with the reason
        assert pipe.backend == "cpu" and why_not in pipe.backend_reason
        with pytest.raises(ValueError, match="backend 'cuda' cannot run: "):
            Pipeline(f, shape=(8, 8), dtype=np.float32, backend="cuda")
    else:
        assert pipe.backend == "cuda" and pipe.backend_reason == "auto: CUDA usable"
    monkeypatch.setenv("GPUDECONV_BACKEND", "cpu")
    assert Pipeline(f, shape=(8, 8), dtype=np.float32).backend_reason == "GPUDECONV_BACKEND=cpu"
    monkeypatch.setenv("GPUDECONV_BACKEND", "gl")
    assert Pipeline(f, shape=(8, 8), dtype=np.float32).backend_reason == "GPUDECONV_BACKEND=gl"
    monkeypatch.setenv("GPUDECONV_BACKEND", "tpu")
    with pytest.raises(ValueError, match="Invalid GPUDECONV_BACKEND environment variable"):
        Pipeline(f, shape=(8, 8), dtype=np.float32)


@pytest.mark.parametrize(
    ("renderer", "software"),
    [
        ("llvmpipe (LLVM 15.0.6, 256 bits)", True),
        ("softpipe", True),
        ("Mesa Intel(R) UHD Graphics 620 (KBL GT2)", False),
        ("AMD Radeon RX 6600 (radeonsi, navi23, LLVM 15.0.7, DRM 3.49)", False),
        ("Apple M2", False),
        ("Google SwiftShader", True),
        ("Microsoft Basic Render Driver", True),
    ],
)
def test_software_renderers_are_told_apart(renderer, software):
    from gpudeconv.engine.backends.gl import is_software_renderer

    assert is_software_renderer(renderer) is software


def test_auto_picks_a_hardware_gl_renderer_after_cuda(monkeypatch, filters, gl):
    """Without CUDA: a hardware OpenGL renderer is chosen, a software one never."""
    import gpudeconv.engine.backends as backends
    from gpudeconv.engine.backends import gl as gl_backend

    monkeypatch.delenv("GPUDECONV_BACKEND", raising=False)
    monkeypatch.setattr(backends, "cuda_unavailable_reason", lambda: "no CUDA in this test")
    f = filters["gauss-lap"]
    monkeypatch.setattr(gl_backend, "gl_software_reason", lambda: None)  # as on a real GPU
    pipe = Pipeline(f, shape=(8, 8), dtype=np.float32)
    assert pipe.backend == "gl" and pipe.backend_reason.endswith("; OpenGL GPU")
    assert pipe.describe()["renderer"] == gl
    # uint16 frames are the CPU's even then, and the reason says so.
    pipe16 = Pipeline(f, shape=(8, 8), dtype=np.uint16)
    assert pipe16.backend == "cpu" and "uint16 frames need float64" in pipe16.backend_reason
    monkeypatch.setattr(gl_backend, "gl_software_reason", lambda: "the renderer is software")
    pipe = Pipeline(f, shape=(8, 8), dtype=np.float32)
    assert pipe.backend == "cpu" and "OpenGL not chosen (the renderer is software)" in (
        pipe.backend_reason
    )


def test_gl_backend_refuses_what_it_cannot_do(filters, gl):
    f = filters["gauss-lap"]
    with pytest.raises(ValueError, match="uint16 frames need float64 filtering"):
        Pipeline(f, shape=(8, 8, 3), dtype=np.uint16, backend="gl")
    with pytest.raises(ValueError, match="exceeds this GPU's largest texture"):
        Pipeline(f, shape=(8, 100_000), dtype=np.float32, backend="gl")
    pipe = Pipeline(f, shape=(8, 8), dtype=np.float32, backend="gl")
    with pytest.raises(ValueError, match="no frame in flight"):
        pipe.result()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"shape": (8, 8, 2), "dtype": np.uint8}, ValueError, "1, 3 or 4 channels"),
        ({"shape": (0, 8), "dtype": np.uint8}, ValueError, "positive sizes"),
        ({"shape": (8,), "dtype": np.uint8}, ValueError, r"\(H, W\) or \(H, W, C\)"),
        ({"shape": (8, 8), "dtype": np.float64}, TypeError, "float32, uint8, uint16"),
        ({"shape": (8, 8), "dtype": np.uint8, "luma_only": True}, ValueError, "luma_only"),
        ({"shape": (8, 8), "dtype": np.uint8, "boundary": "wrap"}, ValueError, "Invalid boundary"),
        (
            {"shape": (8, 8), "dtype": np.uint8, "channel_order": "grb"},
            ValueError,
            "Invalid channel_order",
        ),
        ({"shape": (8, 8), "dtype": np.uint8, "space": "log"}, ValueError, "Invalid space"),
        ({"shape": (8, 8), "dtype": np.uint8, "backend": "metal"}, ValueError, "Invalid backend"),
    ],
)
def test_bad_pipeline_arguments(filters, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Pipeline(filters["gauss-lap"], **kwargs)


def test_bad_frames(filters):
    pipe = Pipeline(filters["gauss-lap"], shape=(8, 9, 3), dtype=np.uint8)
    with pytest.raises(
        ValueError,
        match=r"frame has shape \(9, 8, 3\); this pipeline was "
        r"built for \(8, 9, 3\)",
    ):
        pipe(np.zeros((9, 8, 3), np.uint8))
    with pytest.raises(TypeError, match="frame has dtype float32"):
        pipe(np.zeros((8, 9, 3), np.float32))
    with pytest.raises(TypeError, match="frame must be an array"):
        pipe([[0]])
    with pytest.raises(TypeError, match="filter must be a DeconvFilter or FilterTable"):
        Pipeline("gauss", shape=(8, 8), dtype=np.uint8)
    with pytest.raises(ValueError, match="noise= is required"):
        deblur(np.zeros((8, 8), np.float32), psf.gaussian(1.0))


@pytest.mark.parametrize("strategy", ["dense", "separable"])
@pytest.mark.parametrize("fmt", ["u8-bgr", "f32-rgb", "u8-rgba-luma", "u16-rgb", "f32-plane"])
def test_cpu_strategies_both_match_the_reference(rng, filters, monkeypatch, strategy, fmt):
    """The CPU backend picks dense or separable per filter; both must be exact."""
    from gpudeconv.engine.backends.cpu import CpuBackend

    monkeypatch.setattr(CpuBackend, "force_strategy", strategy)
    for basis in ("gauss-lap", "fir"):
        frame = _frame(rng, (37, 41), fmt)
        pipe = Pipeline(
            filters[basis], shape=frame.shape, dtype=frame.dtype, backend="cpu", **FORMATS[fmt][2]
        )
        _check(pipe(frame), frame, filters[basis], pipe)
        pipe.set_filter(filters["atrous"])  # other terms: the strategy is chosen again
        _check(pipe(frame), frame, filters["atrous"], pipe)


#: The uint8 formats the fused one-pass path takes (1 or 3 channels, luma_only too).
FUSED_FORMATS = ["u8-bgr", "u8-rgb", "u8-grey", "u8-srgb-space", "u8-luma"]


@pytest.mark.parametrize("boundary", ["reflect", "clamp"])
@pytest.mark.parametrize("fmt", FUSED_FORMATS)
def test_fused_path_matches_the_reference_and_is_chosen(rng, filters, boundary, fmt):
    """uint8 frames go through the one-pass kernel (fused.py) for every basis: symmetric
    taps and the antisymmetric ones of oriented à-trous (the auto table's basis)."""
    for basis, filt in filters.items():
        for size in [*SIZES, (70, 131)]:
            frame = _frame(rng, size, fmt)
            pipe = Pipeline(
                filt, shape=frame.shape, dtype=np.uint8, backend="cpu", boundary=boundary,
                **FORMATS[fmt][2],
            )  # fmt: skip
            assert pipe.describe()["strategy"] == "fused", basis  # oriented bands too
            _check(pipe(frame), frame, filt, pipe)


def test_fused_path_is_left_where_it_does_not_apply(filters):
    for fmt in ("u8-bgra", "u8-rgba-luma", "u16-rgb", "f32-rgb"):
        frame_shape = (9, 9, *FORMATS[fmt][0])
        pipe = Pipeline(
            filters["gauss-lap"], shape=frame_shape, dtype=FORMATS[fmt][1], backend="cpu",
            **FORMATS[fmt][2],
        )  # fmt: skip
        assert pipe.describe()["strategy"] != "fused", fmt
