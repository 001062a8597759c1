"""Blind camera-shake kernel estimation (issue 15): gpudeconv.estimate_kernel and its CLI."""

from __future__ import annotations

import numpy as np
import pytest

from bench.shake import kernel_correlation as correlation
from bench.shake import shake_kernel
from bench.stills_blind import align
from gpudeconv import estimate_kernel
from gpudeconv.core import degrade, metrics
from gpudeconv.errors import InvalidArgumentError, InvalidTypeError

from .tolerances import KERNEL_LOWPASS_NCC, KERNEL_NCC, KERNEL_SHIFT_NCC, KERNEL_STEP_NCC

SIDE = 448  # 320² left too few edges: NCC < 0.9 for 2 of 12 random kernels


def observe(photo: np.ndarray, kernel: np.ndarray, top: int, left: int, rng) -> np.ndarray:
    """A physically blurred ``SIDE``² crop at (top, left): the scene beyond it unknown."""
    r = kernel.shape[0] // 2
    wide = photo[top - r : top + SIDE + r, left - r : left + SIDE + r]
    blurred = degrade.blur(wide, kernel, boundary="reflect")[r:-r, r:-r]
    return blurred + rng.normal(0, 1e-3, blurred.shape)


def aligned_psnr(sharp: np.ndarray, restored: np.ndarray, margin: int) -> float:
    """PSNR after the best sub-pixel translation: a blind kernel is known up to one (it is
    centred on its centre of mass, the true kernel on its bounding box)."""
    moved, _ = align(restored, sharp, margin)
    inner = (slice(margin, -margin),) * 2
    return metrics.psnr(sharp[inner], moved[inner])


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    return data.camera() / 255.0


def test_recovers_a_camera_shake_kernel_and_ignores_image_shifts(photo, rng):
    size = int(rng.choice([9, 11, 13, 15]))
    kernel = shake_kernel(rng, size)
    first = estimate_kernel(observe(photo, kernel, 32, 32, rng), size + 4, noise=1e-3)
    moved = estimate_kernel(observe(photo, kernel, 39, 28, rng), size + 4, noise=1e-3)
    for estimate in (first, moved):
        assert estimate.shape == (size + 4, size + 4)
        assert estimate.min() >= 0 and estimate.sum() == pytest.approx(1.0)
        assert correlation(estimate, kernel, subpixel=True)[0] >= KERNEL_NCC
    # A shifted image gives the same kernel, not a shifted one: each estimate is centred
    # to the whole pixel, so the two may sit up to a pixel apart (and at different
    # sub-pixel phases: compared at the best sub-pixel shift; a fresh-clone run saw 0.87
    # at whole-pixel shifts and 0.95 at (0.7, −0.6) px).
    agreement, shift = correlation(first, moved, subpixel=True)
    assert agreement >= KERNEL_SHIFT_NCC and max(map(abs, shift)) <= 1.5, (agreement, shift)


def test_the_estimated_kernel_restores_the_photograph(photo):
    """Well above the blurred input; the error ratio against the true kernel is the
    benchmark's measure (bench.stills_blind), not asserted here.

    A pinned kernel, not a fresh one: a blind estimator succeeds at a rate, and this case
    has a failure tail: of 47 random 11-px shakes, 46 gained +6.4 to +12 dB over the input
    and one +3.5 (scored with the earlier phase-correlation alignment); a CI run drew one
    that gained +3.1 (seed 494228465: NCC 0.946, its finest scale still converging — 10
    more iterations there gave +9). The rate is the benchmark's to measure (96 cases);
    this test checks the path end to end (estimate, centring, restoration) on seed 15:
    +8.5 dB.
    """
    from gpudeconv import restore

    rng = np.random.default_rng(15)
    kernel = shake_kernel(rng, 11)
    r = kernel.shape[0] // 2
    sharp = photo[32 : 32 + SIDE, 32 : 32 + SIDE]
    blurred = np.clip(observe(photo, kernel, 32, 32, rng), 0, 1)
    found = estimate_kernel(blurred, 15, noise=1e-3)
    with_true = restore(blurred, kernel, method="hyper-laplacian", noise=1e-3)
    with_found = restore(blurred, found, method="hyper-laplacian", noise=1e-3)
    before = aligned_psnr(sharp, blurred, 2 * r)
    found_db, true_db = (
        aligned_psnr(sharp, with_found, 2 * r),
        aligned_psnr(sharp, with_true, 2 * r),
    )
    assert found_db > before + 6.0 and true_db > before + 6.0, (before, found_db, true_db)


