"""Restore a video file with the streaming API (two frames in flight on a GPU).

Run: ``python demos/video_file.py [INPUT.mp4] [--output restored.mp4] [--sigma 1.0]``.
Without INPUT a short clip of the built-in test card, blurred, is made first.
"""

from __future__ import annotations

import argparse
import time

import cv2

import gpudeconv
from gpudeconv.app.live import TestCardSource


def make_clip(path: str, frames: int = 48) -> None:
    """A blurred, noisy, panning test card clip (what a soft camera would record)."""
    source = TestCardSource((240, 320), sigma=1.0, noise=0.003)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 24.0, (320, 240))
    for _ in range(frames):
        writer.write(source.read()[0])
    writer.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?")
    parser.add_argument("--output", default="restored.mp4")
    parser.add_argument("--sigma", type=float, default=1.0)
    parser.add_argument("--noise", type=float, default=0.003)
    args = parser.parse_args()
    if args.input is None:
        args.input = "test_card_clip.mp4"
        make_clip(args.input)

    capture = cv2.VideoCapture(args.input)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    width, height = (
        int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    )

    def frames():  # a generator: the pipeline pulls frames as it has room
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame

    filt = gpudeconv.fit(
        gpudeconv.core.psf.gaussian(args.sigma), noise=args.noise, quantization_bits=8
    )
    pipe = gpudeconv.Pipeline(filt, shape=(height, width, 3), dtype="uint8")
    writer = cv2.VideoWriter(args.output, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    start, count = time.perf_counter(), 0
    for restored in pipe.stream(frames()):  # upload i+1 overlaps kernel i on a GPU
        writer.write(restored)
        count += 1
    writer.release()
    seconds = time.perf_counter() - start
    print(
        f"{count} frames, {count / seconds:.1f} fps on {pipe.backend} "
        f"({pipe.backend_reason}) -> {args.output}"
    )


if __name__ == "__main__":
    main()
