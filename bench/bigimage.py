"""Peak memory of ``gpudeconv deblur big.tif out.zarr`` (issue 16: ≤ 1 GB at 20 000²).

Writes a 20 000 × 20 000 RGB uint8 TIFF (1.2 GB of samples, tiled, uncompressed; the
tiles are a blurred photograph), then runs the command in a fresh process and reads its
peak RSS (``VmHWM``: that process's own high-water mark). Also checks a
centre crop of the output against the in-memory :class:`~gpudeconv.Pipeline`.

Run: ``python -m bench.bigimage [--size N] [--quick]``; writes ``bench/results/bigimage.*``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from bench.timing import machine, write_results

TARGET_BYTES = 1e9
TILE = 512
SIGMA, NOISE = 1.5, 0.004


def write_input(path: Path, size: int) -> np.ndarray:
    """A ``size``² RGB TIFF tiled from a blurred photograph; returns the tile."""
    import tifffile
    from skimage import data

    from gpudeconv.core import psf

    photo = data.astronaut()[:TILE, :TILE].astype(np.float32)
    blurred = cv2.filter2D(photo, -1, psf.gaussian(SIGMA), borderType=cv2.BORDER_WRAP)
    tile = np.clip(blurred.round(), 0, 255).astype(np.uint8)
    count = (-(-size // TILE)) ** 2
    tifffile.imwrite(
        path,
        (tile for _ in range(count)),
        shape=(size, size, 3),
        dtype=np.uint8,
        tile=(TILE, TILE),
        photometric="rgb",
        bigtiff=True,
    )
    return tile


#: The command in a fresh process, then its peak RSS. VmHWM is the high-water mark of the
#: process's own memory map; ``ru_maxrss`` (getrusage, wait4) would also count the parent's
#: RSS at the fork (Linux carries it across exec) — 1.04 GB for a 3000² run started from
#: a pytest process that had grown to that size.
_CHILD = """
import resource, sys
from gpudeconv.app.cli import main
code = main(sys.argv[1:])
try:
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):  # not Linux: the rusage figure, an upper bound
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("peak_rss_bytes", kib * 1024)
sys.exit(code)
"""


def run(size: int, folder: Path) -> dict:
    source, target = folder / "big.tif", folder / "big.zarr"
    start = time.perf_counter()
    tile = write_input(source, size)
    written = time.perf_counter() - start
    command = [
        sys.executable,
        "-c",
        _CHILD,
        "deblur",
        str(source),
        str(target),
        "--psf",
        f"gaussian:{SIGMA}",
        "--noise",
        str(NOISE),
        "--quiet",
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"deblur failed: {done.stderr.strip()}")
    *summary, peak_line = done.stdout.strip().splitlines()
    peak = int(peak_line.split()[1])
    stdout = "\n".join(summary)
    exact = _check_centre(target, tile)
    return {
        "size": size,
        "sample_bytes": size * size * 3,
        "peak_rss_bytes": peak,
        "seconds": seconds,
        "megapixels_per_s": size * size / seconds / 1e6,
        "input_write_s": written,
        "centre_equals_in_memory": exact,
        "summary": stdout.strip(),
    }


def _check_centre(target: Path, tile: np.ndarray) -> bool:
    """An interior tile of the output equals the in-memory pipeline on a periodic tiling."""
    import zarr

    from gpudeconv import Pipeline, fit
    from gpudeconv.core import psf

    out = zarr.open_array(str(target), mode="r")
    mid = (out.shape[0] // 2 // TILE) * TILE
    got = out[mid : mid + TILE, mid : mid + TILE]
    wide = np.tile(tile, (3, 3, 1))  # the tile with its true neighbours on every side
    filt = fit(psf.gaussian(SIGMA), noise=NOISE, quantization_bits=8)
    pipe = Pipeline(filt, shape=wide.shape, dtype=np.uint8, channel_order="rgb", backend="cpu")
    expected = pipe(wide)[TILE : 2 * TILE, TILE : 2 * TILE]
    return bool(np.array_equal(got, expected))


def markdown(row: dict) -> str:
    peak = row["peak_rss_bytes"]
    return "\n".join(
        [
            "| image | samples | peak RSS | time | MP/s | centre = in-memory | target ≤ 1 GB |",
            "|---|---|---|---|---|---|---|",
            f"| {row['size']}² RGB uint8 TIFF → Zarr | {row['sample_bytes'] / 1e9:.2f} GB "
            f"| {peak / 1e9:.2f} GB | {row['seconds']:.0f} s | {row['megapixels_per_s']:.1f} "
            f"| {'yes' if row['centre_equals_in_memory'] else 'NO'} "
            f"| {'MET' if peak <= TARGET_BYTES else 'MISS'} |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="a 3000² image")
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    size = 3000 if args.quick else args.size
    folder = Path(tempfile.mkdtemp(prefix="gpudeconv-big-"))
    try:
        row = run(size, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    table = markdown(row)
    stem = "bigimage-quick" if args.quick else "bigimage"
    write_results(args.out, stem, {"machine": machine(), "row": row}, table)
    print(table)
    return 0 if row["centre_equals_in_memory"] else 1


if __name__ == "__main__":
    sys.exit(main())
