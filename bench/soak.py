"""Soak (issue 11): does memory stay flat over thousands of frames? Measured here.

Two loops, each sampled every ``--every`` frames for the process's resident memory (RSS,
from ``/proc/self/statm``):

- ``Pipeline``: ``--frames`` 1080p uint8 BGR frames (8 different frames cycled, written into
  one ``out``), CPU backend;
- the live viewer's loop, headless, on its blurred test card (640×480), through
  ``run_live`` with a frame callback that samples.

The slope of RSS against frames after warm-up (the first 20 % of samples dropped) is fitted
by least squares and reported in MB per 10 000 frames. Target: flat, < 1 MB per 10 000.

Run: ``python -m bench.soak [--frames 10000] [--every 500] [--quick]``; writes
``bench/results/soak.json`` and ``.md`` (``soak-quick`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from bench.timing import machine, write_results
from gpudeconv import Pipeline, fit
from gpudeconv.app.live import LiveOptions, run_live
from gpudeconv.core import psf

TARGET_MB_PER_10K = 1.0


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def slope_mb_per_10k(samples: list[tuple[int, float]]) -> float:
    """Least-squares slope of RSS against frame count, after warm-up, per 10 000 frames."""
    kept = samples[len(samples) // 5 :]
    if len(kept) < 2:
        return 0.0
    frames, rss = np.array(kept, dtype=np.float64).T
    return float(np.polyfit(frames, rss, 1)[0] * 1e4)


def soak_pipeline(frames: int, every: int, shape: tuple[int, int, int]) -> dict:
    rng = np.random.default_rng(0)
    inputs = [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(8)]
    pipe = Pipeline(
        fit(psf.gaussian(1.0), noise=0.002, quantization_bits=8),
        shape=shape,
        dtype=np.uint8,
        backend="cpu",
    )
    out = np.empty(shape, np.uint8)
    samples = []
    start = time.perf_counter()
    for i in range(frames):
        pipe(inputs[i % 8], out=out)
        if i % every == 0 or i == frames - 1:
            samples.append((i + 1, rss_mb()))
    return _summary("Pipeline, uint8 BGR " + "x".join(map(str, shape[:2])), samples, start, frames)


def soak_live(frames: int, every: int) -> dict:
    samples: list[tuple[int, float]] = []
    count = [0]

    def sample(viewer: object) -> None:
        count[0] += 1
        if count[0] % every == 0 or count[0] == frames:
            samples.append((count[0], rss_mb()))

    start = time.perf_counter()
    run_live(LiveOptions(headless=True, frames=frames, on_frame=sample))
    return _summary("live viewer loop, headless test card 480x640", samples, start, frames)


def _summary(name: str, samples: list[tuple[int, float]], start: float, frames: int) -> dict:
    slope = slope_mb_per_10k(samples)
    return {
        "loop": name,
        "frames": frames,
        "seconds": time.perf_counter() - start,
        "samples": samples,
        "rss_first_mb": samples[0][1],
        "rss_last_mb": samples[-1][1],
        "slope_mb_per_10k_frames": slope,
        "met": abs(slope) < TARGET_MB_PER_10K,
    }


def markdown(rows: list[dict]) -> str:
    lines = [
        "| loop | frames | s | RSS first → last (MB) | slope MB / 10k frames | target < 1 |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['loop']} | {r['frames']} | {r['seconds']:.0f} | {r['rss_first_mb']:.1f} → "
            f"{r['rss_last_mb']:.1f} | {r['slope_mb_per_10k_frames']:+.3f} | "
            f"{'MET' if r['met'] else 'MISS'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="small frames, 150 of them")
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    frames, every = (150, 10) if args.quick else (args.frames, args.every)
    shape = (72, 128, 3) if args.quick else (1080, 1920, 3)
    rows = [soak_pipeline(frames, every, shape), soak_live(frames, every)]
    table = markdown(rows)
    write_results(
        args.out,
        "soak-quick" if args.quick else "soak",
        {"machine": machine(), "rows": rows},
        table,
    )
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
