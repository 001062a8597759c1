"""A render post-process prototype: undo the blur a TAA-like resolve leaves in each frame.

A tiny renderer draws a moving scene; a TAA-like resolve averages four half-pixel
jittered copies (the blur temporal anti-aliasing leaves). That blur is *known*: push an
impulse through the same resolve to get its PSF, fit a filter once, then restore every
frame with one ``Pipeline``, in place, on the GPU when CuPy (or a PyTorch CUDA tensor) is
there, on the CPU otherwise.

Run: ``python demos/render_postprocess.py [--frames 60] [--size 360x640]``.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

import gpudeconv
from gpudeconv.core.metrics import psnr

JITTER = [(-0.5, -0.5), (0.5, -0.5), (-0.5, 0.5), (0.5, 0.5)]


def render(t: float, height: int, width: int) -> np.ndarray:
    """A sharp frame: rotating bars and moving discs, float32 linear RGB in [0, 1]."""
    frame = np.full((height, width, 3), 0.08, np.float32)
    centre = (width // 2, height // 2)
    for k in range(12):
        angle = t * 0.8 + k * np.pi / 6
        end = (
            int(centre[0] + np.cos(angle) * height * 0.45),
            int(centre[1] + np.sin(angle) * height * 0.45),
        )
        cv2.line(frame, centre, end, (0.9, 0.8 - 0.05 * k, 0.2 + 0.05 * k), 2, cv2.LINE_8)
    for k in range(5):
        x = int((0.1 + 0.2 * k) * width + 30 * np.sin(t + k))
        cv2.circle(frame, (x, int(height * 0.2)), 12, (0.2, 0.6, 1.0), -1, cv2.LINE_8)
    return frame


def taa_resolve(frame: np.ndarray) -> np.ndarray:
    """Average of four half-pixel shifted copies: the blur a TAA resolve leaves."""
    acc = np.zeros_like(frame)
    for dx, dy in JITTER:
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        acc += cv2.warpAffine(
            frame, shift, frame.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
    return acc / len(JITTER)


def measured_psf() -> np.ndarray:
    """The resolve's PSF: an impulse pushed through it."""
    impulse = np.zeros((15, 15, 1), np.float32)
    impulse[7, 7] = 1.0
    kernel = taa_resolve(np.repeat(impulse, 3, axis=2))[..., 0]
    return gpudeconv.core.psf.from_array(kernel[5:10, 5:10])


def to_device(frame: np.ndarray, backend: str):
    """The frame where the pipeline runs: on the GPU only when its backend is ``cuda``.

    ``auto`` may have fallen back to the CPU on a machine with CuPy and a GPU (a missing
    header, ``GPUDECONV_BACKEND=cpu``): then the frame stays a NumPy array.
    """
    if backend != "cuda":
        return frame, "numpy"
    import cupy

    device = cupy.asarray(frame)
    cupy.cuda.get_current_stream().synchronize()  # the upload is asynchronous: not timed
    return device, "cupy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", default="360x640", help="HEIGHTxWIDTH")
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))

    kernel = measured_psf()
    filt = gpudeconv.fit(kernel, noise=0.001)  # renderer output: almost no noise
    print(f"measured PSF {kernel.shape}, fitted {filt}")
    # One pipeline, built once; each frame is restored in place (out=frame): no output
    # allocation, though the pipeline copies the input first (the filter reads
    # neighbours it overwrites).
    pipe = gpudeconv.Pipeline(filt, shape=(height, width, 3), dtype=np.float32)
    print(f"backend {pipe.backend}: {pipe.backend_reason}")

    gains, times = [], []
    for i in range(args.frames):
        sharp = render(i / 30, height, width)
        soft = taa_resolve(sharp)
        frame, kind = to_device(soft.copy(), pipe.backend)
        start = time.perf_counter()
        pipe(frame, out=frame)
        if kind == "cupy":  # GPU work is asynchronous: wait for it before stopping the clock
            import cupy

            cupy.cuda.get_current_stream().synchronize()
        times.append(time.perf_counter() - start)
        restored = frame if kind == "numpy" else frame.get()
        gains.append(psnr(sharp, np.clip(restored, 0, 1)) - psnr(sharp, soft))
    print(
        f"{args.frames} frames ({kind}), median {np.median(times) * 1e3:.2f} ms/frame, "
        f"PSNR gain over the TAA output {np.mean(gains):+.2f} dB"
    )


if __name__ == "__main__":
    main()
