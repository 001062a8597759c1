"""One timing helper for every benchmark: warm-up, then median and spread of repeats."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def measure(fn: Callable[[], object], *, repeats: int = 15, warmup: int = 2) -> dict:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; milliseconds.

    Returns ``{'median_ms', 'p25_ms', 'p75_ms', 'min_ms', 'repeats'}``.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return _summary(times)


def measure_interleaved(
    fns: dict[str, Callable[[], object]], *, repeats: int = 15, warmup: int = 2
) -> dict[str, dict]:
    """Time several callables round-robin, so machine noise falls on all of them alike.

    Each round runs every callable once; returns ``measure``'s dict per name.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: _summary(t) for name, t in times.items()}


def _summary(times: list[float]) -> dict:
    q25, q50, q75 = np.percentile(times, [25, 50, 75])
    return {
        "median_ms": float(q50),
        "p25_ms": float(q25),
        "p75_ms": float(q75),
        "min_ms": float(min(times)),
        "repeats": len(times),
    }


def write_results(folder: str, stem: str, result: dict, table: str) -> Path:
    """Write ``<stem>.json`` and ``<stem>.md`` into ``folder``; returns the JSON path."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1))
    (out / f"{stem}.md").write_text(table + "\n")
    return out / f"{stem}.json"


def machine() -> dict:
    """What the numbers were measured on."""
    import cv2
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "opencv": cv2.__version__,
        "opencv_threads": cv2.getNumThreads(),
    }
