"""The offline fitter (NumPy/SciPy only; never imports CuPy)."""

from __future__ import annotations

from .core import FitQualityWarning, fit
from .table import FilterTable

__all__ = ["FilterTable", "FitQualityWarning", "fit"]
