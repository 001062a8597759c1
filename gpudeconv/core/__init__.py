"""The maths every layer uses (NumPy only): PSFs, spectra, colour, frames, boundaries.

Layer 1 of 8 (see ``docs/architecture.md``); imports nothing of gpudeconv but
:mod:`gpudeconv.errors`.

- :mod:`~gpudeconv.core.psf` — blur kernels (Gaussian, disk, motion, from an array);
- :mod:`~gpudeconv.core.spectra` — responses of taps, PSFs and terms, signal priors, the
  Wiener response, quantisation noise;
- :mod:`~gpudeconv.core.colour` — sRGB curves, decode tables, luma weights;
- :mod:`~gpudeconv.core.frames` — :class:`~gpudeconv.core.frames.FrameSpec`, the one
  frame-format policy (dtype, channels, coding, boundary);
- :mod:`~gpudeconv.core.boundaries` — the boundary registry;
- :mod:`~gpudeconv.core.degrade` — blur and noise a sharp image the way a camera would;
- :mod:`~gpudeconv.core.metrics` — PSNR and friends.
"""
