"""The still-photo demo: blur the built-in test card, restore it, report PSNR per method."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..core import degrade, metrics, psf
from ..core.spectra import total_noise
from ..engine.pipeline import Pipeline
from ..fit import fit
from ..restoration.wiener import wiener
from .testcard import test_card

__all__ = ["DemoResult", "run_still_demo"]


@dataclass(frozen=True)
class DemoResult:
    """One method's restoration of the demo card."""

    method: str
    image: np.ndarray
    psnr: float
    ms: float


def _methods(kernel: np.ndarray, noise: float) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    total = total_noise(noise, 8)  # the card is stored in 8 bits
    methods: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    for basis in ("gauss-lap", "atrous"):
        filt = fit(kernel, noise=noise, basis=basis, quantization_bits=8)
        methods[f"{basis} (fitted)"] = lambda y, f=filt: Pipeline(
            f, shape=y.shape, dtype=np.float32, backend="cpu"
        )(y.astype(np.float32))
    methods["wiener (natural prior)"] = lambda y: wiener(y, kernel, noise=total)
    methods["wiener (flat prior)"] = lambda y: wiener(y, kernel, noise=total, prior="flat")
    return methods


def run_still_demo(
    *, sigma: float = 1.2, noise: float = 0.004, size: tuple[int, int] = (480, 640), seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[DemoResult]]:
    """Blur the test card (Gaussian ``sigma``, noise, 8-bit) in linear light and restore it.

    Returns
    -------
    sharp, degraded : ndarray
        Linear-light float32 RGB images.
    results : list of DemoResult
        The degraded input first (method ``'blurred'``), then each restoration.
    """
    sharp = degrade.srgb_to_linear(test_card(*size, seed=seed))
    kernel = psf.gaussian(sigma)
    degraded = degrade.quantize(degrade.add_noise(degrade.blur(sharp, kernel), noise, seed=seed))
    results = [DemoResult("blurred", degraded, metrics.psnr(sharp, degraded), 0.0)]
    for name, method in _methods(kernel, noise).items():
        start = time.perf_counter()
        restored = method(degraded)
        ms = 1e3 * (time.perf_counter() - start)
        results.append(DemoResult(name, restored, metrics.psnr(sharp, restored), ms))
    return sharp, degraded, results


def side_by_side(sharp: np.ndarray, results: list[DemoResult]) -> np.ndarray:
    """Build an 8-bit BGR strip: each result, then the sharp card, labelled, in sRGB."""
    panels = [(r.method, r.image) for r in results] + [("sharp", sharp)]
    tiles = []
    for label, image in panels:
        srgb = degrade.linear_to_srgb(np.clip(image, 0.0, 1.0))
        tile = np.round(srgb[..., ::-1] * 255).astype(np.uint8)
        cv2.putText(
            tile,
            label,
            (8, tile.shape[0] - 10),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6,
            (0, 0, 255),
            2,
            cv2.LINE_AA,
        )
        tiles.append(tile)
    return np.concatenate(tiles, axis=1)
