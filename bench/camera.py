"""Auto on the frames cameras deliver (issue 26), against the sharpeners people run instead.

Protocol. Ten ``skimage.data`` photographs (natural: astronaut, coffee, chelsea, rocket,
camera; textured: brick, grass; text: text; smooth/dark: moon, hubble_deep_field), the
centre 384×384 (text: its 172×384), grey ones as three equal channels. Each is degraded
the way a camera makes a frame (:mod:`bench.camera_frames`): blurred in linear light by
nothing, a Gaussian σ 0.8 / 1.4 / 2.0, a defocus disk r 1.5 / 2.5 or a 5-px motion streak;
Poisson–Gaussian sensor noise at a bright and a dim exposure; 8-bit sRGB; stored as PNG,
JPEG q50/75/90 (OpenCV, 4:2:0) or one-frame H.264 CRF 18/23/28 (x264, yuv420p), and
decoded. Every method then gets the decoded frame as a plain uint8 BGR array — no side
information, what a webcam loop hands over — and is scored on 8-bit codes against the
sharp photograph: PSNR and SSIM over the interior (8 px border out), the 8-px blockiness of
the luma (``gpudeconv.blind.jpeg.blockiness``) and the edge overshoot beyond the sharp
photograph's own 5×5 range (``bench.blind.overshoot``).

Rows: ``input``; ``auto`` — ``deblur(frame, "auto")``; ``known PSF`` — ``deblur(frame,
psf, noise=n)`` with the true PSF at the best of :data:`KNOWN_NOISES` for that cell (an
oracle: no practical filter knows the blur and picks the noise after seeing the truth);
and six sharpeners — OpenCV unsharp mask (σ 1, amount 1, on the codes), ffmpeg ``cas`` at
strength 0 / 0.5 / 1, ffmpeg ``unsharp`` (default ``5:5:1.0``, and ``5:5:2.0``), run by the
ffmpeg binary of ``imageio-ffmpeg`` on the frames in ``gbrp`` — plus Polyblur where
installed.

The photographs used to tune the estimator (astronaut, coffee, brick, chelsea, camera) are
marked; the others were not looked at while tuning.

Also: a natural H.264 clip (a slow pan over a photograph, ffmpeg ``gblur`` σ 1.5
``steps=6``, CRF 20) restored through ``gpudeconv deblur`` with and without ``--psf`` and
by ffmpeg ``unsharp``, each judged by ffmpeg's ``psnr`` filter against the sharp pan; the
frame-to-frame std of σ on a static scene; the cost of an estimate at 1080p and of
``AutoPipeline`` at 720p.

Run ``python -m bench.camera [--quick] [--out bench/results]``; writes ``camera.json``
and ``camera.md`` with the issue's targets checked.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import tempfile
import time
import warnings
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bench.blind import overshoot
from bench.camera_frames import (
    BLURS,
    EXPOSURES,
    STORAGES,
    Blur,
    camera_frame,
    even_crop,
    h264_roundtrip,
    psnr8,
    store,
)
from bench.peers import polyblur_status
from bench.timing import machine, write_results
from gpudeconv import AutoPipeline, deblur, estimate
from gpudeconv.blind.jpeg import blockiness
from gpudeconv.errors import FitQualityWarning

#: name -> kind; ``TUNED`` were looked at while the estimator was tuned.
PHOTOS = {
    "astronaut": "natural",
    "coffee": "natural",
    "chelsea": "natural",
    "rocket": "natural",
    "camera": "natural",
    "brick": "textured",
    "grass": "textured",
    "text": "text",
    "moon": "smooth",
    "hubble_deep_field": "dark",
}
TUNED = ("astronaut", "coffee", "brick", "chelsea", "camera")
SIDE = 384
KNOWN_NOISES = (0.002, 0.004, 0.006, 0.008, 0.012, 0.016, 0.024)
SHARPENERS = (
    "opencv unsharp",
    "ffmpeg cas 0",
    "ffmpeg cas 0.5",
    "ffmpeg cas 1",
    "ffmpeg unsharp",
    "ffmpeg unsharp 5:5:2.0",
)
FFMPEG_FILTERS = {
    "ffmpeg cas 0": "cas=strength=0",
    "ffmpeg cas 0.5": "cas=strength=0.5",
    "ffmpeg cas 1": "cas=strength=1",
    "ffmpeg unsharp": "unsharp",
    "ffmpeg unsharp 5:5:2.0": "unsharp=5:5:2.0",
}
#: The six conditions of the issue's targets.
CONDITIONS = tuple((e.name, s) for e in EXPOSURES for s in ("png", "jpeg90", "h264-crf23"))
QUICK = {
    "photos": ("astronaut", "brick", "rocket", "moon"),
    "storages": ("png", "jpeg90", "h264-crf23"),
}

# Targets (issue 26).
KNOWN_SHARE = 0.70
CELL_SHARE = 0.75
HARM_DB = -0.1
BLOCKINESS_RISE = 0.01
ESTIMATE_MS_1080P = 10.0
LIVE_FPS_720P = 25.0


@dataclass
class Cell:
    """One degraded frame and every method's scores on it."""

    photo: str
    blur: str
    exposure: str
    storage: str
    input_psnr: float
    #: method -> (PSNR gain dB, SSIM, blockiness, overshoot)
    scores: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    auto_ms: float = 0.0
    #: the known-PSF filter's PSNR gain at each of KNOWN_NOISES
    known_by_noise: list[float] = field(default_factory=list)
    sigma: tuple[float, float] = (0.0, 0.0)
    noise: float = 0.0

    @property
    def blurred(self) -> bool:
        """Whether the frame was blurred (the sharp frames only test never-harm)."""
        return self.blur != "none"

    def gain(self, method: str) -> float:
        """PSNR gain of ``method`` over the input, dB."""
        return self.scores[method][0]

    def best_sharpener(self) -> tuple[str, float]:
        """The best of the six sharpeners on this cell and its gain."""
        name = max(SHARPENERS, key=self.gain)
        return name, self.gain(name)


