"""Blur a scikit-image photograph, restore it with every method, print PSNR/SSIM/time.

Run: ``python demos/still_photo.py [--sigma 1.2] [--noise 0.003] [--output still.png]``
(needs the ``bench`` extra for scikit-image and matplotlib).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import skimage.data

import gpudeconv
from gpudeconv.core import degrade, metrics, psf, spectra
from gpudeconv.core.frames import FrameSpec
from gpudeconv.restoration.reference import wiener_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigma", type=float, default=1.2)
    parser.add_argument("--noise", type=float, default=0.003)
    parser.add_argument("--output", default="still_photo.png")
    args = parser.parse_args()

    # An 8-bit sRGB photo, blurred where optics blur: in linear light.
    sharp = skimage.data.astronaut()[..., ::-1].copy()  # BGR, like cv2.imread
    kernel = psf.gaussian(args.sigma)
    linear = degrade.srgb_to_linear(sharp / 255.0)
    blurred_linear = degrade.add_noise(degrade.blur(linear, kernel), args.noise, seed=0)
    blurred = np.round(
        np.clip(degrade.linear_to_srgb(np.clip(blurred_linear, 0, 1)), 0, 1) * 255
    ).astype(np.uint8)

    results = {"blurred": (blurred, 0.0)}
    for basis in ("gauss-lap", "atrous", "unsharp", "fir"):
        # One fit (microseconds) and one Pipeline; the pipeline decodes sRGB, filters in
        # linear light, and encodes back.
        filt = gpudeconv.fit(kernel, noise=args.noise, basis=basis, quantization_bits=8)
        pipe = gpudeconv.Pipeline(filt, shape=blurred.shape, dtype=np.uint8)
        pipe(blurred)  # warm-up
        start = time.perf_counter()
        results[basis] = (pipe(blurred), time.perf_counter() - start)
    # The FFT reference, through the same frame coding (decode sRGB, restore, encode).
    start = time.perf_counter()
    total = spectra.total_noise(args.noise, quantization_bits=8)  # noise + 8-bit rounding
    spec = FrameSpec.create(blurred.shape, np.uint8)
    restored = wiener_frame(blurred, kernel, total, spec)
    results["wiener (FFT)"] = (restored, time.perf_counter() - start)

    print(f"{'method':<14}{'PSNR dB':>9}{'SSIM':>8}{'ms':>8}")
    for name, (image, secs) in results.items():
        print(
            f"{name:<14}{metrics.psnr(sharp / 255, image / 255):9.2f}"
            f"{metrics.ssim(sharp / 255, image / 255):8.4f}{secs * 1e3:8.1f}"
        )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("sharp", sharp), *((n, im) for n, (im, _) in results.items())]
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.4))
    for ax, (name, image) in zip(axes, panels, strict=True):
        ax.imshow(image[100:300, 150:350, ::-1])
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(args.output, dpi=90)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
