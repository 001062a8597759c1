"""Deconvolution with an unknown boundary: the pixels beyond the edge are solved for.

Why: a reflect-padded FFT filter assumes the mirrored image was blurred by the same PSF,
which holds only for a centrosymmetric one (Gaussian, disk, straight motion). With a
camera-shake kernel the mirror sees the *flipped* kernel, the border is wrong, and its
error rings through the whole image — more the less noise is assumed (issue 15 measured
17.6 dB at noise 1e-4 where a periodic problem gives 54.9).

The model (Reeves 2005; Almeida & Figueiredo 2013): the observed image is the *valid*
part of the blur of a larger unknown image ``u``, ``y = M (k ⊛ u) + n``, with ``M`` the
mask of the image inside a padded periodic domain that is wide enough that wrapping never
reaches the observed pixels. The estimate minimises ``‖M(k ⊛ u) − y‖² + uᵀ R u``, ``R``
the same regulariser the FFT Wiener filter uses (``σ²/S(ω)``, a scalar NSR or Tikhonov):

    (Kᵀ M K + R) u = Kᵀ M y,

solved by conjugate gradients preconditioned with the circulant part ``(KᵀK + R)⁻¹`` —
the periodic Wiener filter itself — from the reflect-padded Wiener estimate. The mask is
the only non-circulant part, so a few tens of iterations suffice, each of three real FFTs
(the vectors are carried as spectra). NumPy or CuPy, FFTs through the same helpers as
:mod:`gpudeconv.restoration.wiener`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core import psf as _psf
from ..core._memo import grid_memo
from ..core.spectra import regularizer_spectrum

__all__ = ["is_centrosymmetric", "solve_unknown_boundary"]

#: Stop when an iteration moves the image by less than this share of the noise level (RMS
#: over the observed pixels; 1e-5 in image units when the regulariser is not a noise level).
#: Measured on a 256² photograph with a 13-px shake kernel: ~20 iterations at noise 0.01,
#: ~100 at 0.002; at 1e-4 the 300-iteration cap (44 dB interior PSNR; 500 give 45).
TOLERANCE = 0.1
MAX_ITERATIONS = 300
#: The residual (whole padded domain) below which the system counts as solved, in units
#: of the working precision's epsilon times the right-hand side's norm. At rounding level,
#: no higher: 100 stopped long kernels at low noise after a third of their iterations
#: (a 27-px shake at noise 0.002: 38 of 138, −1 dB; the stills benchmark's hyper-Laplacian
#: lost 0.1 dB of mean gain over 96 cases through its start); 4 still did so in float32 at
#: noise 1e-4 (a 27-px shake: 143 of 300 iterations, 21.3 dB instead of 26.1). The
#: null-space case below needed 4 in the space-domain CG; this one needs none.
RESIDUAL_FLOOR = 1


def is_centrosymmetric(kernel: np.ndarray, tol: float = 1e-9) -> bool:
    """Whether ``kernel`` equals itself rotated by 180° (then mirroring is exact)."""
    k = np.asarray(kernel, dtype=np.float64)
    return bool(np.abs(k - k[::-1, ::-1]).max() <= tol * np.abs(k).max())


def solve_unknown_boundary(
    xp: Any,
    work: Any,
    kernel: np.ndarray,
    params: dict[str, Any],
    start: Any,
    margins: tuple[int, int],
    fft: tuple[Any, Any],
    *,
    padded: bool = False,
    max_iterations: int | None = None,
    tolerance: float = TOLERANCE,
) -> tuple[Any, int]:
    """The unknown-boundary estimate of the image ``work`` (rows, cols, C).

    Parameters
    ----------
    xp : module
        NumPy or CuPy.
    work : (rows, cols, C) array
        The observed image, float.
    kernel : ndarray
        The PSF (normalised, odd-sized).
    params : dict
        The regulariser (as for :func:`gpudeconv.core.spectra.regularizer_spectrum`).
    start : (rows + 2 my, cols + 2 mx, C) array
        The first guess on the padded domain (the reflect-padded Wiener estimate).
    margins : (my, mx)
        Padding per side; at least the PSF's radius, so wrapping never reaches the image.
    fft : (rfft2, irfft2)
        The FFT helpers (real input, axes 0 and 1).

    padded : bool
        Return the whole padded ``u`` (a start for the iterative methods), not its image part.
    max_iterations : int, optional
        The cap (default :data:`MAX_ITERATIONS`).
    tolerance : float
        Stop when an iteration moves the image by less than this share of the noise.

    Returns
    -------
    (restored, iterations) : the image part of ``u`` (or all of it) and the iterations used.
    """
    rfft2, irfft2 = fft
    rows, cols = work.shape[:2]
    my, mx = margins
    shape = (rows + 2 * my, cols + 2 * mx)
    h, r_spec, precondition_spec = _operators(kernel, shape, work.dtype, xp, params)
    h_conj = h.conj()
    inside = (slice(my, my + rows), slice(mx, mx + cols))

    # Conjugate gradients carried in the Fourier domain: the residual, the direction and the
    # iterate are kept as rfft2 spectra, so the circulant parts (R, the preconditioner) are
    # products and only the mask needs the image domain: two real FFTs per iteration
    # instead of six, and one for the stopping rule. Inner products by Parseval on the
    # half spectrum.
    weights = np.full(shape[1] // 2 + 1, 2.0)
    weights[0] = 1.0
    if shape[1] % 2 == 0:
        weights[-1] = 1.0  # the Nyquist column has no mirror image
    weights = xp.asarray((weights / (shape[0] * shape[1])).astype(work.dtype))[:, None]

    def normal(spectrum: Any) -> Any:
        """The spectrum of ``(Kᵀ M K + R) u`` from that of ``u``, in two real FFTs."""
        blurred = irfft2(spectrum * h, shape)
        masked = xp.zeros_like(blurred)
        masked[inside] = blurred[inside]  # M (k ⊛ u): the blur seen on the observed pixels
        return rfft2(masked) * h_conj + spectrum * r_spec

    def dot(a: Any, b: Any) -> Any:
        """``Σ a b`` over the padded domain (per channel) of two real images' spectra."""
        return ((a.real * b.real + a.imag * b.imag) * weights).sum(axis=(0, 1))

    observed = xp.zeros(shape + work.shape[2:], dtype=work.dtype)
    observed[inside] = work
    rhs = rfft2(observed) * h_conj
    u = rfft2(start.astype(work.dtype, copy=False))
    residual = rhs - normal(u)
    z = residual * precondition_spec
    direction = z.copy()
    rz = dot(residual, z)
    small = max(tolerance * params["noise"], 1e-7) if "noise" in params else 1e-5
    # A residual at rounding level is solved: stepping on it would divide rounding by
    # rounding (with no regulariser the unobserved pixels are a null space, and the FFTs'
    # rounding there made one float32 step of ~1000: a 1×1 image came back as −51).
    floor = RESIDUAL_FLOOR * float(np.finfo(work.dtype).eps) * float(xp.sqrt(dot(rhs, rhs).sum()))
    cap = MAX_ITERATIONS if max_iterations is None else max_iterations
    iterations = 0
    while iterations < cap and float(xp.sqrt(dot(residual, residual).sum())) > floor:
        iterations += 1
        a_dir = normal(direction)
        curvature = dot(direction, a_dir)
        step = rz / xp.where(curvature != 0, curvature, 1)
        u += step * direction
        # The stopping rule needs the step on the observed pixels (the padding's unknowns
        # may keep moving): one inverse FFT.
        update = irfft2(direction, shape)[inside] * step
        if float(xp.sqrt((update * update).mean())) <= small:
            break
        residual -= step * a_dir
        z = residual * precondition_spec
        rz_next = dot(residual, z)
        direction = z + (rz_next / xp.where(rz != 0, rz, 1)) * direction
        rz = rz_next
    u = irfft2(u, shape)
    return (u if padded else u[inside]), iterations


