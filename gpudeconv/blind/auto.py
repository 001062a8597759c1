"""Restoring without a known blur: the robust filter of an estimate, and ``AutoPipeline``.

- :func:`robust_filter` — the filter of least *expected* error over an estimate's
  posterior (:func:`gpudeconv.fit.fit_posterior`), sharpen-only when the frame's noise
  could not be told from its texture. What ``deblur(image, "auto")`` applies.
- :class:`AutoPipeline` — the per-frame object for video: an :class:`EstimateTracker`
  (estimates amortised over frames, smoothed, reset at scene cuts) feeding weight lookups
  in an :class:`AutoTable`, applied by a :class:`~gpudeconv.Pipeline` whose terms never
  change — so a changing estimate costs no re-plan, no allocation, no fit in steady state.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..core.frames import FrameSpec
from ..engine.pipeline import Pipeline
from ..fit import DeconvFilter
from ..fit.core import fit_posterior
from .estimator import Estimate
from .jpeg import deblock
from .table import AutoKey, AutoTable
from .tracker import EstimateTracker

__all__ = ["AutoPipeline", "default_table", "robust_filter"]


def robust_filter(
    estimate: Estimate, *, basis: str = "gauss-lap", **fit_options: Any
) -> DeconvFilter:
    """The robust filter for one estimate: least expected error over its posterior.

    Parameters
    ----------
    estimate : Estimate
        From :func:`gpudeconv.estimate`.
    basis, **fit_options
        As for :func:`gpudeconv.fit.fit_posterior` (a band basis: ``gauss-lap``,
        ``atrous``, ``unsharp``).

    Returns
    -------
    DeconvFilter
        Sharpen-only (``F ≥ 1``) when ``estimate.noise_is_upper_bound``. Records the
        estimate's blur, noise and amplitude.
    """
    return fit_posterior(
        estimate.posterior(),
        basis=basis,
        sharpen_only=estimate.noise_is_upper_bound,
        **fit_options,
    )


_DEFAULT_TABLE: AutoTable | None = None
_DEFAULT_LOCK = threading.Lock()


def default_table() -> AutoTable:
    """The process-wide :class:`AutoTable` (cells fitted once, shared by all pipelines)."""
    global _DEFAULT_TABLE
    with _DEFAULT_LOCK:
        if _DEFAULT_TABLE is None:
            _DEFAULT_TABLE = AutoTable()
        return _DEFAULT_TABLE


class AutoPipeline:
    """Restore frames of unknown blur: estimate, smooth over time, look up, apply.

    Parameters
    ----------
    shape, dtype, backend, check_finite, **frame_options
        As for :class:`~gpudeconv.Pipeline`. ``space`` and ``channel_order`` also tell
        the estimator how to read the frames.
    every, half_life, change, cut
        The :class:`EstimateTracker`'s: re-estimate at least every ``every`` frames,
        smooth with that half-life (in estimates), re-estimate early on a change, reset
        on a cut.
    roi : (y, x, height, width), optional
        Estimate from this region only.
    table : AutoTable, optional
        Shared by default (:func:`default_table`).

    Attributes
    ----------
    estimate : Estimate or None
        The smoothed estimate the last frame was restored with.
    tracker : EstimateTracker

    Notes
    -----
    One ``AutoPipeline`` is one stream: its tracker smooths over the frames it is given,
    in order. Calls from several threads are serialised (a frame's estimate, weights and
    filtering never interleave with another's), but frames of different streams given to
    one pipeline are still one stream to it — give each stream its own pipeline (they may
    share one :class:`AutoTable`).

    Examples
    --------
    >>> import numpy as np
    >>> from gpudeconv import AutoPipeline
    >>> pipe = AutoPipeline(shape=(64, 64, 3), dtype=np.uint8, backend="cpu")
    >>> frame = np.full((64, 64, 3), 100, np.uint8)
    >>> bool((pipe(frame) == 100).all())  # a flat frame is left alone
    True
    """

    def __init__(
        self,
        *,
        shape: tuple[int, ...],
        dtype: Any,
        backend: str = "auto",
        check_finite: bool = True,
        every: int = 8,
        half_life: float = 3.0,
        change: float = 0.15,
        cut: float = 0.4,
        roi: tuple[int, int, int, int] | None = None,
        table: AutoTable | None = None,
        **frame_options: Any,
    ) -> None:
        spec = FrameSpec.create(shape, dtype, **frame_options)
        self.table = default_table() if table is None else table
        read = {k: v for k, v in spec.options.items() if k in ("space", "channel_order", "bits")}
        self.tracker = EstimateTracker(
            every=every, half_life=half_life, change=change, cut=cut, roi=roi, **read
        )
        self._pipeline = Pipeline(
            self.table.template,
            shape=spec.shape,
            dtype=spec.dtype,
            backend=backend,
            check_finite=check_finite,
            **spec.options,
        )
        self.estimate: Estimate | None = None
        self._key: AutoKey | None = None
        self._lock = threading.Lock()

    @property
    def spec(self) -> FrameSpec:
        """How frames are coded (as :attr:`Pipeline.spec`)."""
        return self._pipeline.spec

    @property
    def backend(self) -> str:
        """Name of the backend in use."""
        return self._pipeline.backend

    def describe(self) -> dict[str, Any]:
        """The inner pipeline's :meth:`~gpudeconv.Pipeline.describe`, plus the tracker's."""
        return {
            **self._pipeline.describe(),
            "estimates": self.tracker.estimates,
            "scene_cuts": self.tracker.cuts,
            "table_cells": self.table.fitted_cells,
        }

    @property
    def filter(self) -> DeconvFilter:
        """The filter the last frame was restored with (built on demand)."""
        if self.estimate is None:
            return self.table.template
        return self.table(self.estimate)

    def __call__(self, frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Estimate (when due), look up the weights and restore one frame.

        ``frame`` and ``out`` as for :meth:`Pipeline.__call__`.
        """
        with self._lock:  # estimate, weights and filtering of one frame belong together
            return self._restore(frame, out)

    def _restore(self, frame: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        frame = self.spec.check_frame(frame)
        self.estimate = self.tracker.update(frame)
        key = AutoKey.of(self.estimate)
        if key != self._key:
            self._pipeline.set_weights(self.table.weights(key))
            self._key = key
        if self.estimate.deblock_first:  # estimated on the frame as it came
            frame = deblock(frame)
        return self._pipeline(frame, out=out)
