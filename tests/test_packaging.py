"""The CUDA sources ship inside the wheel and are found from an installed copy."""

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import gpudeconv
from gpudeconv.core._resources import kernel_names, kernel_source

REPO = Path(__file__).resolve().parent.parent


def test_kernel_sources_found_from_source_tree():
    assert "common.cuh" in kernel_names()
    assert kernel_source("common.cuh") == (REPO / "kernels" / "common.cuh").read_text()
    with pytest.raises(ValueError, match=r"Unknown kernel source 'nope\.cu'"):
        kernel_source("nope.cu")


def test_import_does_not_import_cupy():
    code = "import sys, gpudeconv; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_wheel_ships_kernels(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(REPO),
        ],
        check=True,
    )
    (wheel,) = dist.glob("gpudeconv-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    # Borrow numpy & co. from the test environment, appended *after* the new venv's own
    # site-packages, so `gpudeconv` itself can only come from the installed wheel.
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "borrow.pth").write_text(sysconfig.get_path("purelib") + "\n")
    code = (
        "import gpudeconv, gpudeconv.core._resources as r; "
        "print(gpudeconv.__file__); print(r.kernel_source('common.cuh'), end='')"
    )
    out = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    location, source = out.stdout.split("\n", 1)
    assert location.startswith(str(env_dir)), location
    assert Path(gpudeconv.__file__).parent != Path(location).parent
    assert source == (REPO / "kernels" / "common.cuh").read_text()
