"""``deblur``: restore one image in one call — a known PSF, a fitted filter, or ``"auto"``.

It sits above both the ``Pipeline`` and the blind estimator (``"auto"`` uses them both),
so neither has to know about the other.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..blind import estimate, robust_filter
from ..blind.jpeg import deblock
from ..core._validate import check_real, image_array
from ..core.frames import FRAME_OPTIONS, FrameSpec
from ..core.spectra import quantization_noise
from ..engine.pipeline import Pipeline
from ..errors import InvalidArgumentError
from ..fit import DeconvFilter, fit

__all__ = ["deblur"]


def deblur(
    image: np.ndarray,
    psf_or_filter: np.ndarray | DeconvFilter | str,
    *,
    noise: float | None = None,
    backend: str = "auto",
    **options: Any,
) -> np.ndarray:
    """Restore one image: fit (if given a PSF, or ``"auto"``) and apply.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        float32/float64 (float64 is filtered in float32 and returned as float64; float
        values are taken as linear), or uint8/uint16 code values.
    psf_or_filter : ndarray, DeconvFilter or 'auto'
        A PSF (then ``noise`` is required; integer images add their quantisation noise),
        an already fitted filter, or ``"auto"``: the blur, noise and signal spectrum are
        estimated from the image (:func:`gpudeconv.estimate`) and the filter of least
        expected error over that estimate's uncertainty is applied — one that backs off
        when unsure and never smooths texture it cannot tell from noise.
    noise : float, optional
        Noise std in [0, 1] units: required with a PSF; with ``"auto"`` it replaces the
        estimated noise.
    backend : str
        As for :class:`Pipeline`.
    **options
        Frame options (``channel_order``, ``space``, ``luma_only``, ``boundary``; see
        :class:`Pipeline`) and, with a PSF or ``"auto"``, options of
        :func:`gpudeconv.fit` (``basis=``, …). With ``"auto"`` also ``roi=`` and
        ``compression=`` (a :class:`~gpudeconv.blind.sideinfo.Compression` read from the
        file or stream the image came from: the codec's error as it states it).

    Returns
    -------
    restored : ndarray, same shape and dtype as ``image``
    """
    image = image_array("image", image)
    frame_options = {k: v for k, v in options.items() if k in FRAME_OPTIONS}
    fit_options = {k: v for k, v in options.items() if k not in FRAME_OPTIONS}
    work = image.astype(np.float32) if image.dtype == np.float64 else image
    spec = FrameSpec.create(work.shape, work.dtype, **frame_options)
    if isinstance(psf_or_filter, str):
        if psf_or_filter != "auto":
            raise InvalidArgumentError(
                f"psf_or_filter must be a PSF array, a DeconvFilter or 'auto'; got "
                f"{psf_or_filter!r}"
            )
        filt, deblock_first = _auto_filter(work, spec, noise, fit_options)
        if deblock_first:  # estimated on the frame as it came, restored deblocked
            work = deblock(work)
    elif isinstance(psf_or_filter, DeconvFilter):
        if noise is not None or fit_options:
            raise InvalidArgumentError("noise= and fit options apply only when a PSF is given")
        filt = psf_or_filter
    else:
        if noise is None:
            raise InvalidArgumentError("noise= is required when deblurring with a PSF")
        check_real("noise", noise, nonnegative=True)
        fit_options.setdefault("quantization_bits", spec.quantization_bits)
        filt = fit(psf_or_filter, noise=noise, **fit_options)
    pipe = Pipeline(filt, shape=spec.shape, dtype=spec.dtype, backend=backend, **spec.options)
    restored = pipe(work)
    return restored.astype(image.dtype, copy=False)


def _auto_filter(
    image: np.ndarray, spec: FrameSpec, noise: float | None, options: dict[str, Any]
) -> tuple[DeconvFilter, bool]:
    roi, compression = options.pop("roi", None), options.pop("compression", None)
    found = estimate(
        image,
        roi=roi,
        space=spec.options["space"],
        channel_order=spec.options["channel_order"],
        compression=compression,
    )
    if noise is not None:
        check_real("noise", noise, nonnegative=True, upper=1.0)
        bits = spec.quantization_bits
        found = replace(found, noise=max(noise, 0.5 * quantization_noise(bits) if bits else 0.0))
    return robust_filter(found, **options), found.deblock_first
