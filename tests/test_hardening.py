"""Issue 11: every entry point tried as a new user and as an attacker would (one test each)."""

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

import gpudeconv
from gpudeconv import FilterTable, Pipeline, fit, wiener
from gpudeconv.app import testcard
from gpudeconv.app.cli import main
from gpudeconv.core import psf
from gpudeconv.errors import GpudeconvError
from gpudeconv.fit.filter import FilterFileError

ROOT = Path(__file__).resolve().parent.parent


def _cli(*argv, cwd=None, env=None, timeout=120):
    """Run the command line in a fresh process: native crashes and OpenCV's logs show."""
    return subprocess.run(
        [sys.executable, "-m", "gpudeconv.app.cli", *map(str, argv)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), (5, 5), 1.0)
    path = tmp_path / "in.png"
    cv2.imwrite(str(path), image)
    return path


def _clip(path: Path, frames: int = 12, size=(64, 48)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, size)
    rng = np.random.default_rng(2)
    for _ in range(frames):
        writer.write(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


# ---------------------------------------------------------------------------- 1. --compare
@pytest.mark.parametrize(
    ("compare", "message"),
    [
        ("in.png", "is the input file"),
        ("out.png", "same file as another output"),
        ("./sub/../in.png", "is the input file"),
        ("existing.png", "already exists"),
    ],
)
def test_compare_never_overwrites_an_input_an_output_or_an_existing_file(
    tmp_path, photo, capsys, compare, message, monkeypatch
):
    (tmp_path / "sub").mkdir()
    (tmp_path / "existing.png").write_bytes(b"keep me")
    before = _snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)  # restored after the test, whatever happens
    argv = ["deblur", "in.png", "out.png", "--psf", "gaussian:1.2", "--noise", "0.003"]
    assert main([*argv, "--quiet", "--compare", compare]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert _snapshot(tmp_path) == before  # nothing written, nothing replaced


def test_compare_follows_the_overwrite_rule_and_works_for_videos(tmp_path, photo):
    existing = tmp_path / "fig.png"
    existing.write_bytes(b"old")
    argv = [photo, tmp_path / "o.png", "--psf", "gaussian:1.2", "--noise", "0.003", "--quiet"]
    assert main(["deblur", *map(str, argv), "--compare", str(existing), "--overwrite"]) == 0
    assert cv2.imread(str(existing)) is not None
    clip = _clip(tmp_path / "clip.mp4")
    figure = tmp_path / "video-figure.png"
    argv = [clip, tmp_path / "o.mp4", "--psf", "gaussian:1.2", "--noise", "0.003", "--quiet"]
    assert main(["deblur", *map(str, argv), "--compare", str(figure)]) == 0
    assert cv2.imread(str(figure)) is not None  # the middle frame, before and after


# ---------------------------------------------------------------------------- 2. sizes
@pytest.mark.parametrize("spec", ["disk:1e4", "box:1e5", "gaussian:1e5", "motion:1e6,30"])
def test_absurd_psf_sizes_are_refused_before_allocating(spec):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match="the largest supported is 1025 pixels"):
            psf.parse(spec)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0 and peak < 1_000_000


def test_absurd_size_arguments_are_refused():
    for count in (10**6, 10_000, 64):
        with pytest.raises(ValueError, match="count must be <= 63"):
            fit(psf.gaussian(1.0), noise=0.01, count=count)
    with pytest.raises(ValueError, match="quantization_bits must be <= 32"):
        fit(psf.gaussian(1.0), noise=0.01, quantization_bits=10**9)
    with pytest.raises(ValueError, match="at most 100000 cells"):
        FilterTable.fit(sigmas=np.linspace(0.5, 2, 1000), noises=np.linspace(0, 0.1, 1000))
    with pytest.raises(ValueError, match="sides must be <= 8192"):
        testcard.test_card(100_000, 640)


def test_absurd_psf_is_one_line_on_the_command_line(tmp_path, photo):
    result = _cli("deblur", photo, tmp_path / "o.png", "--psf", "disk:1e4", "--noise", "0.01")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "largest supported" in result.stderr


