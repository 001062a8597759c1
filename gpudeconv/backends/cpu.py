"""CPU backend: OpenCV separable passes over horizontal strips, run on a thread pool.

Candidates for ``F x = Σ w_j G_j x``, measured side by side on the 2-core CI machine kind
(1080p RGB float32, the 6-term gauss-lap filter for σ = 1, up to 17 taps;
``python -m bench.cpu_strategies``, medians, max error vs float64):

================================================  =======  =========
strategy                                          ms       max error
================================================  =======  =========
one ``sepFilter2D`` + ``scaleAdd`` per term       29.3     1.8e-5
dense 17×17 kernel, ``filter2D`` (DFT inside)     64.2     3.3e-7
SVD of the dense kernel (rank 6 needed)           42.9     1.9e-6
Horner cascade of increments (not exact here)     26.8     —
**strips** of 32–96 rows, every term and the      26.6     7.3e-6
colour transfer per strip while it is in cache,
strips shared by a thread pool (kept)
================================================  =======  =========

Each whole-frame pass streams ~100 MB, so the per-term version is memory bound; strips
keep a term's input, output and accumulator in cache. On uint8 frames, where decode and
encode join the strips, the gain is larger (~31 → ~22 ms for the filtering alone).

Once the fitter learned to truncate Gaussians at 2σ, kernels shrank (11×11 for σ = 1) and a
dense ``filter2D`` per strip became competitive: measured side by side at 1080p under
heavy outside load, uint8 BGR, dense vs separable strips: σ = 0.6 (7×7, 5 terms) 16.4 vs
23.9 ms, σ = 1 (11×11) 25.7 vs 26.7, σ = 1.5 (17×17) 51.6 vs 34.1, à-trous 16.5 vs 16.4,
a 1-term FIR 20.0 vs 15.6. ``_use_dense`` picks per filter with a tap-count model.

Integer frames are decoded by ``cv2.LUT`` (uint8) or a table lookup (uint16) and encoded
with ``cv2.pow`` plus saturating conversions (see ``CpuBackend._encode``), in the strips too.

Working values are centred (``value − ½``): a term's float32 rounding error scales with the
magnitude of what it filters, and the weights of a fitted filter reach the hundreds, so
filtering ``x − ½`` and adding ``½·F(0)`` back (exact in arithmetic) halves the error for
[0, 1] data: 1.3e-5 → ~6e-6 against float64 on uniform noise, the worst case.

uint16 frames are filtered in float64: float32's ~6e-6 becomes up to 5 codes of 65535
near black, where the sRGB curve is steepest; float64 keeps them within 1 code.
"""

from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from ..colour import SRGB_KNEE, decode_table
from ..filters import DeconvFilter, dense_kernel
from ..frames import FrameSpec, luma_weights
from .plan import FilterPlan

__all__ = ["CpuBackend"]

_BORDER = {"reflect": cv2.BORDER_REFLECT, "clamp": cv2.BORDER_REPLICATE}
_CV_DEPTH = {np.dtype(np.uint8): cv2.CV_8U, np.dtype(np.uint16): cv2.CV_16U}
#: Strip height bounds (rows); measured best 64–96 at 1080p on 2 cores.
_MIN_STRIP, _MAX_STRIP = 32, 96
#: Centre of the working values (see the module notes).
_OFFSET = 0.5
#: What one separable pass costs beyond its taps, in taps per pixel (see _use_dense).
PASS_COST = 24
#: Floor of values before cv2.pow: encodes to code 0, and is neither 0 nor denormal.
_TINY = 1e-30


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="gpudeconv-cpu")


@dataclass
class _StripBuffers:
    """Per-strip scratch, allocated once with the pipeline."""

    src: np.ndarray  # centred source rows with halo (float frames without luma_only)
    tmp: np.ndarray  # one term's pass, with halo rows
    acc: np.ndarray  # the strip's filtered result
    work: np.ndarray  # colour result before encoding / alpha handling
    code: np.ndarray | None  # encoded strip (integer frames)
    spare: np.ndarray | None


