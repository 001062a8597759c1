"""Restoration quality: PSNR of every method over photographs × blur σ × noise.

Protocol (issue 3): grey ``skimage.data`` photographs in [0, 1]; Gaussian blur applied
with reflect boundaries; white noise, then 8-bit quantisation; PSNR over the interior
(a 16-pixel border excluded). Filters are fitted for the blur, the noise and the 8-bit
rounding (``quantization_bits=8``); the FFT Wiener reference gets the same total noise and
the same natural-image prior. Fitted filters are applied in float64
(``gpudeconv.restoration.reference.apply_reference``),
so the numbers measure the filters, not a backend.

Run ``python -m bench.quality [--quick] [--out bench/results]``; writes ``quality.json`` and
``quality.md`` and prints the Markdown table with the issue's targets checked per cell.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from collections.abc import Callable

import numpy as np

from bench.images import QUALITY_IMAGES, grey_photo
from bench.peers import polyblur_status
from bench.timing import write_results
from gpudeconv import wiener
from gpudeconv.core import degrade, metrics, psf
from gpudeconv.core.spectra import total_noise
from gpudeconv.fit import FitQualityWarning, fit
from gpudeconv.restoration.reference import apply_reference

SIGMAS = (0.4, 0.6, 0.8, 1.0, 1.5, 2.0)
NOISES = (0.0, 0.002, 0.01)
CROP = 16
QUICK = {"images": ("camera", "coffee"), "sigmas": (0.6, 1.5), "noises": (0.002, 0.01)}

#: name -> fit() keyword arguments; 'blurred' and 'wiener' are handled separately.
FITTED = {
    "gauss-lap": {"basis": "gauss-lap"},
    "gauss-lap/response": {"basis": "gauss-lap", "objective": "response"},
    "atrous-2": {"basis": "atrous", "levels": 2},
    "atrous-3": {"basis": "atrous", "levels": 3},
    "unsharp": {"basis": "unsharp"},
    "fir": {"basis": "fir"},
}
METHODS = ("blurred", "wiener", *FITTED)
#: Peers from scikit-image (2-D, grey): its Wiener filter with the balance tuned per cell
#: on one image (camera) and then held fixed for all, its unsupervised Wiener, and
#: Richardson–Lucy with 30 iterations.
PEERS = ("skimage wiener (tuned)", "skimage unsupervised_wiener", "skimage richardson_lucy (30 it)")
BALANCES = tuple(float(b) for b in np.geomspace(1e-4, 1.0, 9))


def _tuned_balance(kernel: np.ndarray, noise: float, sharp: np.ndarray) -> float:
    """The balance of skimage's wiener that maximises PSNR on one image (camera)."""
    from skimage import restoration

    degraded = degrade.quantize(degrade.add_noise(degrade.blur(sharp, kernel), noise, seed=99))
    inner = (slice(CROP, -CROP),) * 2
    scores = {
        b: metrics.psnr(sharp[inner], restoration.wiener(degraded, kernel, b, clip=False)[inner])
        for b in BALANCES
    }
    return max(scores, key=scores.get)


def _peer_restorers(
    kernel: np.ndarray, noise: float, tuning_image: np.ndarray
) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    from skimage import restoration

    balance = _tuned_balance(kernel, noise, tuning_image)
    return {
        "skimage wiener (tuned)": lambda y: restoration.wiener(y, kernel, balance, clip=False),
        "skimage unsupervised_wiener": lambda y: restoration.unsupervised_wiener(
            y, kernel, clip=False, rng=0
        )[0],
        "skimage richardson_lucy (30 it)": lambda y: restoration.richardson_lucy(
            np.clip(y, 0, None), kernel, num_iter=30, clip=False
        ),
    }


def _restorers(sigma: float, noise: float) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    kernel = psf.gaussian(sigma)
    total = total_noise(noise, 8)
    out: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "blurred": lambda y: y,
        "wiener": lambda y: wiener(y, kernel, noise=total),
    }
    for name, options in FITTED.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitQualityWarning)  # reported in the table instead
            filt = fit(kernel, noise=noise, quantization_bits=8, **options)
        out[name] = lambda y, f=filt: apply_reference(y, f)
    return out


