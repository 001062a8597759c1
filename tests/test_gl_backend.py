"""The OpenGL backend's life cycle (issue 31, from the adversarial pass over it): pipelines
freed by the garbage collector, forked children, weights set from several threads.

Its arithmetic is checked by the pipeline's parametrised test body (``test_pipeline.py``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from gpudeconv import Pipeline, fit
from gpudeconv.core import psf


@pytest.fixture(scope="module")
def filt():
    return fit(psf.gaussian(1.0), noise=0.002, quantization_bits=8)


def _run(script: str, timeout: float = 240) -> str:
    """Run ``script`` in a fresh interpreter; a hang fails the test instead of the suite."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_pipelines_freed_by_the_garbage_collector_do_not_deadlock(gl):
    """A finaliser may run inside the GL thread's own ``submit``: it must only enqueue."""
    out = _run(
        """
        import numpy as np
        from gpudeconv import Pipeline, fit, psf
        filt = fit(psf.gaussian(1.0), noise=0.002, quantization_bits=8)
        frame = np.zeros((8, 8, 3), np.uint8)
        keep = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="gl")
        class Cycle:  # only the cyclic collector frees it, from wherever it runs
            def __init__(self):
                self.me = self
                self.pipe = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="gl")
        for _ in range(1500):
            Cycle()
            keep(frame)
        print("done")
        """
    )
    assert out.strip() == "done"


def test_a_forked_child_is_told_why_instead_of_hanging(gl):
    out = _run(
        """
        import multiprocessing as mp
        import numpy as np
        from gpudeconv import Pipeline, fit, psf
        filt = fit(psf.gaussian(1.0), noise=0.002, quantization_bits=8)
        frame = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
        Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="gl")(frame)
        expected = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="cpu")(frame)
        def child(queue):
            try:
                Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="gl")
                queue.put("gl ran")
            except ValueError as error:
                queue.put(str(error))
            cpu = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="cpu")(frame)
            queue.put(bool(np.array_equal(cpu, expected)))  # the CPU pool works there too
        context = mp.get_context("fork")
        queue = context.Queue()
        process = context.Process(target=child, args=(queue,))
        process.start()
        print(queue.get(timeout=120))
        print(queue.get(timeout=120))
        process.join(30)
        """
    )
    refusal, cpu_ok = out.strip().splitlines()
    assert "forked from one that used OpenGL" in refusal and "'spawn'" in refusal
    assert cpu_ok == "True"


def test_weights_set_from_two_threads_leave_the_last_on_the_gpu(gl, filt, monkeypatch):
    """The older kernel, built first and uploaded last, must not win the race."""
    from gpudeconv.engine.backends.gl import GlBackend

    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    pipe = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="gl")
    first, last = filt.weights * 0.5, filt.weights * 1.5
    original = GlBackend._dense

    def slow_for_first(self):
        dense = original(self)
        if threading.current_thread().name == "first":
            time.sleep(0.3)  # built from the first weights, uploaded after the second's
        return dense

    monkeypatch.setattr(GlBackend, "_dense", slow_for_first)
    a = threading.Thread(target=pipe.set_weights, args=(first,), name="first")
    a.start()
    time.sleep(0.1)
    pipe.set_weights(last)
    a.join()
    expected = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="gl")
    expected.set_weights(last)
    np.testing.assert_array_equal(pipe(frame), expected(frame))


def test_a_float_frame_with_a_one_row_kernel_is_restored():
    """Kernel height 1: no seam to patch between the workers' blocks (it crashed)."""
    from gpudeconv.fit.filter import DeconvFilter
    from gpudeconv.restoration.reference import restore_reference

    base = fit(psf.gaussian(1.0), noise=0.002, quantization_bits=8)
    one_row = DeconvFilter(
        basis="fir",
        basis_params={},
        coefficients=np.zeros(0),
        weights=np.array([2.0, -1.0]),
        terms=((np.ones(1), np.ones(1)), (np.ones(1), np.array([0.25, 0.5, 0.25]))),
        psf=base.psf,
        noise=0.002,
    )
    frame = np.random.default_rng(0).random((64, 7, 3), dtype=np.float32)
    pipe = Pipeline(one_row, shape=frame.shape, dtype=np.float32, backend="cpu")
    np.testing.assert_allclose(
        pipe(frame), restore_reference(frame, one_row, pipe.spec), atol=1e-5, rtol=0
    )


def test_a_gpu_array_is_refused_by_name(gl, filt):
    from gpudeconv.errors import InvalidTypeError
    from tests.test_gpu_review import FakeCupyArray

    pipe = Pipeline(filt, shape=(8, 8, 3), dtype=np.float32, backend="gl")
    with pytest.raises(InvalidTypeError, match=r"gl backend restores host .* got a GPU array"):
        pipe(FakeCupyArray(np.zeros((8, 8, 3), np.float32)))
