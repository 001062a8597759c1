"""Per-frame filtering: the :class:`~gpudeconv.engine.pipeline.Pipeline` and its backends.

Layer 3 of 8: above :mod:`gpudeconv.core` and :mod:`gpudeconv.fit`. A
:class:`~gpudeconv.fit.DeconvFilter` becomes a plan of rounded taps
(:mod:`~gpudeconv.engine.backends.plan`) that one of the backends registered in
:data:`~gpudeconv.engine.backends.BACKENDS` runs on every frame: OpenCV or Numba on the
CPU, OpenGL compute, CUDA (CuPy), or the CUDA kernels' host emulation.
"""
