"""Throughput of every method and of the tools people would use instead, in one run.

Rows: our methods (``gauss-lap``, ``atrous``, ``fir``, ``unsharp`` through the
``Pipeline``; the FFT ``wiener`` reference) per backend (``cpu``; ``cuda`` when usable),
size (720p, 1080p, 4K) and format (uint8 BGR, float32 grey, float32 RGB); the peers on
the float32 formats; a plain copy of the frame as the bandwidth ceiling. Every row reuses
one frame (hot caches) except ``gauss-lap, cold``, which cycles through 8 frames (cold).

Peers are made equivalent first and their output is checked against ours before timing,
or the run fails: ``cv2.filter2D`` and ``scipy.ndimage.correlate`` with our dense kernel
and reflect borders (must equal the ``gauss-lap`` pipeline within 1e-4), a plain
``scipy.fft`` Wiener filter with the same prior (must equal ``gpudeconv.wiener`` with
periodic borders). Peers that are different methods — scikit-image's ``wiener``,
``unsupervised_wiener`` and ``richardson_lucy`` (30 iterations), an OpenCV unsharp mask —
are timed as they are and marked so; scikit-image's are 2-D only and take seconds per
frame, so they run on grey frames up to 720p. Peers that are not installed are listed as
"not installed".

Run: ``python -m bench.throughput [--quick] [--out bench/results]`` (or ``gpudeconv bench``).
"""

from __future__ import annotations

import argparse
import platform
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import scipy.fft
import scipy.ndimage as ndi

from bench.peers import EQUAL_TOL, filter2d_peer, polyblur_status
from bench.timing import machine, measure_interleaved, write_results
from gpudeconv import FitQualityWarning, Pipeline, fit, wiener
from gpudeconv.core import psf
from gpudeconv.core.spectra import total_noise as with_quantisation
from gpudeconv.core.spectra import wiener_response
from gpudeconv.engine.backends import cuda_unavailable_reason

SIZES = {"720p": (720, 1280), "1080p": (1080, 1920), "4K": (2160, 3840)}
QUICK_SIZES = {"tiny": (64, 96)}
FORMATS = {
    "uint8 BGR": (np.uint8, 3),
    "float32 grey": (np.float32, 1),
    "float32 RGB": (np.float32, 3),
}
OURS = ("gauss-lap", "atrous", "fir", "unsharp")
FILTER2D = "cv2.filter2D"
UNCHECKED = "gauss-lap, check_finite=False"
SIGMA, NOISE = 1.0, 0.002
SLOW_PEER_MAX_PIXELS = 1280 * 720
#: Frames cycled for the cold-cache row: more bytes than the last-level cache holds.
ROTATING = 8


def _frame(rng: np.random.Generator, shape: tuple[int, int], fmt: str) -> np.ndarray:
    dtype, channels = FORMATS[fmt]
    full = (*shape, channels) if channels > 1 else shape
    if dtype == np.uint8:
        return rng.integers(0, 256, full, dtype=np.uint8)
    return rng.random(full, dtype=np.float32)


def _scipy_fft_wiener(image: np.ndarray, otf: np.ndarray, response: np.ndarray) -> np.ndarray:
    spectrum = scipy.fft.rfft2(image, axes=(0, 1), workers=-1)
    shaped = response if image.ndim == 2 else response[..., None]
    return scipy.fft.irfft2(spectrum * shaped, s=image.shape[:2], axes=(0, 1), workers=-1)