def _operators(
    kernel: np.ndarray, shape: tuple[int, int], dtype: Any, xp: Any, params: dict[str, Any]
) -> tuple[Any, Any, Any]:
    """The OTF, the regulariser and the preconditioner on the padded ``rfft2`` grid.

    Built on the host in float64 and uploaded once per PSF, grid and parameters
    (:mod:`._memo`), not per call; returned with a trailing channel axis. Read only.
    """

    def build() -> tuple[Any, Any, Any]:
        complex_dtype = np.complex64 if dtype == np.float32 else np.complex128
        otf = _psf.otf(kernel, shape, half=True)
        wy = 2 * math.pi * np.fft.fftfreq(shape[0])[:, None]
        wx = 2 * math.pi * np.fft.rfftfreq(shape[1])[None, :]
        reg = regularizer_spectrum(wy, wx, **params) + np.zeros(otf.shape)
        denominator = (otf * otf.conj()).real + reg
        inverse = np.where(denominator > 0, 1.0 / np.where(denominator > 0, denominator, 1.0), 0.0)
        return (
            xp.asarray(otf.astype(complex_dtype))[..., None],
            xp.asarray(reg.astype(dtype))[..., None],
            xp.asarray(inverse.astype(dtype))[..., None],
        )

    return grid_memo("unknown", kernel, shape, dtype, params, xp, build)
