"""The "Deblur in ffmpeg" recipe, run for real: an exported mpv hook inside ffmpeg + libplacebo.

Follows the recipe in ``docs/guides/render.md`` step by step, as a user would:
``gpudeconv export --format mpv-hook`` writes the hook, then ffmpeg's ``libplacebo``
filter runs it on Vulkan (Mesa's lavapipe on a machine without a GPU). The frame is a
photograph that ships with scikit-image, softened by a Gaussian of σ 1 px in the sRGB
values (as a scaler or a video codec blurs). The figure shows the soft frame, ffmpeg's
output and the same filter through :class:`gpudeconv.Pipeline` in Python, with PSNR
against the sharp photograph and the largest difference between the two restorations.

Run: ``python demos/ffmpeg_hook.py [--output docs/ffmpeg_hook_before_after.png]`` (needs
ffmpeg with libplacebo and a Vulkan device — ``make system-deps`` installs Debian's — and
scikit-image and matplotlib). Without them it says what is missing and exits 2.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

import gpudeconv
from gpudeconv import psf
from gpudeconv.core.metrics import psnr

SIGMA, NOISE, BASIS = 1.0, 0.01, "atrous"  # the recipe's filter
SIZE = (480, 320)  # width, height: lavapipe runs the hook on the CPU


def ffmpeg_with_libplacebo() -> str | None:
    """The ffmpeg that can run the recipe, or None after saying why not."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        print("ffmpeg_hook: ffmpeg is not installed (make system-deps installs Debian's)")
        return None
    filters = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True)
    if "libplacebo" not in filters.stdout:
        print(f"ffmpeg_hook: {exe} has no libplacebo filter")
        return None
    return exe


def run(command: list[str]) -> float:
    """Run one step of the recipe; its wall time in seconds."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"ffmpeg_hook: {command[0]} failed: {result.stderr.strip()[-600:]}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="ffmpeg_hook_before_after.png")
    args = parser.parse_args()
    exe = ffmpeg_with_libplacebo()
    if exe is None:
        return 2
    import skimage.data

    sharp = cv2.resize(skimage.data.astronaut()[..., ::-1], SIZE, interpolation=cv2.INTER_AREA)
    soft = cv2.GaussianBlur(sharp, (0, 0), SIGMA)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        cv2.imwrite(str(work / "in.png"), soft)
        hook = work / "deblur.glsl"
        export = ["export", "--psf", f"gaussian:{SIGMA}", "--noise", str(NOISE), "--basis", BASIS]
        run(
            [
                sys.executable,
                "-m",
                "gpudeconv.app.cli",
                *export,
                "--format",
                "mpv-hook",
                "-o",
                str(hook),
            ]
        )
        graph = (
            f"format=rgba,hwupload,libplacebo=format=rgba:dithering=none:"
            f"custom_shader_path={hook},hwdownload,format=rgba"
        )
        seconds = run([exe, "-v", "error", "-y", "-init_hw_device", "vulkan=vk",
                       "-filter_hw_device", "vk", "-i", str(work / "in.png"), "-vf", graph,
                       str(work / "out.png")])  # fmt: skip
        from_ffmpeg = cv2.imread(str(work / "out.png"), cv2.IMREAD_COLOR)

    # The same filter in Python: the hook's default space filters the sRGB values as given.
    filt = gpudeconv.fit(psf.gaussian(SIGMA), noise=NOISE, quantization_bits=8, basis=BASIS)
    from_python = gpudeconv.Pipeline(filt, shape=soft.shape, dtype=np.uint8, space="srgb")(soft)
    most = int(np.abs(from_ffmpeg.astype(int) - from_python.astype(int)).max())

    def db(image: np.ndarray) -> float:
        return psnr(sharp / 255.0, image / 255.0)

    print(
        f"ffmpeg + libplacebo ran the hook in {seconds:.1f} s (shader compile included, "
        f"{SIZE[0]}x{SIZE[1]}); PSNR soft {db(soft):.2f} dB, ffmpeg {db(from_ffmpeg):.2f} dB, "
        f"Pipeline {db(from_python):.2f} dB; ffmpeg vs Pipeline: at most {most} code(s)"
    )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = slice(20, 220), slice(140, 340)
    shown = (
        (soft, f"soft frame: {db(soft):.2f} dB"),
        (from_ffmpeg, f"ffmpeg + libplacebo, mpv hook: {db(from_ffmpeg):.2f} dB"),
        (from_python, f"gpudeconv.Pipeline: {db(from_python):.2f} dB"),
    )
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.4))
    for ax, (picture, title) in zip(axes, shown, strict=True):
        ax.imshow(picture[rows, cols][..., ::-1])
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(args.output, dpi=80)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
