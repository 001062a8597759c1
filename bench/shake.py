"""Camera-shake kernels for the stills benchmark (issue 15), saved in ``bench/data/``.

A kernel is the path of a point light across the sensor during the exposure: here a
random walk with momentum (:data:`STEPS` steps of equal time; velocity ``v ← m v + s ξ``,
position ``p ← p + v``), sampled along the path at :data:`SAMPLES` sub-pixel positions
(linear between steps: slow parts of the path collect more light), scaled so its longer
extent is the kernel's size minus 2 px, and splatted bilinearly (each sample's weight
shared by the four pixels around it): sub-pixel accurate, like Levin et al.'s and
Köhler et al.'s recorded kernels.
Normalised to sum 1. The set is fixed (seeded): ``python -m bench.shake`` rewrites
``bench/data/shake_kernels.npz`` and ``shake_kernels.png``; the benchmark reads the file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

#: The eight kernel sizes (px), from a slight jitter to a long shake.
SIZES = (9, 13, 15, 17, 21, 25, 27, 31)
STEPS, SAMPLES = 48, 4000
MOMENTUM, STEP = 0.85, 0.5
SEED = 2026
DATA = Path(__file__).parent / "data"
FILE = DATA / "shake_kernels.npz"


def shake_kernel(rng: np.random.Generator, size: int) -> np.ndarray:
    """One camera-shake kernel of ``size`` × ``size`` (odd), normalised."""
    velocity = rng.normal(size=2)
    path = np.zeros((STEPS + 1, 2))
    for i in range(STEPS):
        velocity = MOMENTUM * velocity + STEP * rng.normal(size=2)
        path[i + 1] = path[i] + velocity
    time = np.linspace(0, STEPS, SAMPLES)
    points = np.stack([np.interp(time, np.arange(STEPS + 1), path[:, a]) for a in (0, 1)], 1)
    points -= (points.max(axis=0) + points.min(axis=0)) / 2  # centre the path's box
    extent = float(np.ptp(points, axis=0).max())
    points *= (size - 3) / max(extent, 1e-9)
    points += (size - 1) / 2
    kernel = np.zeros((size, size))
    base = np.floor(points).astype(int)
    frac = points - base
    for dy in (0, 1):
        for dx in (0, 1):
            weight = (frac[:, 0] if dy else 1 - frac[:, 0]) * (frac[:, 1] if dx else 1 - frac[:, 1])
            np.add.at(kernel, (base[:, 0] + dy, base[:, 1] + dx), weight)
    return kernel / kernel.sum()


def kernel_correlation(
    a: np.ndarray, b: np.ndarray, *, subpixel: bool = False
) -> tuple[float, tuple[float, float]]:
    """Normalised correlation of two kernels at their best relative shift, and the shift.

    ``subpixel``: refine the whole-pixel shift within ±1 px by 0.1 px (Fourier shift of
    ``b``): a kernel is known up to a translation, sub-pixel ones included — a ½-px
    shift alone takes a 9-px shake kernel's correlation with itself to 0.89.
    """
    from scipy import ndimage

    n = 2 * max(a.shape[0], b.shape[0])
    grids = []
    for k in (a, b):
        grid = np.zeros((n, n))
        top = (n - k.shape[0]) // 2
        grid[top : top + k.shape[0], top : top + k.shape[1]] = k
        grids.append(grid)
    fa, fb = np.fft.fft2(grids[0]), np.fft.fft2(grids[1])
    c = np.real(np.fft.ifft2(fa * np.conj(fb)))
    peak = np.unravel_index(np.argmax(c), c.shape)
    shift = tuple(float((p + n // 2) % n - n // 2) for p in peak)
    best = float(c[peak] / np.linalg.norm(grids[0]) / np.linalg.norm(grids[1]))
    if subpixel:
        found = shift
        for dy in np.linspace(-1, 1, 21):
            for dx in np.linspace(-1, 1, 21):
                trial = (shift[0] + dy, shift[1] + dx)
                moved = np.real(np.fft.ifft2(ndimage.fourier_shift(fb, trial)))
                value = float((grids[0] * moved).sum() / np.linalg.norm(grids[0]))
                value /= np.linalg.norm(moved)
                if value > best:
                    best, found = value, trial
        shift = found
    return best, shift


def make_kernels(seed: int = SEED) -> dict[str, np.ndarray]:
    """The benchmark's kernels, by name (``shake-<size>``)."""
    rng = np.random.default_rng(seed)
    return {f"shake-{size}": shake_kernel(rng, size) for size in SIZES}


def load_kernels() -> dict[str, np.ndarray]:
    """The saved kernels (``bench/data/shake_kernels.npz``)."""
    with np.load(FILE) as saved:
        return {name: saved[name] for name in saved.files}


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kernels = make_kernels()
    DATA.mkdir(exist_ok=True)
    np.savez_compressed(FILE, **kernels)
    fig, axes = plt.subplots(1, len(kernels), figsize=(2 * len(kernels), 2.3))
    for ax, (name, kernel) in zip(axes, kernels.items(), strict=True):
        ax.imshow(kernel, cmap="gray", interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(DATA / "shake_kernels.png", dpi=80)
    print(f"wrote {FILE} and shake_kernels.png ({len(kernels)} kernels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
