import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from gpudeconv.core import psf
from tests import tolerances as tol


def _check_basic(h: np.ndarray) -> None:
    assert h.dtype == np.float64
    assert h.ndim == 2 and h.shape[0] % 2 == 1 and h.shape[1] % 2 == 1
    assert abs(h.sum() - 1) < tol.F64_EXACT
    assert (h >= 0).all()


def test_gaussian_integrated_equals_pixel_integral():
    sigma = 0.7
    h = psf.gaussian(sigma)
    radius = math.ceil(4 * sigma)
    assert h.shape == (2 * radius + 1,) * 2
    density = lambda t: math.exp(-t * t / (2 * sigma**2))  # noqa: E731
    taps = np.array([quad(density, x - 0.5, x + 0.5)[0] for x in range(-radius, radius + 1)])
    expect = np.outer(taps, taps)
    np.testing.assert_allclose(h, expect / expect.sum(), atol=tol.F64_EXACT)
    _check_basic(h)


def test_gaussian_sampled_equals_fspecial_definition():
    # fspecial('gaussian', [7 7], 1.1): exp(-(x²+y²)/(2σ²)), eps·max cut, normalised.
    h = psf.gaussian(1.1, radius=3, mode="sampled")
    y, x = np.mgrid[-3:4, -3:4]
    g = np.exp(-(x**2 + y**2) / (2 * 1.1**2))
    g[g < np.finfo(float).eps * g.max()] = 0
    np.testing.assert_allclose(h, g / g.sum(), atol=tol.F64_EXACT)
    # MATLAB's documented fspecial('gaussian', 3, 0.5) centre value.
    assert abs(psf.gaussian(0.5, radius=1, mode="sampled")[1, 1] - 0.6193) < tol.MATLAB_4DP


def test_gaussian_anisotropic_shape_and_axes():
    h = psf.gaussian(0.5, 2.0)
    assert h.shape == (17, 5)  # rows follow sigma_y
    var_x = (h.sum(0) * np.arange(-2, 3) ** 2).sum()
    var_y = (h.sum(1) * np.arange(-8, 9) ** 2).sum()
    assert var_y > 10 * var_x


@settings(max_examples=40, deadline=None, derandomize=True)  # the same examples every run
@given(st.floats(0.2, 6.0), st.floats(0.2, 6.0), st.sampled_from(["integrated", "sampled"]))
def test_gaussian_properties(sx, sy, mode):
    h = psf.gaussian(sx, sy, mode=mode)
    _check_basic(h)
    np.testing.assert_allclose(h, h[::-1, ::-1], atol=tol.F64_EXACT)  # centred, symmetric


def test_disk_matlab_radius_one():
    # fspecial('disk', 1) in MATLAB: corner .0251, edge .1453, centre .3183 (= 1/pi).
    h = psf.disk(1)
    expect = np.array(
        [[0.0251, 0.1453, 0.0251], [0.1453, 0.3183, 0.1453], [0.0251, 0.1453, 0.0251]]
    )
    np.testing.assert_allclose(h, expect, atol=tol.MATLAB_4DP)


def test_disk_hand_computed_edge_area():
    # Radius 1: the pixel [0.5, 1.5] x [-0.5, 0.5] holds 2∫_{0.5}^{1} min(0.5, √(1−x²)) dx.
    x_c = math.sqrt(0.75)
    arc = (math.pi / 4) - 0.5 * (x_c * 0.5 + math.asin(x_c))
    edge = 2 * (0.5 * (x_c - 0.5)) + 2 * arc
    h = psf.disk(1)
    assert abs(h[1, 2] * math.pi - edge) < tol.F64_EXACT  # whole disk area is π
    assert abs(h[1, 1] * math.pi - 1.0) < tol.F64_EXACT  # interior pixel fully covered