# ---------------------------------------------------------------------------- 3. camera
def test_negative_camera_index_is_an_error_not_a_crash():
    result = _cli("live", "--camera", "-1", "--headless", "--frames", "1")
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.count("\n") == 1 and "camera index must be" in result.stderr


def test_a_missing_camera_is_one_line_without_opencvs_log():
    result = _cli("live", "--camera", "97", "--headless", "--frames", "1")
    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0, result.stderr  # OpenCV's log silenced
    assert "cannot open camera 97" in result.stderr


# ---------------------------------------------------------------------------- 4. threads
@pytest.mark.parametrize(
    ("backend", "shape", "dtype"),
    [
        ("cpu", (90, 160, 3), np.uint8),
        ("cpu", (90, 160), np.float32),
        ("cuda-sim", (24, 40, 3), np.uint8),
    ],
)
def test_one_pipeline_called_from_8_threads_gives_the_sequential_frames(backend, shape, dtype):
    rng = np.random.default_rng(3)
    if dtype == np.uint8:
        frames = [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(50)]
    else:
        frames = [rng.random(shape, dtype=np.float32) for _ in range(50)]
    pipe = Pipeline(fit(psf.gaussian(1.0), noise=0.002), shape=shape, dtype=dtype, backend=backend)
    expect = [pipe(f) for f in frames]
    results: dict[tuple[int, int], np.ndarray] = {}

    def worker(t: int) -> None:
        for i, frame in enumerate(frames):
            results[(t, i)] = pipe(frame)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 * 50
    for (_, i), out in results.items():
        np.testing.assert_array_equal(out, expect[i])


# ---------------------------------------------------------------------------- 5-7. outputs
def test_recorder_never_follows_a_planted_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    planted = tmp_path / ".rec.partial.mp4"  # the name the recorder once used
    planted.symlink_to(victim)
    out = tmp_path / "rec.mp4"
    assert main(["live", "--headless", "--frames", "3", "--output", str(out)]) == 0
    assert victim.read_text() == "precious" and planted.is_symlink()
    assert out.is_file() and not out.is_symlink()


@pytest.mark.parametrize("spelling", ["same", "dot", "link"])
def test_live_never_records_over_its_input(tmp_path, spelling):
    clip = _clip(tmp_path / "clip.mp4")
    before = clip.read_bytes()
    output = {
        "same": clip,
        "dot": tmp_path / "." / "clip.mp4",
        "link": tmp_path / "alias.mp4",
    }[spelling]
    if spelling == "link":
        output.symlink_to(clip)
    argv = ["live", "--input", str(clip), "--output", str(output), "--overwrite", "--headless"]
    assert main(argv) == 2
    assert clip.read_bytes() == before


def test_new_outputs_honour_the_umask_and_overwrites_keep_the_mode(tmp_path, photo):
    previous = os.umask(0o022)
    try:
        out = tmp_path / "o.png"
        argv = ["deblur", str(photo), str(out), "--psf", "gaussian:1", "--noise", "0.01", "--quiet"]
        assert main(argv) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
        out.chmod(0o640)
        assert main([*argv, "--overwrite"]) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o640
    finally:
        os.umask(previous)


# ---------------------------------------------------------------------------- 8. filter files
def _table_json(tmp_path, **changes) -> Path:
    table = FilterTable.fit(sigmas=[0.5, 1.0], noises=[0.0, 0.01])
    path = table.save(tmp_path / "t.json")
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc).replace("NaN", "NaN"))
    return path


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"terms": [{"y": [float("nan")], "x": [1.0]}]}, "terms[0].y"),
        ({"basis": "wavelet"}, "basis"),
        ({"basis_params": 5}, "basis_params"),
        ({"weights": [[[1e308] * 6] * 2] * 2}, "weights"),
        ({"objective": ["mse"]}, "objective"),
        ({"sigmas": [1.0, 0.5]}, "grid"),
        ({"quantization_bits": 99}, "quantization_bits"),
    ],
)
def test_tampered_table_files_are_refused_naming_file_and_field(tmp_path, changes, field):
    path = _table_json(tmp_path, **changes)
    with pytest.raises(FilterFileError, match=rf"t\.json.*{field.split('[')[0]}"):
        FilterTable.load(path)