def test_the_noise_low_pass_weights_both_sides_of_the_kernel_solve(photo, rng):
    """At noise the kernel solve low-passes both sides' gradients by one Gaussian
    (∂(G ⊛ y) = k ⊛ ∂(G ⊛ x) still holds), so fed the true sharp image it still finds
    about the true kernel, a little smoother; at low noise there is no low-pass at all."""
    from gpudeconv.restoration.stills import kernel as estimator

    assert estimator._smoothing(2.6e-3) == 0.0  # 8-bit photos at noise 0.002: none
    assert estimator._smoothing(0.01) == pytest.approx(1.0)  # 1 px at noise 0.01
    size = int(rng.choice([9, 11, 13, 15]))
    kernel = shake_kernel(rng, size)
    r = size // 2
    sharp = photo[32 : 32 + SIDE, 32 : 32 + SIDE].astype(np.float32)
    wide = photo[32 - r : 32 + SIDE + r, 32 - r : 32 + SIDE + r]
    blurred = degrade.blur(wide, kernel, boundary="reflect")[r:-r, r:-r].astype(np.float32)
    for smoothing, bound in ((0.0, KERNEL_STEP_NCC), (1.0, KERNEL_LOWPASS_NCC)):
        found = estimator._kernel_step(sharp, blurred, size + 4, None, 0.0, smoothing)
        ncc = correlation(found, kernel, subpixel=True)[0]
        assert ncc >= bound, (smoothing, ncc)


def test_colour_is_read_from_its_luma_and_the_callback_sees_every_scale(photo, rng):
    kernel = shake_kernel(rng, 9)
    grey = np.clip(observe(photo, kernel, 32, 32, rng), 0, 1)
    colour = np.repeat(grey[..., None], 3, axis=2).astype(np.float32)
    scales = []
    from_colour = estimate_kernel(
        colour, 13, noise=1e-3, iterations=2, callback=lambda s, k: scales.append(k.shape)
    )
    from_grey = estimate_kernel(grey.astype(np.float32), 13, noise=1e-3, iterations=2)
    # The same up to float32 rounding of the luma weights (which L0 thresholds amplify).
    assert correlation(from_colour, from_grey)[0] > 0.99
    assert scales == [(3, 3), (5, 5), (7, 7), (9, 9), (13, 13)]
    eight_bit = np.round(grey * 255).astype(np.uint8)  # integer photos are scaled
    assert estimate_kernel(eight_bit, 13, iterations=1).shape == (13, 13)


@pytest.mark.parametrize(
    ("image", "size", "options", "error", "message"),
    [
        (np.zeros((64, 64)), 25, {}, InvalidArgumentError, "at most a third"),
        (np.zeros((64, 64)), 1, {}, InvalidArgumentError, "3..63"),
        (np.zeros((600, 600)), 65, {}, InvalidArgumentError, "3..63"),
        (np.full((64, 64), np.nan), 9, {}, InvalidArgumentError, "NaN"),
        (np.zeros((0, 64)), 9, {}, InvalidArgumentError, "empty"),
        (np.zeros((64, 64), np.int32), 9, {}, InvalidTypeError, "dtype"),
        (np.zeros((64, 64)), 9.0, {}, InvalidTypeError, "size must be an int"),
        (np.zeros((64, 64)), 9, {"iterations": 0}, InvalidArgumentError, "iterations"),
        (np.zeros((64, 64)), 9, {"noise": -1.0}, InvalidArgumentError, "noise"),
        (np.zeros((64, 64)), 9, {"crop": 10}, InvalidArgumentError, "crop"),
    ],
)
def test_bad_inputs_are_refused_with_the_reason(image, size, options, error, message):
    with pytest.raises(error, match=message):
        estimate_kernel(image, size, **options)


def test_flat_image_gives_a_valid_kernel():
    """Nothing to read a blur from: a delta (no NaN from 0/0), and a warning saying so."""
    with pytest.warns(UserWarning, match="flat"):
        kernel = estimate_kernel(np.full((96, 96), 0.5), 9, noise=0.0, iterations=1)
    assert np.isfinite(kernel).all() and kernel.sum() == pytest.approx(1.0)
    assert kernel[4, 4] == 1.0


