"""Auto on frames as cameras deliver them: a soft JPEG and a soft H.264 frame.

Each frame is made the way a camera makes one (``bench.camera_frames``): a photograph that
ships with scikit-image (``coffee``, ``astronaut``) is blurred in linear light (a Gaussian
of σ 1.4 px, a lens a little out of focus), given Poisson–Gaussian sensor noise, encoded
to 8-bit sRGB and then really compressed — by libjpeg at quality 75 (OpenCV) and by x264
at CRF 23, yuv420p (PyAV) — and decoded. ``gpudeconv.deblur(frame, "auto")`` gets the
decoded array and nothing else. The figure shows a crop of each: the frame, auto, and the
textbook unsharp mask (σ 1, amount 1) that people run instead; PSNR against the sharp
photograph is printed.

Run: ``python demos/compressed_frame.py [--output docs/compressed_before_after.png]``
(needs the ``bench`` extra for scikit-image and matplotlib, and the repository root on the
path for ``bench``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gpudeconv
from bench.camera_frames import EXPOSURES, Blur, camera_frame, even_crop, psnr8, store

#: (photograph, storage, crop rows, crop columns)
CASES = (
    ("coffee", "jpeg75", slice(40, 240), slice(250, 450)),
    ("astronaut", "h264-crf23", slice(60, 260), slice(180, 380)),
)


def unsharp(frame: np.ndarray) -> np.ndarray:
    """The textbook unsharp mask on the codes: 2x − G₁x."""
    return cv2.addWeighted(frame, 2.0, cv2.GaussianBlur(frame, (0, 0), 1.0), -1.0, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="compressed_before_after.png")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import skimage.data

    fig, axes = plt.subplots(len(CASES), 3, figsize=(12, 4.3 * len(CASES)))
    for row, (name, storage, rows, cols) in enumerate(CASES):
        sharp = even_crop(np.ascontiguousarray(getattr(skimage.data, name)()[..., ::-1]), 512)
        frame = store(camera_frame(sharp, Blur("gaussian", 1.4), EXPOSURES[0], seed=1), storage)
        found = gpudeconv.estimate(frame)
        restored = gpudeconv.deblur(frame, "auto")
        peer = unsharp(frame)
        print(
            f"{name} ({storage}): estimated blur {found.sigma[0]:.2f} x {found.sigma[1]:.2f} px "
            f"(true 1.4), PSNR input {psnr8(sharp, frame):.2f} dB, auto "
            f"{psnr8(sharp, restored):.2f}, unsharp mask {psnr8(sharp, peer):.2f}"
        )
        shown = (
            (frame, f"{name}, σ 1.4 blur, {storage}: {psnr8(sharp, frame):.2f} dB"),
            (restored, f"deblur(frame, 'auto'): {psnr8(sharp, restored):.2f} dB"),
            (peer, f"unsharp mask σ 1, amount 1: {psnr8(sharp, peer):.2f} dB"),
        )
        for col, (picture, title) in enumerate(shown):
            axes[row, col].imshow(picture[rows, cols][..., ::-1])
            axes[row, col].set_title(title, fontsize=10)
            axes[row, col].axis("off")
    fig.tight_layout()
    fig.savefig(args.output, dpi=80)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
