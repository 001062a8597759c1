"""How to evaluate ``F x = Σ w_j G_j x`` fastest on the CPU: the candidates, timed.

1080p RGB float32, the default ``gauss-lap`` filter fitted for σ = 1 (6 terms, up to
17 taps), all candidates round-robin in one run. Each candidate's largest deviation from
the float64 reference is printed next to its time: only exact ones qualify.

Run: ``python -m bench.cpu_strategies``.
"""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np

from bench.timing import measure_interleaved
from gpudeconv import Pipeline, fit
from gpudeconv.core import psf
from gpudeconv.core.psf import gaussian_1d
from gpudeconv.restoration.reference import apply_reference

BORDER = cv2.BORDER_REFLECT


def main() -> None:
    rng = np.random.default_rng(0)
    frame = rng.random((1080, 1920, 3), dtype=np.float32)
    filt = fit(psf.gaussian(1.0), noise=0.002, quantization_bits=8)
    terms = [(ky.astype(np.float32), kx.astype(np.float32)) for ky, kx in filt.terms]
    weights = [float(w) for w in filt.weights]
    out, tmp = np.empty_like(frame), np.empty_like(frame)

    def per_term() -> np.ndarray:
        np.multiply(frame, np.float32(weights[0]), out=out)
        for w, (ky, kx) in zip(weights[1:], terms[1:], strict=True):
            cv2.sepFilter2D(frame, cv2.CV_32F, kx, ky, dst=tmp, borderType=BORDER)
            cv2.scaleAdd(tmp, w, out, dst=out)
        return out

    dense = filt.kernel().astype(np.float32)

    def dense_filter2d() -> np.ndarray:
        return cv2.filter2D(frame, cv2.CV_32F, dense, dst=out, borderType=BORDER)

    u, s, vt = np.linalg.svd(filt.kernel())
    rank = int(np.sum(s > 1e-12 * s[0]))
    svd_terms = [
        (
            (u[:, i] * math.sqrt(s[i])).astype(np.float32),
            (vt[i] * math.sqrt(s[i])).astype(np.float32),
        )
        for i in range(rank)
    ]

    def svd_rank() -> np.ndarray:
        out[...] = 0
        for ky, kx in svd_terms:
            cv2.sepFilter2D(frame, cv2.CV_32F, kx, ky, dst=tmp, borderType=BORDER)
            cv2.add(out, tmp, dst=out)
        return out

    # Cascade: each Gaussian as the previous one blurred by an increment (not the same
    # pixel-integrated Gaussians, so not exact for this basis: timed for its pass count).
    sigmas = filt.basis_params["sigmas_y"]
    increments = [sigmas[0]] + [
        math.sqrt(max(b * b - a * a, 0.01)) for a, b in itertools.pairwise(sigmas)
    ]
    inc_taps = [gaussian_1d(v, max(1, math.ceil(3 * v))).astype(np.float32) for v in increments]

    def horner_cascade() -> np.ndarray:
        np.multiply(frame, np.float32(weights[-1]), out=out)
        for j in range(len(inc_taps), 0, -1):
            k = inc_taps[j - 1]
            cv2.sepFilter2D(out, cv2.CV_32F, k, k, dst=tmp, borderType=BORDER)
            cv2.scaleAdd(frame, weights[j - 1], tmp, dst=out)
        return out

    pipe = Pipeline(filt, shape=frame.shape, dtype=np.float32, backend="cpu")
    strips_out = np.empty_like(frame)

    def strips() -> np.ndarray:
        return pipe(frame, out=strips_out)

    candidates = {
        "per-term, whole frame": per_term,
        "dense filter2D": dense_filter2d,
        f"SVD, rank {rank}": svd_rank,
        "Horner cascade (not exact)": horner_cascade,
        "strips on a thread pool (CpuBackend)": strips,
    }
    reference = apply_reference(frame, filt)
    errors = {name: float(np.abs(fn() - reference).max()) for name, fn in candidates.items()}
    timings = measure_interleaved(candidates, repeats=9)
    print("| strategy | ms (median) | IQR ms | max error vs float64 |")
    print("|---|---|---|---|")
    for name, t in timings.items():
        print(
            f"| {name} | {t['median_ms']:.1f} | {t['p25_ms']:.1f}–{t['p75_ms']:.1f} | "
            f"{errors[name]:.1e} |"
        )


if __name__ == "__main__":
    main()
