"""GPU benchmark (``make bench-gpu``): needs CuPy and a CUDA device; exits with the reason if not.

Measured, all with ``cupyx.profiler.benchmark`` (synchronised, warm-up excluded) on the
same 4K RGB uint8 frame unless said otherwise:

- device copy bandwidth (the floor a fused pass is judged against);
- the fused kernel for ``gauss-lap`` and ``atrous``: µs and % of the copy bandwidth;
- ``cupyx.scipy.ndimage.correlate1d`` applying the same terms (float32, no colour
  transfer), the peer the kernel must beat by 2×, and the FFT reference on ``cupy.fft``;
- host↔device transfers, pinned against pageable, in GB/s;
- the streaming pipeline (two streams, pinned buffers) in fps, against a pinned upload +
  download of the same frame;
- launch overhead on a tiny frame, eager against a CUDA Graph replay;
- the compile time of a first call (NVRTC, with an empty CuPy cache).

Writes ``bench/results/gpu-<host>-<date>.json``. Run: ``python -m bench.gpu``.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from bench.timing import machine
from gpudeconv import Pipeline, fit, psf
from gpudeconv.backends.cuda import cuda_unavailable_reason

SHAPE = (2160, 3840, 3)


def _us(result: object) -> float:
    """Median GPU time in µs of a ``cupyx.profiler.benchmark`` result."""
    return float(np.median(result.gpu_times)) * 1e6  # type: ignore[attr-defined]


def main() -> int:
    reason = cuda_unavailable_reason()
    if reason:
        print(f"bench.gpu: cannot run: {reason}")
        return 2
    import cupy
    import cupyx
    import cupyx.scipy.ndimage as cnd
    from cupyx.profiler import benchmark

    rng = np.random.default_rng(0)
    host = rng.integers(0, 256, SHAPE, dtype=np.uint8)
    frame = cupy.asarray(host)
    out = cupy.empty_like(frame)
    nbytes = frame.nbytes
    report: dict = {
        "machine": machine(),
        "shape": SHAPE,
        "gpu": cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(),
        "driver": cupy.cuda.runtime.driverGetVersion(),
    }

    copy = _us(benchmark(lambda: out.__setitem__(Ellipsis, frame), n_repeat=50))
    report["device_copy"] = {"us": copy, "GB_per_s": 2 * nbytes / copy / 1e3}

    kernel = psf.gaussian(1.0)
    report["fused"] = {}
    for basis in ("gauss-lap", "atrous"):
        filt = fit(kernel, noise=0.002, quantization_bits=8, basis=basis)
        pipe = Pipeline(filt, shape=SHAPE, dtype=np.uint8, backend="cuda")
        backend = pipe._backend
        fused = _us(benchmark(lambda b=backend: b._launch(frame, out), n_repeat=50))
        linear = frame.astype(cupy.float32) / 255
        acc = cupy.empty_like(linear)

        def peer(f=filt, x=linear, a=acc) -> None:
            a[...] = 0
            for w, (ky, kx) in zip(f.weights, f.terms, strict=True):
                t = cnd.correlate1d(x, cupy.asarray(ky, cupy.float32), axis=0, mode="mirror")
                t = cnd.correlate1d(t, cupy.asarray(kx, cupy.float32), axis=1, mode="mirror")
                a += cupy.float32(w) * t

        peer_us = _us(benchmark(peer, n_repeat=20))
        report["fused"][basis] = {
            "us": fused,
            "pct_of_copy_bandwidth": 100 * copy / fused,
            "cupyx_ndimage_us": peer_us,
            "speedup_vs_cupyx": peer_us / fused,
        }

    pinned = cupyx.empty_pinned(SHAPE, np.uint8)
    pinned[...] = host
    report["transfers"] = {
        "pinned_h2d_GB_per_s": nbytes / _us(benchmark(lambda: frame.set(pinned))) / 1e3,
        "pageable_h2d_GB_per_s": nbytes / _us(benchmark(lambda: frame.set(host))) / 1e3,
        "pinned_d2h_GB_per_s": nbytes / _us(benchmark(lambda: frame.get(out=pinned))) / 1e3,
    }
    round_trip = _us(benchmark(lambda: (frame.set(pinned), frame.get(out=pinned))))

    pipe = Pipeline(
        fit(kernel, noise=0.002, quantization_bits=8), shape=SHAPE, dtype=np.uint8, backend="cuda"
    )
    frames = [host] * 30
    list(pipe.stream(frames[:4]))
    start = time.perf_counter()
    count = sum(1 for _ in pipe.stream(frames))
    per_frame = (time.perf_counter() - start) / count * 1e6
    report["streaming"] = {
        "fps": 1e6 / per_frame,
        "us_per_frame": per_frame,
        "pinned_round_trip_us": round_trip,
        "ratio_to_round_trip": per_frame / round_trip,
    }

    tiny = Pipeline(fit(kernel, noise=0.002), shape=(8, 8, 3), dtype=np.uint8, backend="cuda")
    small_in = cupy.zeros((8, 8, 3), cupy.uint8)
    small_out = cupy.empty_like(small_in)
    eager = benchmark(lambda: tiny._backend._launch(small_in, small_out), n_repeat=200)
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        tiny._backend._launch(small_in, small_out)
        graph = stream.end_capture()
    replay = benchmark(lambda: graph.launch(stream), n_repeat=200)
    report["launch_overhead_us"] = {
        "eager_cpu": float(np.median(eager.cpu_times)) * 1e6,
        "graph_replay_cpu": float(np.median(replay.cpu_times)) * 1e6,
    }

    with tempfile.TemporaryDirectory() as cache:
        os.environ["CUPY_CACHE_DIR"] = cache
        from gpudeconv.backends import cuda as cuda_backend

        cuda_backend._cupy_function.cache_clear()
        start = time.perf_counter()
        Pipeline(fit(kernel, noise=0.002), shape=(64, 64, 4), dtype=np.uint16, backend="cuda")
        report["first_call_compile_s"] = time.perf_counter() - start

    out_dir = Path("bench/results")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"gpu-{platform.node()}-{date.today().isoformat()}.json"
    path.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