@pytest.mark.parametrize("radius", [0.3, 0.5, 0.8, 1.5, 2.7, 4.0])
def test_disk_matches_supersampled_area(radius):
    h = psf.disk(radius)
    c = max(math.ceil(radius - 0.5), 0)
    assert h.shape == (2 * c + 1,) * 2
    n = 400  # sub-samples per pixel side
    sub = (np.arange(n) + 0.5) / n - 0.5
    counts = np.zeros_like(h)
    for i, yc in enumerate(range(-c, c + 1)):
        for j, xc in enumerate(range(-c, c + 1)):
            yy, xx = np.meshgrid(yc + sub, xc + sub, indexing="ij")
            counts[i, j] = np.count_nonzero(xx**2 + yy**2 <= radius**2)
    np.testing.assert_allclose(h, counts / counts.sum(), atol=10 * tol.DISK_SUPERSAMPLED)
    _check_basic(h)


def test_motion_matlab_known_value():
    expect = np.array([[0, 0.0754, 0.1883], [0.0754, 0.3215, 0.0754], [0.1883, 0.0754, 0]])
    np.testing.assert_allclose(psf.motion(3, 45), expect, atol=tol.MATLAB_4DP)


def test_motion_axis_aligned():
    np.testing.assert_allclose(psf.motion(5, 0), np.full((1, 5), 0.2), atol=tol.F64_EXACT)
    np.testing.assert_allclose(psf.motion(5, 90), np.full((5, 1), 0.2), atol=1e-12)
    np.testing.assert_allclose(psf.motion(1, 33), [[1.0]], atol=tol.F64_EXACT)


@settings(max_examples=60, deadline=None, derandomize=True)  # the same examples every run
@given(st.floats(1.0, 15.0), st.floats(-360.0, 360.0))
def test_motion_properties(length, angle):
    h = psf.motion(length, angle)
    _check_basic(h)
    np.testing.assert_allclose(h, h[::-1, ::-1], atol=1e-12)  # point-symmetric about centre
    # The line extends about `length` pixels along its direction.
    assert max(h.shape) <= math.ceil(length) + 2


def test_motion_direction_counter_clockwise():
    # 45° points up-right on screen (rows grow downwards): weight on the anti-diagonal.
    h = psf.motion(7, 45)
    assert np.trace(h[:, ::-1]) > 0.5 and h[0, 0] == 0 and h[-1, -1] == 0
    assert np.trace(psf.motion(7, 135)) > 0.5


def test_box_and_from_array_padding():
    np.testing.assert_allclose(psf.box(3), np.full((3, 3), 1 / 9), atol=tol.F64_EXACT)
    h = psf.box(2)
    assert h.shape == (3, 3)
    np.testing.assert_allclose(h[:2, :2], 0.25, atol=tol.F64_EXACT)
    assert h[2].sum() == 0 and h[:, 2].sum() == 0
    np.testing.assert_allclose(psf.from_array([[2.0]]), [[1.0]])
    assert psf.from_array(np.ones((4, 5), np.uint8)).shape == (5, 5)


def test_otf_equals_dft_definition(rng):
    h = psf.from_array(rng.random((3, 5)))
    shape = (8, 11)
    H = psf.otf(h, shape)
    wy = 2 * np.pi * np.fft.fftfreq(shape[0])[:, None]
    wx = 2 * np.pi * np.fft.fftfreq(shape[1])[None, :]
    expect = np.zeros(shape, complex)
    for i in range(3):
        for j in range(5):
            expect += h[i, j] * np.exp(-1j * (wy * (i - 1) + wx * (j - 2)))
    np.testing.assert_allclose(H, expect, atol=tol.F64_EXACT)
    # The half grid (real FFT) is the same OTF's columns 0 .. W // 2, odd and even widths.
    np.testing.assert_allclose(psf.otf(h, shape, half=True), expect[:, :6], atol=tol.F64_EXACT)
    np.testing.assert_allclose(
        psf.otf(h, (8, 10), half=True), psf.otf(h, (8, 10))[:, :6], atol=tol.F64_EXACT
    )
    # A symmetric PSF has a real OTF.
    assert np.abs(psf.otf(psf.gaussian(1.0), (16, 16)).imag).max() < tol.F64_EXACT