# ---------------------------------------------------------------------------- photos
def photo(name: str, side: int | None = None) -> np.ndarray:
    """The centre ``side``² crop (default :data:`SIDE`) of a photograph, as 8-bit BGR.

    ``name`` is a ``skimage.data`` photograph; grey ones become three equal channels.
    """
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return even_crop(np.ascontiguousarray(image[..., :3][..., ::-1]), side or SIDE)


# ---------------------------------------------------------------------------- sharpeners
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_filter(frames: list[np.ndarray], graph: str) -> list[np.ndarray]:
    """Run an ffmpeg filter graph over equal-size BGR frames (planar RGB inside)."""
    h, w = frames[0].shape[:2]
    command = [
        ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}",
        "-i", "-", "-vf", f"format=gbrp,{graph},format=bgr24", "-f", "rawvideo", "-",
    ]  # fmt: skip
    done = subprocess.run(
        command, input=b"".join(f.tobytes() for f in frames), capture_output=True, check=True
    )
    out = np.frombuffer(done.stdout, np.uint8).reshape(len(frames), h, w, 3)
    return list(out)


def opencv_unsharp(frame: np.ndarray, sigma: float = 1.0, amount: float = 1.0) -> np.ndarray:
    """The textbook unsharp mask on the codes: ``(1 + a)·x − a·G_σ x``, saturated."""
    soft = cv2.GaussianBlur(frame, (0, 0), sigma)
    return cv2.addWeighted(frame, 1 + amount, soft, -amount, 0)


# ---------------------------------------------------------------------------- scoring
def scores(
    sharp: np.ndarray, frame: np.ndarray, out: np.ndarray
) -> tuple[float, float, float, float]:
    from skimage.metrics import structural_similarity

    b = 8
    ssim = structural_similarity(sharp[b:-b, b:-b], out[b:-b, b:-b], channel_axis=2, data_range=255)
    grey = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    ring = overshoot(sharp.astype(np.float32) / 255, out.astype(np.float32) / 255)
    return psnr8(sharp, out) - psnr8(sharp, frame), float(ssim), blockiness(grey), ring


