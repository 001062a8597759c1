"""Deblur real photographs nobody measured: estimate the blur, restore, show before/after.

The images ship with scikit-image and were blurred by real optics, not by us:
``skimage.data.cell()`` (a quantitative-phase microscope image of a cell in saline) and
``skimage.data.retina()`` (a fundus camera photograph). There is no sharp original to
score against — the figure shows what ``gpudeconv.deblur(image, "auto")`` does and the
estimate it acted on.

Run: ``python demos/blind_photo.py [--output docs/blind_before_after.png]`` (needs the
``bench`` extra for scikit-image and matplotlib).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import skimage.data

import gpudeconv

#: (image, crop rows, crop columns) shown.
CASES = (
    ("cell", slice(290, 470), slice(340, 520)),
    ("retina", slice(560, 840), slice(760, 1040)),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="blind_before_after.png")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(CASES), 2, figsize=(9, 4.6 * len(CASES)))
    for row, (name, rows, cols) in enumerate(CASES):
        image = getattr(skimage.data, name)()
        if image.ndim == 3:
            image = np.ascontiguousarray(image[..., :3][..., ::-1])  # BGR, as cv2 reads
        found = gpudeconv.estimate(image)
        restored = gpudeconv.deblur(image, "auto")
        print(
            f"{name}: {image.shape[1]}x{image.shape[0]}, estimated blur "
            f"{found.sigma[0]:.2f} x {found.sigma[1]:.2f} px at "
            f"{math.degrees(found.angle):.0f} deg, noise {found.noise:.4f}, "
            f"confidence {found.confidence:.2f}"
        )
        for col, (picture, title) in enumerate(
            ((image, f"{name}: as shipped"), (restored, "gpudeconv.deblur(image, 'auto')"))
        ):
            shown = picture[rows, cols]
            if shown.ndim == 3:
                shown = shown[..., ::-1]
            axes[row, col].imshow(shown, cmap="gray", vmin=0, vmax=255)
            axes[row, col].set_title(title, fontsize=10)
            axes[row, col].axis("off")
        axes[row, 1].text(
            4,
            14,
            f"estimated σ {found.sigma[0]:.2f} × {found.sigma[1]:.2f} px",
            color="yellow",
            fontsize=9,
        )
    fig.tight_layout()
    fig.savefig(args.output, dpi=80)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
