"""``EstimateTracker``: per-frame estimates smoothed over time, with scene cuts.

One frame's estimate scatters (its tiles, its noise); a video's blur and noise change
slowly. The tracker re-estimates every ``every`` frames — sooner when the picture
changes — and smooths the estimates exponentially in the quantities the filter uses (the
blur covariance's entries, log noise, log amplitude), so the filter glides instead of
flickering. A scene cut drops the history: the new scene's first estimate is taken as
it is.

"The picture changes" is read from the histogram of a thumbnail (~8000 pixels on a
regular grid, 32 bins), not from the pixels themselves: panning or a moving subject
keeps the histogram (L1 distance ≈ 0.05 at 1080p, as a new noise draw does), while a new
scene or a change of exposure moves it (≈ 0.25 for 10 % brighter, ≈ 0.57 between
different photographs). A pixel difference would call every pan a change and estimate on
every frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..core._validate import array_module, check_int, check_real, image_array
from ..errors import InvalidArgumentError
from .estimator import Estimate, _Decoder, estimate

__all__ = ["EstimateTracker"]

#: Thumbnails (for change and cut detection) sample about this many pixels on a regular
#: grid (a histogram of fewer scatters as much as a pan moves it), in this many bins.
THUMB_SAMPLES = 8192
THUMB_BINS = 32


@dataclass
class _State:
    covariance: np.ndarray  # measured 2×2
    log_noise: float
    log_amplitude: float
    latest: Estimate


class EstimateTracker:
    """Smoothed blur/noise estimates for a stream of frames.

    Parameters
    ----------
    every : int
        Re-estimate at least every this many frames (1: every frame).
    half_life : float
        Half-life of the smoothing, in estimates: the weight of an estimate halves after
        this many newer ones.
    change : float
        Re-estimate early when the thumbnail's histogram moved by more than this (L1
        distance of the normalised histograms, 0–2).
    cut : float
        A scene cut: a histogram move above this drops the smoothing history.
    **estimate_options
        Passed to :func:`~gpudeconv.estimate` (``space``, ``channel_order``, ``roi``).

    Attributes
    ----------
    estimates, cuts : int
        How many estimates were made and how many scene cuts seen.
    """

    def __init__(
        self,
        *,
        every: int = 8,
        half_life: float = 3.0,
        change: float = 0.15,
        cut: float = 0.4,
        **estimate_options: Any,
    ) -> None:
        self.every = check_int("every", every, minimum=1)
        self.half_life = check_real("half_life", half_life, positive=True, upper=1e6)
        self.change = check_real("change", change, nonnegative=True)
        self.cut = check_real("cut", cut, nonnegative=True)
        if self.cut < self.change:
            raise InvalidArgumentError(f"cut ({cut}) must be >= change ({change})")
        known = {"space", "channel_order", "roi", "model", "bits"}
        unknown = sorted(set(estimate_options) - known)
        if unknown:
            raise InvalidArgumentError(
                f"unknown estimate options {unknown}; allowed: {sorted(known)}"
            )
        self.options = estimate_options
        self._state: _State | None = None
        self._thumb: np.ndarray | None = None
        self._since = 0
        self.estimates = 0
        self.cuts = 0

    @property
    def current(self) -> Estimate | None:
        """The smoothed estimate after the last frame (None before the first)."""
        return None if self._state is None else self._smoothed(self._state)

    def reset(self) -> None:
        """Forget the history (the next frame is estimated afresh)."""
        self._state, self._thumb, self._since = None, None, 0

    def update(self, frame: Any) -> Estimate:
        """Take one frame; return the smoothed estimate to restore it with."""
        frame = image_array("frame", frame)
        thumb = self._thumbnail(frame)
        moved = self._moved(thumb)
        self._since += 1
        if moved > self.cut and self._state is not None:
            self.cuts += 1
            self._state = None
        if self._state is None or self._since >= self.every or moved > self.change:
            self._absorb(estimate(frame, **self.options))
            self._thumb, self._since = thumb, 0
        assert self._state is not None
        return self._smoothed(self._state)

    # ------------------------------------------------------------------ internals
    def _thumbnail(self, frame: Any) -> np.ndarray:
        """The normalised luma histogram of ~THUMB_SAMPLES pixels on a grid (NumPy)."""
        step = max(1, int(math.sqrt(frame.shape[0] * frame.shape[1] / THUMB_SAMPLES)))
        raw = frame[::step, ::step]
        raw = raw[..., None] if raw.ndim == 2 else raw
        options = self.options
        decoder = _Decoder(
            raw,
            options.get("space", "linear"),
            options.get("channel_order", "bgr"),
            options.get("bits"),
        )
        luma = decoder.luma(raw)
        xp = array_module(luma)
        counts = xp.histogram(xp.clip(luma, 0.0, 1.0), bins=THUMB_BINS, range=(0.0, 1.0))[0]
        counts = np.asarray(counts if xp is np else counts.get(), dtype=np.float64)
        return counts / max(counts.sum(), 1.0)

    def _moved(self, histogram: np.ndarray) -> float:
        if self._thumb is None:
            return math.inf if self._state is not None else 0.0
        return float(np.abs(histogram - self._thumb).sum())

    def _absorb(self, new: Estimate) -> None:
        self.estimates += 1
        log_noise = math.log(max(new.noise, 1e-12))
        log_amplitude = math.log(max(new.prior_amplitude, 1e-30))
        if self._state is None:
            self._state = _State(new.measured.copy(), log_noise, log_amplitude, new)
            return
        keep = 0.5 ** (1.0 / self.half_life)
        state = self._state
        state.covariance = keep * state.covariance + (1 - keep) * new.measured
        state.log_noise = keep * state.log_noise + (1 - keep) * log_noise
        state.log_amplitude = keep * state.log_amplitude + (1 - keep) * log_amplitude
        state.latest = new

    @staticmethod
    def _smoothed(state: _State) -> Estimate:
        return replace(
            state.latest.with_measured(state.covariance),
            noise=math.exp(state.log_noise),
            prior_amplitude=math.exp(state.log_amplitude),
        )
