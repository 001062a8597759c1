import numpy as np
import pytest

from gpudeconv.core import degrade, psf
from tests import tolerances as tol

_NUMPY_PAD = {"reflect": "symmetric", "wrap": "wrap", "clamp": "edge"}


def _direct_convolution(image: np.ndarray, kernel: np.ndarray, boundary: str) -> np.ndarray:
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(image, ((ry, ry), (rx, rx)), mode=_NUMPY_PAD[boundary])
    out = np.zeros_like(image, dtype=np.float64)
    for dy in range(-ry, ry + 1):
        for dx in range(-rx, rx + 1):  # y[i] = Σ h[d] x[i − d]
            out += (
                kernel[ry + dy, rx + dx]
                * padded[ry - dy : ry - dy + image.shape[0], rx - dx : rx - dx + image.shape[1]]
            )
    return out


@pytest.mark.parametrize("boundary", ["reflect", "wrap", "clamp"])
def test_blur_equals_direct_convolution(rng, boundary):
    image = rng.random((13, 17))
    kernel = psf.from_array(rng.random((5, 3)))  # asymmetric: catches a correlation/flip mixup
    np.testing.assert_allclose(
        degrade.blur(image, kernel, boundary=boundary),
        _direct_convolution(image, kernel, boundary),
        atol=tol.F64_EXACT,
    )


def test_blur_per_channel_and_dtypes(rng):
    image = rng.random((9, 10, 3)).astype(np.float32)
    kernel = psf.gaussian(1.0)
    out = degrade.blur(image, kernel)
    assert out.dtype == np.float32 and out.shape == image.shape
    for c in range(3):
        np.testing.assert_allclose(out[..., c], degrade.blur(image[..., c], kernel), atol=1e-6)
    assert degrade.blur(np.zeros((9, 9), np.uint8), kernel).dtype == np.float32


def test_noise_is_seeded_and_has_the_right_std():
    image = np.zeros((400, 400))
    a = degrade.add_noise(image, 0.01, seed=3)
    np.testing.assert_array_equal(a, degrade.add_noise(image, 0.01, seed=3))
    assert abs(a.std() - 0.01) < 0.0002


def test_quantize_levels_and_error_variance(rng):
    x = rng.random(200_000).reshape(400, 500)
    q = degrade.quantize(x, bits=8)
    np.testing.assert_allclose(q * 255, np.round(q * 255), atol=1e-9)
    step = 1 / 255
    assert abs((q - x).var() - step**2 / 12) < 0.05 * step**2 / 12
    np.testing.assert_array_equal(degrade.quantize(np.array([[-0.5, 1.5]])), [[0.0, 1.0]])


def test_srgb_curves_exact():
    v = np.array([[0.0, 0.04045, 0.5, 1.0]])
    lin = degrade.srgb_to_linear(v)
    np.testing.assert_allclose(lin[0, 1], 0.04045 / 12.92, atol=tol.F64_EXACT)
    np.testing.assert_allclose(lin[0, 2], ((0.5 + 0.055) / 1.055) ** 2.4, atol=tol.F64_EXACT)
    np.testing.assert_allclose(lin[0, 2], 0.21404114, atol=1e-8)
    # The standard's two thresholds (0.04045 and 0.0031308·12.92) differ by 5e-8, so the
    # exact curves invert each other to 3e-8 there and to rounding everywhere else.
    np.testing.assert_allclose(degrade.linear_to_srgb(lin), v, atol=tol.SRGB_SEAM)
    x = np.linspace(-0.2, 1.2, 1001)[None]
    np.testing.assert_allclose(
        degrade.linear_to_srgb(degrade.srgb_to_linear(x)), x, atol=tol.SRGB_SEAM
    )
    away = np.abs(np.abs(x) - 0.04045) > 1e-4
    np.testing.assert_allclose(
        degrade.linear_to_srgb(degrade.srgb_to_linear(x))[away], x[away], atol=tol.F64_EXACT
    )


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: degrade.blur(np.ones((4, 4)), psf.gaussian(2)), ValueError, "larger than"),
        (
            lambda: degrade.blur(np.ones((4, 4)), np.ones((3, 3)), boundary="zero"),
            ValueError,
            "Invalid boundary",
        ),
        (lambda: degrade.blur(np.ones(4), np.ones((1, 1))), ValueError, "2-D"),
        (lambda: degrade.blur(np.ones((0, 4)), np.ones((1, 1))), ValueError, "empty"),
        (lambda: degrade.blur(np.full((3, 3), np.inf), np.ones((1, 1))), ValueError, "NaN"),
        (lambda: degrade.blur(np.ones((3, 3), complex), np.ones((1, 1))), TypeError, "complex"),
        (lambda: degrade.blur(np.ones((3, 3), np.int32), np.ones((1, 1))), TypeError, "dtype"),
        (lambda: degrade.add_noise(np.ones((3, 3)), -1), ValueError, "sigma must be >= 0"),
        (lambda: degrade.quantize(np.ones((3, 3)), bits=0), ValueError, "bits must be >= 1"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
