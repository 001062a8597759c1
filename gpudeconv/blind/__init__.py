"""Blind restoration: the blur, the noise and the signal spectrum of a frame nobody measured.

- :func:`estimate` — one frame → :class:`Estimate` (blur as a rotated Gaussian, noise,
  the frame's own spectral amplitude, a confidence, and the posterior's samples);
- :func:`robust_filter` — the filter of least *expected* error over that posterior
  (:func:`gpudeconv.fit.fit_posterior`), which backs off when the estimate is unsure;
- :class:`EstimateTracker` — estimates of a video, amortised, smoothed and reset at cuts;
- :class:`AutoTable` — robust filters over a grid of estimates: per-frame lookups;
- :class:`AutoPipeline` — all of it, per frame.
"""

from __future__ import annotations

from .auto import AutoPipeline, default_table, robust_filter
from .estimator import MODELS, Estimate, estimate, working_luma
from .noise import noise_std
from .table import AUTO_BASIS, AutoKey, AutoTable
from .tracker import EstimateTracker

__all__ = [
    "AUTO_BASIS",
    "MODELS",
    "AutoKey",
    "AutoPipeline",
    "AutoTable",
    "Estimate",
    "EstimateTracker",
    "default_table",
    "estimate",
    "noise_std",
    "robust_filter",
    "working_luma",
]
