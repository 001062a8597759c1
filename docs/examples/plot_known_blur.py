"""
Remove a known blur
===================

A photograph blurred by a Gaussian of σ 1.5 px, with sensor noise and 8-bit rounding, is
restored three ways: the fitted filter applied per frame by a :class:`gpudeconv.Pipeline`
(what the live viewer runs), the exact FFT Wiener deconvolution it approximates
(:func:`gpudeconv.wiener`), and — for scale — nothing at all.
"""

import matplotlib.pyplot as plt
import numpy as np
import skimage.data

import gpudeconv
from gpudeconv import degrade, metrics, psf

# %%
# Make the blurred frame: blur in linear light, add noise, round to 8 bits.
sharp = skimage.data.camera().astype(np.float32) / 255
kernel = psf.gaussian(1.5)
noise = 0.005
blurred = degrade.quantize(degrade.add_noise(degrade.blur(sharp, kernel), noise, seed=0))

# %%
# Fit the filter (a few milliseconds) and run it as a per-frame pipeline on the CPU.
filt = gpudeconv.fit(kernel, noise=noise, quantization_bits=8)
print(f"{len(filt.terms)} separable terms; weights {np.round(filt.weights, 3)}")
pipe = gpudeconv.Pipeline(filt, shape=blurred.shape, dtype=np.float32, backend="cpu")
fast = pipe(blurred.astype(np.float32))

# %%
# The FFT reference with the same noise level.
reference = gpudeconv.wiener(blurred, kernel, noise=noise)

# %%
# Compare, in PSNR against the sharp photograph.
panels = {
    "blurred": blurred,
    "fitted filter (Pipeline)": fast,
    "FFT Wiener (reference)": reference,
    "sharp": sharp,
}
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4), constrained_layout=True)
for ax, (title, image) in zip(axes, panels.items()):
    crop = np.clip(image[80:280, 180:380], 0, 1)
    ax.imshow(crop, cmap="gray", vmin=0, vmax=1)
    if title != "sharp":
        title += f": {metrics.psnr(sharp, np.clip(image, 0, 1)):.2f} dB"
    ax.set_title(title, fontsize=10)
    ax.axis("off")
plt.show()
