"""The benchmarks run in quick mode, write valid output, and hold their measured levels."""

import json

import numpy as np
import pytest

from bench import quality


def test_quick_run_writes_valid_json_and_markdown(tmp_path):
    assert quality.main(["--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "quality-quick.json").read_text())
    assert set(result) >= {"images", "cells", "machine", "protocol", "failures", "seconds"}
    assert len(result["cells"]) == len(quality.QUICK["sigmas"]) * len(quality.QUICK["noises"])
    for cell in result["cells"]:
        assert set(cell["psnr"]) == set(quality.METHODS) | set(quality.PEERS)
        assert all(10 < v < 80 for v in cell["psnr"].values())
    table = (tmp_path / "quality-quick.md").read_text()
    assert table.count("|\n") == 2 + len(result["cells"]) and "Polyblur: " in table


@pytest.mark.slow
def test_full_grid_levels(tmp_path):
    """Regression bounds at the levels measured when the fitter landed (README, issue 3).

    The issue's stricter target (gauss-lap >= Wiener - 0.2 dB in every cell) is not met
    in 5 cells (σ >= 0.8, no noise but quantisation): the gap is at most 0.46 dB, checked here
    at 0.5.
    """
    result = quality.run(quality.QUALITY_IMAGES, quality.SIGMAS, quality.NOISES, peers=False)
    for cell in result["cells"]:
        p, s, n = cell["psnr"], cell["sigma"], cell["noise"]
        for method in ("gauss-lap", "atrous-2", "atrous-3", "unsharp", "fir"):
            assert p[method] >= p["blurred"], (s, n, method)
        assert p["gauss-lap"] >= p["wiener"] - 0.5, (s, n)
        if s <= 1.0 and n >= 0.002:
            assert p["atrous-2"] >= p["gauss-lap"] - 1.5, (s, n)
        if 0.6 <= s <= 1.5 and n <= 0.002:
            assert p["gauss-lap"] - p["blurred"] >= 3.0, (s, n)


@pytest.mark.slow
def test_blind_quick_run_holds_never_harm(tmp_path):
    """bench.blind in quick mode: valid output, and the levels measured when it landed."""
    from bench import blind

    assert blind.main(["--quick", "--no-speed", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "blind-quick.json").read_text())
    assert len(result["cells"]) == len(blind.QUICK["photos"]) * len(blind.QUICK["cells"]) * 2
    for cell in result["cells"]:
        gain = cell["psnr"]["ours-auto"] - cell["psnr"]["blurred"]
        assert gain >= blind.HARM_DB, cell  # never harm, every cell
        if cell["cell"][0] >= 1.0:
            assert gain > 0.3, cell  # and a real gain where the blur is plain
    harm = {row["case"]: row for row in result["never_harm"]}
    assert harm["flat frame"]["max_change"] == 0.0
    assert harm["noise-only frame (std 0.02)"]["noise_gain"] <= 1.001
    for case, row in harm.items():
        if "blockiness_in" in row:
            assert row["blockiness_out"] <= row["blockiness_in"] + 0.01, case
        if "psnr_change_db" in row:
            assert row["psnr_change_db"] >= blind.HARM_DB, case
    table = (tmp_path / "blind-quick.md").read_text()
    assert "## Targets" in table and "never" in table.lower()


@pytest.mark.slow
def test_video_quick_run_judged_by_ffmpeg(tmp_path):
    """bench.video in quick mode: ffmpeg's psnr scores, and both paths timed."""
    pytest.importorskip("imageio_ffmpeg")
    from bench import video

    assert video.main(["--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "video-quick.json").read_text())
    gains = {(r["case"], r["space"]): r["gain_db"] for r in result["quality"]}
    steps6 = "gblur σ 1.2 (steps 6), --psf gaussian:1.2"
    assert gains[(steps6, "srgb")] >= video.GAIN_TARGET_DB  # the known blur, code values
    assert all(r["size_ratio"] <= video.SIZE_TARGET for r in result["quality"])
    paths = {r["path"] for r in result["throughput"]}
    assert paths == {"PyAV, luma plane in YUV", "OpenCV (before)"}


def test_cpu_pipeline_quick_writes_results(tmp_path):
    from bench import cpu_pipeline

    assert cpu_pipeline.main(["--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "cpu_pipeline-quick.json").read_text())
    assert {"cpu", "cores", "opencv"} <= set(result["machine"])
    methods = {(r["format"], r["method"], r["luma_only"]) for r in result["rows"]}
    gl = {m for m in methods if m[1].startswith("gl backend (")}  # where OpenGL 4.3 exists
    assert len(gl) <= 1
    assert methods - gl == {
        ("uint8 BGR", "wiener (FFT)", False),
        ("uint8 BGR", "opencv unsharp mask", False),
        ("uint8 BGR", "plain copy", False),
        ("uint8 BGR", "gauss-lap", False),
        ("uint8 BGR", "gauss-lap", True),
        ("uint8 BGR", "atrous", False),
        ("uint8 BGR", "atrous", True),
        *(
            ("float32 grey", name, False)
            for basis in ("gauss-lap", "atrous")
            for name in (basis, f"{basis}, check_finite=False", f"cv2.filter2D ({basis} kernel)")
        ),
    }
    for row in result["rows"]:
        assert row["p25_ms"] <= row["median_ms"] <= row["p75_ms"] and row["fps"] > 0
    # The engine against one OpenCV call with its own kernel: a verdict per float row.
    assert sum("cv2.filter2D with its kernel" in v for v in result["verdicts"]) == 4
    unsharp = {r["method"]: r["vs_unsharp"] for r in result["rows"] if r["format"] == "uint8 BGR"}
    assert unsharp["opencv unsharp mask"] == 1.0 and unsharp["plain copy"] > 0


def test_throughput_quick_schema_and_peers(tmp_path):
    from bench import throughput

    assert throughput.main(["--quick", "--out", str(tmp_path)]) == 0
    (result_path,) = tmp_path.glob("throughput-quick-*.json")
    result = json.loads(result_path.read_text())
    assert result_path.with_suffix(".md").exists() and result_path.with_suffix(".png").exists()
    rows = result["rows"]
    keys = {
        "size",
        "format",
        "method",
        "backend",
        "median_ms",
        "p25_ms",
        "p75_ms",
        "fps",
        "mpix_per_s",
        "gb_per_s",
        "vs_wiener",
        "vs_copy",
        "ours",
    }
    assert all(keys <= set(r) for r in rows)
    methods = {r["method"] for r in rows}
    assert {
        "copy (bandwidth ceiling)",
        "wiener (FFT)",
        "gauss-lap",
        "atrous",
        "fir",
        "unsharp",
        "cv2.filter2D (gauss-lap kernel)",
        "cv2.filter2D (atrous kernel)",
        "gauss-lap, check_finite=False",
        "scipy.ndimage.correlate",
        "scipy.fft Wiener (periodic)",
        "OpenCV unsharp mask",
    } <= methods
    assert {r["format"] for r in rows} == set(throughput.FORMATS)
    # A peer is either timed or listed as not installed: never silently dropped.
    for peer in ("skimage wiener", "skimage unsupervised_wiener"):
        assert peer in methods or peer in result["not_installed"]
    assert result["polyblur"].startswith(("not installed", "installed"))
    assert any("one cv2.filter2D" in v for v in result["verdicts"])


def test_equivalent_peers_are_checked_before_timing(monkeypatch):
    from bench import peers, throughput

    monkeypatch.setattr(peers, "EQUAL_TOL", 0.0)  # nothing can match exactly
    with pytest.raises(RuntimeError, match="not equivalent, refusing to time it"):
        throughput.run(throughput.QUICK_SIZES, repeats=1)


def test_gpu_check_without_a_device_is_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / "gpu_check.py"
    env = {"PATH": str(tmp_path)}  # no nvidia-smi on this PATH, whatever the machine has
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert result.stdout.strip() == "gpu-check: no CUDA device (nvidia-smi not found)"


def test_gpu_bench_harness_runs_dry(tmp_path):
    from pathlib import Path

    """bench/gpu.py's code paths, on NumPy and cuda-sim: a first GPU run should not die on
    a typo in the harness."""
    from bench import gpu

    report = gpu.run(dry_run=True, out=str(tmp_path))
    assert report["sizes"]["tiny"]["gauss-lap"]["max_lsb_vs_cpu"] <= 1
    assert report["cupy_round_trip"]["same_kind"]
    assert report["cupy_round_trip"]["max_error_vs_cpu"] < 1e-5
    assert any(v.startswith(("MET", "MISS")) for v in report["verdicts"])
    assert all(Path(p).exists() for p in report["files"])


def test_soak_quick_reports_a_slope(tmp_path):
    from bench import soak

    assert soak.main(["--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "soak-quick.json").read_text())
    assert [r["frames"] for r in result["rows"]] == [150, 150]
    for row in result["rows"]:
        assert len(row["samples"]) >= 10 and "slope_mb_per_10k_frames" in row


def _gl_or_skip() -> None:
    moderngl = pytest.importorskip("moderngl", reason="moderngl is not installed")
    try:
        moderngl.create_standalone_context(backend="egl", require=430).release()
    except Exception as exc:
        pytest.skip(f"no OpenGL 4.3 context through EGL: {exc}")


@pytest.mark.slow
def test_render_quick_run_holds_its_levels(tmp_path):
    """bench.render in quick mode (96×128): the levels measured when it landed (issue 14).

    Ours, tuned per scene like the peers, gains over the TAA output in every row and beats
    RCAS in every row; against the best peer (often the oracle-tuned unsharp mask) it
    stays within 1.5 dB. The full run's table is in README ("Shaders for renderers").
    """
    _gl_or_skip()
    from bench import render

    assert render.main(["--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "render-quick.json").read_text())
    assert len(result["rows"]) == 10
    for row in result["rows"]:
        m = {k: v["psnr"] for k, v in row["methods"].items()}
        where = (row["scene"], row["degradation"])
        assert m["ours"] > m["blurred"] and m["ours"] > m["RCAS"], where
        assert m["ours"] >= max(m["CAS"], m["RCAS"], m["unsharp"]) - 1.5, where
        assert all(np.isfinite(v) for v in m.values()), where
    assert set(result["costs_ms_1080p"]) == {
        "ours (5x5 stencil)",
        "gauss-lap (tile)",
        "CAS",
        "RCAS",
    }
    assert (tmp_path / "render-quick.png").stat().st_size > 1000


def test_shader_cost_writes_a_table(tmp_path):
    _gl_or_skip()
    from bench import shader_cost

    assert shader_cost.main(["--rounds", "1", "--out", str(tmp_path)]) == 0
    (written,) = tmp_path.glob("shader-cost-*.json")
    costs = json.loads(written.read_text())["costs_ms_1080p"]
    assert all(ms > 0 for ms in costs.values()) and "CAS" in costs


@pytest.mark.slow
def test_bigimage_and_batch_quick_runs(tmp_path):
    """bench.bigimage (peak RSS, exact centre) and bench.batch (1 and 2 workers), quick."""
    pytest.importorskip("distributed")
    from bench import batch, bigimage

    assert bigimage.main(["--quick", "--out", str(tmp_path)]) == 0
    row = json.loads((tmp_path / "bigimage-quick.json").read_text())["row"]
    assert row["centre_equals_in_memory"] and 0 < row["peak_rss_bytes"] < bigimage.TARGET_BYTES
    assert batch.main(["--quick", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "batch-quick.json").read_text())["rows"]
    assert [r["workers"] for r in rows] == [1, 2]
    assert all(r["files"] == 3 and r["frames"] == 22 and r["frames_per_s"] > 0 for r in rows)


@pytest.mark.slow
def test_stills_quick_run_beats_the_reference_on_its_cases(tmp_path):
    """bench.stills quick: valid output; the priors beat Wiener on its two shake cases."""
    from bench import stills

    assert stills.main(["--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "stills-quick.json").read_text())
    assert len(result["rows"]) == 2 and set(result["seconds_per_megapixel"]) == set(
        stills.OURS + stills.PEERS
    )
    gains = result["summary"]["motion_gain_over_wiener_db"]
    assert gains["tv"] > 0.5 and gains["hyper-laplacian"] > 0.5, gains
    assert "hyper-laplacian" in (tmp_path / "stills-quick.md").read_text()


@pytest.mark.slow
def test_stills_blind_quick_run_writes_its_results(tmp_path):
    """bench.stills_blind quick: one case, valid JSON, the table and the figure."""
    from bench import stills_blind

    assert stills_blind.main(["--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "stills_blind-quick.json").read_text())
    (row,) = result["rows"]
    assert row["ratio"] > 0 and 0 < row["ncc"] <= 1 + 1e-9 and row["seconds"] > 0
    assert np.array(row["kernel_estimate"]).sum() == pytest.approx(1.0)
    assert "success" in (tmp_path / "stills_blind-quick.md").read_text()
    assert (tmp_path / "stills_blind-quick.png").stat().st_size > 10_000


def test_camera_bench_scores_a_small_grid(monkeypatch):
    """bench.camera end to end on a small grid: every method scored, targets written."""
    from bench import camera
    from bench.camera_frames import Blur

    monkeypatch.setattr(camera, "BLURS", (Blur("none"), Blur("gaussian", 1.4)))
    monkeypatch.setattr(camera, "SIDE", 128)
    cells = camera.run_photo("astronaut", ("png", "jpeg90", "h264-crf23"))
    assert len(cells) == 2 * 2 * 3
    for cell in cells:
        assert set(cell.scores) >= {"input", "auto", "known PSF", *camera.SHARPENERS}
        assert cell.scores["input"][0] == 0.0
        if cell.blurred:  # the oracle sees the true PSF: it must sharpen a blurred frame
            assert cell.gain("known PSF") > 0.3
    summary = camera.summarise(cells)
    targets = camera.check_targets(summary, None, None)
    assert any("bright, jpeg90" in line for line in targets)
    table = camera.markdown(cells, summary, None, None, None, targets)
    assert "| astronaut | natural | yes |" in table
