"""Boundary rules: what the pixels outside an image are, for every part that filters.

One registry, so a rule means the same thing in the frame pipeline (OpenCV and the CUDA
kernel), the float64 reference, the FFT Wiener reference and the degradation model. Each
part accepts the subset it implements and says so in its error message.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._registry import Registry

__all__ = ["BOUNDARIES", "FRAME_BOUNDARIES", "PADDING_BOUNDARIES", "Boundary"]


@dataclass(frozen=True)
class Boundary:
    """One rule and its name in each library that implements it."""

    name: str
    help: str
    #: ``scipy.ndimage`` mode (float64 reference, degradation); None where it is no rule
    #: for making pixels up (``unknown``).
    ndimage: str | None
    #: ``numpy.pad`` / ``cupy.pad`` mode (FFT padding); None likewise.
    pad: str | None
    #: OpenCV ``cv2.BORDER_*`` attribute name; None where no frame backend implements it.
    opencv: str | None = None
    #: The CUDA kernel's ``#define`` for it (kernels/common.cuh); None where it has none.
    kernel: str | None = None
    aliases: tuple[str, ...] = ()


BOUNDARIES: Registry[Boundary] = Registry(
    "boundary",
    [
        Boundary(
            "reflect",
            "mirror with the edge pixel repeated, ...cba|abc... (OpenCV BORDER_REFLECT)",
            ndimage="reflect",
            pad="symmetric",
            opencv="BORDER_REFLECT",
            kernel="GPUDECONV_BORDER_REFLECT",
        ),
        Boundary(
            "clamp",
            "the edge pixel repeated, ...aaa|abc... (OpenCV BORDER_REPLICATE)",
            ndimage="nearest",
            pad="edge",
            opencv="BORDER_REPLICATE",
            kernel="GPUDECONV_BORDER_CLAMP",
        ),
        Boundary(
            "periodic",
            "the image repeats, ...xyz|abc... (circular convolution, MATLAB deconvwnr)",
            ndimage="wrap",
            pad="wrap",
            aliases=("wrap",),
        ),
        Boundary(
            "unknown",
            "nothing assumed: the pixels beyond the edge are solved for (the FFT Wiener "
            "reference; right for any PSF, where reflect needs a centrosymmetric one)",
            ndimage=None,
            pad=None,
        ),
    ],
)

#: Rules that make the outside pixels up (the degradation model, padding).
PADDING_BOUNDARIES = BOUNDARIES.names_where(lambda b: b.pad is not None)

#: Rules every frame backend (CPU and CUDA) and the frame reference implement.
FRAME_BOUNDARIES = BOUNDARIES.names_where(lambda b: b.opencv is not None and b.kernel is not None)
