"""gpudeconv: remove mild blur from images and video in real time — known or estimated.

Fitted combinations of a few cheap separable filters approximate the noise-regularised
Wiener inverse of a blur; :func:`wiener` is the exact FFT reference they are measured by.
Importing the package never imports CuPy or touches a GPU.
"""

from __future__ import annotations

from . import _aliases
from .blind import AutoPipeline, Estimate, estimate
from .core import degrade, metrics, psf, spectra
from .engine.pipeline import Pipeline
from .errors import FitQualityWarning, GpudeconvError
from .fit import DeconvFilter, FilterTable, fit
from .restoration.oneshot import deblur
from .restoration.stills import estimate_kernel, restore
from .restoration.wiener import wiener

_aliases.install(__name__)

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