def known_best(
    frame: np.ndarray, kernel: np.ndarray, sharp: np.ndarray
) -> tuple[np.ndarray, list[float]]:
    """The known-PSF filter at the setting best on this cell, and every setting's gain.

    The gains give the best *single* setting over a condition as well.
    """
    best, best_psnr, gains = frame, -math.inf, []
    for noise in KNOWN_NOISES:
        out = deblur(frame, kernel, noise=noise, backend="cpu")
        value = psnr8(sharp, out)
        gains.append(value - psnr8(sharp, frame))
        if value > best_psnr:
            best, best_psnr = out, value
    return best, gains


def run_photo(name: str, storages: tuple[str, ...], polyblur=None) -> list[Cell]:
    """Every cell of one photograph (the ffmpeg sharpeners batched over its frames)."""
    sharp = photo(name)
    cells, frames, outputs = [], [], defaultdict(list)
    for blur in BLURS:
        for exposure in EXPOSURES:
            captured = camera_frame(sharp, blur, exposure, seed=len(cells))
            for storage in storages:
                frame = store(captured, storage)
                start = time.perf_counter()
                restored = deblur(frame, "auto", backend="cpu")
                ms = (time.perf_counter() - start) * 1e3
                found = estimate(frame)
                cell = Cell(name, blur.label, exposure.name, storage, psnr8(sharp, frame))
                cell.auto_ms, cell.sigma, cell.noise = ms, found.sigma, found.noise
                cells.append(cell)
                frames.append(frame)
                outputs["input"].append(frame)
                outputs["auto"].append(restored)
                known, cell.known_by_noise = (
                    known_best(frame, blur.kernel(), sharp) if blur.kind != "none" else (frame, [])
                )
                outputs["known PSF"].append(known)
                outputs["opencv unsharp"].append(opencv_unsharp(frame))
                if polyblur is not None:
                    outputs["polyblur"].append(polyblur(frame))
    for label, graph in FFMPEG_FILTERS.items():
        outputs[label] = ffmpeg_filter(frames, graph)
    for index, cell in enumerate(cells):
        for label, results in outputs.items():
            cell.scores[label] = scores(sharp, frames[index], results[index])
    return cells


def polyblur_restorer():
    if polyblur_status() != "installed":
        return None
    import torch
    from polyblur import polyblur_deblurring

    def restore(frame: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(frame[..., ::-1].astype(np.float32) / 255).permute(2, 0, 1)[None]
        with torch.no_grad():
            y = polyblur_deblurring(x, n_iter=3)
        out = y[0].permute(1, 2, 0).numpy()[..., ::-1]
        return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)

    return restore


# ---------------------------------------------------------------------------- the clip
def pan_clip(
    folder: Path, frames: int = 48, size: tuple[int, int] = (640, 360)
) -> tuple[Path, Path]:
    """``(sharp.mkv, soft.mp4)``: a slow pan over a photograph, lossless and soft.

    The soft one is what a user gets: ffmpeg ``gblur`` σ 1.5 ``steps=6``, x264 CRF 20.
    """
    import skimage.data

    big = cv2.resize(
        skimage.data.astronaut()[..., ::-1], (1024, 1024), interpolation=cv2.INTER_AREA
    )
    w, h = size
    shots = [np.ascontiguousarray(big[200 : 200 + h, 2 * i : 2 * i + w]) for i in range(frames)]
    sharp, soft = folder / "sharp.mkv", folder / "soft.mp4"
    raw = b"".join(s.tobytes() for s in shots)
    common = [ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
              "-s", f"{w}x{h}", "-r", "25", "-i", "-"]  # fmt: skip
    subprocess.run(
        [*common, "-c:v", "ffv1", "-pix_fmt", "yuv420p", str(sharp)], input=raw, check=True
    )
    subprocess.run(
        [*common, "-vf", "gblur=sigma=1.5:steps=6", "-c:v", "libx264", "-crf", "20",
         "-pix_fmt", "yuv420p", str(soft)],
        input=raw, check=True,
    )  # fmt: skip
    return sharp, soft


