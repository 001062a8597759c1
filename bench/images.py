"""Test photographs from scikit-image, as float64 grey images in [0, 1]."""

from __future__ import annotations

import numpy as np

#: The photographs the quality numbers are averaged over (issue 3).
QUALITY_IMAGES = ("astronaut", "camera", "coffee", "chelsea", "rocket")
#: A wider set, with textures, used to calibrate the natural-image prior.
CALIBRATION_IMAGES = (*QUALITY_IMAGES, "brick", "grass", "gravel")


def grey_photo(name: str) -> np.ndarray:
    """Load ``skimage.data.<name>`` as a float64 grey image in [0, 1] (sRGB code values)."""
    import skimage.data
    from skimage.color import rgb2gray

    image = getattr(skimage.data, name)()
    if image.ndim == 3:
        return rgb2gray(image[..., :3]).astype(np.float64)
    return image.astype(np.float64) / 255.0
