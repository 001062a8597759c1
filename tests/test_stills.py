"""Iterative stills restoration: gpudeconv.restore (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from gpudeconv import restore, wiener
from gpudeconv.core import degrade, metrics, psf
from gpudeconv.restoration.stills import RESTORE_METHODS
from gpudeconv.restoration.stills.operators import Operators
from gpudeconv.restoration.stills.priors import hyper_laplacian_prox, tv_prox
from tests.test_wiener import shake_kernel

from .tolerances import PLANTED_PRIOR_SHARE, PLANTED_RECOVERY_RMS

METHODS = list(RESTORE_METHODS)


def _planted(rng, shape=(64, 80)):
    """A smooth positive image (what a noiseless blur can be inverted on)."""
    return 0.2 + 0.6 * ndimage.gaussian_filter(rng.random(shape), 1.5, mode="wrap") ** 2


@pytest.mark.parametrize("method", METHODS)
def test_recovers_a_planted_image_from_a_noiseless_periodic_blur(rng, method):
    sharp = _planted(rng)
    kernel = psf.gaussian(1.0)
    blurred = degrade.blur(sharp, kernel, boundary="periodic")
    blurred_rms = float(np.sqrt(np.mean((blurred - sharp) ** 2)))
    exact = restore(blurred, kernel, method=method, noise=0.0, boundary="periodic")
    assert float(np.sqrt(np.mean((exact - sharp) ** 2))) < PLANTED_RECOVERY_RMS[method]
    regularised = restore(blurred, kernel, method=method, noise=1e-3, boundary="periodic")
    rms = float(np.sqrt(np.mean((regularised - sharp) ** 2)))
    assert rms < PLANTED_PRIOR_SHARE * blurred_rms, (rms, blurred_rms)


def test_richardson_lucy_decreases_its_objective_every_iteration(rng):
    """Plain RL (no TV, no acceleration) never increases KL(y ‖ K u) (Shepp–Vardi)."""
    sharp = _planted(rng)
    kernel = shake_kernel(rng, 9)
    counts = rng.poisson(degrade.blur(sharp, kernel, boundary="periodic") * 200) / 200
    divergences = []

    def record(step, estimate):
        model = degrade.blur(estimate, kernel, boundary="periodic")
        ok = counts > 0
        kl = np.sum(counts[ok] * np.log(counts[ok] / model[ok])) - counts.sum() + model.sum()
        divergences.append(float(kl))

    restore(
        counts,
        kernel,
        method="rl",
        noise=0.0,
        boundary="periodic",
        iterations=40,
        accelerate=False,
        callback=record,
    )
    assert len(divergences) == 40
    assert np.all(np.diff(divergences) <= 1e-9 * abs(divergences[0])), np.diff(divergences)


def test_every_method_rises_as_the_noise_falls_with_a_shake_kernel(camera):
    """The boundary model: a reflect-blurred photograph, an asymmetric 13-px kernel.

    Interior PSNR must rise as the noise falls and reach 35 dB at 1e-4 for every method
    (the mirrored or periodic border would ring through the image instead).
    """
    rng = np.random.default_rng(0)
    kernel = shake_kernel(rng)
    sharp = camera[128:384, 128:384]
    inner = (slice(16, -16), slice(16, -16))
    scores = {}
    for noise in (0.01, 0.002, 1e-4):
        blurred = degrade.blur(sharp, kernel, boundary="reflect") + rng.normal(
            0, noise, sharp.shape
        )
        for method in METHODS:
            restored = restore(blurred, kernel, method=method, noise=noise)
            scores.setdefault(method, []).append(metrics.psnr(sharp[inner], restored[inner]))
        reference = wiener(blurred, kernel, noise=noise, boundary="reflect")
        scores.setdefault("wiener", []).append(metrics.psnr(sharp[inner], reference[inner]))
    for method, row in scores.items():
        assert row[0] < row[1] < row[2] and row[2] >= 35.0, (method, row)
    # The priors beat the linear reference at the usual noise levels.
    for method in ("tv", "hyper-laplacian"):
        assert scores[method][0] > scores["wiener"][0] + 0.5, scores
        assert scores[method][1] > scores["wiener"][1] + 0.5, scores


def test_colour_is_per_channel_and_dtypes_are_kept(rng):
    sharp = np.dstack([_planted(rng) for _ in range(3)])
    kernel = psf.gaussian(1.2)
    blurred = degrade.blur(sharp, kernel, boundary="reflect").astype(np.float32)
    both = restore(blurred, kernel, method="hyper-laplacian", noise=0.01)
    assert both.dtype == np.float32 and both.shape == blurred.shape
    for c in range(3):
        one = restore(blurred[..., c], kernel, method="hyper-laplacian", noise=0.01)
        np.testing.assert_array_equal(both[..., c], one)  # each channel as if alone
    as_uint8 = restore(np.round(blurred * 255).astype(np.uint8), kernel, method="tv", noise=0.01)
    assert as_uint8.dtype == np.float32 and 0.1 < float(as_uint8.mean()) < 0.9


@pytest.mark.parametrize("method", METHODS)
def test_callback_sees_every_iteration(rng, method):
    image = _planted(rng, (40, 48))
    seen = []
    restore(
        image,
        psf.gaussian(1.0),
        method=method,
        noise=0.01,
        iterations=12,
        callback=lambda step, estimate: seen.append((step, estimate.shape)),
    )
    assert [s for s, _ in seen] == list(range(1, len(seen) + 1))
    assert all(shape == image.shape for _, shape in seen)
    assert 1 <= len(seen) <= 13 * 2  # rl stops at the noise; the priors spread 12 over levels


def test_operators_are_adjoint_and_the_prox_is_optimal(rng):
    ops = Operators(np, shake_kernel(rng, 7), (30, 36), (3, 4), np.float64)
    u = rng.random((*ops.shape, 2))
    a, b = rng.random(u.shape), rng.random(u.shape)
    gy, gx = ops.gradient(u)
    assert np.sum(gy * a + gx * b) == pytest.approx(np.sum(u * ops.gradient_adjoint(a, b)))
    assert np.sum(ops.blur(u) * a) == pytest.approx(np.sum(u * ops.blur_adjoint(a)))
    v = rng.normal(0, 0.05, 500)
    grid = np.linspace(-0.4, 0.4, 80001)
    for alpha in (0.5, 0.8):
        for t in (1e-3, 3e-2):
            w = hyper_laplacian_prox(v, t, alpha, np)
            objective = t * np.abs(w) ** alpha + (w - v) ** 2 / 2
            best = np.array([np.min(t * np.abs(grid) ** alpha + (grid - x) ** 2 / 2) for x in v])
            assert np.all(objective <= best + 1e-8)
    wy, wx = tv_prox(a, b, 0.1, np)
    shrunk = np.hypot(wy, wx)
    assert np.allclose(shrunk, np.maximum(np.hypot(a, b) - 0.1, 0))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda im: restore(im, np.ones((99, 9)), method="tv", noise=0.01), ValueError, "larger"),
        (
            lambda im: restore(im * np.nan, psf.gaussian(1), method="tv", noise=0.01),
            ValueError,
            "NaN",
        ),
        (lambda im: restore(im, np.zeros((3, 3)), method="rl", noise=0.01), ValueError, "sum"),
        (lambda im: restore(im, psf.gaussian(1), method="magic", noise=0.01), ValueError, "method"),
        (lambda im: restore(im, psf.gaussian(1), method="tv", noise=-1), ValueError, "noise"),
        (
            lambda im: restore(im, psf.gaussian(1), method="hyper-laplacian", alpha=1.5, noise=0.1),
            ValueError,
            "alpha",
        ),
        (
            lambda im: restore(im, psf.gaussian(1), method="rl", noise=0.01, iterations=0),
            ValueError,
            "iterations",
        ),
        (
            lambda im: restore(im, psf.gaussian(1), method="rl", noise=0.01, iterations=True),
            TypeError,
            "iterations",
        ),
        (
            lambda im: restore(im, psf.gaussian(1), method="tv", noise=0.01, boundary="mirror"),
            ValueError,
            "boundary",
        ),
        (lambda im: restore(im[:0], psf.gaussian(1), method="tv", noise=0.01), ValueError, "empty"),
        (lambda im: restore("x", psf.gaussian(1), method="tv", noise=0.01), TypeError, "image"),
    ],
)
def test_bad_inputs_say_what_is_wrong(rng, call, error, match):
    with pytest.raises(error, match=match):
        call(_planted(rng, (40, 40)))


def test_command_line_restores_photos_with_the_iterative_methods(tmp_path, capsys):
    import cv2
    from skimage import data

    from gpudeconv.app.cli import main

    sharp = data.astronaut()[100:228, 100:228, ::-1].astype(np.float64) / 255
    kernel = shake_kernel(np.random.default_rng(3), 11)
    np.save(tmp_path / "k.npy", kernel)
    blurred = np.round(degrade.blur(sharp, kernel, boundary="reflect") * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "in.png"), blurred)
    before = metrics.psnr(sharp, blurred / 255)
    for method in METHODS:
        out = tmp_path / f"{method}.png"
        argv = ["deblur", str(tmp_path / "in.png"), str(out), "--method", method]
        argv += ["--psf", str(tmp_path / "k.npy"), "--noise", "0.002", "--space", "srgb"]
        assert main([*argv, "--quiet", "--iterations", "20"]) == 0
        restored = cv2.imread(str(out))
        assert restored.dtype == np.uint8 and restored.shape == blurred.shape
        assert metrics.psnr(sharp, restored / 255) > before + 2.0, method
    assert "with rl" in capsys.readouterr().out
    # Refusals: one line each.
    clip = tmp_path / "in.mp4"
    clip.write_bytes(b"")
    for argv, message in (
        (
            ["in.png", "o.png", "--iterations", "5", "--psf", "gaussian:1", "--noise", "0.01"],
            "--iterations is for",
        ),
        (
            ["in.mp4", "o.mp4", "--method", "rl", "--psf", "gaussian:1", "--noise", "0.01"],
            "for photos",
        ),
    ):
        args = [str(tmp_path / argv[0]), str(tmp_path / argv[1]), *argv[2:]]
        assert main(["deblur", *args, "--quiet"]) != 0
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("method", METHODS)
def test_eight_bit_photo_with_a_long_shake_stays_finite_and_improves(method):
    """float32 inside (uint8 input), a 31-px kernel, unknown border: no overflow anywhere
    (RL once divided float32 rounding by a corner's near-zero sensitivity)."""
    from skimage import data

    rng = np.random.default_rng(5)
    kernel = shake_kernel(rng, 31)
    wide = data.camera()[100:356, 100:356] / 255.0
    sharp = wide[15:-15, 15:-15]
    blurred = degrade.blur(wide, kernel, boundary="reflect")[15:-15, 15:-15]
    noisy = np.clip(blurred + rng.normal(0, 0.002, blurred.shape), 0, 1)
    photo = np.round(noisy * 255).astype(np.uint8)
    restored = restore(photo, kernel, method=method, noise=0.002)
    assert restored.dtype == np.float32 and np.isfinite(restored).all()
    assert metrics.psnr(sharp, np.clip(restored, 0, 1)) > metrics.psnr(sharp, photo / 255) + 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
def test_noise_is_estimated_for_every_image_dtype(dtype, rng):
    """noise=None once refused float64 images (the estimator reads float32/integers)."""
    from skimage import data

    sharp = data.camera()[128:256, 128:256] / 255.0
    noisy = np.clip(degrade.blur(sharp, psf.gaussian(1.2)) + rng.normal(0, 0.01, sharp.shape), 0, 1)
    image = np.round(noisy * 255).astype(np.uint8) if dtype == np.uint8 else noisy.astype(dtype)
    out = restore(image, psf.gaussian(1.2), method="tv")
    assert out.shape == sharp.shape and np.isfinite(out).all()
    assert metrics.psnr(sharp, np.clip(out, 0, 1)) > metrics.psnr(sharp, noisy)