def ffmpeg_psnr(reference: Path, candidate: Path) -> float:
    """PSNR by ffmpeg's own ``psnr`` filter: the average over frames, all planes."""
    done = subprocess.run(
        [ffmpeg_exe(), "-v", "info", "-i", str(candidate), "-i", str(reference),
         "-lavfi", "psnr", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in done.stderr.splitlines() if "PSNR" in x and "average:" in x)
    return float(line.split("average:")[1].split()[0])


def run_clip() -> dict:
    """The natural clip: auto, known PSF and ffmpeg unsharp, by ffmpeg's psnr."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sharp, soft = pan_clip(folder)
        cli = [str(Path(__import__("sys").executable).with_name("gpudeconv")), "deblur"]
        outputs = {
            "auto": [*cli, str(soft), str(folder / "auto.mp4"), "--crf", "16"],
            "auto, --space srgb": [*cli, str(soft), str(folder / "auto-srgb.mp4"), "--space",
                                   "srgb", "--crf", "16"],
            "known PSF": [*cli, str(soft), str(folder / "known.mp4"), "--psf", "gaussian:1.5",
                          "--noise", "0.008", "--space", "srgb", "--crf", "16"],
        }  # fmt: skip
        result = {"input_psnr": ffmpeg_psnr(sharp, soft)}
        for label, command in outputs.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            result[f"{label}_seconds"] = time.perf_counter() - start
            result[label] = ffmpeg_psnr(sharp, Path(command[3])) - result["input_psnr"]
        unsharp = folder / "unsharp.mp4"
        subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-i", str(soft), "-vf", "unsharp", "-c:v", "libx264",
             "-crf", "16", "-pix_fmt", "yuv420p", str(unsharp)],
            check=True,
        )  # fmt: skip
        result["ffmpeg unsharp"] = ffmpeg_psnr(sharp, unsharp) - result["input_psnr"]
    return result


# ---------------------------------------------------------------------------- stability, cost
def run_stability(frames: int = 40) -> dict:
    """σ over a static scene shot again and again (new noise, new H.264 encode each frame)."""
    sharp = photo("coffee")
    sigmas = []
    shots = [
        camera_frame(sharp, Blur("gaussian", 1.4), EXPOSURES[0], seed=100 + i)
        for i in range(frames)
    ]
    decoded = h264_roundtrip(shots, 23)
    for frame in decoded:
        sigmas.append(estimate(frame).isotropic_sigma)
    tracker = AutoPipeline(shape=decoded[0].shape, dtype=np.uint8, backend="cpu", every=1)
    smoothed = []
    for frame in decoded:
        tracker(frame)
        smoothed.append(tracker.estimate.isotropic_sigma)
    return {
        "sigma_mean": float(np.mean(sigmas)),
        "sigma_std_per_frame": float(np.std(sigmas)),
        "sigma_std_tracked": float(np.std(smoothed[5:])),
    }


def run_cost() -> dict:
    import skimage.data

    base = cv2.resize(skimage.data.astronaut()[..., ::-1], (1920, 1080))
    frame = store(camera_frame(base, Blur("gaussian", 1.4), EXPOSURES[0]), "jpeg90")
    times = []
    for _ in range(15):
        start = time.perf_counter()
        estimate(frame)
        times.append(time.perf_counter() - start)
    small = cv2.resize(base, (1280, 720))
    shots = [
        store(
            camera_frame(np.roll(small, 5 * i, axis=1), Blur("gaussian", 1.4), EXPOSURES[0], i),
            "jpeg75",
        )
        for i in range(8)
    ]
    pipe = AutoPipeline(shape=small.shape, dtype=np.uint8, backend="cpu")
    pipe(shots[0])
    count, start = 60, time.perf_counter()
    for i in range(count):
        pipe(shots[i % len(shots)])
    elapsed = time.perf_counter() - start
    return {
        "estimate_1080p_ms_median": float(np.median(times) * 1e3),
        "estimate_1080p_ms_min": float(np.min(times) * 1e3),
        "auto_720p_fps": count / elapsed,
        "auto_720p_estimates": pipe.tracker.estimates,
    }


# ---------------------------------------------------------------------------- summary
def summarise(cells: list[Cell]) -> dict:
    by_condition: dict[str, dict] = {}
    for exposure, storage in CONDITIONS + tuple(
        (e.name, s) for e in EXPOSURES for s in STORAGES if (e.name, s) not in CONDITIONS
    ):
        rows = [c for c in cells if c.exposure == exposure and c.storage == storage and c.blurred]
        if not rows:
            continue
        methods = rows[0].scores.keys()
        mean = {m: float(np.mean([c.gain(m) for c in rows])) for m in methods}
        best = max(SHARPENERS, key=lambda m: mean[m])
        fixed = np.mean([c.known_by_noise for c in rows], axis=0)
        by_condition[f"{exposure}, {storage}"] = {
            "mean_gain": mean,
            "known_fixed_setting": {
                "noise": KNOWN_NOISES[int(np.argmax(fixed))],
                "mean_gain": float(fixed.max()),
            },
            "auto_share_of_known": mean["auto"] / mean["known PSF"]
            if mean["known PSF"] > 0
            else 0.0,
            "best_sharpener": best,
            "cells": len(rows),
            "auto_at_or_above_best_sharpener": sum(
                c.gain("auto") >= c.best_sharpener()[1] for c in rows
            ),
        }
    blurred = [c for c in cells if c.blurred and (c.exposure, c.storage) in CONDITIONS]
    worst = min(cells, key=lambda c: c.gain("auto"))
    rises = [
        c
        for c in cells
        if c.storage != "png" and c.scores["auto"][2] > c.scores["input"][2] + BLOCKINESS_RISE
    ]
    return {
        "conditions": by_condition,
        "cell_share_six_conditions": float(
            np.mean([c.gain("auto") >= c.best_sharpener()[1] for c in blurred])
        ),
        "cell_share_all_storages": float(
            np.mean([c.gain("auto") >= c.best_sharpener()[1] for c in cells if c.blurred])
        ),
        "worst_auto_cell": {**asdict(worst), "gain": worst.gain("auto")},
        "harmed_cells": [
            f"{c.photo} {c.blur} {c.exposure} {c.storage}: {c.gain('auto'):+.2f} dB"
            for c in cells
            if c.gain("auto") < HARM_DB
        ],
        "blockiness_rises": [
            f"{c.photo} {c.blur} {c.exposure} {c.storage}: {c.scores['input'][2]:.3f} -> "
            f"{c.scores['auto'][2]:.3f}"
            for c in rises
        ],
        "overshoot": {
            m: float(np.mean([c.scores[m][3] for c in cells if c.blurred]))
            for m in ("input", "auto", "known PSF", *SHARPENERS)
        },
        "auto_ms_median": float(np.median([c.auto_ms for c in cells])),
        "tuned_vs_unseen": {
            group: float(
                np.mean(
                    [
                        c.gain("auto") / max(c.gain("known PSF"), 1e-9)
                        for c in blurred
                        if (c.photo in TUNED) == (group == "tuned") and c.gain("known PSF") > 0.3
                    ]
                    or [0.0]
                )
            )
            for group in ("tuned", "unseen")
        },
    }


def check_targets(summary: dict, clip: dict | None, cost: dict | None) -> list[str]:
    lines = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT MET"

    for exposure, storage in CONDITIONS:
        row = summary["conditions"].get(f"{exposure}, {storage}")
        if row is None:
            continue
        mean = row["mean_gain"]
        best = row["best_sharpener"]
        ok = row["auto_share_of_known"] >= KNOWN_SHARE and mean["auto"] > mean[best]
        lines.append(
            f"{exposure}, {storage}: auto {mean['auto']:+.2f} dB = "
            f"{100 * row['auto_share_of_known']:.0f} % of known PSF {mean['known PSF']:+.2f} "
            f"(target >= 70 %), best sharpener {best} {mean[best]:+.2f}: {verdict(ok)}"
        )
    share = summary["cell_share_six_conditions"]
    lines.append(
        f"cells at or above the best of six sharpeners: {100 * share:.0f} % (target >= 75 %): "
        f"{verdict(share >= CELL_SHARE)}"
    )
    harmed = summary["harmed_cells"]
    lines.append(
        f"cells worse than the input by > 0.1 dB: {len(harmed)} (target 0): {verdict(not harmed)}"
    )
    rises = summary["blockiness_rises"]
    lines.append(f"cells whose blockiness rose: {len(rises)} (target 0): {verdict(not rises)}")
    if clip is not None:
        for label in ("auto", "auto, --space srgb"):
            ok = (
                clip[label] >= KNOWN_SHARE * clip["known PSF"]
                and clip[label] > clip["ffmpeg unsharp"]
            )
            lines.append(
                f"H.264 clip (ffmpeg psnr), {label}: {clip[label]:+.2f} dB, known PSF "
                f"(--space srgb) {clip['known PSF']:+.2f}, ffmpeg unsharp "
                f"{clip['ffmpeg unsharp']:+.2f}: {verdict(ok)}"
            )
    if cost is not None:
        ms = cost["estimate_1080p_ms_median"]
        fps = cost["auto_720p_fps"]
        lines.append(
            f"1080p estimate: {ms:.1f} ms (target <= 10): {verdict(ms <= ESTIMATE_MS_1080P)}"
        )
        lines.append(
            f"720p AutoPipeline on the CPU: {fps:.1f} fps (target >= 25): "
            f"{verdict(fps >= LIVE_FPS_720P)}"
        )
    return lines


def markdown(cells: list[Cell], summary: dict, clip, stability, cost, targets) -> str:
    methods = ["input", "auto", "known PSF", *SHARPENERS]
    if cells and "polyblur" in cells[0].scores:
        methods.append("polyblur")
    out = ["# bench.camera — auto on camera-like frames (issue 26)", ""]
    out += ["## Targets", ""] + [f"- {line}" for line in targets] + [""]
    out += ["## Mean PSNR gain over the blurred cells (dB), by exposure and storage", ""]
    out.append("| condition | " + " | ".join(methods) + " |")
    out.append("|---|" + "---|" * len(methods))
    for key, row in summary["conditions"].items():
        mean = row["mean_gain"]
        out.append(
            f"| {key} | " + " | ".join(f"{mean.get(m, math.nan):+.2f}" for m in methods) + " |"
        )
    out += [
        "",
        "Known PSF at its best *single* noise setting per condition (the oracle above picks",
    ]
    fixed_rows = []
    for key, row in summary["conditions"].items():
        fixed = row["known_fixed_setting"]
        share = row["mean_gain"]["auto"] / max(fixed["mean_gain"], 1e-9)
        fixed_rows.append(
            f"{key} {fixed['mean_gain']:+.2f} dB at {fixed['noise']} (auto {100 * share:.0f} %)"
        )
    out.append("the best setting cell by cell): " + "; ".join(fixed_rows))
    out += ["", "## Mean SSIM (blurred cells, all storages)", ""]
    out.append("| " + " | ".join(methods) + " |")
    out.append("|" + "---|" * len(methods))
    blurred = [c for c in cells if c.blurred]
    out.append(
        "| "
        + " | ".join(f"{np.mean([c.scores[m][1] for c in blurred]):.4f}" for m in methods)
        + " |"
    )
    out += ["", "## By photograph (blurred cells, the six conditions): mean gain, dB", ""]
    out.append("| photo | kind | tuned on | auto | known PSF | best sharpener (mean) |")
    out.append("|---|---|---|---|---|---|")
    for name in dict.fromkeys(c.photo for c in cells):
        rows = [c for c in blurred if c.photo == name and (c.exposure, c.storage) in CONDITIONS]
        means = {m: np.mean([c.gain(m) for c in rows]) for m in ("auto", "known PSF", *SHARPENERS)}
        best = max(SHARPENERS, key=lambda m: means[m])
        out.append(
            f"| {name} | {PHOTOS[name]} | {'yes' if name in TUNED else 'no'} | "
            f"{means['auto']:+.2f} | {means['known PSF']:+.2f} | {best} {means[best]:+.2f} |"
        )
    out += ["", "## Sharp frames (no blur): auto's change, dB", ""]
    sharp = [c for c in cells if not c.blurred]
    out.append(
        f"mean {np.mean([c.gain('auto') for c in sharp]):+.3f}, worst "
        f"{min(c.gain('auto') for c in sharp):+.3f} over {len(sharp)} cells"
    )
    out += ["", "## Ringing and blockiness", ""]
    rings = ", ".join(f"{m} {v:.3f}" for m, v in summary["overshoot"].items())
    out.append(f"Mean overshoot beyond the sharp frame's local range (blurred cells): {rings}")
    out.append("")
    out.append(
        f"Compressed cells whose luma blockiness rose by more than {BLOCKINESS_RISE}: "
        f"{len(summary['blockiness_rises'])}"
    )
    for line in summary["blockiness_rises"][:20]:
        out.append(f"- {line}")
    out += ["", "## Worst cells for auto", ""]
    for line in summary["harmed_cells"][:30]:
        out.append(f"- {line}")
    if clip is not None:
        out += ["", "## The H.264 clip (ffmpeg psnr, dB over the soft clip)", ""]
        out.append(f"input {clip['input_psnr']:.2f} dB; " + ", ".join(
            f"{k} {clip[k]:+.2f}"
            for k in ("auto", "auto, --space srgb", "known PSF", "ffmpeg unsharp")))  # fmt: skip
    if stability is not None:
        out += ["", "## Stability on a static scene (H.264 CRF 23, new noise each frame)", ""]
        out.append(
            f"σ mean {stability['sigma_mean']:.3f} px; frame-to-frame std "
            f"{stability['sigma_std_per_frame']:.3f} px per estimate, "
            f"{stability['sigma_std_tracked']:.3f} px through AutoPipeline's tracker"
        )
    if cost is not None:
        out += ["", "## Cost", ""]
        out.append(
            f"estimate at 1080p: median {cost['estimate_1080p_ms_median']:.1f} ms "
            f"(min {cost['estimate_1080p_ms_min']:.1f}); AutoPipeline at 720p: "
            f"{cost['auto_720p_fps']:.1f} fps ({cost['auto_720p_estimates']} estimates)"
        )
    out.append(
        f"\nauto per 384² frame (estimate + fit + filter): median "
        f"{summary['auto_ms_median']:.1f} ms"
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 photos, 3 storages, no clip")
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    photos = QUICK["photos"] if args.quick else tuple(PHOTOS)
    storages = QUICK["storages"] if args.quick else STORAGES
    polyblur = polyblur_restorer()
    cells: list[Cell] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitQualityWarning)
        for name in photos:
            start = time.perf_counter()
            cells += run_photo(name, storages, polyblur)
            print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    summary = summarise(cells)
    clip = None if args.quick else run_clip()
    stability = run_stability()
    cost = run_cost()
    targets = check_targets(summary, clip, cost)
    table = markdown(cells, summary, clip, stability, cost, targets)
    print(table)
    result = {
        "machine": machine(),
        "polyblur": polyblur_status(),
        "summary": summary,
        "clip": clip,
        "stability": stability,
        "cost": cost,
        "targets": targets,
        "cells": [asdict(c) for c in cells],
    }
    if not args.quick:
        write_results(args.out, "camera", result, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