def _peers(
    frame: np.ndarray, filters: dict, kernel: np.ndarray, total_noise: float
) -> tuple[dict[str, Callable[[], Any]], dict[str, str]]:
    """Peer callables for a float32 frame, checked against ours; and notes per peer."""
    notes: dict[str, str] = {}
    calls: dict[str, Callable[[], Any]] = {}
    for basis in OURS:  # the engine must never be slower than one OpenCV call
        name = f"{FILTER2D} ({basis} kernel)"
        calls[name], error = filter2d_peer(filters[basis], frame, np.empty_like(frame))
        notes[name] = f"one call, the same filter as {basis} (max diff {error:.1e})"
    dense = filters["gauss-lap"].kernel().astype(np.float32)
    ours = Pipeline(filters["gauss-lap"], shape=frame.shape, dtype=np.float32, backend="cpu")(frame)

    def correlate() -> np.ndarray:
        return ndi.correlate(frame, dense if frame.ndim == 2 else dense[..., None], mode="reflect")

    error = float(np.abs(correlate() - ours).max())
    if error > EQUAL_TOL:
        raise RuntimeError(f"peer scipy.ndimage.correlate differs from gauss-lap by {error:.2e}")
    calls["scipy.ndimage.correlate"] = correlate
    notes["scipy.ndimage.correlate"] = f"same filter as gauss-lap (max diff {error:.1e})"
    h, w = frame.shape[:2]
    otf = psf.otf(kernel, (h, w), half=True)
    wy = 2 * np.pi * np.fft.fftfreq(h)[:, None]
    wx = 2 * np.pi * np.fft.rfftfreq(w)[None, :]
    # The same response formula as ours, computed once; the peer is the plain FFT around it.
    response = wiener_response(otf, wy, wx, noise=total_noise).astype(np.complex64)
    reference = wiener(frame, kernel, noise=total_noise, boundary="periodic")
    error = float(np.abs(_scipy_fft_wiener(frame, otf, response) - reference).max())
    if error > EQUAL_TOL:
        raise RuntimeError(f"peer scipy.fft Wiener differs from gpudeconv.wiener by {error}")
    calls["scipy.fft Wiener (periodic)"] = lambda: _scipy_fft_wiener(frame, otf, response)
    notes["scipy.fft Wiener (periodic)"] = f"same as wiener(boundary='periodic') ({error:.1e})"
    unsharp = filters["unsharp"]
    sigma, amount = unsharp.basis_params["sigma"], float(unsharp.coefficients[0])
    calls["OpenCV unsharp mask"] = lambda: cv2.addWeighted(
        frame,
        1 + amount,
        cv2.GaussianBlur(frame, (0, 0), sigma, borderType=cv2.BORDER_REFLECT),
        -amount,
        0,
    )
    notes["OpenCV unsharp mask"] = "different method (sampled Gaussian, same σ and amount)"
    try:
        from skimage import restoration
    except ImportError:
        for name in (
            "skimage wiener",
            "skimage unsupervised_wiener",
            "skimage richardson_lucy (30 it)",
        ):
            notes[name] = "not installed"
        return calls, notes
    if frame.ndim == 2 and frame.size <= SLOW_PEER_MAX_PIXELS:
        calls["skimage wiener"] = lambda: restoration.wiener(frame, kernel, balance=0.01)
        calls["skimage unsupervised_wiener"] = lambda: restoration.unsupervised_wiener(
            frame, kernel, rng=0
        )
        calls["skimage richardson_lucy (30 it)"] = lambda: restoration.richardson_lucy(
            frame, kernel, num_iter=30
        )
        for name in (
            "skimage wiener",
            "skimage unsupervised_wiener",
            "skimage richardson_lucy (30 it)",
        ):
            notes[name] = "different method"
    return calls, notes


def run(sizes: dict[str, tuple[int, int]], repeats: int) -> dict:
    """Every row of the module docstring, timed round-robin per (size, format)."""
    kernel = psf.gaussian(SIGMA)
    total_noise = with_quantisation(NOISE, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitQualityWarning)
        filters = {b: fit(kernel, noise=NOISE, quantization_bits=8, basis=b) for b in OURS}
    backends = ["cpu"] + ([] if cuda_unavailable_reason() else ["cuda"])
    rng = np.random.default_rng(0)
    rows, notes = [], {}
    for size, shape in sizes.items():
        for fmt in FORMATS:
            frame = _frame(rng, shape, fmt)
            out = np.empty_like(frame)
            calls: dict[tuple[str, str], Callable[[], Any]] = {
                ("copy (bandwidth ceiling)", "cpu"): lambda f=frame, o=out: np.copyto(o, f),
                ("wiener (FFT)", "cpu"): lambda f=frame: wiener(f, kernel, noise=total_noise),
            }
            for backend in backends:
                for basis, filt in filters.items():
                    pipe = Pipeline(filt, shape=frame.shape, dtype=frame.dtype, backend=backend)
                    calls[(basis, backend)] = lambda p=pipe, f=frame, o=out: p(f, out=o)
            if frame.dtype == np.float32:  # what checking every frame for NaN/Inf costs
                unchecked = Pipeline(
                    filters["gauss-lap"],
                    shape=frame.shape,
                    dtype=frame.dtype,
                    backend="cpu",
                    check_finite=False,
                )
                calls[(UNCHECKED, "cpu")] = lambda p=unchecked, f=frame, o=out: p(f, out=o)
            # Hot rows reuse one frame (it stays in cache when it fits); this row cycles
            # through several, as a video does.
            cold = [_frame(rng, shape, fmt) for _ in range(ROTATING)]
            cold_pipe = Pipeline(
                filters["gauss-lap"], shape=frame.shape, dtype=frame.dtype, backend="cpu"
            )
            turn = iter(range(10**9))
            calls[("gauss-lap, cold (rotating frames)", "cpu")] = (
                lambda p=cold_pipe, c=cold, o=out, t=turn: p(c[next(t) % ROTATING], out=o)
            )
            if frame.dtype == np.float32:
                peer_calls, peer_notes = _peers(frame, filters, kernel, total_noise)
                notes.update(peer_notes)
                calls.update({(name, "cpu"): call for name, call in peer_calls.items()})
            timings = measure_interleaved(calls, repeats=repeats, warmup=1)
            reference = timings[("wiener (FFT)", "cpu")]["median_ms"]
            ceiling = timings[("copy (bandwidth ceiling)", "cpu")]["median_ms"]
            nbytes = 2 * frame.nbytes  # one read, one write
            for (method, backend), t in timings.items():
                ms = t["median_ms"]
                rows.append(
                    {
                        "size": size,
                        "format": fmt,
                        "method": method,
                        "backend": backend,
                        **t,
                        "mpix_per_s": shape[0] * shape[1] / ms / 1e3,
                        "fps": 1e3 / ms,
                        "gb_per_s": nbytes / ms / 1e6,
                        "vs_wiener": reference / ms,
                        "vs_copy": ceiling / ms,
                        "ours": method in OURS or method.startswith(("wiener (FFT)", "gauss-lap")),
                    }
                )
    missing = sorted(name for name, note in notes.items() if note == "not installed")
    return {
        "machine": machine(),
        "sigma": SIGMA,
        "noise": NOISE,
        "rows": rows,
        "peer_notes": notes,
        "not_installed": missing,
        "polyblur": polyblur_status(),
        "verdicts": verdicts(rows),
    }


