"""Device memory of the CUDA backend: one Pipeline at 4K, and the Dask cache (issue 28).

Measured on the emulator (``cuda-sim``), whose device arrays are NumPy arrays, with
``tracemalloc`` (NumPy reports its allocations to it): what the backend's own code asks
for, allocation by allocation, at each stage — built, a host frame restored, a device
frame restored, streaming. A GPU adds CuPy's memory-pool rounding (to 512 B) and the CUDA
context (~300–500 MB per process), which the emulator cannot show.

Run: ``python -m bench.device_memory [--out DIR]``; writes ``device_memory.json`` / ``.md``.
"""

from __future__ import annotations

import argparse
import json
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from gpudeconv import Pipeline, fit
from gpudeconv.core import psf
from gpudeconv.engine.backends.cuda import SimDeviceArray
from gpudeconv.media.dask import CACHE_SIZE

SHAPE = (2160, 3840, 3)  # 4K RGB uint8


def _mb(n: int) -> float:
    return round(n / 1e6, 2)


def measure(shape: tuple[int, ...] = SHAPE) -> dict[str, Any]:
    """Bytes held and peaks, per stage, for one pipeline on frames of ``shape``."""
    filt = fit(psf.gaussian(1.0), noise=0.002, quantization_bits=8)
    frame = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    device = frame.copy().view(SimDeviceArray)
    out = np.empty_like(device).view(SimDeviceArray)
    Pipeline(filt, shape=(8, 8, 3), dtype=np.uint8, backend="cuda-sim")(frame[:8, :8])  # build
    tracemalloc.start()
    try:
        pipe = Pipeline(filt, shape=shape, dtype=np.uint8, backend="cuda-sim")
        built = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        pipe(device, out=out)
        device_peak = tracemalloc.get_traced_memory()[1] - built
        tracemalloc.reset_peak()
        restored = pipe(frame)
        host_peak = tracemalloc.get_traced_memory()[1] - built - restored.nbytes
        del restored
        tracemalloc.reset_peak()
        for _ in range(3):
            pipe.submit(frame)
            if pipe._backend.in_flight >= 2:
                pipe.result()
        while pipe._backend.in_flight:
            pipe.result()
        streaming = tracemalloc.get_traced_memory()[0] - built
    finally:
        tracemalloc.stop()
    frame_bytes = frame.nbytes
    return {
        "shape": list(shape),
        "frame_MB": _mb(frame_bytes),
        "held_after_build_MB": _mb(built),
        "device_frame_call_peak_MB": _mb(device_peak),
        "host_frame_call_peak_MB": _mb(host_peak),
        "held_after_streaming_MB": _mb(streaming),
        "dask_cache_pipelines": CACHE_SIZE,
        "dask_cache_held_MB": _mb(CACHE_SIZE * built),
        "dask_cache_held_before_fix_MB": _mb(CACHE_SIZE * (built + 4 * frame_bytes)),
    }


def markdown(row: dict[str, Any]) -> str:
    """The numbers as a table."""
    lines = [
        "# Device memory of the CUDA backend (emulated, tracemalloc)",
        "",
        f"One `Pipeline` for {row['shape'][1]}x{row['shape'][0]} RGB uint8 frames "
        f"({row['frame_MB']} MB each). Measured on `cuda-sim`; a GPU adds the CUDA "
        "context and CuPy's pool rounding.",
        "",
        "| stage | MB |",
        "|---|---|",
        f"| held once built (taps, term table, decode table) | {row['held_after_build_MB']} |",
        f"| peak while restoring a device frame into a device `out` | "
        f"{row['device_frame_call_peak_MB']} |",
        f"| peak while restoring a host frame (upload, result, download; output excluded) | "
        f"{row['host_frame_call_peak_MB']} |",
        f"| held after streaming (`submit`/`result`: 2 slots, each 2 device frames and 2 "
        f"pinned host frames: half of it device memory) | "
        f"{row['held_after_streaming_MB']} |",
        f"| Dask cache: {row['dask_cache_pipelines']} pipelines of this size, held | "
        f"{row['dask_cache_held_MB']} |",
        f"| the same before the slots were made lazily (4 device frames each) | "
        f"{row['dask_cache_held_before_fix_MB']} |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    row = measure()
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "device_memory.json").write_text(json.dumps(row, indent=2) + "\n")
    (folder / "device_memory.md").write_text(markdown(row))
    print(markdown(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
