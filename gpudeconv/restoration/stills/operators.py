"""The operators every iterative method shares: blur, its adjoint, gradients — by FFT.

The unknown image ``u`` lives on a padded periodic domain; the observation is the blur of
``u`` seen through a mask (the image's own pixels), so nothing is assumed beyond the edge
(the boundary model of :mod:`gpudeconv.restoration.unknown_boundary`).
``boundary="periodic"`` is the special case with no padding and a full mask (a circular
problem, for planted tests).
NumPy or CuPy: every array comes from the image's module.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...core import psf as _psf

__all__ = ["Operators", "differences_adjoint", "differences_power", "forward_differences"]


def forward_differences(u: Any, gy: Any, gx: Any, xp: Any = np) -> None:
    """``gy, gx ← ∂y u, ∂x u``: forward differences, circular, in place (NumPy or CuPy)."""
    xp.subtract(u[1:], u[:-1], out=gy[:-1])
    xp.subtract(u[:1], u[-1:], out=gy[-1:])
    xp.subtract(u[:, 1:], u[:, :-1], out=gx[:, :-1])
    xp.subtract(u[:, :1], u[:, -1:], out=gx[:, -1:])


def differences_power(shape: tuple[int, int]) -> np.ndarray:
    """``|D|²`` of :func:`forward_differences` on the rfft2 grid of ``shape`` (float64)."""
    wy = 2 * math.pi * np.fft.fftfreq(shape[0])[:, None]
    wx = 2 * math.pi * np.fft.rfftfreq(shape[1])[None, :]
    return np.abs(np.exp(1j * wy) - 1.0) ** 2 + np.abs(np.exp(1j * wx) - 1.0) ** 2


def differences_adjoint(gy: Any, gx: Any, out: Any, xp: Any = np) -> None:
    """``out ← ∇ᵀ(gy, gx)``, the adjoint of :func:`forward_differences` (minus the divergence)."""
    xp.subtract(gy[:-1], gy[1:], out=out[1:])  # row i: gy[i-1] - gy[i]
    xp.subtract(gy[-1:], gy[:1], out=out[:1])
    out[:, 1:] += gx[:, :-1] - gx[:, 1:]
    out[:, :1] += gx[:, -1:] - gx[:, :1]


class Operators:
    """FFT operators on the padded domain of an ``(rows, cols, C)`` image.

    Parameters
    ----------
    xp : module
        NumPy or CuPy.
    kernel : ndarray
        The PSF (normalised, odd-sized).
    image_shape : (rows, cols)
    margins : (my, mx)
        Padding per side (0, 0 for a periodic problem); at least the PSF radius otherwise.
    dtype : float32 or float64
    """

    def __init__(
        self,
        xp: Any,
        kernel: np.ndarray,
        image_shape: tuple[int, int],
        margins: tuple[int, int],
        dtype: Any,
    ) -> None:
        self.xp = xp
        rows, cols = image_shape
        my, mx = margins
        self.shape = (rows + 2 * my, cols + 2 * mx)
        self.inside = (slice(my, my + rows), slice(mx, mx + cols))
        self.dtype = np.dtype(dtype)
        complex_dtype = np.complex64 if self.dtype == np.float32 else np.complex128
        otf = _psf.otf(kernel, self.shape, half=True)
        # |D|² of the forward differences (the gradients themselves are taken in space).
        d_power = differences_power(self.shape)
        self.h = xp.asarray(otf.astype(complex_dtype))[..., None]
        self.h_power = (self.h * self.h.conj()).real.astype(self.dtype)
        self.d_power = xp.asarray(d_power.astype(self.dtype))[..., None]

    # ------------------------------------------------------------------ transforms
    def fft(self, a: Any) -> Any:
        """Real 2-D FFT over the first two axes."""
        if self.xp is np:
            import scipy.fft

            return scipy.fft.rfft2(a, axes=(0, 1), workers=-1)
        return self.xp.fft.rfft2(a, axes=(0, 1))

    def ifft(self, a: Any) -> Any:
        """Its inverse, back to the padded domain's shape."""
        if self.xp is np:
            import scipy.fft

            return scipy.fft.irfft2(a, s=self.shape, axes=(0, 1), workers=-1)
        return self.xp.fft.irfft2(a, s=self.shape, axes=(0, 1))

    # ------------------------------------------------------------------ operators
    def blur(self, u: Any) -> Any:
        """``K u`` (circular on the padded domain)."""
        return self.ifft(self.fft(u) * self.h)

    def blur_adjoint(self, v: Any) -> Any:
        """``Kᵀ v``."""
        return self.ifft(self.fft(v) * self.h.conj())

    def gradient(self, u: Any) -> tuple[Any, Any]:
        """Forward differences (circular on the padded domain): (∂y u, ∂x u)."""
        gy = self.xp.empty_like(u)
        gx = self.xp.empty_like(u)
        forward_differences(u, gy, gx, self.xp)
        return gy, gx

    def gradient_adjoint(self, gy: Any, gx: Any) -> Any:
        """``∇ᵀ (gy, gx)`` (minus the divergence; circular)."""
        out = self.xp.empty_like(gy)
        differences_adjoint(gy, gx, out, self.xp)
        return out

    def embed(self, image: Any) -> Any:
        """The image on the padded domain, zeros outside."""
        out = self.xp.zeros(self.shape + image.shape[2:], dtype=self.dtype)
        out[self.inside] = image
        return out

    def mask(self, channels: int) -> Any:
        """1 on the observed pixels, 0 outside."""
        return self.embed(self.xp.ones((*self._inner_shape(), channels), dtype=self.dtype))

    def crop(self, u: Any) -> Any:
        """The observed pixels of ``u``."""
        return u[self.inside]

    def _inner_shape(self) -> tuple[int, int]:
        return (
            self.inside[0].stop - self.inside[0].start,
            self.inside[1].stop - self.inside[1].start,
        )
