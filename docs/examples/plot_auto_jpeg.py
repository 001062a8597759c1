"""
Deblur a JPEG nobody measured: ``"auto"``
=========================================

A photograph is made soft the way a lens makes it (a Gaussian of σ 1.4 px in linear
light), given sensor noise, and saved as a JPEG at quality 85. :func:`gpudeconv.deblur`
with ``"auto"`` gets only the decoded pixels: it estimates the blur and the noise
(:func:`gpudeconv.estimate`) and applies a filter that is robust to what it could not
pin down. The textbook unsharp mask people run instead is shown beside it.
"""

import cv2
import matplotlib.pyplot as plt
import numpy as np
import skimage.data

import gpudeconv
from gpudeconv import degrade, metrics, psf

# %%
# A soft, noisy, compressed frame (BGR uint8, as OpenCV reads a photo).
rgb = skimage.data.astronaut().astype(np.float32) / 255
linear = degrade.srgb_to_linear(rgb)
soft = degrade.add_noise(degrade.blur(linear, psf.gaussian(1.4)), 0.003, seed=1)
frame8 = np.round(np.clip(degrade.linear_to_srgb(np.clip(soft, 0, 1)), 0, 1) * 255)
ok, jpeg = cv2.imencode(".jpg", frame8.astype(np.uint8)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
frame = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)

# %%
# What the frame says about itself, and the restoration it leads to.
found = gpudeconv.estimate(frame)
print(found)
restored = gpudeconv.deblur(frame, "auto")

# %%
# The unsharp mask (σ 1, amount 1) for comparison.
blurred = cv2.GaussianBlur(frame, (0, 0), 1.0)
unsharp = cv2.addWeighted(frame, 2.0, blurred, -1.0, 0)

# %%
sharp8 = (rgb[..., ::-1] * 255).round()
fig, axes = plt.subplots(1, 3, figsize=(11, 4), constrained_layout=True)
for ax, (title, image) in zip(
    axes, {"JPEG q85": frame, "auto": restored, "unsharp mask": unsharp}.items()
):
    ax.imshow(image[40:240, 140:340, ::-1])
    psnr = metrics.psnr(sharp8 / 255, image.astype(np.float64) / 255)
    ax.set_title(f"{title}: {psnr:.2f} dB", fontsize=10)
    ax.axis("off")
plt.show()
