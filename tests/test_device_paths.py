"""The array-level device paths, run in CI (issue 28).

Each test takes ``device_xp``: real CuPy on a GPU (marked ``cuda``), and everywhere the
strict stand-in ``tests/strict_cupy.py``, which refuses what CuPy refuses — NumPy, SciPy
or OpenCV on a device array, NumPy arrays mixed into device arithmetic. Every path must
return device arrays, agree with the host path, and bring back to the host only what it
says it does. The last tests plant a NumPy-only call on a device path and expect it to
fail: the stand-in is strict enough to catch one.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from gpudeconv import AutoPipeline, deblur, estimate, fit, restore, wiener
from gpudeconv.core import degrade, psf
from gpudeconv.restoration.stills import RESTORE_METHODS, estimate_kernel
from tests import tolerances as tol
from tests.test_wiener import shake_kernel


def _asnumpy(xp, a):
    return xp.asnumpy(a)


def _photo(name: str, size: tuple[int, int]) -> np.ndarray:
    """A grey photograph of ``size`` (resized: the 512² photographs are small)."""
    image = getattr(data, name)()
    image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    image = cv2.resize(image, size[::-1], interpolation=cv2.INTER_AREA)
    return image.astype(np.float32) / 255


def test_estimate_stays_on_the_device(device_xp):
    rng = np.random.default_rng()
    moved = []
    for size in ((400, 600), (720, 1280)):
        frame = degrade.blur(_photo("astronaut", size), psf.gaussian(1.4))
        frame = np.clip(frame + rng.normal(0, 0.002, frame.shape), 0, 1).astype(np.float32)
        host = estimate(frame)
        before = getattr(device_xp, "transfers", {}).get("to_host_bytes", 0)
        device = estimate(device_xp.asarray(frame))
        assert abs(device.isotropic_sigma - host.isotropic_sigma) < 1e-3
        assert abs(device.noise - host.noise) <= 1e-3 * host.noise
        moved.append(getattr(device_xp, "transfers", {}).get("to_host_bytes", 0) - before)
    # What comes back: the spectrum's tiles (the edges are read from them on the host),
    # sampled blocks and a few numbers, bounded; and the coarse map the tiles are chosen
    # on, every 4th pixel of every 4th row. A frame 3.8x larger brings back little more.
    grown = 720 * 1280 * 4 - 400 * 600 * 4
    assert moved[1] - moved[0] <= grown / 16 + 4096


@pytest.mark.parametrize(
    "kernel, boundary",
    [(psf.gaussian(1.2), "reflect"), (psf.gaussian(1.2), "periodic"), (None, "unknown")],
    ids=["reflect", "periodic", "unknown"],
)
def test_wiener(device_xp, rng, kernel, boundary):
    kernel = shake_kernel(rng, 9) if kernel is None else kernel
    image = rng.random((64, 80, 3)).astype(np.float32)
    out = wiener(device_xp.asarray(image), kernel, noise=0.01, boundary=boundary)
    assert isinstance(out, device_xp.ndarray) and out.dtype == np.float32
    expect = wiener(image, kernel, noise=0.01, boundary=boundary)
    if boundary != "unknown":
        np.testing.assert_allclose(_asnumpy(device_xp, out), expect, atol=tol.F32_FFT)
        return
    # Conjugate gradients stop when a step moves the image by less than TOLERANCE × the
    # noise (RMS); FFTs rounding differently may stop them an iteration apart (measured
    # over 40 seeds: RMS 5.7e-7 typical, 2.5e-4 worst).
    from gpudeconv.restoration.unknown_boundary import TOLERANCE

    rms = float(np.sqrt(np.mean((_asnumpy(device_xp, out) - expect) ** 2)))
    assert rms <= TOLERANCE * 0.01


@pytest.mark.parametrize("method", RESTORE_METHODS)
def test_restore(device_xp, rng, method):
    image = _photo("camera", (96, 112))
    kernel = shake_kernel(rng, 9)
    blurred = degrade.blur(image, kernel, boundary="reflect").astype(np.float32)
    on_host = restore(blurred, kernel, method=method, noise=0.005)
    on_device = restore(device_xp.asarray(blurred), kernel, method=method, noise=0.005)
    assert isinstance(on_device, device_xp.ndarray)
    diff = np.abs(_asnumpy(device_xp, on_device) - on_host)
    if method == "hyper-laplacian":  # a pixel on the prox's threshold may flip
        assert diff.max() <= tol.STILLS_DEVICE_FLIP
        assert np.mean(diff > tol.STILLS_DEVICE) <= tol.STILLS_DEVICE_FLIP_SHARE
    else:
        assert diff.max() <= tol.STILLS_DEVICE


def test_estimate_kernel(device_xp, rng):
    image = _photo("camera", (160, 192))
    kernel = shake_kernel(rng, 9)
    blurred = degrade.blur(image, kernel, boundary="reflect").astype(np.float32)
    blurred += rng.normal(0, 1e-3, blurred.shape).astype(np.float32)
    host = estimate_kernel(blurred, 9, noise=1e-3)
    device = estimate_kernel(device_xp.asarray(blurred), 9, noise=1e-3)
    assert isinstance(device, np.ndarray)  # a kernel is small: it comes back to the host
    np.testing.assert_allclose(device, host, atol=1e-4)


@pytest.mark.parametrize("how", ["psf", "auto"])
def test_deblur_returns_the_device_kind(device_xp, how):
    frame = cv2.GaussianBlur(data.astronaut()[:96, :128], (0, 0), 1.4)
    options = {"noise": 0.01} if how == "psf" else {}
    what = psf.gaussian(1.4) if how == "psf" else "auto"
    out = deblur(device_xp.asarray(frame), what, **options)
    assert isinstance(out, device_xp.ndarray) and out.dtype == np.uint8
    expect = deblur(frame, what, backend="cpu", **options)
    diff = np.abs(_asnumpy(device_xp, out).astype(int) - expect)
    assert diff.max() <= tol.PIPELINE_LSB


def test_auto_pipeline_on_device_frames(device_xp):
    frames = [cv2.GaussianBlur(data.astronaut()[:96, :128], (0, 0), s) for s in (1.0, 1.2, 1.4)]
    on_device = AutoPipeline(shape=frames[0].shape, dtype=np.uint8)
    on_host = AutoPipeline(shape=frames[0].shape, dtype=np.uint8, backend="cpu")
    for frame in frames:
        out = on_device(device_xp.asarray(frame))
        assert isinstance(out, device_xp.ndarray)
        diff = np.abs(_asnumpy(device_xp, out).astype(int) - on_host(frame))
        assert diff.max() <= tol.PIPELINE_LSB


def test_dask_device_blocks(device_xp):
    da = pytest.importorskip("dask.array")
    from gpudeconv.media.dask import deblur as dask_deblur

    image = cv2.GaussianBlur(data.astronaut()[:160, :200], (0, 0), 1.2)
    filt = fit(psf.gaussian(1.2), noise=0.01)
    blocks = da.from_array(device_xp.asarray(image), chunks=(64, 80, 3), asarray=False)
    backend = "cuda-sim" if hasattr(device_xp, "transfers") else "cuda"
    out = dask_deblur(blocks, filt, backend=backend).compute(scheduler="synchronous")
    assert isinstance(out, device_xp.ndarray)
    expect = dask_deblur(da.from_array(image, chunks=(64, 80, 3)), filt, backend="cpu")
    diff = np.abs(_asnumpy(device_xp, out).astype(int) - expect.compute().astype(int))
    assert diff.max() <= tol.PIPELINE_LSB


# --------------------------------------------------------------------------- planted calls
def _host_call(original):
    """``original`` with its first argument sent through NumPy first: a host call."""

    def planted(first, *args, **kwargs):
        return original(np.asarray(first), *args, **kwargs)

    return planted


@pytest.mark.parametrize(
    "module, name, run",
    [
        ("gpudeconv.blind.estimator", "periodogram", "estimate"),
        ("gpudeconv.restoration.wiener", "_rfft2", "wiener"),
        ("gpudeconv.restoration.stills.solvers", "hyper_laplacian_prox", "restore"),
    ],
)
def test_a_planted_host_call_on_a_device_path_fails(device_xp, monkeypatch, module, name, run):
    import importlib

    target = importlib.import_module(module)
    original = getattr(target, name)
    if name == "_rfft2":  # (xp, a): the array is the second argument
        monkeypatch.setattr(target, name, lambda xp, a: original(xp, np.asarray(a)))
    else:
        monkeypatch.setattr(target, name, _host_call(original))
    image = device_xp.asarray(_photo("camera", (96, 112)))
    kernel = psf.gaussian(1.2)
    calls = {
        "estimate": lambda: estimate(image),
        "wiener": lambda: wiener(image, kernel, noise=0.01),
        "restore": lambda: restore(image, kernel, method="hyper-laplacian", noise=0.01),
    }
    with pytest.raises(TypeError, match=r"(?i)implicit conversion"):
        calls[run]()