class CpuBackend:
    """Applies a filter plan to frames of one :class:`FrameSpec` with OpenCV."""

    name = "cpu"
    #: None: choose by kernel size; "dense" or "separable" to force (benchmarks, tests).
    force_strategy: str | None = None

    def __init__(self, spec: FrameSpec, filt: DeconvFilter) -> None:
        self.spec = spec
        h, w, c = spec.height, spec.width, spec.channels
        workers = _pool()._max_workers
        self._strip = int(min(_MAX_STRIP, max(_MIN_STRIP, math.ceil(h / (4 * workers)))))
        self._starts = list(range(0, h, self._strip))
        self._border = _BORDER[spec.boundary]
        self._plane_shape = (h, w) if c == 1 else (h, w, c)
        # Full-frame sources, when a strip's halo must be readable by its neighbours:
        # centred linear light of integer frames, centred luma of luma_only frames.
        self._dtype = np.dtype(np.float64 if spec.dtype == np.uint16 else np.float32)
        self._depth = cv2.CV_64F if self._dtype == np.float64 else cv2.CV_32F
        self._linear = np.empty(self._plane_shape, self._dtype) if spec.is_integer else None
        self._plane = np.empty((h, w), self._dtype) if spec.luma_only else None
        self._contiguous = np.empty(spec.shape, spec.dtype)
        luma = [*luma_weights(spec.channel_order), 0.0][:c] if c >= 3 else [1.0]
        # Luma of the frame itself is centred through transform's constant column.
        shift = 0.0 if spec.is_integer else -_OFFSET
        self._luma = np.array([[*luma, shift]], self._dtype)
        if spec.is_integer:
            table = decode_table(spec.dtype.name, spec.space, self._dtype.name)
            self._table = table - self._dtype.type(_OFFSET)
            self._cap = round(spec.max_code * 12.92 * SRGB_KNEE)
        self._plan = FilterPlan.from_filter(filt, self._dtype.type)
        self._weights = np.asarray(filt.weights, dtype=np.float64).copy()
        self._allocate_strips()
        self._done: deque[np.ndarray] = deque()

    def _allocate_strips(self) -> None:
        w, c = self.spec.width, self.spec.channels
        halo = self._plan.radius[0]
        filtered = (w,) if (c == 1 or self.spec.luma_only) else (w, c)
        full = (w,) if c == 1 else (w, c)
        integer = self.spec.is_integer

        def one() -> _StripBuffers:
            rows = self._strip + 2 * halo
            needs_src = not integer and not self.spec.luma_only
            return _StripBuffers(
                src=np.empty((rows if needs_src else 0, *filtered), self._dtype),
                tmp=np.empty((rows, *filtered), self._dtype),
                acc=np.empty((self._strip, *filtered), self._dtype),
                work=np.empty((self._strip, *full), self._dtype),
                code=np.empty((self._strip, *full), self.spec.dtype) if integer else None,
                spare=np.empty((self._strip, *full), self.spec.dtype) if integer else None,
            )

        self._buffers = [one() for _ in self._starts]

    # ------------------------------------------------------------------ weights
    def set_filter(self, filt: DeconvFilter) -> bool:
        """Use ``filt``; returns False (and re-plans) when its terms differ."""
        plan = FilterPlan.from_filter(filt, self._dtype.type)
        same = plan.same_terms(self._plan)
        if not same:
            grow = plan.radius[0] > self._plan.radius[0]
            self._plan = plan
            self._weights = np.asarray(filt.weights, dtype=np.float64).copy()
            if grow:
                self._allocate_strips()
        else:
            self._weights[:] = filt.weights
        return same

    def set_weights(self, weights: np.ndarray) -> None:
        """Replace the per-term weights in place (no allocation)."""
        self._weights[:] = weights

    def _use_dense(self) -> bool:
        """Whether one dense ``filter2D`` pass is cheaper than a pass per term.

        Cost model, in taps per pixel, fitted to ``bench/cpu_strategies``-style runs: a
        dense pass costs its area; each separable term its taps plus ~24 for the pass
        itself (its memory traffic). Many small terms favour dense, few or wide ones not.
        """
        if self.force_strategy is not None:
            return self.force_strategy == "dense"
        plan = self._plan
        ry, rx = plan.radius
        separable = sum(
            plan.taps_y[j].size + plan.taps_x[j].size + PASS_COST
            for j in range(plan.size)
            if not plan.is_identity(j)
        )
        return (2 * ry + 1) * (2 * rx + 1) < separable

    def _dense_kernel(self) -> np.ndarray:
        """``Σ w_j ky_j ⊗ kx_j`` of the rounded taps (luma_only: minus the identity)."""
        plan = self._plan
        dense = dense_kernel(self._applied, plan.taps_y, plan.taps_x)
        if self.spec.luma_only:
            dense[dense.shape[0] // 2, dense.shape[1] // 2] -= 1.0
        return dense.astype(self._dtype)

    def _dc_gain(self) -> float:
        """``F(0)``: what a constant is multiplied by (1 for band bases)."""
        plan = self._plan
        return float(
            sum(
                w * ky.sum(dtype=np.float64) * kx.sum(dtype=np.float64)
                for w, ky, kx in zip(self._weights, plan.taps_y, plan.taps_x, strict=True)
            )
        )

    # ------------------------------------------------------------------ frames
    def view(self, a: np.ndarray) -> np.ndarray:
        """The array the backend works on (the same one, on the CPU)."""
        return a

    def empty_like(self, frame: np.ndarray) -> np.ndarray:
        """A new output array for ``frame``."""
        return np.empty(self.spec.shape, self.spec.dtype)

    def all_finite(self, frame: np.ndarray) -> bool:
        """NaN/Inf check; OpenCV's reads a contiguous frame once, fast."""
        if frame.flags.c_contiguous:
            return bool(cv2.checkRange(frame.reshape(frame.shape[0], -1))[0])
        return bool(np.isfinite(frame).all())

    def submit(self, frame: np.ndarray) -> None:
        """Restore ``frame`` now and keep it for :meth:`result` (the CPU has no overlap)."""
        out = self.empty_like(frame)
        self(frame, out)
        self._done.append(out)

    def result(self, out: np.ndarray | None = None) -> np.ndarray:
        """The oldest submitted frame's result (in ``out`` if given)."""
        if not self._done:
            raise ValueError("no frame in flight; call submit(frame) first")
        done = self._done.popleft()
        if out is None:
            return done
        np.copyto(out, done)
        return out

    @property
    def in_flight(self) -> int:
        """Frames submitted and not yet collected."""
        return len(self._done)

    def __call__(self, frame: np.ndarray, out: np.ndarray) -> None:
        """Restore ``frame`` (already validated) into ``out`` (same shape and dtype)."""
        spec = self.spec
        if not frame.flags.c_contiguous:
            np.copyto(self._contiguous, frame)
            frame = self._contiguous
        frame = frame.reshape(self._plane_shape)  # H×W×1 is handled as the plane it is
        out = out.reshape(self._plane_shape)
        pool = _pool()
        if spec.is_integer or spec.luma_only:
            list(pool.map(lambda s0: self._prepare(frame, s0), self._starts))
        dc = self._dc_gain()
        self._applied = self._plan.weights(self._weights)  # rounded-tap DC folded in
        self._dense = self._dense_kernel() if self._use_dense() else None
        list(pool.map(lambda item: self._run_strip(frame, out, dc, *item), enumerate(self._starts)))

    def _rows(self, s0: int) -> slice:
        return slice(s0, min(self.spec.height, s0 + self._strip))

    def _prepare(self, frame: np.ndarray, s0: int) -> None:
        """Decode a strip to centred linear light and/or take its centred luma."""
        rows = self._rows(s0)
        source = frame[rows]
        if self.spec.is_integer:
            source = self._linear[rows]
            if self.spec.dtype == np.uint8:
                cv2.LUT(frame[rows], self._table, dst=source)
            else:  # cv2.LUT is 8-bit only
                np.take(self._table, frame[rows], out=source)
        if self.spec.luma_only:
            cv2.transform(source, self._luma, dst=self._plane[rows])

    def _source(
        self, frame: np.ndarray, buf: _StripBuffers, rows: slice, halo: int
    ) -> tuple[np.ndarray, int]:
        """The centred image to filter and the row it starts at, covering ``rows`` ± halo."""
        if self.spec.luma_only:
            return self._plane, 0
        if self.spec.is_integer:
            return self._linear, 0
        lo, hi = max(0, rows.start - halo), min(self.spec.height, rows.stop + halo)
        src = buf.src[: hi - lo]
        np.subtract(frame[lo:hi], src.dtype.type(_OFFSET), out=src)
        return src, lo

    def _run_strip(
        self, frame: np.ndarray, out: np.ndarray, dc: float, index: int, s0: int
    ) -> None:
        spec, plan, weights = self.spec, self._plan, self._applied
        buf = self._buffers[index]
        rows = self._rows(s0)
        n = rows.stop - rows.start
        source, origin = self._source(frame, buf, rows, plan.radius[0])
        # Float frames without alpha or luma accumulate straight into the output rows.
        direct = not (spec.is_integer or spec.luma_only or spec.has_alpha)
        acc = out[rows] if direct else buf.acc[:n]
        # luma_only accumulates F(Yc) − Yc, the change added to every colour channel;
        # otherwise the constant ½·F(0) that centring removed is added back here.
        identity = plan.is_identity(0)
        scale = (weights[0] if identity else 0.0) - (1.0 if spec.luma_only else 0.0)
        constant = 0.0 if spec.luma_only else _OFFSET * dc
        if self._dense is not None:  # one non-separable pass with the whole kernel
            filtered = self._pass(
                source,
                origin,
                rows,
                self._dense.shape[0] // 2,
                buf,
                lambda src, dst: cv2.filter2D(
                    src, self._depth, self._dense, dst=dst, delta=constant, borderType=self._border
                ),
            )
            np.copyto(acc, filtered)
        else:
            here = source[rows.start - origin : rows.stop - origin]
            cv2.addWeighted(here, scale, here, 0.0, constant, dst=acc, dtype=self._depth)
            for j in range(1 if identity else 0, plan.size):
                ky, kx = plan.taps_y[j], plan.taps_x[j]
                filtered = self._pass(
                    source,
                    origin,
                    rows,
                    ky.size // 2,
                    buf,
                    lambda src, dst, ky=ky, kx=kx: cv2.sepFilter2D(
                        src, self._depth, kx, ky, dst=dst, borderType=self._border
                    ),
                )
                cv2.scaleAdd(filtered, float(weights[j]), acc, dst=acc)
        if not direct:
            self._finish(frame, out, rows, acc, buf, dc)

    def _pass(
        self,
        source: np.ndarray,
        origin: int,
        rows: slice,
        radius: int,
        buf: _StripBuffers,
        run: Any,
    ) -> np.ndarray:
        """Run one filter over a strip plus ``radius`` halo rows; return the strip's rows.

        The input is a view of whole rows: OpenCV takes its top/bottom edges for the
        image's, which they are wherever the halo was clipped; where they are not, its
        border rule only touches halo rows, which are dropped.
        """
        lo = max(0, rows.start - radius) - origin
        hi = min(self.spec.height, rows.stop + radius) - origin
        tmp = buf.tmp[: hi - lo]
        run(source[lo:hi], tmp)
        first = rows.start - origin - lo
        return tmp[first : first + rows.stop - rows.start]

    def _finish(
        self,
        frame: np.ndarray,
        out: np.ndarray,
        rows: slice,
        acc: np.ndarray,
        buf: _StripBuffers,
        dc: float,
    ) -> None:
        spec = self.spec
        n = rows.stop - rows.start
        result = acc
        if spec.luma_only:
            # Y = Yc + ½, so F(Y) − Y = (F(Yc) − Yc) + ½(F(0) − 1).
            base = self._linear[rows] if spec.is_integer else frame[rows]
            shift = _OFFSET * (dc - 1.0) + (_OFFSET if spec.is_integer else 0.0)
            result = buf.work[:n]
            np.add(base, acc[..., None], out=result)
            if shift:
                np.add(result, result.dtype.type(shift), out=result)
        if spec.is_integer:
            code = buf.code[:n] if spec.has_alpha else out[rows]
            self._encode(result, code, buf.spare[:n])
            result = code
        if spec.has_alpha:
            out[rows, :, :3] = result[..., :3]
            out[rows, :, 3] = frame[rows, :, 3]
        elif not spec.is_integer:
            np.copyto(out[rows], result)

    def _encode(self, values: np.ndarray, code: np.ndarray, spare: np.ndarray) -> None:
        """Float working values → rounded, saturated code values (in place in ``code``).

        With ``p = v^(1/2.4)``: ``A = sat(M(1.055 p − 0.055))`` is the power-law branch and
        ``L = sat(M·12.92 v)`` the linear one. The power branch lies below the line
        everywhere except at the knee, where both reach the code ``cap``; so the code is
        ``max(A, min(L, cap))``: L below the knee, A above it.
        """
        top = float(self.spec.max_code)
        depth = _CV_DEPTH[self.spec.dtype]
        if self.spec.space == "srgb":
            cv2.addWeighted(values, top, values, 0.0, 0.0, dst=code, dtype=depth)
            return
        # pow takes |v| and is ~12x slower on exact zeros: floor at a tiny normal number.
        # (NumPy for the scalar ops: OpenCV's binding misreads a Scalar tuple as a matrix
        # when the array holds 4 elements or fewer.)
        np.maximum(values, values.dtype.type(_TINY), out=values)
        cv2.addWeighted(values, top * 12.92, values, 0.0, 0.0, dst=spare, dtype=depth)
        np.minimum(spare, self._cap, out=spare)
        cv2.pow(values, 1.0 / 2.4, dst=values)
        cv2.addWeighted(values, top * 1.055, values, 0.0, -top * 0.055, dst=code, dtype=depth)
        cv2.max(code, spare, dst=code)
