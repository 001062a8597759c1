"""The offline fitter and its product (NumPy/SciPy only; never imports CuPy).

- :func:`fit` — one filter for one blur and noise level;
- :class:`FilterTable` — one basis fitted over a grid of blurs × noises (sliders);
- :class:`DeconvFilter` — what both produce: weights of separable terms;
- :data:`BASES` — the registry of bases (``gauss-lap``, ``atrous``, ``fir``, ``unsharp``).
"""

from __future__ import annotations

from ..errors import FitQualityWarning
from .bases import BASES
from .core import fit, fit_posterior
from .diagnostics import diagnose
from .filter import DeconvFilter
from .table import FilterTable

__all__ = [
    "BASES",
    "DeconvFilter",
    "FilterTable",
    "FitQualityWarning",
    "diagnose",
    "fit",
    "fit_posterior",
]