def verdicts(rows: list[dict]) -> list[str]:
    """The CPU pipeline against one cv2.filter2D call with the filter's own dense kernel.

    Issue 10's target: never slower (ratio of medians in the same run ≤ 1.0).
    """
    out = []
    by_key = {(r["size"], r["format"], r["method"], r["backend"]): r for r in rows}
    for (size, fmt, method, backend), r in by_key.items():
        basis = "gauss-lap" if method == UNCHECKED else method
        peer = by_key.get((size, fmt, f"{FILTER2D} ({basis} kernel)", "cpu"))
        if backend != "cpu" or peer is None or (method not in OURS and method != UNCHECKED):
            continue
        ratio = r["median_ms"] / peer["median_ms"]
        out.append(
            f"{'MET ' if ratio <= 1.0 else 'MISS'} {size} {fmt} {method}: "
            f"{r['median_ms']:.2f} ms vs one cv2.filter2D {peer['median_ms']:.2f} ms "
            f"(ratio {ratio:.2f}, target <= 1.0)"
        )
    return out


def markdown(result: dict) -> str:
    """One table: ms, fps, GB/s, ratios to the FFT reference and the copy ceiling."""
    lines = [
        "| size | format | method | backend | ms | fps | Mpix/s | GB/s | × FFT Wiener | "
        "share of copy speed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        name = r["method"] if r["ours"] or "copy" in r["method"] else f"*{r['method']}*"
        lines.append(
            f"| {r['size']} | {r['format']} | {name} | {r['backend']} | "
            f"{r['median_ms']:.2f} | {r['fps']:.1f} | {r['mpix_per_s']:.0f} | "
            f"{r['gb_per_s']:.2f} | {r['vs_wiener']:.2f} | {r['vs_copy']:.3f} |"
        )
    lines.append("")
    lines.append(
        "Peers in *italics*. "
        + "; ".join(f"{k}: {v}" for k, v in sorted(result["peer_notes"].items()))
    )
    lines.append(f"Polyblur: {result['polyblur']}.")
    lines += ["", *result["verdicts"]]
    return "\n".join(lines)


def bar_charts(result: dict, path: Path) -> None:
    """Bar charts of milliseconds per frame, one panel per (size, format)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple[str, str], list[dict]] = {}
    for r in result["rows"]:
        groups.setdefault((r["size"], r["format"]), []).append(r)
    fig, axes = plt.subplots(
        len(groups),
        1,
        figsize=(9, 2.2 + 0.35 * sum(len(v) for v in groups.values())),
        squeeze=False,
    )
    for ax, ((size, fmt), rows) in zip(axes[:, 0], groups.items(), strict=True):
        rows = sorted(rows, key=lambda r: r["median_ms"])
        labels = [f"{r['method']} [{r['backend']}]" for r in rows]
        colours = ["C0" if r["ours"] else ("0.6" if "copy" in r["method"] else "C1") for r in rows]
        ax.barh(labels, [r["median_ms"] for r in rows], color=colours)
        ax.set_xscale("log")
        ax.set_title(f"{size}, {fmt}: ms per frame (blue: ours, orange: peers)", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny frames, few repeats")
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    result = run(QUICK_SIZES if args.quick else SIZES, repeats=3 if args.quick else 5)
    stem = f"{platform.node() or 'host'}-{date.today().isoformat()}"
    stem = f"throughput-quick-{stem}" if args.quick else f"throughput-{stem}"
    table = markdown(result)
    path = write_results(args.out, stem, result, table)
    bar_charts(result, path.with_suffix(".png"))
    print(table)
    print(f"\nwrote {path.with_suffix('')}.json/.md/.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
