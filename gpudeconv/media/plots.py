"""Every figure gpudeconv draws (matplotlib, optional): fitted responses, before/after.

Matplotlib is imported only when a figure is drawn (``pip install 'gpudeconv[bench]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core.spectra import psf_response, wiener_response
from ..fit import DeconvFilter

__all__ = ["compare_figure", "plot_fit"]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "plots need matplotlib; install it with pip install 'gpudeconv[bench]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_fit(filt: DeconvFilter, path: str | Path) -> None:
    """Plot blur response, Wiener target, fitted response and ``|F·H|`` along two slices.

    Slices: along x (``wy = 0``) and along the diagonal (``wx = wy``), ω from 0 to π.
    """
    plt = _pyplot()
    w = np.linspace(0.0, np.pi, 256)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, (label, wy, wx) in zip(
        axes, [("along x (ωy = 0)", 0 * w, w), ("diagonal (ωx = ωy)", w, w)], strict=True
    ):
        otf = np.diag(psf_response(filt.psf, wy, wx))
        target = wiener_response(otf, wy, wx, noise=filt.noise, prior=filt.prior).real
        response = filt.response(wy, wx)
        ax.plot(w, np.abs(otf), label="blur |H|", color="0.5")
        ax.plot(w, target, label="Wiener target Re W", color="C1", lw=2)
        ax.plot(w, response, label=f"fitted F ({filt.basis})", color="C0", ls="--", lw=2)
        ax.plot(w, np.abs(response * otf), label="restored |F·H|", color="C2")
        ax.axhline(1.0, color="k", lw=0.5)
        ax.set_xlabel("ω (rad/pixel)")
        ax.set_title(label)
        ax.set_xlim(0, np.pi)
    axes[0].set_ylabel("response")
    axes[0].legend(loc="upper left", fontsize=8)
    d = filt.diagnostics
    fig.suptitle(
        f"{filt.basis}/{filt.objective}, noise {filt.noise:.4g}: expected gain "
        f"{d['mse_gain_db']:.2f} dB (Wiener {d['wiener_gain_db']:.2f} dB), "
        f"peak gain {d['peak_gain']:.2f}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def compare_figure(
    before: np.ndarray,
    after: np.ndarray,
    kernel: np.ndarray,
    filt: DeconvFilter | None,
    path: str | Path,
) -> None:
    """Input and restored crops (BGR code values), the PSF, and the responses along x."""
    import cv2

    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.2))
    h, w = before.shape[:2]
    crop = (slice(h // 4, h // 4 + min(h // 2, 256)), slice(w // 4, w // 4 + min(w // 2, 256)))
    for ax, image, title in ((axes[0], before, "input"), (axes[1], after, "restored")):
        shown = image[crop]
        if shown.ndim == 3:
            shown = cv2.cvtColor(shown[..., :3], cv2.COLOR_BGR2RGB)
        scale = np.iinfo(image.dtype).max if image.dtype.kind == "u" else 1.0
        ax.imshow(np.clip(shown.astype(np.float64) / scale, 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title)
        ax.axis("off")
    axes[2].imshow(kernel, cmap="magma")
    axes[2].set_title(f"PSF {kernel.shape[0]}x{kernel.shape[1]}")
    omega = np.linspace(0, np.pi, 256)
    otf = np.abs(psf_response(kernel, np.zeros(1), omega))[0]
    axes[3].plot(omega, otf, label="blur |H|", color="0.5")
    if filt is not None:
        response = filt.response(0 * omega, omega)
        axes[3].plot(omega, response, label=f"fitted F ({filt.basis})")
        axes[3].plot(omega, np.abs(response * otf), label="|F·H|")
    axes[3].axhline(1, color="k", lw=0.5)
    axes[3].set_xlabel("ω along x (rad/pixel)")
    axes[3].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