def test_parse_specs(tmp_path):
    np.testing.assert_array_equal(psf.parse("gaussian:1.2"), psf.gaussian(1.2))
    np.testing.assert_array_equal(psf.parse("gaussian:1,2"), psf.gaussian(1, 2))
    np.testing.assert_array_equal(psf.parse("disk:2.5"), psf.disk(2.5))
    np.testing.assert_array_equal(psf.parse("motion:9,30"), psf.motion(9, 30))
    np.testing.assert_array_equal(psf.parse("box:3"), psf.box(3))
    kernel = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], float)
    np.save(tmp_path / "k.npy", kernel)
    np.savetxt(tmp_path / "k.txt", kernel)
    import cv2

    cv2.imwrite(str(tmp_path / "k.png"), (kernel * 50).astype(np.uint8))
    for name in ("k.npy", "k.txt", "k.png"):
        np.testing.assert_allclose(psf.parse(str(tmp_path / name)), kernel / 8, atol=1e-12)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: psf.gaussian(0), ValueError, "sigma must be > 0"),
        (lambda: psf.gaussian(-1), ValueError, "sigma must be > 0"),
        (lambda: psf.gaussian(float("nan")), ValueError, "sigma must be finite"),
        (lambda: psf.gaussian(1, 0), ValueError, "sigma_y must be > 0"),
        (lambda: psf.gaussian("1"), TypeError, "sigma must be a real number"),
        (lambda: psf.gaussian(1, mode="box"), ValueError, "Invalid mode"),
        (lambda: psf.gaussian(1, radius=-1), ValueError, "radius must be >= 0"),
        (lambda: psf.disk(0), ValueError, "radius must be > 0"),
        (lambda: psf.motion(0, 0), ValueError, "length must be > 0"),
        (lambda: psf.motion(-3, 0), ValueError, "length must be > 0"),
        (lambda: psf.box(0), ValueError, "n must be >= 1"),
        (lambda: psf.box(2.5), TypeError, "n must be an integer"),
        (lambda: psf.from_array(np.ones(3)), ValueError, "must be 2-D"),
        (lambda: psf.from_array(np.ones((0, 3))), ValueError, "empty"),
        (lambda: psf.from_array([[1, np.nan]]), ValueError, "NaN or Inf"),
        (lambda: psf.from_array([[1, -1]]), ValueError, "non-negative"),
        (lambda: psf.from_array([[0.0]]), ValueError, "positive sum"),
        (lambda: psf.from_array([[1j]]), TypeError, "complex"),
        (lambda: psf.otf(np.ones((5, 5)), (3, 8)), ValueError, "larger than the grid"),
        (lambda: psf.parse("blob:3"), ValueError, "Invalid psf spec"),
        (lambda: psf.parse("gaussian:"), ValueError, "Invalid psf spec"),
        (lambda: psf.parse("gaussian:a"), ValueError, "Invalid psf spec"),
        (lambda: psf.parse("motion:3"), ValueError, "Invalid psf spec"),
        (lambda: psf.parse("box:2.5"), ValueError, "one integer"),
        (lambda: psf.parse("/no/such/kernel.npy"), ValueError, "does not exist"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_huge_values_normalise_instead_of_vanishing():
    """#27 item 21: a PSF of 1e308s overflowed its sum to inf and came back all zeros."""
    for value in (1e308, 1e-320):
        np.testing.assert_allclose(psf.from_array(np.full((3, 3), value)), np.full((3, 3), 1 / 9))


@pytest.mark.parametrize("spec", ["gaussian:128", "box:1025"])
def test_widest_specs_build_and_the_fit_names_why_it_refuses(spec):
    """#27 item 21: the documented maxima were refused by the fit as 'radius needs a PSF of
    1281 pixels', a limit of the fit's taps reported as one of the PSF."""
    from gpudeconv.fit import fit

    kernel = psf.parse(spec)
    assert kernel.shape == (psf.MAX_PSF_SIDE, psf.MAX_PSF_SIDE)
    with pytest.raises(ValueError, match=r"a blur this wide .* method='wiener'"):
        fit(kernel, noise=0.01)
