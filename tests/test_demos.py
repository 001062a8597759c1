"""Every demo runs end to end (small sizes) and says what it did."""

import subprocess
import sys
from pathlib import Path

import pytest

DEMOS = Path(__file__).resolve().parent.parent / "demos"


def _run_demo(folder, script: str, args: list[str]) -> subprocess.CompletedProcess:
    """A demo as a user runs it: its own process, in an empty folder."""
    return subprocess.run(
        [sys.executable, str(DEMOS / script), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("script", "args", "expect"),
    [
        ("still_photo.py", ["--output", "still.png"], "wrote still.png"),
        ("video_file.py", ["--output", "restored.mp4"], "48 frames"),
        ("render_postprocess.py", ["--frames", "4", "--size", "96x160"], "PSNR gain"),
        ("blind_photo.py", ["--output", "blind.png"], "cell: 550x660, estimated blur"),
        ("compressed_frame.py", ["--output", "compressed.png"], "coffee (jpeg75): estimated blur"),
    ],
)
def test_demo_runs(tmp_path, script, args, expect):
    result = _run_demo(tmp_path, script, args)
    assert result.returncode == 0, result.stderr
    assert expect in result.stdout


def test_gl_postprocess_demo_runs(tmp_path):
    """The GL demo needs an OpenGL 4.3 context (Mesa's llvmpipe here): skipped, saying so."""
    moderngl = pytest.importorskip("moderngl", reason="moderngl is not installed")
    try:
        moderngl.create_standalone_context(backend="egl", require=430).release()
    except Exception as exc:
        pytest.skip(f"no OpenGL 4.3 context through EGL: {exc}")
    for post, output in (("ours", "gl.mp4"), ("rcas", "gl.png")):
        args = ["--frames", "3", "--size", "96x160", "--pass", post, "--output", output]
        result = _run_demo(tmp_path, "gl_postprocess.py", args)
        assert result.returncode == 0, result.stderr
        assert f"pass {post}" in result.stdout and f"wrote {output}" in result.stdout
        assert (tmp_path / output).stat().st_size > 1000


def test_ffmpeg_hook_demo_follows_the_recipe(tmp_path):
    """The "Deblur in ffmpeg" recipe in a real ffmpeg + libplacebo: ≤ 1 code from Python."""
    result = _run_demo(tmp_path, "ffmpeg_hook.py", ["--output", "hook.png"])
    if result.returncode == 2:
        pytest.skip(result.stdout.strip())
    assert result.returncode == 0, result.stderr
    assert "ffmpeg vs Pipeline: at most 0 code(s)" in result.stdout or (
        "at most 1 code(s)" in result.stdout
    )
    assert (tmp_path / "hook.png").stat().st_size > 10_000
