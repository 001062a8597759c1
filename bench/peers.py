"""Peers shared by the benchmarks: what is installed, and equivalent OpenCV filters."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import cv2
import numpy as np

from gpudeconv import DeconvFilter, Pipeline

#: Largest deviation allowed between an equivalent float32 peer and our pipeline.
EQUAL_TOL = 1e-4


def polyblur_status() -> str:
    """Whether the blind peer Polyblur (PyPI ``polyblur``, needs PyTorch) is installed."""
    try:
        with warnings.catch_warnings():  # torch warns about its own deprecations on import
            warnings.simplefilter("ignore")
            import polyblur  # noqa: F401
    except ImportError:
        return "not installed (optional: make bench-peers, or pip install torch polyblur)"
    return "installed"


def filter2d_peer(
    filt: DeconvFilter, frame: np.ndarray, out: np.ndarray
) -> tuple[Callable[[], object], float]:
    """One ``cv2.filter2D`` call with the filter's own dense kernel, checked against ours.

    Returns the call and its largest deviation from the ``cpu`` pipeline; raises when the
    two are not the same filter (a peer is timed only once it computes what we compute).
    """
    dense = filt.kernel().astype(np.float32)

    def call() -> object:
        return cv2.filter2D(frame, cv2.CV_32F, dense, dst=out, borderType=cv2.BORDER_REFLECT)

    ours = Pipeline(filt, shape=frame.shape, dtype=frame.dtype, backend="cpu")(frame)
    error = float(np.abs(np.asarray(call()) - ours).max())
    if error > EQUAL_TOL:
        raise RuntimeError(
            f"cv2.filter2D with the {filt.basis} kernel differs from the pipeline by "
            f"{error:.2e}: not equivalent, refusing to time it"
        )
    return call, error
