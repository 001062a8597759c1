"""GPU benchmark (``make bench-gpu``; part of ``make gpu-check``). Needs CuPy and a GPU.

Measured on the same frames, side by side, by CUDA events around many calls queued back to
back on the current stream (:func:`back_to_back_us`; warm-up excluded), for 1080p and 4K
uint8 RGB frames:

- device copy bandwidth (a ``cupy`` copy of the frame: the floor a fused pass is judged by);
- the fused kernel for ``gauss-lap`` and ``atrous`` through the public API on device arrays
  (``pipe(frame, out=out)``, ``check_finite=False``; each launch also uploads its weights,
  a 48-byte copy): µs and share of the copy bandwidth (target ≥ 70 %);
- ``cupyx.scipy.ndimage.correlate1d`` applying the same terms in float32 (no colour
  transfer; taps uploaded beforehand), the peer the kernel must beat by 2×;
- the FFT reference ``gpudeconv.wiener`` on ``cupy.fft`` (grey float32);
- host↔device transfers, pinned and pageable, in GB/s;
- the streaming pipeline (two streams, pinned buffers) in fps, and its time per frame over
  a pinned upload + download of the same frame (target ≤ 1.2×);
- launch overhead: host time of one call on a tiny frame;
- interop round trips: CuPy in → CuPy out, and a PyTorch CUDA tensor in → tensor out
  (when torch is there; also a strided tensor and an in-place call on a PyTorch side
  stream), each checked against the CPU backend by the largest absolute error;
- the compile time of a first call, in a fresh process with an empty CuPy cache.

Writes ``bench/results/gpu-<host>-<date>.json`` and ``.md``. Run: ``python -m bench.gpu
[--quick] [--out DIR]``. ``--dry-run`` runs the same harness on the CPU (NumPy arrays, the
``cuda-sim`` backend, wall-clock timing, tiny frames) so CI checks its code paths; its
numbers mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from bench.timing import machine
from gpudeconv import Pipeline, fit, wiener
from gpudeconv.core import psf
from gpudeconv.engine.backends import cuda_unavailable_reason

SIZES = {"1080p": (1080, 1920, 3), "4K": (2160, 3840, 3)}
DRY_SIZES = {"tiny": (40, 64, 3)}
BASES = ("gauss-lap", "atrous")
#: Targets of issue 5, printed as MET / MISS beside the numbers.
TARGETS = {"pct_of_copy_bandwidth": 70.0, "speedup_vs_cupyx": 2.0, "ratio_to_round_trip": 1.2}


def max_abs_error(result: np.ndarray, expect: np.ndarray) -> float:
    """The largest |result − expect|: a result too low must count as much as one too high."""
    return float(np.abs(np.asarray(result, np.float64) - expect).max())


def back_to_back_us(xp: Any, fn: Callable[[], object], n: int, warmup: int = 3) -> float:
    """Device µs per call of ``fn``, ``n`` calls queued between one pair of events.

    ``cupyx.profiler.benchmark`` records its start event, then calls into Python: with
    the GPU idle, each of its samples holds the host's dispatch as well as the kernel.
    Queued back to back, the device runs call after call while the host enqueues ahead:
    the time per call is the kernel's, unless the host cannot keep up (then it is the
    host's dispatch — compare with ``host_us``, which the report gives beside it).
    """
    for _ in range(warmup):
        fn()
    stream = xp.cuda.get_current_stream()
    stream.synchronize()
    start, end = xp.cuda.Event(), xp.cuda.Event()
    start.record(stream)
    for _ in range(n):
        fn()
    end.record(stream)
    end.synchronize()
    return float(xp.cuda.get_elapsed_time(start, end)) * 1e3 / n


class Harness:
    """Arrays, timing and peers: CuPy on a GPU, or NumPy and the emulator for a dry run."""

    def __init__(self, dry_run: bool, quick: bool) -> None:
        self.dry_run = dry_run
        self.repeats = 5 if dry_run else (20 if quick else 100)
        if dry_run:
            self.xp: Any = np
            self.backend = "cuda-sim"
        else:
            import cupy

            self.xp = cupy
            self.backend = "cuda"

    def us(self, fn: Callable[[], object], repeats: int | None = None) -> float:
        """Device time of ``fn`` in µs, back to back (median wall clock on a dry run)."""
        n = repeats or self.repeats
        if self.dry_run:
            fn()
            times = []
            for _ in range(n):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            return float(np.median(times)) * 1e6
        return back_to_back_us(self.xp, fn, n)

    def host_us(self, fn: Callable[[], object], repeats: int = 200) -> float:
        """Median host (CPU) time of ``fn`` in µs: what launching costs the caller."""
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        self.synchronize()
        return float(np.median(times)) * 1e6

    def synchronize(self) -> None:
        """Wait for the device."""
        if not self.dry_run:
            self.xp.cuda.Device().synchronize()

    def asnumpy(self, a: Any) -> np.ndarray:
        """A host copy."""
        return np.asarray(a) if self.dry_run else self.xp.asnumpy(a)

    def correlate1d(self) -> Callable[..., Any]:
        """The separable-filter peer: cupyx.scipy.ndimage (SciPy's on a dry run)."""
        if self.dry_run:
            import scipy.ndimage as ndi

            return ndi.correlate1d
        import cupyx.scipy.ndimage as cnd

        return cnd.correlate1d

    def pinned(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Page-locked host memory (plain memory on a dry run)."""
        if self.dry_run:
            return np.empty(shape, dtype)
        import cupyx

        return cupyx.empty_pinned(shape, dtype)

    def set(self, device: Any, host: np.ndarray) -> None:
        """Host → device copy."""
        if self.dry_run:
            np.copyto(device, host)
        else:
            device.set(host)

    def get(self, device: Any, host: np.ndarray) -> None:
        """Device → host copy, waited for."""
        if self.dry_run:
            np.copyto(host, device)
        else:
            device.get(out=host)


def _device_info(h: Harness) -> dict[str, Any]:
    if h.dry_run:
        return {"gpu": "none (dry run on the CPU: numbers are meaningless)"}
    import cupy

    runtime = cupy.cuda.runtime
    props = runtime.getDeviceProperties(cupy.cuda.Device().id)
    return {
        "gpu": props["name"].decode(errors="replace"),
        "compute_capability": f"{props['major']}.{props['minor']}",
        "driver": runtime.driverGetVersion(),
        "cuda_runtime": cupy.cuda.get_local_runtime_version(),
        "cupy": cupy.__version__,
    }


def _fused(h: Harness, shape: tuple[int, ...], rng: np.random.Generator) -> dict[str, Any]:
    """Copy bandwidth, the fused kernel per basis, and the cupyx peer on one frame size."""
    xp = h.xp
    host = rng.integers(0, 256, shape, dtype=np.uint8)
    frame = xp.asarray(host)
    out = xp.empty_like(frame)
    copy_us = h.us(lambda: out.__setitem__(Ellipsis, frame))
    row: dict[str, Any] = {
        "device_copy_us": copy_us,
        "device_copy_GB_per_s": 2 * frame.nbytes / copy_us / 1e3,
    }
    kernel = psf.gaussian(1.0)
    correlate1d = h.correlate1d()
    for basis in BASES:
        filt = fit(kernel, noise=0.002, quantization_bits=8, basis=basis)
        pipe = Pipeline(filt, shape=shape, dtype=np.uint8, backend=h.backend, check_finite=False)
        expect = Pipeline(filt, shape=shape, dtype=np.uint8, backend="cpu")(host)
        worst = int(np.abs(h.asnumpy(pipe(frame, out=out)).astype(int) - expect).max())
        fused = h.us(lambda p=pipe: p(frame, out=out))
        linear = frame.astype(xp.float32) / 255
        acc = xp.empty_like(linear)
        taps = [
            (xp.asarray(ky, np.float32), xp.asarray(kx, np.float32), np.float32(w))
            for w, (ky, kx) in zip(filt.weights, filt.terms, strict=True)
        ]  # uploaded once, outside the timed function

        def peer(taps: list = taps, x: Any = linear, a: Any = acc) -> None:
            a[...] = 0
            for ky, kx, w in taps:
                t = correlate1d(x, ky, axis=0, mode="mirror")
                a += w * correlate1d(t, kx, axis=1, mode="mirror")

        peer_us = h.us(peer, repeats=max(5, h.repeats // 5))
        row[basis] = {
            "us": fused,
            "max_lsb_vs_cpu": worst,
            "pct_of_copy_bandwidth": 100 * copy_us / fused,
            "cupyx_ndimage_us": peer_us,
            "speedup_vs_cupyx": peer_us / fused,
        }
    grey = xp.asarray(rng.random(shape[:2], dtype=np.float32))
    row["wiener_fft_us"] = h.us(
        lambda: wiener(grey, kernel, noise=0.0023), repeats=max(5, h.repeats // 5)
    )
    return row


def _transfers_and_streaming(
    h: Harness, shape: tuple[int, ...], rng: np.random.Generator
) -> dict[str, Any]:
    xp = h.xp
    host = rng.integers(0, 256, shape, dtype=np.uint8)
    device = xp.asarray(host)
    pinned = h.pinned(shape, np.uint8)
    pinned[...] = host
    n = 20
    report: dict[str, Any] = {
        "pinned_h2d_GB_per_s": host.nbytes / h.us(lambda: h.set(device, pinned), n) / 1e3,
        "pageable_h2d_GB_per_s": host.nbytes / h.us(lambda: h.set(device, host), n) / 1e3,
        "pinned_d2h_GB_per_s": host.nbytes / h.us(lambda: h.get(device, pinned), n) / 1e3,
    }
    round_trip = h.us(lambda: (h.set(device, pinned), h.get(device, pinned)), n)
    pipe = Pipeline(
        fit(psf.gaussian(1.0), noise=0.002, quantization_bits=8),
        shape=shape,
        dtype=np.uint8,
        backend=h.backend,
    )
    frames = [host] * (6 if h.dry_run else 40)
    list(pipe.stream(frames[:4]))  # warm-up: pinned buffers, streams, compile
    start = time.perf_counter()
    count = sum(1 for _ in pipe.stream(frames))
    per_frame = (time.perf_counter() - start) / count * 1e6
    report["streaming"] = {
        "fps": 1e6 / per_frame,
        "us_per_frame": per_frame,
        "pinned_round_trip_us": round_trip,
        "ratio_to_round_trip": per_frame / round_trip,
    }
    return report


def _launch_and_interop(h: Harness, rng: np.random.Generator) -> dict[str, Any]:
    xp = h.xp
    filt = fit(psf.gaussian(1.0), noise=0.002)
    tiny = Pipeline(filt, shape=(8, 8, 3), dtype=np.uint8, backend=h.backend, check_finite=False)
    small_in = xp.zeros((8, 8, 3), np.uint8)
    small_out = xp.empty_like(small_in)
    report: dict[str, Any] = {
        "launch_overhead_host_us": h.host_us(lambda: tiny(small_in, out=small_out))
    }
    host = rng.random((64, 96, 3), dtype=np.float32)
    expect = Pipeline(filt, shape=host.shape, dtype=np.float32, backend="cpu")(host)
    pipe = Pipeline(filt, shape=host.shape, dtype=np.float32, backend=h.backend)
    device = xp.asarray(host)
    restored = pipe(device)
    report["cupy_round_trip"] = {
        "same_kind": type(restored) is type(device),
        "max_error_vs_cpu": max_abs_error(h.asnumpy(restored), expect),
        "us": h.us(lambda: pipe(device)),
    }
    try:
        import torch
    except ImportError:
        report["torch_round_trip"] = "torch is not installed"
        return report
    if h.dry_run or not torch.cuda.is_available():
        report["torch_round_trip"] = "no CUDA torch here"
        return report
    tensor = torch.from_numpy(host).cuda()
    tensor.requires_grad_(False)
    restored = pipe(tensor)
    torch.cuda.synchronize()
    report["torch_round_trip"] = {
        "same_kind": isinstance(restored, torch.Tensor) and restored.is_cuda,
        "max_error_vs_cpu": max_abs_error(restored.cpu().numpy(), expect),
        "us": h.us(lambda: pipe(tensor)),
    }
    # A side stream is non-blocking against CuPy's: every copy must be ordered on it.
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        planar = torch.from_numpy(np.ascontiguousarray(host.transpose(2, 0, 1))).cuda()
        strided = pipe(planar.permute(1, 2, 0))  # a non-contiguous view
        in_place = torch.from_numpy(host).cuda()
        pipe(in_place, out=in_place)
    side.synchronize()
    report["torch_side_stream"] = {
        "strided_max_error_vs_cpu": max_abs_error(strided.cpu().numpy(), expect),
        "in_place_max_error_vs_cpu": max_abs_error(in_place.cpu().numpy(), expect),
    }
    return report


_FIRST_CALL = """
import time, numpy as np
start = time.perf_counter()
from gpudeconv import Pipeline, fit, psf
Pipeline(fit(psf.gaussian(1.0), noise=0.002), shape=(64, 64, 4), dtype=np.uint16,
         backend="cuda")(np.zeros((64, 64, 4), np.uint16))
print(time.perf_counter() - start)
"""


def _first_call_compile_s(h: Harness, folder: Path) -> float | str:
    """A first call in a fresh process with an empty CuPy cache (read at import in 14.x)."""
    if h.dry_run:
        return "not measured on a dry run"
    cache = folder / "cupy-cache-first-call"
    env = dict(os.environ, CUPY_CACHE_DIR=str(cache))
    result = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return f"failed: {result.stderr.strip().splitlines()[-1:]}"
    return float(result.stdout.strip().splitlines()[-1])


def verdicts(report: dict[str, Any]) -> list[str]:
    """Each target, MET or MISS, with the number beside it."""
    out = []
    for size, row in report["sizes"].items():
        for basis in BASES:
            for key in ("pct_of_copy_bandwidth", "speedup_vs_cupyx"):
                value, target = row[basis][key], TARGETS[key]
                out.append(
                    f"{'MET ' if value >= target else 'MISS'} {size} {basis} {key} "
                    f"{value:.2f} (target >= {target})"
                )
    ratio = report["streaming"]["ratio_to_round_trip"]
    target = TARGETS["ratio_to_round_trip"]
    out.append(
        f"{'MET ' if ratio <= target else 'MISS'} streaming time per frame / pinned round "
        f"trip {ratio:.2f} (target <= {target})"
    )
    return out


def markdown(report: dict[str, Any]) -> str:
    """The numbers as a table per size, then the rest, then the verdicts."""
    lines = [f"# GPU benchmark: {report['device'].get('gpu')}", ""]
    lines.append("| size | method | µs | % of copy bandwidth | × cupyx.ndimage | LSB vs cpu |")
    lines.append("|---|---|---|---|---|---|")
    for size, row in report["sizes"].items():
        lines.append(f"| {size} | device copy | {row['device_copy_us']:.1f} | 100 | | |")
        for basis in BASES:
            b = row[basis]
            lines.append(
                f"| {size} | {basis} (fused) | {b['us']:.1f} | {b['pct_of_copy_bandwidth']:.0f} "
                f"| {b['speedup_vs_cupyx']:.2f} | {b['max_lsb_vs_cpu']} |"
            )
            lines.append(f"| {size} | *cupyx.ndimage, same terms* | {b['cupyx_ndimage_us']:.1f} |")
        lines.append(f"| {size} | wiener (cupy.fft), grey | {row['wiener_fft_us']:.1f} | | | |")
    rest = {k: v for k, v in report.items() if k not in ("sizes", "verdicts")}
    lines += ["", "```json", json.dumps(rest, indent=1), "```", "", *report["verdicts"]]
    return "\n".join(lines)


def run(dry_run: bool = False, quick: bool = False, out: str = "bench/results") -> dict:
    """Every measurement of the module docstring; writes the JSON and Markdown."""
    h = Harness(dry_run, quick)
    rng = np.random.default_rng(0)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    sizes = DRY_SIZES if dry_run else SIZES
    report: dict[str, Any] = {
        "machine": machine(),
        "device": _device_info(h),
        "dry_run": dry_run,
        "sizes": {label: _fused(h, shape, rng) for label, shape in sizes.items()},
    }
    report.update(_transfers_and_streaming(h, sizes[list(sizes)[-1]], rng))
    report.update(_launch_and_interop(h, rng))
    report["first_call_compile_s"] = _first_call_compile_s(h, folder)
    report["verdicts"] = verdicts(report)
    stem = f"gpu-{'dry-run' if dry_run else platform.node() or 'host'}-{date.today().isoformat()}"
    (folder / f"{stem}.json").write_text(json.dumps(report, indent=1))
    (folder / f"{stem}.md").write_text(markdown(report) + "\n")
    report["files"] = [str(folder / f"{stem}.json"), str(folder / f"{stem}.md")]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (gpu-check)")
    parser.add_argument("--dry-run", action="store_true", help="CPU + cuda-sim, tiny frames")
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    if not args.dry_run:
        reason = cuda_unavailable_reason()
        if reason:
            print(f"bench.gpu: cannot run: {reason}")
            return 2
    report = run(args.dry_run, args.quick, args.out)
    print("\n".join(report["verdicts"]))
    print(f"wrote {' and '.join(report['files'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