def run(
    images: tuple[str, ...],
    sigmas: tuple[float, ...],
    noises: tuple[float, ...],
    *,
    peers: bool = True,
) -> dict:
    """Measure every (method, σ, noise) cell; PSNR averaged over ``images``."""
    photos = {name: grey_photo(name) for name in images}
    tuning = grey_photo("camera")
    cells = []
    for sigma in sigmas:
        kernel = psf.gaussian(sigma)
        for noise in noises:
            restorers = _restorers(sigma, noise)
            if peers:
                restorers.update(_peer_restorers(kernel, noise, tuning))
            scores: dict[str, list[float]] = {m: [] for m in restorers}
            for k, (_, sharp) in enumerate(photos.items()):
                blurred = degrade.blur(sharp, kernel, boundary="reflect")
                degraded = degrade.quantize(degrade.add_noise(blurred, noise, seed=k))
                inner = (slice(CROP, -CROP),) * 2
                for name, restore in restorers.items():
                    scores[name].append(metrics.psnr(sharp[inner], restore(degraded)[inner]))
            cells.append(
                {
                    "sigma": sigma,
                    "noise": noise,
                    "psnr": {m: float(np.mean(v)) for m, v in scores.items()},
                }
            )
    return {
        "images": list(images),
        "cells": cells,
        "peers": list(PEERS) if peers else [],
        "polyblur": polyblur_status(),
    }


def check_targets(result: dict) -> list[str]:
    """The issue's targets, one line per violated cell (empty when all are met)."""
    failures = []
    for cell in result["cells"]:
        p, s, n = cell["psnr"], cell["sigma"], cell["noise"]
        where = f"sigma={s} noise={n}"
        if p["gauss-lap"] < p["wiener"] - 0.2:
            failures.append(
                f"{where}: gauss-lap {p['gauss-lap']:.2f} < wiener {p['wiener']:.2f} - 0.2"
            )
        if s >= 0.6 and n <= 0.002 and p["gauss-lap"] - p["blurred"] < 3.0:
            failures.append(f"{where}: gauss-lap gain {p['gauss-lap'] - p['blurred']:.2f} < 3 dB")
        if s <= 1.0 and n >= 0.002 and p["atrous-2"] < p["gauss-lap"] - 1.5:
            failures.append(
                f"{where}: atrous-2 {p['atrous-2']:.2f} more than 1.5 dB under "
                f"gauss-lap {p['gauss-lap']:.2f}"
            )
        for m in ("gauss-lap", "atrous-2", "atrous-3", "unsharp", "fir"):
            if p[m] < p["blurred"]:
                failures.append(f"{where}: {m} {p[m]:.2f} below blurred {p['blurred']:.2f}")
    return failures


def markdown(result: dict) -> str:
    """Mean PSNR (dB) per cell and method, gains relative to the blurred input."""
    methods = (*METHODS, *result.get("peers", []))
    header = "| σ | noise | " + " | ".join(methods) + " |"
    lines = [header, "|" + "---|" * (len(methods) + 2)]
    for cell in result["cells"]:
        p = cell["psnr"]
        row = [f"{p['blurred']:.2f}"] + [
            f"{p[m]:.2f} ({p[m] - p['blurred']:+.2f})" for m in methods[1:]
        ]
        lines.append(f"| {cell['sigma']} | {cell['noise']} | " + " | ".join(row) + " |")
    lines.append(f"\nPolyblur: {result.get('polyblur', 'not checked')}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Restoration quality benchmark (PSNR).")
    parser.add_argument("--quick", action="store_true", help="2 images, 2 sigmas, 2 noises")
    parser.add_argument("--out", default="bench/results", help="folder for quality.json/.md")
    args = parser.parse_args(argv)
    grid = QUICK if args.quick else {"images": QUALITY_IMAGES, "sigmas": SIGMAS, "noises": NOISES}
    start = time.perf_counter()
    result = run(grid["images"], grid["sigmas"], grid["noises"])
    result["machine"] = {
        "python": platform.python_version(),
        "cpu": platform.processor(),
        "numpy": np.__version__,
    }
    result["protocol"] = __doc__.split("\n\n")[1].replace("\n", " ")
    result["failures"] = check_targets(result)
    result["seconds"] = time.perf_counter() - start
    table = markdown(result)
    write_results(args.out, "quality-quick" if args.quick else "quality", result, table)
    print(table)
    print(f"\n{len(result['failures'])} target violations; {result['seconds']:.0f} s")
    for line in result["failures"]:
        print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