def test_command_line_estimates_writes_and_uses_a_kernel(tmp_path, capsys, photo):
    """The command line's path end to end: estimate, write, read back, deblur with it.

    A pinned kernel (seed 201: +6.8 dB), not a fresh one: on this 256² crop 3 of 40
    random 9-px shakes (seeds 200-239) got kernels correlating 0.92-0.96 whose
    restoration is below the blurred input (-0.8 to -2 dB), with this estimator and the
    previous one alike; the success rate is the benchmark's to measure (96 cases).
    """
    import cv2

    from gpudeconv.app.cli import main
    from gpudeconv.core import psf

    rng = np.random.default_rng(201)
    kernel = shake_kernel(rng, 9)
    blurred = np.clip(observe(photo, kernel, 32, 32, rng)[:256, :256], 0, 1)
    source = tmp_path / "shaken.png"
    cv2.imwrite(str(source), np.round(blurred * 255).astype(np.uint8))
    picture = tmp_path / "kernel.png"
    argv = ["estimate", str(source), "--kernel", "--kernel-size", "13", "-o", str(picture)]
    argv += ["--space", "srgb"]  # blurred on code values here
    assert main(argv) == 0
    assert "13x13 camera-shake kernel" in capsys.readouterr().out
    written = psf.parse(str(picture))
    assert (
        written.shape == (13, 13) and correlation(written, kernel, subpixel=True)[0] >= KERNEL_NCC
    )
    assert main(argv) != 0 and "exists" in capsys.readouterr().err  # never overwritten unasked

    out = tmp_path / "restored.png"
    argv = ["deblur", str(source), str(out), "--psf", "estimate", "--kernel-size", "13"]
    assert main([*argv, "--space", "srgb", "--quiet"]) == 0
    assert "camera-shake kernel" in capsys.readouterr().out
    restored = cv2.imread(str(out), cv2.IMREAD_UNCHANGED) / 255.0
    sharp = photo[32 : 32 + 256, 32 : 32 + 256]
    assert aligned_psnr(sharp, restored, 16) > aligned_psnr(sharp, blurred, 16) + 2.0


def test_command_line_refusals_are_one_line(tmp_path, capsys):
    import cv2

    from gpudeconv.app.cli import main

    cv2.imwrite(str(tmp_path / "in.png"), np.full((64, 64), 128, np.uint8))
    (tmp_path / "in.mp4").write_bytes(b"")
    for argv, message in (
        (["deblur", "in.png", "o.png", "--kernel-size", "9"], "--kernel-size is for --psf"),
        (["deblur", "in.mp4", "o.mp4", "--psf", "estimate"], "is for photos"),
        (["deblur", "in.png", "o.png", "--psf", "estimate", "--method", "gauss-lap"], "iterative"),
        (["deblur", "in.png", "o.png", "--psf", "estimate", "--kernel-size", "41"], "a third"),
        (["estimate", "in.png", "--kernel"], "needs -o"),
        (["estimate", "in.png", "--kernel", "-o", "k.jpg"], "a kernel is written as"),
        (["estimate", "in.png", "-o", "k.png"], "go with --kernel"),
        (["estimate", "in.png", "--overwrite"], "go with --kernel"),
        (["estimate", "in.png", "--kernel", "-o", "in.png"], "input"),
    ):
        args = [a if not a.startswith(("in.", "o.", "k.")) else str(tmp_path / a) for a in argv]
        assert main([*args, *(["--quiet"] if argv[0] == "deblur" else [])]) != 0
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "k.png").exists()


def test_broken_up_kernels_and_dark_photographs(photo, rng):
    """Review findings: a kernel split into many small parts once lost all of them (NaN);
    the L0 weights assumed values spanning [0, 1] (a dark photograph read a near-delta)."""
    dots = np.zeros((96, 96))
    dots[::5, ::5] = 1.0
    for noise in (None, 0.05):
        kernel = estimate_kernel(dots, 31, noise=noise, iterations=2)
        assert np.isfinite(kernel).all() and kernel.sum() == pytest.approx(1.0)
    shake = shake_kernel(rng, 11)
    bright = np.clip(observe(photo, shake, 32, 32, rng), 0, 1)
    for scale in (0.03, 40.0):  # the same photograph, darker or in other units
        found = estimate_kernel(bright * scale, 15, noise=1e-3 * scale)
        assert correlation(found, shake, subpixel=True)[0] >= KERNEL_NCC, scale


def test_a_tiny_eight_bit_photo_is_estimated_without_a_crash():
    """OpenCV's LUT returns None below 16 pixels (the Gaussian estimator used it)."""
    from gpudeconv import estimate

    tiny = (np.random.default_rng(0).random((3, 4)) * 255).astype(np.uint8)
    assert np.isfinite(estimate(tiny).noise)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff", ".npy", ".txt"])
def test_saved_kernels_read_back(tmp_path, suffix, rng):
    from gpudeconv.core import psf

    kernel = shake_kernel(rng, 11)
    path = tmp_path / f"k{suffix}"
    psf.save_kernel(kernel, path)
    exact = suffix in (".npy", ".txt")
    np.testing.assert_allclose(psf.parse(str(path)), kernel, atol=1e-12 if exact else 1e-5)
