"""Batch throughput on ``dask.distributed`` with 1 and 2 worker processes (issue 16).

The batch: 12 photos (1024 × 768 RGB PNG, skimage's photographs blurred) and 4 clips
(120 frames of 320 × 240 each), restored with a known Gaussian PSF. Each worker count
runs the same batch into a fresh folder, side by side in one process; the wall time
includes the ``LocalCluster``'s start-up, which a re-run of a finished batch (all files
skipped) measures on its own.

Run: ``python -m bench.batch [--quick]``; writes ``bench/results/batch.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from bench.timing import machine, write_results

PSF, NOISE = "gaussian:1.2", 0.004


def make_batch(root: Path, photos: int, clips: int, frames: int) -> None:
    """Write the batch's inputs under ``root``."""
    from skimage import data, transform

    names = (
        "astronaut",
        "coffee",
        "chelsea",
        "rocket",
        "immunohistochemistry",
        "hubble_deep_field",
    )
    root.mkdir(parents=True)
    for i in range(photos):
        image = getattr(data, names[i % len(names)])()
        image = transform.resize(image, (768, 1024), anti_aliasing=True)
        image = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.2)
        cv2.imwrite(
            str(root / f"photo{i:02d}.png"), (image[..., ::-1] * 255).round().astype(np.uint8)
        )
    rng = np.random.default_rng(0)
    base = cv2.resize(data.astronaut()[..., ::-1], (360, 280))
    for i in range(clips):
        writer = cv2.VideoWriter(
            str(root / f"clip{i}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30, (320, 240)
        )
        for t in range(frames):
            frame = base[20 + (t % 20) : 260 + (t % 20), 20:340]
            writer.write(np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8))
        writer.release()


def run(workers: int, source: Path, folder: Path) -> dict:
    from gpudeconv.media.batch import run_batch

    target = folder / f"out{workers}"
    first = run_batch(source, target, workers=workers, progress=False, psf_spec=PSF, noise=NOISE)
    again = run_batch(source, target, workers=workers, progress=False, psf_spec=PSF, noise=NOISE)
    if first.failed or again.count("skipped") != len(again.outcomes):
        raise SystemExit(f"batch with {workers} worker(s) did not complete:\n{first}\n{again}")
    frames = sum(o.frames for o in first.outcomes)
    return {
        "workers": workers,
        "files": len(first.outcomes),
        "frames": frames,
        "seconds": first.seconds,
        "frames_per_s": frames / first.seconds,
        "files_per_s": len(first.outcomes) / first.seconds,
        "rerun_all_skipped_s": again.seconds,
    }


def markdown(rows: list[dict]) -> str:
    lines = [
        "| workers | files | frames | wall s (cluster start incl.) | frames/s | files/s "
        "| speed-up | re-run (all skipped) s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['workers']} | {r['files']} | {r['frames']} | {r['seconds']:.1f} "
            f"| {r['frames_per_s']:.1f} | {r['files_per_s']:.2f} "
            f"| {rows[0]['seconds'] / r['seconds']:.2f}× | {r['rerun_all_skipped_s']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 photos and 1 short clip")
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="gpudeconv-batch-"))
    try:
        source = folder / "in"
        if args.quick:
            make_batch(source, photos=2, clips=1, frames=20)
        else:
            make_batch(source, photos=12, clips=4, frames=120)
        rows = [run(workers, source, folder) for workers in (1, 2)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    table = markdown(rows)
    result = {"machine": machine(), "cores": os.cpu_count(), "rows": rows}
    write_results(args.out, "batch-quick" if args.quick else "batch", result, table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
