"""CPU backend: OpenCV passes over row strips, run on a thread pool.

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
keep a term's input, output and accumulator in cache.

Once the fitter learned to truncate Gaussians at 2σ, kernels shrank (11×11 for σ = 1) and a
dense ``filter2D`` became competitive: measured side by side at 1080p under heavy outside
load, uint8 BGR, dense vs separable strips: σ = 0.6 (7×7, 5 terms) 16.4 vs 23.9 ms, σ = 1
(11×11) 25.7 vs 26.7, σ = 1.5 (17×17) 51.6 vs 34.1, à-trous 16.5 vs 16.4, a 1-term FIR 20.0
vs 15.6. ``_use_dense`` picks per filter with a tap-count model.

Two ways to cut a frame, both exact:

- **strips with a halo** (every format): each strip decodes, centres and filters its rows
  plus ``R`` rows above and below (``R`` the kernel's row radius), then keeps its own rows.
  Scratch is per worker thread and per strip, so memory stays a fraction of the frame
  (issue 11: ≤ 3× the frame's bytes at 4K and 8K).
- **one block per worker, seams patched** (float frames, dense kernel, no luma or alpha):
  a single ``filter2D`` over one block per worker writes straight into the output; the
  ``R`` rows each side of a cut, which it filtered with a false border, are filtered again
  from ``4R`` true rows. This does the work of one ``filter2D`` call on the frame plus the
  seams (``4R`` rows per cut), without a copy of the output, and is what keeps the
  pipeline at the speed of OpenCV's own single call (``bench.throughput`` checks it).

Values are **centred** before filtering: a level ``m`` per channel is subtracted and
``F(0)·m`` added back (exact in arithmetic). Float32 rounding error scales with what is
filtered and the weights of a fitted filter reach the hundreds, so this both keeps the
error small (1.3e-5 → ~6e-6 against float64 on uniform noise with ``m = ½``) and makes a
constant frame come back exactly: for float frames ``m`` is the median of a sparse
sample of the frame (its own level, HDR included); integer frames are centred by ``½``
inside the decode table (their output is rounded to codes anyway).

Integer frames are decoded by ``cv2.LUT`` (uint8) or a table lookup (uint16) and encoded
with ``cv2.pow`` plus saturating conversions (see ``_encode``). uint16 frames are filtered
in float64: float32's ~6e-6 becomes up to 5 codes of 65535 near black, where the sRGB
curve is steepest; float64 keeps them within 1 code.

Thread safety: each call snapshots the weights and plan, and every strip uses the scratch
of the worker thread that runs it, so one backend may be called from several threads.
That scratch is made the first time a thread runs a strip: in steady state nothing is
allocated per frame, but the first frame need not reach every pool thread.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from ...core._validate import MAX_ABS_VALUE, values_in_range
from ...core.boundaries import BOUNDARIES
from ...core.colour import SRGB_KNEE, decode_table, luma_weights
from ...core.frames import FrameSpec
from ...errors import NonFiniteFrameError
from ...fit.filter import DeconvFilter, dense_kernel
from . import fused
from .base import HostFifo, host_array
from .plan import INT_CENTRE, FilterPlan, dc_corrected, float_level

__all__ = ["CpuBackend"]

_CV_DEPTH = {np.dtype(np.uint8): cv2.CV_8U, np.dtype(np.uint16): cv2.CV_16U}
#: Strip height bounds (rows); measured best 64–96 at 1080p on 2 cores.
_MIN_STRIP, _MAX_STRIP = 32, 96
#: What one separable pass costs beyond its taps, in taps per pixel (see _use_dense).
PASS_COST = 24
#: Floor of values before cv2.pow: encodes to code 0, and is neither 0 nor denormal.
_TINY = 1e-30


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="gpudeconv-cpu")


# A forked child inherits the pool object but not its threads: it would wait forever.
os.register_at_fork(after_in_child=_pool.cache_clear)


def _workers() -> int:
    return _pool()._max_workers


@dataclass(frozen=True)
class _Call:
    """Everything one call reads besides its scratch: a snapshot, so calls are independent."""

    frame: np.ndarray  # C-contiguous, (H, W) or (H, W, C)
    out: np.ndarray  # same shape, C-contiguous rows
    plan: FilterPlan
    weights: np.ndarray  # float64, DC scale of the rounded taps folded in
    dense: np.ndarray | None  # the whole kernel for one filter2D pass, or None
    dc: float  # F(0)
    centre: np.ndarray  # per filtered channel (float frames) or () (integer frames)
    fused: fused.FusedPlan | None = None  # the one-pass 8-bit path (fused.py), or None


class CpuBackend(HostFifo):
    """Applies a filter plan to frames of one :class:`FrameSpec` with OpenCV."""

    name = "cpu"
    #: None: choose (fused where it applies, else by kernel size); "fused", "dense" or
    #: "separable" to force (benchmarks, tests; "fused" only where it applies).
    force_strategy: str | None = None

    def __init__(self, spec: FrameSpec, filt: DeconvFilter) -> None:
        self.spec = spec
        h, c = spec.height, spec.channels
        self._strip = int(min(_MAX_STRIP, max(_MIN_STRIP, math.ceil(h / (4 * _workers())))))
        self._starts = list(range(0, h, self._strip))
        self._border = getattr(cv2, BOUNDARIES[spec.boundary].opencv)
        self._plane_shape = (h, spec.width) if c == 1 else (h, spec.width, c)
        self._dtype = np.dtype(np.float64 if spec.dtype == np.uint16 else np.float32)
        self._depth = cv2.CV_64F if self._dtype == np.float64 else cv2.CV_32F
        luma = list(luma_weights(spec.channel_order)) if spec.colour_channels == 3 else [1.0]
        self._luma = np.array([[*luma, 0.0]], self._dtype)  # over the colour channels
        if spec.is_integer:
            table = decode_table(spec.dtype.name, spec.space, self._dtype.name, spec.bits)
            self._table = table - self._dtype.type(INT_CENTRE)
            self._cap = round(spec.max_code * 12.92 * SRGB_KNEE)
        self._lock = threading.Lock()  # guards plan and weights against concurrent setters
        self._local = threading.local()  # per-thread scratch
        self._plan = FilterPlan.from_filter(filt, self._dtype.type)
        self._weights = np.asarray(filt.weights, dtype=np.float64).copy()
        self._replans = 0
        self._done: deque[np.ndarray] = deque()
        self._maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # fused path's borders

    # ------------------------------------------------------------------ weights
    def set_filter(self, filt: DeconvFilter) -> bool:
        """Use ``filt``; returns False (and re-plans) when its terms differ."""
        plan = FilterPlan.from_filter(filt, self._dtype.type)
        with self._lock:
            same = plan.same_terms(self._plan)
            if not same:
                self._plan = plan
                self._replans += 1
            self._weights = np.asarray(filt.weights, dtype=np.float64).copy()
        return same

    def set_weights(self, weights: np.ndarray) -> None:
        """Replace the per-term weights (calls already running keep their own)."""
        weights = np.asarray(weights, dtype=np.float64)
        with self._lock:
            self._weights = weights.copy()

    def _use_dense(self, plan: FilterPlan) -> bool:
        """Whether one dense ``filter2D`` pass is cheaper than a pass per term.

        Cost model, in taps per pixel, fitted to ``bench/cpu_strategies``-style runs: a
        dense pass costs its area; each separable term its taps plus ~24 for the pass
        itself (its memory traffic). Many small terms favour dense, few or wide ones not.
        """
        if self.force_strategy is not None:
            return self.force_strategy == "dense"
        ry, rx = plan.radius
        separable = sum(
            plan.taps_y[j].size + plan.taps_x[j].size + PASS_COST
            for j in range(plan.size)
            if not plan.is_identity(j)
        )
        return (2 * ry + 1) * (2 * rx + 1) < separable

    def _fused_plan(self, plan: FilterPlan, applied: np.ndarray) -> fused.FusedPlan | None:
        """The one-pass form (``fused.py``) where it applies and is chosen, else None."""
        spec = self.spec
        if self.force_strategy not in (None, "fused"):
            return None
        if spec.dtype != np.uint8 or spec.has_alpha:
            return None
        if fused.fused_unavailable_reason():
            return None
        return fused.FusedPlan.of(plan, applied)

    def describe(self) -> dict[str, Any]:
        """Strategy, strip geometry and how often the plan was rebuilt."""
        with self._lock:
            plan = self._plan
            replans = self._replans
            weights = self._weights
        if self._fused_plan(plan, plan.weights(weights)) is not None:
            strategy = "fused"
        else:
            strategy = "dense" if self._use_dense(plan) else "separable"
        return {
            "backend": self.name,
            "strategy": strategy,
            "terms": plan.size,
            "radius": plan.radius,
            "strip_rows": self._strip,
            "workers": _workers(),
            "replans": replans,
        }

    # ------------------------------------------------------------------ frames
    def view(self, a: np.ndarray) -> np.ndarray:
        """The array the backend works on (the same one, on the CPU); not a GPU array."""
        return host_array(a, "cpu")

    def empty_like(self, frame: np.ndarray) -> np.ndarray:
        """A new output array for ``frame``."""
        return np.empty(self.spec.shape, self.spec.dtype)

    def all_finite(self, frame: np.ndarray) -> bool:
        """NaN/Inf check, split over the workers (one read of the frame)."""
        if not frame.flags.c_contiguous:
            return values_in_range(frame)
        rows = frame.reshape(frame.shape[0], -1)
        cuts = np.linspace(0, rows.shape[0], _workers() + 1).astype(int)
        parts = [rows[a:b] for a, b in itertools.pairwise(cuts) if b > a]
        return all(_run_all([lambda p=p: _in_range(p) for p in parts]))

    def __call__(
        self,
        frame: np.ndarray,
        out: np.ndarray,
        *,
        check_finite: bool = False,
        like: Any = None,
        in_place: bool = False,
    ) -> None:
        """Restore ``frame`` (already validated) into ``out`` (same shape and dtype)."""
        if in_place:
            frame = frame.copy()  # the filter reads neighbours it overwrites
        spec = self.spec
        target = out if out.flags.c_contiguous else self._scratch("out", spec.shape, spec.dtype)
        call = self._prepare_call(frame, target)
        if call.fused is not None:  # uint8: no finiteness to check
            _run_all([lambda s0=s0: self._run_fused(call, s0) for s0 in self._starts], caller=False)
        elif self._blocks_apply(call):
            self._run_blocks(call, check_finite)
        else:
            if check_finite and not self.all_finite(call.frame):
                raise NonFiniteFrameError()
            # Strips on the pool's workers only: each thread that runs one keeps a set of
            # strip scratch, so the caller taking part would add a set for little gain.
            _run_all([lambda s0=s0: self._run_strip(call, s0) for s0 in self._starts], caller=False)
        if target is not out:
            np.copyto(out, target)

    def _prepare_call(self, frame: np.ndarray, out: np.ndarray) -> _Call:
        spec = self.spec
        if not frame.flags.c_contiguous:
            frame = self._scratch("contiguous", spec.shape, spec.dtype, frame)
        with self._lock:
            plan, weights = self._plan, self._weights
        applied = plan.weights(weights)  # rounded-tap DC folded in
        one_pass = self._fused_plan(plan, applied)
        dense = None
        if one_pass is None and self._use_dense(plan):
            dense = dense_kernel(applied, plan.taps_y, plan.taps_x)
            if spec.luma_only:  # luma accumulates F(Y) − Y
                dense[dense.shape[0] // 2, dense.shape[1] // 2] -= 1.0
            dense = dc_corrected(dense, self._dtype)
        frame = frame.reshape(self._plane_shape)  # H×W×1 is handled as the plane it is
        return _Call(
            frame,
            out.reshape(self._plane_shape),
            plan,
            applied,
            dense,
            plan.dc_gain(weights),
            self._centre(frame),
            one_pass,
        )

    def _centre(self, frame: np.ndarray) -> np.ndarray:
        """Per colour channel level of a float frame (median of a sparse sample)."""
        if self.spec.is_integer:
            return np.zeros(0)
        level = float_level(frame, self.spec.channels, self.spec.colour_channels)
        return level.astype(self._dtype)

    # ------------------------------------------------------------------ scratch
    def _scratch(
        self, name: str, shape: tuple[int, ...], dtype: Any, fill: np.ndarray | None = None
    ) -> np.ndarray:
        """The calling thread's buffer ``name``, at least ``shape[0]`` rows (allocated once)."""
        buffers = getattr(self._local, "buffers", None)
        if buffers is None:
            buffers = self._local.buffers = {}
        buf = buffers.get(name)
        if (
            buf is None
            or buf.shape[0] < shape[0]
            or buf.shape[1:] != shape[1:]
            or buf.dtype != dtype
        ):
            buf = buffers[name] = np.empty(shape, dtype)
        view = buf[: shape[0]]
        if fill is not None:
            np.copyto(view, fill)
        return view

    # ------------------------------------------------------------------ blocks and seams
    def _blocks_apply(self, call: _Call) -> bool:
        """Float frames with a dense kernel and nothing per pixel besides it."""
        spec = self.spec
        return (
            call.dense is not None
            and not spec.is_integer
            and not spec.luma_only
            and not spec.has_alpha
            and spec.height >= 4 * _workers() * (call.dense.shape[0] // 2 + 1)
        )

    def _block_cuts(self) -> list[int]:
        return [int(v) for v in np.linspace(0, self.spec.height, _workers() + 1)]

    def _run_blocks(self, call: _Call, check_finite: bool) -> None:
        """Centre (and check) each block, filter each into ``out``, then patch the seams.

        The finiteness check rides on the centring pass (the sum of a block is finite only
        if every value is), and nothing is written to ``out`` before every block passed.
        """
        cuts = self._block_cuts()
        blocks = list(itertools.pairwise(cuts))
        centred = self._scratch("blocks", call.frame.shape, self._dtype)

        def centre(a: int, b: int) -> bool:
            _add_channels(centred[a:b], -call.centre, source=call.frame[a:b])
            return not check_finite or _in_range(centred[a:b], call.centre)

        if not all(_run_all([lambda a=a, b=b: centre(a, b) for a, b in blocks])):
            raise NonFiniteFrameError()
        _run_all(
            [
                lambda a=a, b=b: self._filter_into(call, centred, a, b, call.out[a:b])
                for a, b in blocks
            ]
        )
        r = call.dense.shape[0] // 2
        for cut in cuts[1:-1] if r else []:  # rows by a cut saw a false border: refilter
            lo, hi = max(0, cut - 2 * r), min(self.spec.height, cut + 2 * r)
            tmp = self._scratch("seam", centred[lo:hi].shape, self._dtype)
            self._filter_into(call, centred, lo, hi, tmp)
            call.out[cut - r : cut + r] = tmp[cut - r - lo : cut + r - lo]

    def _filter_into(
        self, call: _Call, centred: np.ndarray, a: int, b: int, dst: np.ndarray
    ) -> None:
        """``dst = F(x − m) + F(0)·m`` over rows ``a..b`` of the centred frame."""
        level = call.dc * call.centre.astype(np.float64)
        rows = centred[a:b]
        if level.size == 1:  # grey: the constant goes in filter2D's delta
            cv2.filter2D(
                rows,
                self._depth,
                call.dense,
                dst=dst,
                delta=float(level[0]),
                borderType=self._border,
            )
        else:
            cv2.filter2D(rows, self._depth, call.dense, dst=dst, borderType=self._border)
            _add_channels(dst, level)

    # ------------------------------------------------------------------ fused (uint8)
    def _run_fused(self, call: _Call, s0: int) -> None:
        """Rows ``[s0, s0 + strip)`` in one pass: decode, every term, encode (``fused.py``)."""
        spec, plan = self.spec, call.fused
        assert plan is not None
        maps = self._maps.get(plan.radius)
        if maps is None:  # per radius, shared by the threads (built the same by any)
            maps = self._maps[plan.radius] = (
                fused.border_map(spec.height, plan.radius, self._border),
                fused.border_map(spec.width, plan.radius, self._border),
            )
        values = spec.width * spec.channels
        shapes = fused.scratch_shapes(plan, spec.width, spec.channels, spec.luma_only)
        scratch = {name: self._scratch(name, shape, np.float32) for name, shape in shapes.items()}
        # luma_only: F(Y) − Y joins every channel, and the level's share of it, m_Y (F(0) − 1).
        fused.run_rows(
            call.frame.reshape(spec.height, values),
            call.out.reshape(spec.height, values),
            (s0, min(spec.height, s0 + self._strip)),
            plan,
            (self._table, fused.encode_table(spec.space)),
            INT_CENTRE * call.dc,
            maps,
            scratch,
            self._luma[0, :3] if spec.luma_only else None,
        )

    # ------------------------------------------------------------------ strips
    def _run_strip(self, call: _Call, s0: int) -> None:
        """Rows ``[s0, s0 + strip)``: decode with a halo, filter, finish into ``out``."""
        spec, plan, weights = self.spec, call.plan, call.weights
        rows = slice(s0, min(spec.height, s0 + self._strip))
        n = rows.stop - rows.start
        halo = call.dense.shape[0] // 2 if call.dense is not None else plan.radius[0]
        lo, hi = max(0, rows.start - halo), min(spec.height, rows.stop + halo)
        working = self._working(call, lo, hi)  # centred colour, rows lo..hi
        source = working
        if spec.luma_only:
            source = self._scratch("luma", (hi - lo, spec.width), self._dtype)
            cv2.transform(working, self._luma, dst=source)
        inner = slice(rows.start - lo, rows.stop - lo)
        # luma_only accumulates F(Yc) − Yc, the change added to every colour channel.
        minus = 1.0 if spec.luma_only else 0.0
        if call.dense is not None:
            # One pass with the whole kernel, in place: nothing reads the source after it
            # (the luma path finishes from the colour rows, not from the luma plane).
            cv2.filter2D(source, self._depth, call.dense, dst=source, borderType=self._border)
            acc = source[inner]
        else:
            acc = self._scratch("acc", (n, *source.shape[1:]), self._dtype)
            tmp = self._scratch("tmp", source.shape, self._dtype)
            identity = plan.is_identity(0)
            scale = (weights[0] if identity else 0.0) - minus
            here = source[inner]
            cv2.addWeighted(here, scale, here, 0.0, 0.0, dst=acc, dtype=self._depth)
            for j in range(1 if identity else 0, plan.size):
                cv2.sepFilter2D(
                    source,
                    self._depth,
                    plan.taps_x[j],
                    plan.taps_y[j],
                    dst=tmp,
                    borderType=self._border,
                )
                cv2.scaleAdd(tmp[inner], float(weights[j]), acc, dst=acc)
        self._finish(call, rows, working[inner], acc)

    def _working(self, call: _Call, lo: int, hi: int) -> np.ndarray:
        """Centred working values of rows ``lo..hi`` (colour channels only)."""
        spec = self.spec
        colour = spec.colour_channels
        shape = (hi - lo, spec.width) if spec.channels == 1 else (hi - lo, spec.width, colour)
        working = self._scratch("working", shape, self._dtype)
        source = call.frame[lo:hi]
        if spec.has_alpha:
            source = source[..., :colour]
        if spec.is_integer:
            if spec.dtype == np.uint8 and not spec.has_alpha:
                cv2.LUT(source, self._table, dst=working)
            else:  # cv2.LUT is 8-bit only (and wants contiguous input)
                np.take(self._table, source, out=working)
        else:
            _add_channels(working, -call.centre, source=source)
        return working

    def _finish(self, call: _Call, rows: slice, working: np.ndarray, acc: np.ndarray) -> None:
        """Add the centring level back, encode integer frames, copy alpha, write ``out``."""
        spec = self.spec
        target = call.out[rows]
        direct = not (spec.is_integer or spec.has_alpha)  # float colour straight to out
        if spec.is_integer:
            level = np.full(spec.colour_channels, INT_CENTRE)
        else:
            level = call.centre.astype(np.float64)
        if spec.luma_only:
            # colour = working + m + Δ, with Δ = F(Y) − Y = acc + m_Y (F(0) − 1).
            luma_level = float(np.dot(np.asarray(self._luma[0, :3], np.float64), level))
            result = target if direct else self._scratch("result", working.shape, self._dtype)
            cv2.add(working, cv2.merge([acc, acc, acc]), dst=result)  # NumPy's (…, 3) is slow
            _add_channels(result, level + luma_level * (call.dc - 1.0))
        elif direct:
            _add_channels(target.reshape(acc.shape), call.dc * level, source=acc)
            return
        else:
            result = acc
            _add_channels(result, call.dc * level)
        if spec.is_integer:
            code = self._scratch("code", result.shape, spec.dtype) if spec.has_alpha else target
            self._encode(result, code, self._scratch("spare", result.shape, spec.dtype))
            result = code
        if spec.has_alpha:
            target[..., :3] = result
            target[..., 3] = call.frame[rows, :, 3]

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
            self._saturate_bits(code)
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
        self._saturate_bits(code)

    def _saturate_bits(self, code: np.ndarray) -> None:
        """Codes of fewer bits than their dtype (10-bit video in uint16) stop at 2^bits − 1."""
        if self.spec.bits:
            np.minimum(code, code.dtype.type(self.spec.max_code), out=code)


def _run_all(tasks: list[Any], *, caller: bool = True) -> list[Any]:
    """Run ``tasks`` on the pool and return their results in order.

    With ``caller`` the first runs in the calling thread: one wake-up less, for a few
    large tasks.
    """
    if not tasks:
        return []
    if not caller:
        return [f.result() for f in [_pool().submit(task) for task in tasks]]
    futures = [_pool().submit(task) for task in tasks[1:]]
    first = tasks[0]()
    return [first, *(f.result() for f in futures)]


def _add_channels(a: np.ndarray, values: np.ndarray, source: np.ndarray | None = None) -> None:
    """``a[..., c] = source[..., c] + values[c]`` (``source`` defaults to ``a``), fast.

    One scalar when the values agree, else one long row per image row: NumPy broadcasting
    a length-3 last axis runs an inner loop of 3, several times slower.
    """
    rows = a.reshape(a.shape[0], -1)
    if source is None:
        src = rows
    elif source.flags.c_contiguous:
        src = source.reshape(source.shape[0], -1)
    else:  # e.g. the colour channels of an RGBA frame: let NumPy broadcast
        np.add(source, values.astype(a.dtype) if a.ndim == 3 else a.dtype.type(values[0]), out=a)
        return
    if np.all(values == values[0]):
        np.add(src, a.dtype.type(values[0]), out=rows)
    else:
        np.add(src, np.tile(values.astype(a.dtype), a.shape[1]), out=rows)


def _in_range(rows: np.ndarray, level: np.ndarray | None = None) -> bool:
    """Whether ``rows + level`` is finite with ``|x| ≤ MAX_ABS_VALUE`` (two fast reads).

    The L1 norm is summed in double: NaN and Inf propagate, finite float32 values cannot
    overflow it; the max norm bounds the magnitude (it skips NaN, hence both).
    """
    flat = rows.reshape(rows.shape[0], -1)
    if not math.isfinite(cv2.norm(flat, cv2.NORM_L1)):
        return False
    shift = 0.0 if level is None or level.size == 0 else float(np.abs(level).max())
    return cv2.norm(flat, cv2.NORM_INF) + shift <= MAX_ABS_VALUE
