"""Blind restoration (issue 12): estimates, the robust fit, never-harm, video, bad input."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import replace

import cv2
import numpy as np
import pytest

from gpudeconv import AutoPipeline, Pipeline, deblur, estimate, fit
from gpudeconv.app.cli import main
from gpudeconv.blind import AutoKey, AutoTable, Estimate, EstimateTracker, robust_filter
from gpudeconv.blind.estimator import SHARP
from gpudeconv.blind.jpeg import blockiness, compression_noise
from gpudeconv.core import degrade, metrics, psf
from gpudeconv.core.colour import linear_to_srgb, srgb_to_linear
from gpudeconv.core.spectra import quantization_noise
from gpudeconv.errors import FitQualityWarning, GpudeconvError
from gpudeconv.fit import fit_posterior
from gpudeconv.fit.bases import FLOOR_GRID
from gpudeconv.fit.problem import MixtureProblem

from . import tolerances as tol

QUANT = quantization_noise(8)


def _photo(name: str) -> np.ndarray:
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 3:
        image = np.ascontiguousarray(image[..., :3][..., ::-1])
    return image.astype(np.float64) / 255.0


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {name: _photo(name) for name in ("camera", "coffee", "astronaut")}


def _degrade(image, major, minor=None, angle_deg=0.0, noise=0.002, seed=0):
    minor = major if minor is None else minor
    blurred = image
    if major > 0:
        blurred = degrade.blur(image, psf.gaussian(major, minor, angle=math.radians(angle_deg)))
    return degrade.quantize(degrade.add_noise(blurred, noise, seed=seed)).astype(np.float32)


def _interior(image):
    return np.asarray(image, dtype=np.float64)[16:-16, 16:-16]


def _gain(sharp, before, after) -> float:
    return metrics.psnr(_interior(sharp), _interior(after)) - metrics.psnr(
        _interior(sharp), _interior(before)
    )


# ---------------------------------------------------------------------------- estimates
@pytest.mark.parametrize("name", ["camera", "coffee", "astronaut"])
@pytest.mark.parametrize("sigma", [0.0, 1.0, 1.6, 2.2])
def test_isotropic_sigma_within_the_issue_tolerance(photos, name, sigma):
    found = estimate(_degrade(photos[name], sigma))
    assert abs(found.isotropic_sigma - sigma) <= tol.sigma_tolerance(sigma), found


@pytest.mark.parametrize("name", ["camera", "coffee", "astronaut"])
def test_mild_blur_is_read_low_never_high(photos, name):
    found = estimate(_degrade(photos[name], 0.6))
    assert 0.6 - tol.SIGMA_MILD_TOL <= found.isotropic_sigma <= 0.6 + tol.sigma_tolerance(0.6)


@pytest.mark.parametrize("name", ["camera", "coffee", "astronaut"])
@pytest.mark.parametrize(
    ("major", "minor", "angle"), [(1.5, 0.7, 30), (2.0, 1.0, 110), (1.8, 0.9, 70)]
)
@pytest.mark.parametrize("noise", [0.002, 0.01])
def test_rotated_anisotropic_blur(photos, name, major, minor, angle, noise):
    found = estimate(_degrade(photos[name], major, minor, angle, noise))
    if noise == 0.002:
        assert abs(found.sigma[0] - major) <= tol.sigma_tolerance(major), found
        assert abs(found.sigma[1] - minor) <= tol.SIGMA_MINOR_TOL, found
    else:  # more noise hides more of the spectrum: read lower, never higher
        assert major - 2 * tol.sigma_tolerance(major) <= found.sigma[0] <= major + 0.2, found
        assert found.sigma[1] <= minor + tol.SIGMA_MINOR_TOL, found
    error = abs((math.degrees(found.angle) - angle + 90) % 180 - 90)
    assert error <= tol.ANGLE_TOL_DEG, found
    # psf() is that rotated Gaussian.
    kernel = found.psf()
    assert kernel.sum() == pytest.approx(1.0)
    expected = psf.gaussian(found.sigma[0], max(found.sigma[1], SHARP), angle=found.angle)
    np.testing.assert_allclose(kernel, expected, atol=1e-12)


@pytest.mark.parametrize("name", ["coffee", "astronaut"])
@pytest.mark.parametrize("noise", [0.002, 0.01])
@pytest.mark.parametrize("sigma", [1.0, 2.2])
def test_noise_estimate_on_blurred_photographs(photos, name, noise, sigma):
    found = estimate(_degrade(photos[name], sigma, noise=noise))
    ratio = found.noise / math.hypot(noise, QUANT)
    assert tol.NOISE_RATIO[0] <= ratio <= tol.NOISE_RATIO[1], found


def test_texture_read_as_noise_is_flagged_as_an_upper_bound(photos):
    # camera is a scanned photograph: its film grain is fine texture, not noise.
    found = estimate(_degrade(photos["camera"], 0.0))
    assert found.noise > 2 * math.hypot(0.002, QUANT)
    assert found.noise_is_upper_bound


def test_colour_grey_integer_and_float_agree(photos):
    """One scene as float linear, as 16-bit and 8-bit sRGB codes, as grey: one blur."""
    linear = photos["coffee"]
    blurred = degrade.add_noise(degrade.blur(linear, psf.gaussian(1.4)), 0.003, seed=1)
    coded = linear_to_srgb(np.clip(blurred, 0, 1))
    frames = {
        "float": blurred.astype(np.float32),
        "uint16": np.round(coded * 65535).astype(np.uint16),
        "uint8": np.round(coded * 255).astype(np.uint8),
        "grey": cv2.cvtColor(blurred.astype(np.float32), cv2.COLOR_BGR2GRAY),
    }
    sigmas = {k: estimate(v).isotropic_sigma for k, v in frames.items()}
    assert all(abs(s - 1.4) <= tol.sigma_tolerance(1.4) for s in sigmas.values()), sigmas
    # sRGB frames measured as code values ('srgb') see a different, still plausible blur.
    assert 0.5 < estimate(frames["uint8"], space="srgb").isotropic_sigma < 2.5


def test_roi_measures_only_the_region(photos):
    image = photos["camera"]
    left = _degrade(image, 2.0)
    right = _degrade(image, 0.0)
    half = image.shape[1] // 2
    frame = np.concatenate([left[:, :half], right[:, half:]], axis=1)
    blurred = estimate(frame, roi=(0, 0, image.shape[0], half))
    sharp = estimate(frame, roi=(0, half, image.shape[0], image.shape[1] - half))
    assert blurred.isotropic_sigma > 1.5 and sharp.isotropic_sigma < 0.5


def test_estimate_is_fast_enough_to_read_only_a_sample():
    """What is read is bounded: a 4K frame costs about what a 1080p frame does."""
    import time

    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    large = rng.integers(0, 256, (2160, 3840, 3), dtype=np.uint8)
    times = {}
    for label, frame in (("small", small), ("large", large)) * 5:
        start = time.perf_counter()
        estimate(frame)
        times.setdefault(label, []).append(time.perf_counter() - start)
    assert min(times["large"]) < 3 * min(times["small"]) + 0.01


# ---------------------------------------------------------------------------- robust fit
def _random_estimate(rng) -> Estimate:
    major, minor = sorted(rng.uniform(0.3, 2.5, 2), reverse=True)
    angle = rng.uniform(0, math.pi)
    c, s = math.cos(angle), -math.sin(angle)
    axis = np.outer([c, s], [c, s])
    measured = major**2 * axis + minor**2 * (np.eye(2) - axis) + 0.36 * np.eye(2)
    spread = rng.uniform(0.05, 0.6)
    covariance = np.diag([spread**2, spread**2 / 2, spread**2])
    return Estimate.from_measured(
        measured, covariance, rng.uniform(0.001, 0.02), 10 ** rng.uniform(-3.5, -2)
    )


def test_robust_fit_never_loses_to_the_point_fit_under_its_posterior(rng):
    for _ in range(4):
        found = _random_estimate(rng)
        problem = MixtureProblem.build(found.posterior(), "natural", nodes=24)
        robust = fit_posterior(found.posterior(), nodes=24)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitQualityWarning)
            point = fit(found.psf(), noise=found.noise, amplitude=found.prior_amplitude, nodes=24)
        quad = problem.quad
        robust_error = problem.error(robust.response(quad.wy, quad.wx))
        point_error = problem.error(point.response(quad.wy, quad.wx))
        assert robust_error <= point_error * (1 + 1e-9), (found, robust_error, point_error)


def test_each_posterior_s_filter_wins_under_its_own_posterior(rng):
    """The fit follows the posterior's width: under the wide posterior the wide one's filter
    has the smaller expected error, under the narrow one the narrow one's.

    (Not "a wider posterior makes a lower peak gain": that holds for most estimates only —
    25 of 300 random ones at 5× the spread sharpen *more*, their uncertainty reaching
    toward wider blurs — and failed CI on seed 3562924767.)
    """
    found = _random_estimate(rng)
    posteriors = {
        "narrow": replace(found, covariance=found.covariance * 0.01).posterior(),
        "wide": replace(found, covariance=found.covariance * 25).posterior(),
    }
    filters = {k: fit_posterior(v, nodes=24) for k, v in posteriors.items()}
    for truth, other in (("wide", "narrow"), ("narrow", "wide")):
        problem = MixtureProblem.build(posteriors[truth], "natural", nodes=24)
        quad = problem.quad
        own, rival = (problem.error(filters[k].response(quad.wy, quad.wx)) for k in (truth, other))
        assert own < rival * (1 - 1e-9), (found, truth, own, rival)


def test_sharpen_only_keeps_the_response_at_or_above_one(rng):
    found = replace(_random_estimate(rng), noise_is_upper_bound=True, noise=0.03)
    filt = robust_filter(found)
    nodes = np.linspace(0, np.pi, FLOOR_GRID)  # where the fit holds F ≥ 1: exactly
    assert filt.response(nodes[:, None], nodes[None, :]).min() >= 1 - 1e-9
    w = np.linspace(0, np.pi, 129)  # between them it may dip a little
    assert filt.response(w[:, None], w[None, :]).min() >= 1 - tol.SHARPEN_FLOOR


# ---------------------------------------------------------------------------- never harm
@pytest.mark.parametrize("name", ["camera", "coffee", "astronaut"])
@pytest.mark.parametrize("noise", [0.002, 0.01])
def test_sharp_photographs_are_not_made_worse(photos, name, noise):
    frame = _degrade(photos[name], 0.0, noise=noise)
    assert _gain(photos[name], frame, deblur(frame, "auto")) >= -tol.HARM_DB


def test_dark_low_contrast_frame_is_not_made_worse(photos):
    dark = 0.05 + 0.1 * photos["camera"]  # mostly dark and flat
    for sigma in (0.0, 1.0):
        frame = _degrade(dark, sigma, noise=0.002)
        assert _gain(dark, frame, deblur(frame, "auto")) >= -tol.HARM_DB


def test_blurred_photographs_are_improved(photos):
    for name in photos:
        frame = _degrade(photos[name], 1.6, noise=0.002)
        assert _gain(photos[name], frame, deblur(frame, "auto")) > 1.0


def _screen() -> np.ndarray:
    image = np.full((240, 320, 3), 235, np.uint8)
    image[:30] = (64, 51, 46)
    image[50:140, 20:180] = (242, 153, 51)
    image[160] = 25
    for i, line in enumerate(("gpudeconv 0123456789", "File Edit View")):
        cv2.putText(image, line, (20, 190 + 25 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    return image


def test_screen_capture_text_is_left_alone():
    screen = _screen()
    restored = deblur(screen, "auto")
    assert metrics.psnr(screen, restored, data_range=255) >= 45  # within a few codes
    assert np.abs(restored.astype(int) - screen).max() <= 8  # no ringing around the text


def test_flat_and_noise_only_frames():
    flat = np.full((128, 160, 3), 97, np.uint8)
    np.testing.assert_array_equal(deblur(flat, "auto"), flat)
    rng = np.random.default_rng(3)
    noise = (0.5 + 0.02 * rng.standard_normal((128, 160))).astype(np.float32)
    restored = deblur(noise, "auto")
    assert (restored - 0.5).std() <= (noise - 0.5).std() * 1.001  # no noise boost


def _camera_frame(sharp8, quality):
    linear = srgb_to_linear(sharp8 / 255.0)
    noisy = degrade.add_noise(degrade.blur(linear, psf.gaussian(1.2)), 0.003, seed=4)
    coded = np.round(np.clip(linear_to_srgb(np.clip(noisy, 0, 1)), 0, 1) * 255).astype(np.uint8)
    _, data = cv2.imencode(".jpg", coded, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)


@pytest.mark.parametrize("quality", [50, 75, 90])
def test_jpeg_blocks_are_not_sharpened(quality):
    import skimage.data

    sharp8 = np.ascontiguousarray(skimage.data.coffee()[..., ::-1])
    frame = _camera_frame(sharp8, quality)
    restored = deblur(frame, "auto")
    grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in (frame, restored)]
    assert blockiness(grey[1]) <= blockiness(grey[0]) + tol.BLOCKINESS_RISE
    gain = metrics.psnr(sharp8, restored, data_range=255) - metrics.psnr(
        sharp8, frame, data_range=255
    )
    assert gain >= -tol.HARM_DB


def test_compression_is_measured_as_noise():
    import skimage.data

    sharp8 = np.ascontiguousarray(skimage.data.coffee()[..., ::-1])
    plain = estimate(_camera_frame(sharp8, 100))
    blocky = estimate(_camera_frame(sharp8, 50))
    assert blocky.noise > 2 * plain.noise
    assert blockiness(cv2.cvtColor(_camera_frame(sharp8, 50), cv2.COLOR_BGR2GRAY)) > 1.3
    blocks = np.zeros((4, 16, 16))
    assert compression_noise(blocks) == 0.0


# ---------------------------------------------------------------------------- video
def _stream(image, sigma, frames, seed0=0):
    return [_degrade(image, sigma, noise=0.004, seed=seed0 + i) for i in range(frames)]


def test_tracker_smooths_and_amortises(photos):
    frames = _stream(photos["coffee"], 1.2, 24)
    raw = [estimate(f).isotropic_sigma for f in frames]
    tracker = EstimateTracker(every=1, half_life=4)
    smooth = [tracker.update(f).isotropic_sigma for f in frames]
    assert np.std(np.diff(smooth[8:])) < np.std(np.diff(raw[8:]))
    assert abs(np.mean(smooth[8:]) - np.mean(raw[8:])) < 0.05
    sparse = EstimateTracker(every=8)
    for f in frames:
        sparse.update(f)
    assert sparse.estimates == 3  # frames 0, 8, 16


def test_tracker_follows_a_scene_cut_at_once(photos):
    tracker = EstimateTracker(every=8, half_life=8)
    for f in _stream(photos["coffee"], 0.0, 6):
        tracker.update(f)
    assert tracker.current.isotropic_sigma < 0.3
    cut = _stream(photos["astronaut"], 2.0, 1, seed0=50)[0]
    after = tracker.update(cut)
    assert tracker.cuts == 1
    assert abs(after.isotropic_sigma - estimate(cut).isotropic_sigma) < 1e-9  # no lag


def test_tracker_re_estimates_early_when_the_picture_changes(photos):
    tracker = EstimateTracker(every=100, change=0.02, cut=0.5)
    frame = _degrade(photos["coffee"], 1.0, noise=0.004)
    tracker.update(frame)
    tracker.update(frame)
    assert tracker.estimates == 1
    tracker.update(np.clip(frame * 1.1, 0, 1))  # brighter: a change, not a cut
    assert tracker.estimates == 2 and tracker.cuts == 0


def test_tracker_is_not_fooled_by_panning(photos):
    tracker = EstimateTracker(every=50)
    frame = _degrade(photos["astronaut"], 1.0, noise=0.004)
    for shift in range(0, 60, 6):  # the camera pans: same scene, same blur
        tracker.update(np.roll(frame, shift, axis=1))
    assert tracker.estimates == 1 and tracker.cuts == 0


def test_auto_pipeline_applies_the_table_filter(photos):
    sharp = photos["astronaut"]
    frame = np.round(_degrade(sharp, 1.4, noise=0.003) * 255).astype(np.uint8)
    table = AutoTable()
    auto = AutoPipeline(shape=frame.shape, dtype=np.uint8, backend="cpu", table=table)
    out = auto(frame)
    assert out.dtype == np.uint8 and out.shape == frame.shape
    reference = Pipeline(table(auto.estimate), shape=frame.shape, dtype=np.uint8, backend="cpu")
    np.testing.assert_array_equal(out, reference(frame))
    assert _gain(sharp, frame / 255.0, out / 255.0) > 0.5
    described = auto.describe()
    assert described["estimates"] == 1 and described["table_cells"] > 0


def test_auto_pipeline_weights_only_change_no_replan(photos):
    frames = [np.round(f * 255).astype(np.uint8) for f in _stream(photos["coffee"], 1.0, 10)]
    auto = AutoPipeline(shape=frames[0].shape, dtype=np.uint8, backend="cpu", every=2)
    for f in frames:
        auto(f)
    assert auto.describe()["replans"] == 0


def test_auto_pipeline_on_the_cuda_emulation_matches_the_cpu(photos):
    frame = _degrade(photos["camera"], 1.2, noise=0.003)[:96, :128]
    table = AutoTable()
    outs = [
        AutoPipeline(shape=frame.shape, dtype=np.float32, backend=b, table=table)(frame)
        for b in ("cpu", "cuda-sim")
    ]
    np.testing.assert_allclose(outs[0], outs[1], atol=tol.PIPELINE_F32 * 10)


def test_table_lookup_interpolates_between_cells():
    table = AutoTable(nodes=16)
    key = AutoKey(0.8, 0.5, 0.4, -3.0, 0.1, False)
    corners = table._corners(key)
    assert len(corners) == 32 and sum(w for _, w in corners) == pytest.approx(1.0)
    weights = table.weights(key)
    assert np.isfinite(weights).all() and table.fitted_cells >= 17
    before = table.fitted_cells
    table.weights(key)
    assert table.fitted_cells == before  # cached: a lookup, not a fit
    far = AutoKey(1e9, 1e9, 7.0, 1e9, 1e9, True)  # clamped to the grid's edge
    assert np.isfinite(table.weights(far)).all()


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("image", "kwargs", "error", "match"),
    [
        (np.zeros((8, 8), np.int32), {}, TypeError, "dtype"),
        (np.zeros((8, 8), np.complex64), {}, TypeError, "real"),
        (np.zeros((8, 8), np.float16), {}, TypeError, "dtype"),
        (np.zeros((2, 8, 8, 3), np.float32), {}, ValueError, "2-D"),
        (np.zeros((0, 8), np.float32), {}, ValueError, "empty"),
        (np.full((8, 8), np.nan, np.float32), {}, ValueError, "NaN"),
        (np.full((8, 8), np.inf, np.float32), {}, ValueError, "NaN"),
        (np.zeros((8, 8), np.float32), {"model": "motion"}, ValueError, "model"),
        (np.zeros((8, 8), np.float32), {"roi": (0, 0, 9, 4)}, ValueError, "inside"),
        (np.zeros((8, 8), np.float32), {"roi": (0, 0, 4)}, ValueError, "four"),
        (np.zeros((8, 8), np.float32), {"roi": "abc"}, ValueError, "four"),
        (np.zeros((8, 8), np.float32), {"space": "xyz"}, ValueError, "space"),
    ],
)
def test_estimate_rejects_bad_input(image, kwargs, error, match):
    with pytest.raises(error, match=match):
        estimate(image, **kwargs)


def test_tiny_frames_give_a_hands_off_estimate():
    for shape in ((1, 1), (5, 7, 3), (31, 200)):
        found = estimate(np.random.default_rng(0).random(shape).astype(np.float32))
        assert found.sigma == (0.0, 0.0) and found.confidence == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"every": 0}, "every"),
        ({"half_life": -1}, "half_life"),
        ({"change": 0.5, "cut": 0.1}, "cut"),
        ({"colour": "x"}, "unknown"),
    ],
)
def test_tracker_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EstimateTracker(**kwargs)


def test_auto_pipeline_rejects_wrong_frames():
    auto = AutoPipeline(shape=(32, 32, 3), dtype=np.uint8, backend="cpu")
    with pytest.raises(GpudeconvError):
        auto(np.zeros((32, 33, 3), np.uint8))
    with pytest.raises(GpudeconvError):
        auto(np.zeros((32, 32, 3), np.float32))


def test_deblur_auto_rejects_unknown_strings_and_takes_noise():
    image = np.full((40, 40), 0.5, np.float32)
    with pytest.raises(ValueError, match="auto"):
        deblur(image, "automatic")
    with pytest.raises(ValueError, match="noise"):
        deblur(image, "auto", noise=-1.0)
    np.testing.assert_array_equal(deblur(image, "auto", noise=0.01), image)


def test_fit_posterior_rejects_bad_samples():
    delta = np.ones((1, 1))
    with pytest.raises(ValueError, match="empty"):
        fit_posterior([])
    with pytest.raises(ValueError, match="weight"):
        fit_posterior([(-1.0, delta, 0.01, None)])
    with pytest.raises(ValueError):
        fit_posterior([(1.0, np.full((3, 3), np.nan), 0.01, None)])
    with pytest.raises(ValueError, match="sharpen-only"):
        fit_posterior([(1.0, psf.gaussian(1.0), 0.01, None)], basis="fir", sharpen_only=True)


# ---------------------------------------------------------------------------- CLI
def test_cli_estimate_text_and_json(tmp_path, capsys, photos):
    path = tmp_path / "blurry.png"
    frame = _degrade(photos["astronaut"], 1.5)
    cv2.imwrite(str(path), np.round(linear_to_srgb(frame) * 255).astype(np.uint8))
    assert main(["estimate", str(path)]) == 0
    text = capsys.readouterr().out
    assert "blur" in text and "noise" in text and "confidence" in text
    assert main(["estimate", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert abs(math.hypot(doc["sigma_major"], doc["sigma_minor"]) / math.sqrt(2) - 1.5) < 0.35
    assert main(["estimate", str(path), "--json", "--roi", "0,0,200,200"]) == 0
    json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["estimate", "missing.png"], "does not exist"),
        (["estimate", "{img}", "--roi", "1,2"], "--roi"),
        (["estimate", "{img}", "--roi", "0,0,9999,9"], "inside"),
    ],
)
def test_cli_estimate_errors_are_one_line(tmp_path, capsys, argv, message):
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.full((40, 40), 128, np.uint8))
    argv = [a.replace("{img}", str(image)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_cli_deblur_without_psf_is_auto(tmp_path, capsys, photos):
    source = tmp_path / "in.png"
    frame = _degrade(photos["coffee"], 1.5)
    cv2.imwrite(str(source), np.round(linear_to_srgb(frame) * 255).astype(np.uint8))
    for extra in ([], ["--psf", "auto"], ["--psf", "auto", "--noise", "0.004"]):
        target = tmp_path / f"out{len(extra)}.png"
        assert main(["deblur", str(source), str(target), "--quiet", *extra]) == 0
        assert "estimated blur sigma" in capsys.readouterr().out
        assert cv2.imread(str(target)).shape == frame.shape
    assert main(["deblur", str(source), str(tmp_path / "x.png"), "--psf", "gaussian:1"]) == 2
    assert "--noise is required" in capsys.readouterr().err


def test_cli_auto_video_refuses_a_method(tmp_path, capsys):
    video = tmp_path / "in.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(4):
        writer.write(np.full((48, 64, 3), 60 + 10 * i, np.uint8))
    writer.release()
    out = tmp_path / "out.mp4"
    assert main(["deblur", str(video), str(out), "--method", "atrous", "--quiet"]) == 2
    assert "per-frame table" in capsys.readouterr().err
    assert main(["deblur", str(video), str(out), "--quiet"]) == 0
    assert "with auto" in capsys.readouterr().out


def test_table_memory_is_bounded():
    table = AutoTable(nodes=16, max_cells=20)
    for major in np.linspace(0.0, 3.0, 12):  # a drifting estimate visits ever new cells
        table.weights(AutoKey(float(major), 0.3, 0.4, -3.0, 0.1, False))
    assert table.fitted_cells == 20 and table.fits > 20
