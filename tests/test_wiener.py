import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gpudeconv import wiener
from gpudeconv.core import degrade, metrics, psf
from gpudeconv.core.spectra import natural_spectrum
from tests import tolerances as tol


def _circulant_matrix(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Dense matrix of circular convolution with `kernel` on images of `shape` (row-major)."""
    n = shape[0] * shape[1]
    columns = []
    for k in range(n):
        unit = np.zeros(n)
        unit[k] = 1
        columns.append(degrade.blur(unit.reshape(shape), kernel, boundary="wrap").ravel())
    return np.stack(columns, axis=1)


def _spectrum_matrix(spectrum: np.ndarray) -> np.ndarray:
    """Dense circulant covariance whose eigenvalues (on the DFT grid) are `spectrum`."""
    shape = spectrum.shape
    n = spectrum.size
    columns = []
    for k in range(n):
        unit = np.zeros(n)
        unit[k] = 1
        columns.append(np.fft.ifft2(spectrum * np.fft.fft2(unit.reshape(shape))).real.ravel())
    return np.stack(columns, axis=1)


def _grid(shape):
    wy = 2 * np.pi * np.fft.fftfreq(shape[0])[:, None]
    wx = 2 * np.pi * np.fft.fftfreq(shape[1])[None, :]
    return wy, wx


SHAPE = (8, 9)


def test_exact_inverse_without_noise(rng):
    kernel = psf.gaussian(0.6, radius=1)  # no zeros in H on this grid
    sharp = rng.random(SHAPE)
    blurred = degrade.blur(sharp, kernel, boundary="wrap")
    for prior in ("natural", "flat"):
        out = wiener(blurred, kernel, noise=0, prior=prior, boundary="periodic")
        np.testing.assert_allclose(out, sharp, atol=tol.DIRECT_SOLVE)


@pytest.mark.parametrize("prior", ["flat", "natural"])
def test_wiener_equals_dense_map_estimate(rng, prior):
    # The Wiener filter is the Gaussian MAP / LMMSE estimate C Aᵀ (A C Aᵀ + σ² I)⁻¹ y.
    kernel = psf.from_array(rng.random((3, 3)) + np.eye(3))
    y = rng.random(SHAPE)
    sigma = 0.05
    a = _circulant_matrix(kernel, SHAPE)
    spectrum = natural_spectrum(*_grid(SHAPE)) if prior == "natural" else np.ones(SHAPE)
    c = _spectrum_matrix(spectrum)
    direct = c @ a.T @ np.linalg.solve(a @ c @ a.T + sigma**2 * np.eye(a.shape[0]), y.ravel())
    out = wiener(y, kernel, noise=sigma, prior=prior, boundary="periodic")
    np.testing.assert_allclose(out.ravel(), direct, atol=tol.DIRECT_SOLVE)


def test_tikhonov_equals_dense_solve(rng):
    kernel = psf.gaussian(1.0, radius=2)
    laplacian = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], float)
    y = rng.random(SHAPE)
    lam = 0.01
    a = _circulant_matrix(kernel, SHAPE)
    lap = np.stack(
        [
            np.real(
                np.fft.ifft2(
                    np.fft.fft2(u.reshape(SHAPE))
                    * np.fft.fft2(
                        np.roll(
                            np.pad(laplacian, ((0, SHAPE[0] - 3), (0, SHAPE[1] - 3))),
                            (-1, -1),
                            (0, 1),
                        )
                    )
                )
            ).ravel()
            for u in np.eye(SHAPE[0] * SHAPE[1])
        ],
        axis=1,
    )
    direct = np.linalg.solve(a.T @ a + lam * lap.T @ lap, a.T @ y.ravel())
    out = wiener(y, kernel, reg="laplacian", lam=lam, boundary="periodic")
    np.testing.assert_allclose(out.ravel(), direct, atol=tol.DIRECT_SOLVE)


def _deconvwnr(image: np.ndarray, kernel: np.ndarray, nsr: float) -> np.ndarray:
    """MATLAB's deconvwnr(I, PSF, NSR), transcribed: psf2otf, then conj(H)/(|H|²+NSR)."""
    padded = np.zeros(image.shape)
    padded[: kernel.shape[0], : kernel.shape[1]] = kernel
    padded = np.roll(padded, (-(kernel.shape[0] // 2), -(kernel.shape[1] // 2)), (0, 1))
    h = np.fft.fft2(padded)
    return np.real(np.fft.ifft2(np.conj(h) / (np.abs(h) ** 2 + nsr) * np.fft.fft2(image)))


@pytest.mark.parametrize("kernel", [psf.gaussian(1.3), psf.motion(7, 30), psf.disk(2.2)])
def test_periodic_reproduces_deconvwnr(camera, kernel):
    blurred = degrade.blur(camera[:100, :120], kernel, boundary="wrap")
    expect = _deconvwnr(blurred, kernel, 1e-3)
    out = wiener(blurred, kernel, nsr=1e-3, boundary="periodic")
    assert np.abs(out - expect).max() <= tol.DECONVWNR_REL * np.abs(expect).max()


def test_reflect_leaves_no_border_ringing(camera):
    kernel = psf.gaussian(1.5)
    noisy = degrade.quantize(degrade.add_noise(degrade.blur(camera, kernel), 0.002, seed=1))
    band = 16

    def border_and_interior(image):
        err = (image - camera) ** 2
        inner = err[band:-band, band:-band]
        border_mse = (err.sum() - inner.sum()) / (err.size - inner.size)
        return 10 * np.log10(1 / border_mse), 10 * np.log10(1 / inner.mean())

    border, interior = border_and_interior(wiener(noisy, kernel, noise=0.002))
    assert border >= interior - tol.BORDER_PSNR_DB
    # The check has teeth: a periodic FFT rings at the seams of the same photograph.
    border_p, interior_p = border_and_interior(
        wiener(noisy, kernel, noise=0.002, boundary="periodic")
    )
    assert border_p < interior_p - 3


def test_restores_a_photograph(camera):
    kernel = psf.gaussian(1.0)
    noisy = degrade.quantize(degrade.add_noise(degrade.blur(camera, kernel), 0.002, seed=2))
    restored = wiener(noisy, kernel, noise=0.0022)
    assert metrics.psnr(camera, restored) > metrics.psnr(camera, noisy) + 2


def test_dtypes_channels_and_clip(rng):
    kernel = psf.gaussian(0.8)
    rgb = rng.random((20, 24, 3))
    out64 = wiener(rgb, kernel, noise=0.01)
    assert out64.dtype == np.float64 and out64.shape == rgb.shape and out64.flags.c_contiguous
    for c in range(3):
        np.testing.assert_allclose(
            out64[..., c], wiener(rgb[..., c], kernel, noise=0.01), atol=tol.F64_EXACT
        )
    out32 = wiener(rgb.astype(np.float32), kernel, noise=0.01)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, atol=tol.F32_FFT)
    as_u8 = np.round(rgb * 255).astype(np.uint8)
    out_u8 = wiener(as_u8, kernel, noise=0.01)
    assert out_u8.dtype == np.float32
    np.testing.assert_allclose(out_u8, wiener(as_u8 / 255.0, kernel, noise=0.01), atol=tol.F32_FFT)
    clipped = wiener(rgb, kernel, noise=0.0, clip=True)
    assert clipped.min() >= rgb.min() and clipped.max() <= rgb.max()
    strided = wiener(rgb[::2, ::-1], kernel, noise=0.01)
    np.testing.assert_allclose(strided, wiener(rgb[::2, ::-1].copy(), kernel, noise=0.01))


def shake_kernel(rng: np.random.Generator, size: int = 13) -> np.ndarray:
    """An asymmetric camera-shake kernel: a random walk with momentum, bilinear splats."""
    k = np.zeros((size, size))
    p, v = np.array([size / 2, size / 4]), np.array([0.4, 0.6])
    for _ in range(5 * size):
        v = 0.8 * v + 0.35 * rng.normal(size=2)
        p = np.clip(p + 0.5 * v, 0, size - 1.001)
        (iy, ix), (fy, fx) = p.astype(int), p - p.astype(int)
        k[iy : iy + 2, ix : ix + 2] += np.outer([1 - fy, fy], [1 - fx, fx])
    return k / k.sum()


def test_reflect_with_a_shake_kernel_improves_as_the_noise_falls(camera):
    """Issue 15's broken reference: mirroring assumes a centrosymmetric PSF.

    A reflect-blurred photograph and an asymmetric 13-px kernel: the interior PSNR must rise
    as the noise falls and reach 35 dB at 1e-4 (it fell to 17.6 dB before: the mirrored
    border, blurred by the flipped kernel, rang through the image).
    """
    rng = np.random.default_rng(0)
    kernel = shake_kernel(rng)
    assert np.abs(kernel - kernel[::-1, ::-1]).max() > 0.01
    sharp = camera[128:384, 128:384]
    scores = []
    for noise in (0.01, 0.002, 1e-4):
        blurred = degrade.blur(sharp, kernel, boundary="reflect")
        blurred = blurred + rng.normal(0, noise, sharp.shape)
        restored = wiener(blurred, kernel, noise=noise, boundary="reflect")
        scores.append(metrics.psnr(sharp[16:-16, 16:-16], restored[16:-16, 16:-16]))
    assert scores[0] < scores[1] < scores[2], scores
    assert scores[2] >= 35.0, scores


def test_unknown_boundary_agrees_with_reflect_for_a_symmetric_blur(camera):
    """Where mirroring is exact, solving for the outside pixels changes little inside."""
    sharp = camera[100:228, 100:228]
    kernel = psf.gaussian(1.5)
    blurred = degrade.blur(sharp, kernel, boundary="reflect")
    mirrored = wiener(blurred, kernel, noise=0.002, boundary="reflect")
    solved = wiener(blurred, kernel, noise=0.002, boundary="unknown")
    inner = (slice(16, -16), slice(16, -16))
    assert (
        abs(metrics.psnr(sharp[inner], solved[inner]) - metrics.psnr(sharp[inner], mirrored[inner]))
        < 0.5
    )


def test_the_degradation_model_has_no_unknown_boundary():
    with pytest.raises(ValueError, match="Invalid boundary 'unknown'"):
        degrade.blur(np.ones((8, 8)), psf.gaussian(1.0), boundary="unknown")


@settings(max_examples=30, deadline=None, derandomize=True)  # the same examples every run
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.sampled_from([None, 1, 3, 4]),
    st.sampled_from([np.float32, np.float64, np.uint8, np.uint16]),
    st.sampled_from(["reflect", "periodic", "unknown"]),
)
# Found by a fresh-clone run: a 1×1 float32 image with no regulariser came back as −51
# (the unknown-boundary CG stepped on rounding noise in the unobserved pixels).
@example(1, 1, None, np.float32, "unknown")
@example(1, 1, 4, np.float32, "unknown")
def test_identity_psf_property(h, w, channels, dtype, boundary):
    shape = (h, w) if channels is None else (h, w, channels)
    rng = np.random.default_rng(h * 100 + w)
    image = (rng.random(shape) * (255 if dtype in (np.uint8, np.uint16) else 1)).astype(dtype)
    out = wiener(image, np.ones((1, 1)), nsr=0.0, boundary=boundary)
    assert out.shape == shape
    assert out.dtype == (np.float32 if dtype in (np.uint8, np.uint16) else dtype)
    scale = np.iinfo(dtype).max if dtype in (np.uint8, np.uint16) else 1
    np.testing.assert_allclose(out, image / scale, atol=tol.F32_FFT)


@pytest.mark.parametrize("kwargs", [{"nsr": 0.0}, {"noise": 0.0}, {"reg": "laplacian", "lam": 0}])
def test_an_unknown_boundary_without_a_regulariser_is_refused(kwargs):
    """The pixels beyond the border are more unknowns than the data have equations: with
    nothing to choose among them the solve returned NaN (float32) or 1e36 (float64) for a
    9×9 image and a 3-px box across a width the box erases."""
    image = np.random.default_rng(0).random((9, 9))
    asymmetric = np.outer(np.ones(3) / 3, [0.2, 0.5, 0.3])
    with pytest.raises(ValueError, match="no regulariser"):
        wiener(image, asymmetric, **kwargs)
    with pytest.raises(ValueError, match="no regulariser"):
        wiener(image, asymmetric, boundary="unknown", **kwargs)
    assert np.isfinite(wiener(image, asymmetric, boundary="periodic", **kwargs)).all()
    shifted = np.zeros((3, 3))
    shifted[0, 1] = 1.0  # a pure shift: nothing to choose, still solved
    assert np.isfinite(wiener(image, shifted, **kwargs)).all()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({}, ValueError, "exactly one of noise"),
        ({"noise": 0.1, "nsr": 0.1}, ValueError, "exactly one of noise"),
        ({"noise": -0.1}, ValueError, "noise must be >= 0"),
        ({"noise": float("nan")}, ValueError, "noise must be finite"),
        ({"nsr": -1}, ValueError, "nsr must be >= 0"),
        ({"noise": 0.1, "prior": "pink"}, ValueError, "Invalid prior"),
        ({"noise": 0.1, "boundary": "clamp"}, ValueError, "Invalid boundary"),
        ({"reg": "laplacian"}, ValueError, "needs lam"),
        ({"reg": "tv", "lam": 1}, ValueError, "Invalid reg"),
        ({"noise": 0.1, "lam": 1}, ValueError, "only used with reg"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        wiener(np.ones((16, 16)), psf.gaussian(1.0), **kwargs)


@pytest.mark.parametrize(
    ("image", "kernel", "exc", "match"),
    [
        (np.ones((5, 5)), psf.gaussian(2.0), ValueError, "larger than the image"),
        (np.full((9, 9), np.nan), psf.gaussian(1.0), ValueError, "NaN, Inf"),
        (np.ones((9, 9), complex), psf.gaussian(1.0), TypeError, "complex"),
        (np.ones((9, 9, 3, 1)), psf.gaussian(1.0), ValueError, "2-D"),
        (np.ones((0, 9)), psf.gaussian(1.0), ValueError, "empty"),
        (np.ones((9, 9), np.int64), psf.gaussian(1.0), TypeError, "dtype"),
    ],
)
def test_bad_images(image, kernel, exc, match):
    with pytest.raises(exc, match=match):
        wiener(image, kernel, noise=0.01)


def test_unknown_boundary_equals_dense_solve(rng):
    """The Fourier-domain CG solves ``(Kᵀ M K + R) u = Kᵀ M y`` on the padded domain.

    Against dense float64 matrices of the same problem — an asymmetric kernel, a
    natural-image regulariser, a 10×9 image padded by the kernel's radius (1, 2), padded
    widths 13 and 14 (odd, and even with a Nyquist column): its first three iterates are
    those of a textbook preconditioned CG (preconditioner ``(KᵀK + R)⁻¹``), so every inner
    product and spectral step is checked, and its answer is the direct solve's.
    """
    from gpudeconv.core.spectra import regularizer_spectrum
    from gpudeconv.restoration.unknown_boundary import solve_unknown_boundary
    from gpudeconv.restoration.wiener import _irfft2, _rfft2

    kernel = psf.from_array(rng.random((3, 5)) + 0.1)
    rows, cols, margins = 10, 9, (1, 2)
    helpers = (lambda v: _rfft2(np, v), lambda v, s: _irfft2(np, v, s))
    for extra in (0, 1):
        shape = (rows + 2 * margins[0], cols + 2 * margins[1] + extra)
        y = rng.random((rows, cols + extra))
        params = {"noise": 0.05}
        a = _circulant_matrix(kernel, shape)
        spectrum = regularizer_spectrum(*_grid(shape), **params) + np.zeros(shape)
        r = _spectrum_matrix(spectrum)
        p = _spectrum_matrix(1.0 / (np.abs(psf.otf(kernel, shape)) ** 2 + spectrum))
        inside = np.zeros(shape, bool)
        inside[1:-1, 2:-2] = True
        m = np.diag(inside.ravel().astype(float))
        observed = np.zeros(shape)
        observed[inside] = y.ravel()
        normal, rhs = a.T @ m @ a + r, a.T @ m @ observed.ravel()
        problem = (np, y[..., None], kernel, params, np.zeros((*shape, 1)), margins, helpers)
        options = {"padded": True, "tolerance": 0.0}

        u = np.zeros(rhs.size)
        residual = rhs.copy()
        z = p @ residual
        direction, rz = z.copy(), residual @ z
        for iterations in (1, 2, 3):
            a_dir = normal @ direction
            step = rz / (direction @ a_dir)
            u = u + step * direction
            residual = residual - step * a_dir
            z = p @ residual
            direction, rz = z + (residual @ z) / rz * direction, residual @ z
            out, used = solve_unknown_boundary(*problem, max_iterations=iterations, **options)
            assert used == iterations
            np.testing.assert_allclose(out[..., 0].ravel(), u, atol=tol.F64_EXACT * 100)
        out, used = solve_unknown_boundary(*problem, max_iterations=1000, **options)
        assert used < 1000
        direct = np.linalg.solve(normal, rhs)
        np.testing.assert_allclose(out[..., 0].ravel(), direct, atol=tol.CG_DIRECT_SOLVE)


@pytest.mark.parametrize("noise", [0.002, 1e-4])
def test_unknown_boundary_runs_to_its_stopping_rule(camera, monkeypatch, noise):
    """The rounding-level floor must not end the CG before the step rule does.

    float32 (as every 8-bit photograph is solved). A floor of 100 ε‖rhs‖ once stopped a
    27-px shake at noise 0.002 after a third of its iterations (−1 dB); 4 ε‖rhs‖ still
    did at noise 1e-4 (−4.8 dB). The solution must match the one with no floor at all.
    """
    import gpudeconv.restoration.unknown_boundary as ub
    from bench.shake import load_kernels

    kernel = load_kernels()["shake-27"]
    sharp = camera[100:292, 100:292]
    blurred = degrade.blur(sharp, kernel, boundary="reflect")
    observed = np.clip(blurred + np.random.default_rng(1).normal(0, noise, sharp.shape), 0, 1)
    observed = observed.astype(np.float32)
    solved = wiener(observed, kernel, noise=noise)
    monkeypatch.setattr(ub, "RESIDUAL_FLOOR", 0)
    unfloored = wiener(observed, kernel, noise=noise)
    inner = (slice(16, -16), slice(16, -16))
    assert (
        abs(
            metrics.psnr(sharp[inner], solved[inner]) - metrics.psnr(sharp[inner], unfloored[inner])
        )
        < 0.05
    )