def test_malformed_files_raise_our_error_not_a_raw_exception(tmp_path):
    bad_zip = tmp_path / "t.npz"
    bad_zip.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(FilterFileError, match="cannot be read"):
        FilterTable.load(bad_zip)
    np.savez(tmp_path / "u.npz", sigmas=[1.0])  # no meta
    with pytest.raises(FilterFileError, match="cannot be read"):
        FilterTable.load(tmp_path / "u.npz")
    good = json.loads(fit(psf.gaussian(1.0), noise=0.01).to_json())
    for field, value in [("basis_params", 5), ("weights", [1e308] * 6), ("terms", "x")]:
        with pytest.raises(FilterFileError, match=f"field '{field}'"):
            gpudeconv.DeconvFilter.from_json(json.dumps({**good, field: value}))


# ---------------------------------------------------------------------------- 9. signals
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_video_run_leaves_no_temporary_file(tmp_path, signum):
    clip = _clip(tmp_path / "clip.mp4", frames=400, size=(320, 240))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gpudeconv.app.cli",
            "deblur",
            str(clip),
            str(tmp_path / "out.mp4"),
            "--psf",
            "gaussian:1.2",
            "--noise",
            "0.003",
            "--method",
            "wiener",
            "--quiet",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".out.*")) and time.monotonic() < deadline:
            time.sleep(0.05)  # wait until the temporary output exists: mid-run
        assert list(tmp_path.glob(".out.*")), "the run never started writing"
        time.sleep(0.3)
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:  # a failed wait: no run left behind
            process.kill()
            process.communicate()
    assert process.returncode == 128 + signum, err
    assert f"stopped by {signal.Signals(signum).name}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


