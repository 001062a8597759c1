"""gpudeconv: remove mild blur from images and video in real time — known or estimated.

Fitted combinations of a few cheap separable filters approximate the noise-regularised
Wiener inverse of a blur; :func:`wiener` is the exact FFT reference they are measured by.
Importing the package never imports CuPy or touches a GPU.
"""

from __future__ import annotations

from . import degrade, metrics, psf, spectra
from .blind import AutoPipeline, Estimate, estimate
from .errors import FitQualityWarning, GpudeconvError
from .fit import DeconvFilter, FilterTable, fit
from .oneshot import deblur
from .pipeline import Pipeline
from .stills import estimate_kernel, restore
from .wiener import wiener

__version__ = "0.1.0"

__all__ = [
    "AutoPipeline",
    "DeconvFilter",
    "Estimate",
    "FilterTable",
    "FitQualityWarning",
    "GpudeconvError",
    "Pipeline",
    "__version__",
    "deblur",
    "degrade",
    "estimate",
    "estimate_kernel",
    "fit",
    "metrics",
    "psf",
    "restore",
    "spectra",
    "wiener",
]
