"""Memory of the CPU pipeline per frame size (issue 11: at most 3× the frame's bytes).

For each size a fresh process builds a ``Pipeline`` for a uint8 BGR frame and restores one
frame; reported: the peak of NumPy's allocations during build + first frame (tracemalloc:
scratch, tables, output), and the growth of the process's peak RSS over the same span
(``getrusage``), both divided by the frame's bytes. The first frame is where every
worker's scratch is made; later frames allocate nothing (``tests/test_pipeline.py``).

Run: ``python -m bench.memory [--quick]``; writes ``bench/results/memory.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from bench.timing import machine, write_results

SIZES = {"1080p": (1080, 1920), "4K": (2160, 3840), "8K": (4320, 7680)}
TARGET = 3.0

_CHILD = """
import json, resource, sys, tracemalloc
import numpy as np
from gpudeconv import Pipeline, fit, psf
h, w = int(sys.argv[1]), int(sys.argv[2])
frame = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
filt = fit(psf.gaussian(1.0), noise=0.002, quantization_bits=8)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
tracemalloc.start()
out = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="cpu")(frame)
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"frame_bytes": frame.nbytes, "traced_peak": peak, "rss_growth": after - before}))
"""


def measure(height: int, width: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(height), str(width)],
        capture_output=True,
        text=True,
        check=True,
    )
    row = json.loads(result.stdout)
    row["traced_x_frame"] = row["traced_peak"] / row["frame_bytes"]
    row["rss_x_frame"] = row["rss_growth"] / row["frame_bytes"]
    return row


def markdown(rows: dict[str, dict]) -> str:
    lines = [
        "| size (uint8 BGR) | frame MB | allocations, peak MB (× frame) | RSS growth MB (× frame) "
        "| target ≤ 3× |",
        "|---|---|---|---|---|",
    ]
    for size, r in rows.items():
        worst = max(r["traced_x_frame"], r["rss_x_frame"])
        lines.append(
            f"| {size} | {r['frame_bytes'] / 1e6:.1f} | {r['traced_peak'] / 1e6:.1f} "
            f"({r['traced_x_frame']:.2f}) | {r['rss_growth'] / 1e6:.1f} ({r['rss_x_frame']:.2f}) "
            f"| {'MET' if worst <= TARGET else 'MISS'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small frame only")
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    sizes = {"small": (240, 320)} if args.quick else SIZES
    rows = {name: measure(*shape) for name, shape in sizes.items()}
    table = markdown(rows)
    write_results(
        args.out,
        "memory-quick" if args.quick else "memory",
        {"machine": machine(), "rows": rows},
        table,
    )
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
