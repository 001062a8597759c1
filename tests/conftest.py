"""Shared fixtures: photographs, fresh random generators, and the GPU gate."""

from __future__ import annotations

import sys

import numpy as np
import pytest


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A fresh generator per test; the seed is printed on failure via the test id."""
    seed = np.random.SeedSequence().entropy % (2**32)
    request.node.user_properties.append(("seed", seed))
    return np.random.default_rng(seed)


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    """skimage's 'camera' photograph as float64 in [0, 1]."""
    import skimage.data

    return skimage.data.camera().astype(np.float64) / 255.0


@pytest.fixture(autouse=True)
def _cpu_unless_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests not marked ``cuda`` run ``backend='auto'`` on the CPU, GPU or not.

    On a machine with a GPU, ``auto`` would pick CUDA, and tests written for the CPU's
    behaviour would silently test something else; the ``cuda`` tests ask for it by name.
    """
    if request.node.get_closest_marker("cuda") is None:
        monkeypatch.setenv("GPUDECONV_BACKEND", "cpu")


@pytest.fixture(scope="session")
def cuda() -> object:
    """Skip (with the reason) unless CuPy and a CUDA device are usable; return cupy."""
    from gpudeconv.engine.backends.cuda import cuda_unavailable_reason

    reason = cuda_unavailable_reason()
    if reason:
        pytest.skip(reason)
    import cupy

    return cupy


@pytest.fixture(scope="session")
def gl() -> str:
    """Skip (with the reason) unless an OpenGL 4.3 context can be made; its renderer."""
    from gpudeconv.engine.backends.gl import gl_unavailable_reason, renderer

    reason = gl_unavailable_reason()
    if reason:
        pytest.skip(reason)
    return renderer()


@pytest.fixture(params=["strict", pytest.param("cupy", marks=pytest.mark.cuda)])
def device_xp(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> object:
    """The array module of a device path: CuPy on a GPU, else the strict stand-in.

    ``strict`` (``tests/strict_cupy.py``) runs everywhere: it is installed as ``cupy``
    for the test, and refuses what CuPy refuses (NumPy, SciPy or OpenCV on a device
    array, NumPy arrays mixed in), so a host call slipped into a device path fails here.
    Pipelines go through the emulator (``cuda-sim``), which takes its arrays.
    """
    if request.param == "cupy":
        return request.getfixturevalue("cuda")
    from tests import strict_cupy

    monkeypatch.setitem(sys.modules, "cupy", strict_cupy)
    monkeypatch.setenv("GPUDECONV_BACKEND", "cuda-sim")
    strict_cupy.reset_transfers()
    return strict_cupy


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """Show the random seed of a failed test, so the failure can be replayed."""
    outcome = yield
    report = outcome.get_result()
    seeds = [value for key, value in item.user_properties if key == "seed"]
    if report.failed and seeds:
        report.sections.append(("rng seed", f"np.random.default_rng({seeds[0]})"))
