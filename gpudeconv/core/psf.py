"""Point-spread functions (blur kernels).

Every builder returns a float64 array, normalised to sum 1, with odd height and odd width
and the centre of the blur at the centre pixel. Convolving with it (``degrade.blur``) is
the blur model ``y = h * x``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.special import erf

from ..errors import InvalidArgumentError, InvalidTypeError, opencv_reason
from ._validate import check_int, check_real

__all__ = [
    "box",
    "disk",
    "from_array",
    "gaussian",
    "gaussian_1d",
    "motion",
    "otf",
    "parse",
    "quadrant_symmetric",
]

_EPS = float(np.finfo(np.float64).eps)

#: Largest PSF side, in pixels (radius 512). Far beyond what any method can use — the
#: fitted filters' taps stay within a few dozen pixels, and the FFT reference needs the PSF
#: to fit inside the image — but small enough that building one costs milliseconds and
#: megabytes. Every builder checks it before allocating anything.
MAX_PSF_SIDE = 1025
MAX_PSF_RADIUS = MAX_PSF_SIDE // 2


def _check_radius(what: str, radius: int, limit_hint: str) -> int:
    if radius > MAX_PSF_RADIUS:
        raise InvalidArgumentError(
            f"{what} needs a PSF of {2 * radius + 1} pixels; the largest supported is "
            f"{MAX_PSF_SIDE} pixels ({limit_hint})"
        )
    return radius


def gaussian_1d(sigma: float, radius: int, *, mode: str = "integrated") -> np.ndarray:
    """One-dimensional Gaussian taps at offsets ``-radius … radius``, summing to 1.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels, > 0.
    radius : int
        Half-width; the result has ``2*radius + 1`` taps.
    mode : {'integrated', 'sampled'}
        ``integrated`` integrates the continuous Gaussian over each pixel (erf), which stays
        meaningful for sigma well below one pixel; ``sampled`` evaluates it at pixel centres.

    Returns
    -------
    taps : (2*radius + 1,) ndarray of float64
    """
    sigma = check_real("sigma", sigma, positive=True)
    radius = _check_radius("radius", check_int("radius", radius, minimum=0), "radius <= 512")
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    if mode == "integrated":
        scale = 1.0 / (sigma * math.sqrt(2.0))
        taps = 0.5 * (erf((x + 0.5) * scale) - erf((x - 0.5) * scale))
    elif mode == "sampled":
        taps = np.exp(-(x**2) / (2.0 * sigma**2))
    else:
        raise InvalidArgumentError(
            f"Invalid mode {mode!r}; expected one of ('integrated', 'sampled')"
        )
    return taps / taps.sum()


def gaussian(
    sigma: float,
    sigma_y: float | None = None,
    *,
    angle: float = 0.0,
    radius: int | None = None,
    mode: str = "integrated",
) -> np.ndarray:
    """Gaussian PSF: isotropic, axis-aligned anisotropic, or rotated anisotropic.

    Parameters
    ----------
    sigma : float
        Standard deviation along the direction ``angle`` (along x when ``angle = 0``), in
        pixels, > 0.
    sigma_y : float, optional
        Standard deviation across it (along y when ``angle = 0``); defaults to ``sigma``.
    angle : float
        Direction of ``sigma`` in radians, counter-clockwise from +x as seen on screen
        (rows go down), like :func:`motion`'s angle (which is in degrees).
    radius : int, optional
        Half-size of the kernel along both axes; default ``ceil(4 * extent)`` per axis,
        the extent being the Gaussian's standard deviation along that axis.
    mode : {'integrated', 'sampled'}
        ``integrated`` (default) integrates over each pixel (erf for axis-aligned kernels,
        an 8×8 Gauss–Legendre rule per pixel for rotated ones), meaningful down to sigma ≈
        0.2. ``sampled`` evaluates at pixel centres; with ``angle = 0`` it equals MATLAB
        ``fspecial('gaussian', size, sigma)`` (values below ``eps * max`` set to zero).

    Returns
    -------
    psf : (2*ry + 1, 2*rx + 1) ndarray of float64
    """
    sigma = check_real("sigma", sigma, positive=True)
    sigma_y = sigma if sigma_y is None else check_real("sigma_y", sigma_y, positive=True)
    angle = check_real("angle", angle)
    if mode not in ("integrated", "sampled"):
        raise InvalidArgumentError(
            f"Invalid mode {mode!r}; expected one of ('integrated', 'sampled')"
        )
    cov = _covariance(sigma, sigma_y, angle)
    if radius is None:
        # min(): a sigma near float max would overflow 4·sigma before the size check.
        extents = (math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1]))
        rx, ry = (math.ceil(4 * min(e, 2.0 * MAX_PSF_RADIUS)) for e in extents)
    else:
        rx = ry = check_int("radius", radius, minimum=0)
    for name, value, r in (("sigma", sigma, rx), ("sigma_y", sigma_y, ry)):
        _check_radius(f"gaussian {name}={value:g}", r, "sigma <= 128")
    if cov[0, 1] != 0.0:
        h = _rotated_gaussian(cov, rx, ry, mode)
    elif mode == "sampled":
        y, x = np.mgrid[-ry : ry + 1, -rx : rx + 1].astype(np.float64)
        h = np.exp(-(x**2) / (2 * cov[0, 0]) - y**2 / (2 * cov[1, 1]))
        h[h < _EPS * h.max()] = 0.0
    else:
        h = np.outer(
            gaussian_1d(math.sqrt(cov[1, 1]), ry, mode=mode),
            gaussian_1d(math.sqrt(cov[0, 0]), rx, mode=mode),
        )
    return h / h.sum()


def _covariance(sigma: float, sigma_y: float, angle: float) -> np.ndarray:
    """Covariance in (x, row) coordinates of a Gaussian with ``sigma`` along ``angle``.

    Exactly diagonal when the kernel is axis-aligned or isotropic (the separable path).
    """
    if sigma == sigma_y or math.sin(2 * angle) == 0.0:
        swap = abs(math.cos(angle)) < 0.5  # a quarter turn swaps the axes
        sx, sy = (sigma_y, sigma) if swap else (sigma, sigma_y)
        return np.diag([sx * sx, sy * sy])
    u = np.array([math.cos(angle), -math.sin(angle)])  # rows go down: screen CCW
    v = np.array([math.sin(angle), math.cos(angle)])
    return sigma**2 * np.outer(u, u) + sigma_y**2 * np.outer(v, v)


#: Gauss–Legendre nodes per axis within a pixel for rotated kernels.
_PIXEL_NODES = 8


def _rotated_gaussian(cov: np.ndarray, rx: int, ry: int, mode: str) -> np.ndarray:
    inverse = np.linalg.inv(cov)
    if mode == "sampled":
        offsets, weights = np.zeros(1), np.ones(1)
    else:
        offsets, weights = np.polynomial.legendre.leggauss(_PIXEL_NODES)
        offsets, weights = offsets / 2, weights / 2  # on [-1/2, 1/2], summing to 1
    x = np.arange(-rx, rx + 1)[None, :, None, None] + offsets[None, None, None, :]
    y = np.arange(-ry, ry + 1)[:, None, None, None] + offsets[None, None, :, None]
    q = inverse[0, 0] * x * x + 2 * inverse[0, 1] * x * y + inverse[1, 1] * y * y
    values = np.exp(-0.5 * q) * weights[None, None, :, None] * weights[None, None, None, :]
    h = values.sum(axis=(2, 3))
    if mode == "sampled":
        h[h < _EPS * h.max()] = 0.0
    return h


def _quadrant_area(a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Area of the disk of radius ``r`` (centred at 0) inside ``[0, a] × [0, b]``, a, b ≥ 0."""

    def arc_integral(x: np.ndarray) -> np.ndarray:  # ∫_0^x sqrt(r² − t²) dt, 0 ≤ x ≤ r
        return 0.5 * (x * np.sqrt(np.maximum(r * r - x * x, 0.0)) + r * r * np.arcsin(x / r))

    a = np.minimum(a, r)
    # Below the arc for x < xc the rectangle's top edge b binds; beyond it the arc does.
    xc = np.sqrt(np.maximum(r * r - b * b, 0.0))
    xc = np.minimum(xc, a)
    return b * xc + arc_integral(a) - arc_integral(xc)


