"""gpudeconv: remove known mild blur from images and video in real time.

Fitted combinations of a few cheap separable filters approximate the noise-regularised
Wiener inverse of a blur; :func:`wiener` is the exact FFT reference they are measured by.
Importing the package never imports CuPy or touches a GPU.
"""

from __future__ import annotations

from . import degrade, metrics, psf, spectra
from .errors import FitQualityWarning, GpudeconvError
from .fit import DeconvFilter, FilterTable, fit
from .pipeline import Pipeline, deblur
from .wiener import wiener

__version__ = "0.1.0"

__all__ = [
    "DeconvFilter",
    "FilterTable",
    "FitQualityWarning",
    "GpudeconvError",
    "Pipeline",
    "__version__",
    "deblur",
    "degrade",
    "fit",
    "metrics",
    "psf",
    "spectra",
    "wiener",
]
