"""The headline figure: PSNR gain against milliseconds per frame, one point per method.

Reads the latest ``bench/results/quality.json`` (mean PSNR gain over the blurred input,
averaged over every σ × noise cell) and the latest ``throughput-*.json`` (CPU, 1080p
float32 grey; scikit-image's peers only run up to 720p and are scaled by the pixel count,
marked ``*``). Two CPU peers compute one of our filters with another library's code, so
their quality is the filter's (marked ``†``): the OpenCV unsharp mask with the ``unsharp``
fit's σ and amount, and the plain ``scipy.fft`` Wiener with a precomputed response
(periodic borders; the quality
protocol's 16-pixel crop hides most of that border error). Writes
``bench/results/pareto.png`` and prints the points.

Run: ``python -m bench.pareto``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

RESULTS = Path("bench/results")
#: Quality-benchmark name → throughput-benchmark name.
NAMES = {
    "wiener": "wiener (FFT)",
    "gauss-lap": "gauss-lap",
    "atrous-2": "atrous",
    "unsharp": "unsharp",
    "fir": "fir",
    "skimage wiener (tuned)": "skimage wiener",
    "skimage unsupervised_wiener": "skimage unsupervised_wiener",
    "skimage richardson_lucy (30 it)": "skimage richardson_lucy (30 it)",
}
#: Throughput peers that compute one of our filters: peer name → quality-benchmark name.
SAME_FILTER = {
    "OpenCV unsharp mask": "unsharp",
    "scipy.fft Wiener (periodic)": "wiener",
}


def points(quality: dict, throughput: dict) -> list[dict]:
    """(method, ms, gain dB, scaled?) for methods present in both results."""
    gains = {
        m: float(np.mean([c["psnr"][m] - c["psnr"]["blurred"] for c in quality["cells"]]))
        for m in NAMES
        if m in quality["cells"][0]["psnr"]
    }
    rows = {
        (r["method"], r["size"]): r
        for r in throughput["rows"]
        if r["format"] == "float32 grey" and r["backend"] == "cpu"
    }
    out = []
    named = [(name, NAMES[name], gain, "") for name, gain in gains.items()]
    named += [
        (peer, peer, gains[ours], " †") for peer, ours in SAME_FILTER.items() if ours in gains
    ]
    for name, target, gain, mark in named:
        if (target, "1080p") in rows:
            out.append(
                {
                    "method": name + mark,
                    "ms": rows[(target, "1080p")]["median_ms"],
                    "gain_db": gain,
                    "scaled": False,
                }
            )
        elif (target, "720p") in rows:
            out.append(
                {
                    "method": name + mark,
                    "ms": rows[(target, "720p")]["median_ms"] * 2.25,
                    "gain_db": gain,
                    "scaled": True,
                }
            )
    return out


def main() -> int:
    quality = json.loads((RESULTS / "quality.json").read_text())
    runs = sorted(RESULTS.glob("throughput-[!q]*.json"), key=lambda p: p.stat().st_mtime)
    if not runs:
        print("bench.pareto: run python -m bench.throughput first")
        return 2
    pts = points(quality, json.loads(runs[-1].read_text()))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for p in pts:
        ours = p["method"] in NAMES and not p["method"].startswith("skimage")
        ax.scatter(p["ms"], p["gain_db"], color="C0" if ours else "C1", s=40)
        label = p["method"] + (" *" if p["scaled"] else "")
        # Peers' labels below their points, ours above: the peers that compute one of our
        # filters sit at that filter's quality, next to it.
        ax.annotate(
            label,
            (p["ms"], p["gain_db"]),
            textcoords="offset points",
            xytext=(5, 4) if ours else (5, -11),
            fontsize=8,
        )
        print(f"{label:<36}{p['ms']:10.1f} ms{p['gain_db']:8.2f} dB")
    ax.set_xscale("log")
    ax.set_xlabel("ms per 1080p grey float32 frame, CPU (log)")
    ax.set_ylabel("mean PSNR gain over the blurred input (dB)")
    ax.set_title(
        "quality against speed — blue: gpudeconv, orange: peers\n"
        "† our filter in the peer's code; * scaled from 720p",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(RESULTS / "pareto.png", dpi=100, bbox_inches="tight")
    print(f"wrote {RESULTS / 'pareto.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
