"""Figures: fitted responses over frequency, like the article's (matplotlib, optional)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .filters import DeconvFilter
from .fit.targets import psf_response
from .wiener import wiener_response

__all__ = ["plot_fit"]


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
        otf = np.diag(psf_response(filt.psf, wy[:, None], wx[None, :]))
        target = wiener_response(otf, wy, wx, noise=filt.noise, prior=filt.prior).real
        response = filt.response(wx, wy)
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