# ---------------------------------------------------------------------------- 10. cache
def test_a_planted_emulator_library_is_not_loaded(tmp_path):
    """A library planted under the expected name (no digest of ours) is rebuilt, not run."""
    script = """
import numpy as np, gpudeconv
from gpudeconv import Pipeline, fit, psf
from gpudeconv.engine.backends import cuda_sim, kernels
filt = fit(psf.gaussian(1.0), noise=0.01)
frame = np.random.default_rng(0).random((20, 30), dtype=np.float32)
expect = Pipeline(filt, shape=frame.shape, dtype=np.float32, backend="cpu")(frame)
name = kernels.KernelSpec(np.dtype(np.float32), 1, False, "reflect").name
line = "q[c] = encode<T, W>((W)(acc[r][c] + dc_gain * (double)level[c]), srgb, max_code);"
assert line in kernels.kernel_code()
evil = kernels.kernel_code().replace(line, "q[c] = 0;")  # a kernel that writes zeros
honest = cuda_sim.build_library([name])
honest.unlink(); honest.with_suffix(".sha256").unlink()
cuda_sim.build_library([name], code=evil, out=honest)  # planted: same name, other code
out = Pipeline(filt, shape=frame.shape, dtype=np.float32, backend="cuda-sim")(frame)
print(float(np.abs(out - expect).max()))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GPUDECONV_CACHE_DIR": str(tmp_path / "c")}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert float(result.stdout.strip()) < 1e-5
    assert stat.S_IMODE((tmp_path / "c" / "sim").stat().st_mode) == 0o700


def test_a_cache_folder_others_can_write_is_refused(tmp_path, monkeypatch):
    from gpudeconv.engine.backends import cuda_sim

    folder = tmp_path / "shared"
    (folder / "sim").mkdir(parents=True)
    (folder / "sim").chmod(0o777)
    monkeypatch.setenv("GPUDECONV_CACHE_DIR", str(folder))
    with pytest.raises(GpudeconvError, match="writable by others"):
        cuda_sim.build_library(["gpudeconv::deconv_fused<float, 1, 0, 0, int>"])


# ---------------------------------------------------------------------------- 11. memory
@pytest.mark.slow
def test_scratch_memory_is_per_worker_not_per_strip():
    """Issue 11: at 4K one uint8 frame once cost ~16x its bytes; now at most 3x."""
    frame = np.random.default_rng(4).integers(0, 256, (2160, 3840, 3), dtype=np.uint8)
    filt = fit(psf.gaussian(1.0), noise=0.002)
    tracemalloc.start()
    try:  # building the pipeline and its first frame: every buffer, and the output
        Pipeline(filt, shape=frame.shape, dtype=np.uint8)(frame)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 3 * frame.nbytes, peak / frame.nbytes


# ---------------------------------------------------------------------------- 12. values
def test_hdr_and_negative_values_work_and_absurd_ones_are_refused():
    rng = np.random.default_rng(5)
    hdr = (rng.random((60, 80, 3)) * 65504 - 100).astype(np.float32)  # half-float range
    pipe = Pipeline(fit(psf.gaussian(1.0), noise=0.002), shape=hdr.shape, dtype=np.float32)
    assert np.isfinite(pipe(hdr)).all()
    huge = np.full((60, 80, 3), 3e38, np.float32)
    with pytest.raises(ValueError, match=r"beyond ±1e\+30"):
        pipe(huge)
    with pytest.raises(ValueError, match=r"beyond ±1e\+30"):
        wiener(np.full((32, 32), 1e38, np.float32), psf.gaussian(1.0), noise=0.01)


# ---------------------------------------------------------------------------- 13. small ones
def test_small_ones(tmp_path, capsys):
    filt = fit(psf.gaussian(1.0), noise=0.01)
    with pytest.raises(TypeError, match="shape must be a tuple of ints"):
        Pipeline(filt, shape=(2.5, 3), dtype=np.float32)
    assert main(["fit", "--psf", "gaussian:1", "--noise", "0.01", "--levels", "3"]) == 2
    err = capsys.readouterr().err
    assert "basis 'gauss-lap' does not take the options ['levels']" in err and "_fit" not in err


def test_a_failing_compiler_is_one_line(tmp_path, photo):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "g++").write_text("#!/bin/sh\necho 'unit.cpp:1: error: planted failure' >&2\nexit 1\n")
    (fake / "g++").chmod(0o755)
    env = {"PATH": f"{fake}:{os.environ['PATH']}", "GPUDECONV_CACHE_DIR": str(tmp_path / "c")}
    result = _cli(
        "deblur",
        photo,
        tmp_path / "o.png",
        "--psf",
        "gaussian:1",
        "--noise",
        "0.01",
        "--backend",
        "cuda-sim",
        env=env,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "planted failure" in result.stderr


def test_an_output_that_appears_while_writing_is_kept(tmp_path):
    """#27 item 20: two runs into one OUTPUT both 'succeeded', the later replacing the first."""
    from gpudeconv.errors import InvalidArgumentError
    from gpudeconv.media.io import atomic_output

    target = tmp_path / "out.png"

    def write(tmp):
        target.write_bytes(b"the other run's")  # it checked at the same time, and won
        tmp.write_bytes(b"ours")

    with pytest.raises(InvalidArgumentError, match="appeared while"):
        atomic_output(target, write)
    assert target.read_bytes() == b"the other run's"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left
    atomic_output(target, lambda tmp: tmp.write_bytes(b"ours"), overwrite=True)
    assert target.read_bytes() == b"ours"


def test_an_output_name_near_name_max_is_written(tmp_path):
    """#27 item 19: the temporary name (~20 bytes longer) went over NAME_MAX."""
    from gpudeconv.media.io import atomic_output

    target = tmp_path / ("a" * 240 + ".png")
    atomic_output(target, lambda tmp: tmp.write_bytes(b"x"))
    assert target.read_bytes() == b"x"
    wide = tmp_path / ("é" * 120 + ".png")  # 240 bytes in UTF-8
    atomic_output(wide, lambda tmp: tmp.write_bytes(b"y"))
    assert wide.read_bytes() == b"y"
