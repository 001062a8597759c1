"""Blind stills on real camera shake: Levin et al.'s benchmark, by its own protocol (issue 30).

Levin, Weiss, Durand & Freeman (CVPR 2009): photographs × 8 kernels recorded from a real
hand-held camera, 255×255 grey. The folder (``PATH``, never copied into the repository)
holds ``imII_kerKK.mat`` files with ``x`` (sharp), ``y`` (blurred capture) and ``f`` (the
kernel, **stored rotated by 180°**: the blur is ``conv2(x, f[::-1, ::-1])``).

Per case: :func:`gpudeconv.estimate_kernel` on ``y`` at the published kernel size (25, or
31 for kernel 4), the noise estimated (as a user would run it); then the hyper-Laplacian
:func:`gpudeconv.restore` with the estimate and with the true kernel. Protocol
(``comp_upto_shift`` of the published code): crop 15 px from each side of ``x``; sample the
restoration at that grid shifted by −5…5 px in 0.25-px steps (bilinear) and keep the least
sum of squared differences (SSD, values in [0, 1]). The **error ratio** is that SSD over
Levin's published SSD of his own true-kernel restoration of the same capture (the field's
normaliser); the ratio over our own true-kernel restoration is reported beside it, and so
is our true-kernel SSD over Levin's (how good the non-blind step is). PSNR over the cropped
frame after the same alignment.

Published, on all 32 (Wen et al., IEEE TCSVT 2021): mean PSNR Fergus 29.46 dB, Cho & Lee
30.79, Levin 31.14, Xu & Jia 31.36, Pan 31.73, PMP 32.45 (100 % at ratio ≤ 2).

Run: ``python -m bench.levin PATH [--quick] [--out bench/results]`` (``--quick``: two
cases); without ``PATH`` it says so and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

CUT = 15  # px cropped from each side before comparing
SHIFTS = np.arange(-5.0, 5.0 + 1e-9, 0.25)  # the protocol's shift search, px
#: Kernel sizes the published code uses for kernels 1–8.
KERNEL_SIZES = {1: 25, 2: 25, 3: 25, 4: 31, 5: 25, 6: 25, 7: 25, 8: 25}
#: Levin's SSD of his own true-kernel restoration (rows: photographs 1–4, columns: kernels).
LEVIN_TRUE_SSD = np.array(
    [
        [33.2452, 37.8673, 26.1407, 48.3362, 21.0029, 15.8103, 20.6043, 26.1233],
        [48.3678, 51.6701, 42.9596, 72.8446, 27.9074, 20.3612, 39.6822, 40.9937],
        [31.8456, 36.5485, 18.6523, 39.4669, 14.8198, 10.0371, 13.1905, 23.4166],
        [30.0886, 44.1580, 15.3129, 39.8219, 15.4713, 17.9402, 14.8388, 23.1270],
    ]
)
#: Mean PSNR on all 32 captures, as published (Wen et al. 2021, their table).
PUBLISHED_PSNR = {
    "Fergus et al. 2006": 29.46,
    "Cho & Lee 2009": 30.79,
    "Levin et al. 2011": 31.14,
    "Xu & Jia 2013": 31.36,
    "Pan et al. 2016 (dark channel)": 31.73,
    "Wen et al. 2021 (PMP)": 32.45,
}
THRESHOLDS = (1.5, 2.0, 3.0)
_NAME = re.compile(r"im(\d+)_ker(\d+)\.mat$")


def aligned_ssd(restored: np.ndarray, sharp: np.ndarray) -> tuple[float, tuple[float, float]]:
    """The protocol's SSD: least over the shifted, bilinearly sampled restoration.

    ``restored`` is sampled at the cropped grid of ``sharp`` moved by ``(dy, dx)`` from
    ``SHIFTS`` (MATLAB's ``interp2`` on ``[cut+1 : N-cut] + shift``); returns the least SSD
    and the shift that gave it.
    """
    restored = np.asarray(restored, np.float64)
    sharp = np.asarray(sharp, np.float64)
    rows, cols = sharp.shape
    target = sharp[CUT : rows - CUT, CUT : cols - CUT]
    h, w = target.shape
    best = (np.inf, (0.0, 0.0))
    for dy in SHIFTS:
        y0, fy = int(np.floor(dy)), dy - np.floor(dy)
        for dx in SHIFTS:
            x0, fx = int(np.floor(dx)), dx - np.floor(dx)
            sample = _bilinear(restored, CUT + y0, CUT + x0, fy, fx, h, w)
            ssd = float(np.sum((sample - target) ** 2))
            if ssd < best[0]:
                best = (ssd, (float(dy), float(dx)))
    return best


def _bilinear(image: np.ndarray, top: int, left: int, fy: float, fx: float, h: int, w: int):
    """``image`` sampled at rows ``top + fy + i``, columns ``left + fx + j`` (inside)."""
    a = image[top : top + h, left : left + w]
    b = image[top : top + h, left + 1 : left + 1 + w]
    c = image[top + 1 : top + 1 + h, left : left + w]
    d = image[top + 1 : top + 1 + h, left + 1 : left + 1 + w]
    return (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * c + fx * d)


def read_case(path: Path) -> dict:
    """One ``.mat`` capture: sharp, blurred, the kernel the way the blur applies it."""
    from scipy.io import loadmat

    match = _NAME.search(path.name)
    if match is None:
        raise ValueError(f"{path.name}: expected a name like im01_ker01.mat")
    doc = loadmat(str(path))
    for key in ("x", "y", "f"):
        if key not in doc:
            raise ValueError(f"{path}: no {key!r} (expected x, y and f)")
    kernel = np.asarray(doc["f"], np.float64)[::-1, ::-1]  # stored rotated by 180°
    return {
        "photo": int(match.group(1)),
        "kernel_index": int(match.group(2)),
        "sharp": np.asarray(doc["x"], np.float64),
        "blurred": np.asarray(doc["y"], np.float64),
        "kernel": kernel / kernel.sum(),
    }


def run_case(case: dict) -> dict:
    from gpudeconv import estimate_kernel, restore

    size = KERNEL_SIZES.get(case["kernel_index"], 25)
    start = time.perf_counter()
    found = estimate_kernel(case["blurred"], size)
    seconds = time.perf_counter() - start
    sharp = case["sharp"]
    with_found = np.asarray(restore(case["blurred"], found, method="hyper-laplacian"))
    with_true = np.asarray(restore(case["blurred"], case["kernel"], method="hyper-laplacian"))
    ssd_found, shift = aligned_ssd(with_found, sharp)
    ssd_true, _ = aligned_ssd(with_true, sharp)
    p, k = case["photo"], case["kernel_index"]
    levin = float(LEVIN_TRUE_SSD[p - 1, k - 1]) if p <= 4 and k <= 8 else float("nan")
    pixels = (sharp.shape[0] - 2 * CUT) * (sharp.shape[1] - 2 * CUT)
    return {
        "photo": p,
        "kernel": k,
        "size": size,
        "ssd_found": ssd_found,
        "ssd_true": ssd_true,
        "ssd_levin_true": levin,
        "ratio": ssd_found / levin,
        "ratio_own_true": ssd_found / ssd_true,
        "true_vs_levin": ssd_true / levin,
        "psnr_found": float(10 * np.log10(pixels / ssd_found)),
        "psnr_true": float(10 * np.log10(pixels / ssd_true)),
        "shift": shift,
        "seconds": seconds,
    }


def summarise(rows: list[dict]) -> dict:
    ratios = [r["ratio"] for r in rows]
    return {
        "cases": len(rows),
        **{f"success_{t:g}": float(np.mean([x <= t for x in ratios])) for t in THRESHOLDS},
        "median_ratio": float(np.median(ratios)),
        "median_ratio_own_true": float(np.median([r["ratio_own_true"] for r in rows])),
        "mean_psnr": float(np.mean([r["psnr_found"] for r in rows])),
        "mean_psnr_true": float(np.mean([r["psnr_true"] for r in rows])),
        "median_true_vs_levin": float(np.median([r["true_vs_levin"] for r in rows])),
        "kernels_true_above_levin": sorted({r["kernel"] for r in rows if r["true_vs_levin"] > 1}),
        "median_seconds": float(statistics.median(r["seconds"] for r in rows)),
    }


def markdown(rows: list[dict], summary: dict) -> str:
    lines = [
        "# Levin et al.'s camera-shake benchmark (their protocol; see bench/levin.py)",
        "",
        "| capture | size | ratio (Levin's normaliser) | ratio (our true k) | PSNR est. k | "
        "PSNR true k | true-k SSD / Levin's | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| im{r['photo']:02d} ker{r['kernel']:02d} | {r['size']} | {r['ratio']:.2f} | "
            f"{r['ratio_own_true']:.2f} | {r['psnr_found']:.2f} | {r['psnr_true']:.2f} | "
            f"{r['true_vs_levin']:.2f} | {r['seconds']:.1f} |"
        )
    s = summary
    lines += [
        "",
        f"- {s['cases']} captures: success at ratio ≤ 1.5 / 2 / 3: {s['success_1.5']:.0%} / "
        f"{s['success_2']:.0%} / {s['success_3']:.0%}; median ratio {s['median_ratio']:.2f} "
        f"(over our own true-kernel restoration: {s['median_ratio_own_true']:.2f})",
        f"- mean PSNR {s['mean_psnr']:.2f} dB with the estimate, {s['mean_psnr_true']:.2f} dB "
        "with the true kernel",
        f"- non-blind step: our true-kernel SSD / Levin's, median {s['median_true_vs_levin']:.2f}"
        f"; above 1 on kernels {s['kernels_true_above_levin']}",
        f"- kernel estimation: median {s['median_seconds']:.1f} s per capture",
        "",
        "Published mean PSNR on all 32 captures (this is half of them): "
        + ", ".join(f"{k} {v:.2f}" for k, v in PUBLISHED_PSNR.items()),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="the folder of imII_kerKK.mat captures")
    parser.add_argument("--quick", action="store_true", help="two captures only")
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    if args.path is None:
        print("bench.levin: no folder given (the data is not in the repository); nothing run")
        return 0
    folder = Path(args.path)
    files = sorted(p for p in folder.glob("im*_ker*.mat") if _NAME.search(p.name))
    if not files:
        print(f"bench.levin: no imII_kerKK.mat files in {folder}", file=sys.stderr)
        return 2
    if args.quick:
        files = files[:2]
    rows = []
    for path in files:
        row = run_case(read_case(path))
        rows.append(row)
        print(
            f"im{row['photo']:02d} ker{row['kernel']:02d}: ratio {row['ratio']:.2f} "
            f"(own {row['ratio_own_true']:.2f}), PSNR {row['psnr_found']:.2f} / true "
            f"{row['psnr_true']:.2f}, true/Levin {row['true_vs_levin']:.2f}, "
            f"{row['seconds']:.1f} s",
            flush=True,
        )
    summary = summarise(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "levin-quick" if args.quick else "levin"
    (out / f"{stem}.json").write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    (out / f"{stem}.md").write_text(markdown(rows, summary))
    print(markdown(rows, summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