def _signed_quadrant_area(a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Odd extension of ``_quadrant_area`` so inclusion–exclusion works across the axes."""
    return np.sign(a) * np.sign(b) * _quadrant_area(np.abs(a), np.abs(b), r)


def disk(radius: float) -> np.ndarray:
    """Uniform disk (pillbox) PSF, as MATLAB ``fspecial('disk', radius)``.

    Size ``2*ceil(radius - 0.5) + 1``. Each pixel is weighted by the exact area of the
    disk inside it (interior pixels 1, edge pixels fractional), then normalised.

    Parameters
    ----------
    radius : float
        Disk radius in pixels, > 0.

    Returns
    -------
    psf : (n, n) ndarray of float64
    """
    r = check_real("radius", radius, positive=True)
    c = _check_radius(f"disk radius={r:g}", max(math.ceil(r - 0.5), 0), "radius <= 512")
    if c == 0:  # the disk lies within the centre pixel (its area may underflow): a delta
        return np.ones((1, 1))
    y, x = np.mgrid[-c : c + 1, -c : c + 1].astype(np.float64)
    x0, x1, y0, y1 = x - 0.5, x + 0.5, y - 0.5, y + 0.5
    area = (
        _signed_quadrant_area(x1, y1, r)
        - _signed_quadrant_area(x0, y1, r)
        - _signed_quadrant_area(x1, y0, r)
        + _signed_quadrant_area(x0, y0, r)
    )
    area = np.maximum(area, 0.0)  # inclusion–exclusion leaves ±1e-17 where a pixel is empty
    return area / area.sum()


def motion(length: float, angle: float = 0.0) -> np.ndarray:
    """Linear motion blur, as MATLAB ``fspecial('motion', length, angle)`` computes it.

    A segment of ``length`` pixels through the centre, ``angle`` degrees counter-clockwise
    from +x, line width 1; each pixel weighs ``1 − distance to the segment`` (clipped at
    zero), then the kernel is normalised. This follows MATLAB's arithmetic step by step,
    including its ``eps`` nudges, so the values agree to rounding.

    Parameters
    ----------
    length : float
        Segment length in pixels, > 0 (values below 1 act as 1, as in MATLAB).
    angle : float
        Direction in degrees, counter-clockwise from +x.

    Returns
    -------
    psf : (n, m) ndarray of float64, n and m odd
    """
    length = max(1.0, check_real("length", length, positive=True))
    _check_radius(f"motion length={length:g}", math.ceil(length / 2), "length <= 1024")
    angle = check_real("angle", angle)
    half = (length - 1) / 2
    phi = math.fmod(angle, 180.0)
    phi = (phi + 180.0 if phi < 0 else phi) / 180.0 * math.pi
    cosphi, sinphi = math.cos(phi), math.sin(phi)
    xsign = 1.0 if cosphi > 0 else (-1.0 if cosphi < 0 else 0.0)
    linewidth = 1.0
    sx = math.trunc(half * cosphi + linewidth * xsign - length * _EPS)
    sy = math.trunc(half * sinphi + linewidth - length * _EPS)
    xs = np.arange(0, sx - 1 if xsign < 0 else sx + 1, -1 if xsign < 0 else 1, dtype=float)
    ys = np.arange(0, sy + 1, dtype=float)
    x, y = np.meshgrid(xs, ys)
    dist = y * cosphi - x * sinphi  # perpendicular distance to the line
    rad = np.hypot(x, y)
    last = (rad >= half) & (np.abs(dist) <= linewidth)
    with np.errstate(divide="ignore", invalid="ignore"):
        x2last = half - np.abs((x[last] + dist[last] * sinphi) / cosphi)
    dist[last] = np.sqrt(dist[last] ** 2 + x2last**2)
    dist = linewidth + _EPS - np.abs(dist)
    dist[dist < 0] = 0.0
    # Unfold the half-matrix to the full size, exactly as MATLAB's indexing does.
    n, m = dist.shape
    h = np.zeros((2 * n - 1, 2 * m - 1))
    h[:n, :m] = np.rot90(dist, 2)
    h[n - 1 :, m - 1 :] = dist
    h = h / (h.sum() + _EPS * length * length)
    if cosphi > 0:
        h = np.flipud(h)
    return h / h.sum()


def box(n: int) -> np.ndarray:
    """Uniform ``n × n`` box PSF.

    An even ``n`` is padded with a zero row and column at the end (bottom, right), so the
    kernel stays odd-sized and its centre sits half a pixel off the centre pixel, as an
    even box filter does.
    """
    n = check_int("n", n, minimum=1)
    _check_radius(f"box n={n}", n // 2, "n <= 1025")
    return from_array(np.ones((n, n)))


def from_array(array: np.ndarray) -> np.ndarray:
    """Validate and normalise a user-supplied PSF.

    Parameters
    ----------
    array : (h, w) array_like
        Finite, non-negative, with a positive sum. An even side is padded with one zero
        row/column at the end to make it odd.

    Returns
    -------
    psf : ndarray of float64, odd-by-odd, sum 1
    """
    a = np.asarray(array)
    if a.ndim == 2 and max(a.shape) > MAX_PSF_SIDE:
        raise InvalidArgumentError(
            f"psf of shape {a.shape} is larger than the largest supported, "
            f"{MAX_PSF_SIDE}x{MAX_PSF_SIDE} pixels"
        )
    if a.dtype.kind == "c":
        raise InvalidTypeError(f"psf must be real; got complex dtype {a.dtype}")
    if a.dtype.kind not in "biuf":
        raise InvalidTypeError(f"psf must be a numeric array; got dtype {a.dtype}")
    a = a.astype(np.float64)
    if a.ndim != 2:
        raise InvalidArgumentError(f"psf must be 2-D; got shape {a.shape}")
    if a.size == 0:
        raise InvalidArgumentError(f"psf is empty (shape {a.shape})")
    if not np.isfinite(a).all():
        raise InvalidArgumentError("psf contains NaN or Inf; only finite values are allowed")
    if (a < 0).any():
        raise InvalidArgumentError(f"psf must be non-negative; minimum is {a.min()!r}")
    peak = a.max()
    if peak <= 0:
        raise InvalidArgumentError("psf must have a positive sum; all its values are 0")
    with np.errstate(over="ignore"):
        total = a.sum()
    if not np.isfinite(total) or total < np.finfo(np.float64).tiny:
        # Values near 1e308 sum to inf, denormals lose their digits: by the peak first.
        # (Only then: a PSF that already sums to 1 must come back bit for bit.)
        a = a / peak
        total = a.sum()
    pad = ((0, 1 - a.shape[0] % 2), (0, 1 - a.shape[1] % 2))
    return np.pad(a, pad) / total


def otf(psf: np.ndarray, shape: tuple[int, int], *, half: bool = False) -> np.ndarray:
    """Optical transfer function on an FFT grid, as MATLAB ``psf2otf``.

    The PSF is zero-padded to ``shape`` and circularly shifted so its centre pixel sits at
    index ``(0, 0)``; the result is its 2-D FFT.

    Parameters
    ----------
    psf : (h, w) ndarray
        Odd-by-odd PSF.
    shape : tuple of int
        FFT grid ``(H, W)``, at least the PSF's size.
    half : bool
        Only the ``rfft2`` grid, columns ``0 .. W // 2`` (what real-FFT filters multiply
        by), computed by a real FFT: a quarter of the work.

    Returns
    -------
    H : (H, W) or (H, W // 2 + 1) ndarray of complex128
    """
    psf = from_array(psf)
    if len(shape) != 2 or any(int(s) < 1 for s in shape):
        raise InvalidArgumentError(f"shape must be two positive ints; got {shape!r}")
    rows, cols = (int(s) for s in shape)
    if psf.shape[0] > rows or psf.shape[1] > cols:
        raise InvalidArgumentError(
            f"psf of shape {psf.shape} is larger than the grid {(rows, cols)}"
        )
    padded = np.zeros((rows, cols))
    padded[: psf.shape[0], : psf.shape[1]] = psf
    padded = np.roll(padded, (-(psf.shape[0] // 2), -(psf.shape[1] // 2)), axis=(0, 1))
    return np.fft.rfft2(padded) if half else np.fft.fft2(padded)


def quadrant_symmetric(psf: np.ndarray) -> bool:
    """True when the PSF is even in both axes (its response is then real and even)."""
    return bool(
        np.allclose(psf, psf[::-1, :], atol=1e-14) and np.allclose(psf, psf[:, ::-1], atol=1e-14)
    )


_SPEC_HELP = (
    "gaussian:S, gaussian:S,SY, disk:R, motion:L,ANGLE, box:N, or a path to a "
    ".npy/.txt/.png/.tif kernel"
)


def spec_file(spec: object) -> Path | None:
    """The kernel file a PSF spec names (a command's input: never to be written), or None.

    ``gaussian:1.5`` and the other built-in specs, ``auto`` and ``estimate`` name none.
    """
    if not isinstance(spec, str) or not spec:
        return None
    name, sep, _ = spec.partition(":")
    if sep and name in ("gaussian", "disk", "motion", "box"):
        return None
    path = Path(spec)
    return path if path.suffix.lower() in KERNEL_SUFFIXES else None


def parse(spec: str) -> np.ndarray:
    """Build a PSF from a command-line spec.

    Parameters
    ----------
    spec : str
        ``gaussian:S``, ``gaussian:S,SY``, ``disk:R``, ``motion:L,ANGLE``, ``box:N``, or a
        path to a ``.npy`` / ``.txt`` (whitespace-separated) / ``.png`` / ``.tif`` kernel.

    Returns
    -------
    psf : ndarray of float64
    """
    if not isinstance(spec, str) or not spec:
        raise InvalidArgumentError(f"Invalid psf spec {spec!r}; expected {_SPEC_HELP}")
    name, _, args = spec.partition(":")
    builders = {"gaussian": (gaussian, 1, 2), "disk": (disk, 1, 1), "motion": (motion, 2, 2)}
    if name in builders and args:
        func, lo, hi = builders[name]
        values = _parse_numbers(spec, args)
        if not lo <= len(values) <= hi:
            raise InvalidArgumentError(f"Invalid psf spec {spec!r}; expected {_SPEC_HELP}")
        return func(*values)
    if name == "box" and args:
        values = _parse_numbers(spec, args)
        if len(values) != 1 or not float(values[0]).is_integer():
            raise InvalidArgumentError(f"Invalid psf spec {spec!r}; box:N needs one integer N")
        return box(int(values[0]))
    path = Path(spec)
    if path.suffix.lower() in KERNEL_SUFFIXES:
        return from_array(_load_kernel(path))
    raise InvalidArgumentError(f"Invalid psf spec {spec!r}; expected {_SPEC_HELP}")


def _parse_numbers(spec: str, args: str) -> list[float]:
    try:
        return [float(v) for v in args.split(",")]
    except ValueError:
        raise InvalidArgumentError(f"Invalid psf spec {spec!r}; expected {_SPEC_HELP}") from None


#: The files a kernel is written to (:func:`save_kernel`) and read back from (``parse``).
KERNEL_SUFFIXES = (".png", ".tif", ".tiff", ".npy", ".txt")


def save_kernel(kernel: np.ndarray, path: str | Path) -> None:
    """Write a kernel so that ``parse(str(path))`` reads it back (normalised).

    ``.npy``/``.txt``: the values. ``.png``/``.tif``: a 16-bit picture scaled to the
    kernel's peak (what ``--psf FILE`` reads; 1/65535 of the peak is the resolution).
    """
    path = Path(path)
    kernel = from_array(kernel)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        with path.open("wb") as handle:  # np.save would append .npy to another name
            np.save(handle, kernel, allow_pickle=False)
    elif suffix == ".txt":
        np.savetxt(path, kernel)
    elif suffix in KERNEL_SUFFIXES:
        import cv2

        picture = np.round(kernel / kernel.max() * 65535).astype(np.uint16)
        if not cv2.imwrite(str(path), picture):
            raise InvalidArgumentError(f"cannot write the kernel picture {str(path)!r}")
    else:
        raise InvalidArgumentError(
            f"a kernel is written as one of {', '.join(KERNEL_SUFFIXES)}; got {str(path)!r}"
        )


def _load_kernel(path: Path) -> np.ndarray:
    if not path.is_file():
        raise InvalidArgumentError(f"psf file {str(path)!r} does not exist or is not a file")
    import cv2

    try:
        if path.suffix.lower() == ".npy":
            return np.load(path, allow_pickle=False)
        if path.suffix.lower() == ".txt":
            return np.loadtxt(path, ndmin=2)
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)
    except cv2.error as exc:  # e.g. a header over OpenCV's 2^30-pixel limit
        reason = opencv_reason(exc)
        raise InvalidArgumentError(f"cannot read psf file {str(path)!r}: {reason}") from None
    except (OSError, ValueError) as exc:
        raise InvalidArgumentError(f"cannot read psf file {str(path)!r}: {exc}") from None
    if image is None:
        raise InvalidArgumentError(f"cannot read psf file {str(path)!r} as an image")
    return image
