"""Blur a scikit-image photograph, restore it, print PSNR / SSIM / time, save a figure.

Run: ``python demos/still_photo.py [--sigma 1.2] [--noise 0.003] [--output still.png]``
(needs the ``bench`` extra for scikit-image and matplotlib).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import skimage.data

from gpudeconv import degrade, metrics, psf, wiener


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigma", type=float, default=1.2)
    parser.add_argument("--noise", type=float, default=0.003)
    parser.add_argument("--output", default="still_photo.png")
    args = parser.parse_args()

    # Work in linear light: that is where optical blur happens.
    sharp = degrade.srgb_to_linear(skimage.data.astronaut() / 255.0)
    kernel = psf.gaussian(args.sigma)
    blurred = degrade.quantize(degrade.add_noise(degrade.blur(sharp, kernel), args.noise, seed=0))
    total_noise = float(np.hypot(args.noise, 1 / 255 / np.sqrt(12)))  # include 8-bit rounding

    results = {"blurred": (blurred, 0.0)}
    start = time.perf_counter()
    restored = wiener(blurred, kernel, noise=total_noise)
    results["wiener"] = (restored, time.perf_counter() - start)

    print(f"{'method':<10}{'PSNR':>8}{'SSIM':>8}{'ms':>8}")
    for name, (image, seconds) in results.items():
        psnr = metrics.psnr(sharp, image)
        ssim = metrics.ssim(sharp, np.clip(image, 0, 1))
        print(f"{name:<10}{psnr:8.2f}{ssim:8.4f}{seconds * 1e3:8.1f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 4.4))
    panels = [("sharp", sharp), *((name, image) for name, (image, _) in results.items())]
    for ax, (name, image) in zip(axes, panels, strict=True):
        ax.imshow(degrade.linear_to_srgb(np.clip(image[100:300, 150:350], 0, 1)))
        ax.set_title(name)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
