"""
Camera shake in a still: estimate the kernel, then restore
==========================================================

A hand-held exposure smears the image along the path the camera moved. Nobody measured
that path, so :func:`gpudeconv.estimate_kernel` recovers it from the image alone
(coarse to fine, on the image's strongest edges), and :func:`gpudeconv.restore`
deconvolves with it under a hyper-Laplacian prior, with no assumption about what lies
beyond the border.
"""

import matplotlib.pyplot as plt
import numpy as np
import skimage.data

import gpudeconv
from gpudeconv import degrade, metrics, psf

# %%
# A sharp photograph and a shake: a diagonal streak 9 px long, then noise and rounding.
sharp = skimage.data.camera()[100:356, 150:406].astype(np.float32) / 255
shake = psf.motion(9, 30)
blurred = degrade.quantize(degrade.add_noise(degrade.blur(sharp, shake), 0.005, seed=2))

# %%
# Blind: the kernel from the blurred image only; then restore with it.
kernel = gpudeconv.estimate_kernel(blurred, size=15)
restored = gpudeconv.restore(blurred, kernel, method="hyper-laplacian")

# %%
# The true shake drawn on the estimate's 15 × 15 support, so both are at one scale.
pad = [((15 - n) // 2, 15 - n - (15 - n) // 2) for n in shake.shape]
shown = np.pad(shake, pad)

fig, axes = plt.subplots(1, 5, figsize=(14, 3.2), constrained_layout=True)
axes[0].imshow(shown, cmap="gray")
axes[0].set_title("true shake", fontsize=10)
axes[1].imshow(kernel, cmap="gray")
axes[1].set_title("estimated", fontsize=10)
for ax, (title, image) in zip(
    axes[2:], {"blurred": blurred, "restored": restored, "sharp": sharp}.items()
):
    ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
    if title != "sharp":
        title += f": {metrics.psnr(sharp, np.clip(image, 0, 1)):.2f} dB"
    ax.set_title(title, fontsize=10)
for ax in axes:
    ax.axis("off")
plt.show()
