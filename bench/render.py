"""Render post-process (issue 14): our exported shader against the sharpeners engines use.

Five scenes (``bench.scenes``: edges + text, a textured surface, fine detail, a dark scene,
HDR highlights) are rendered offscreen with moderngl at 4× and seen through two engine
blurs: TAA with a Gaussian resolve, and TAAU at 0.67× with a Blackman-Harris resolve and
a bilinear upscale. Each blur is measured by an impulse (a one-pixel square through the
same passes) and one filter is fitted for it: a 5×5 stencil (``fir``, radius 2, 2-D: the
cost class of CAS), its noise level chosen from ``NOISES`` on a *calibration* scene that
is not one of the five (a photograph and polygons) — the engine's blur is not exactly a
convolution (the upscale's phases, aliasing), and that model error acts as noise. Not
tuned per scene. Ours runs as the exported GLSL compute shader on the GL driver.

Peers, each at its **best setting per scene** (an oracle grid search on PSNR against the
sharp frame — more help than a game gets): CAS (sharpness 0…1, better diagonals on/off),
RCAS (0…2 stops, denoise on/off), OpenCV unsharp mask (σ 0.5…2, amount 0.1…3); each also
tried on sRGB-encoded values, the better kept. LDR scenes: every output clamped to [0, 1]
(as CAS and an 8-bit target do), metrics on linear values. HDR scene: metrics on the
Reinhard view ``x / (1 + x)``; the LDR peers run on that view (as engines sharpen after
tone mapping), ours on linear light before it.

Metrics over the interior (8-pixel border excluded): PSNR, SSIM, edge overshoot (mean
excursion beyond the sharp frame's 5×5 local range, near strong edges, ×1000), and the
flat-region noise gain (std of the output's response to white noise 0.005 added to the
blurred frame, over that noise's std, where the sharp frame is flat). Cost: each compute
shader on a 1080p RGBA32F frame on this driver, interleaved rounds, median.

Run: ``python -m bench.render [--quick] [--out bench/results]``; writes ``render.json``,
``render.md`` and ``render.png`` (crops of the text under TAAU: blurred / CAS / RCAS /
unsharp / ours / sharp, each at its best setting).
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np

from bench import scenes as sc
from bench.shader_cost import STENCIL, our_passes, shader_costs
from bench.shader_cost import table as cost_table
from bench.sharpeners import cas, rcas, unsharp
from bench.timing import machine, write_results
from gpudeconv import Pipeline, fit
from gpudeconv.core import psf
from gpudeconv.core.colour import linear_to_srgb, srgb_to_linear
from gpudeconv.render.gl import ComputePass, deblur_pass, download, upload

NOISES = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03)
BORDER = 8
TEST_NOISE = 0.005
GRIDS = {
    "CAS": [
        (lambda x, s=s, d=d: cas(x, s, better_diagonals=d), f"sharpness {s:.1f}, diag {d}")
        for s, d in itertools.product(np.linspace(0, 1, 11), (True, False))
    ],
    "RCAS": [
        (lambda x, s=s, d=d: rcas(x, s, denoise=d), f"{s} stops, denoise {d}")
        for s, d in itertools.product((0, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2), (False, True))
    ],
    "unsharp": [
        (lambda x, s=s, a=a: unsharp(x, s, a), f"sigma {s}, amount {a}")
        for s, a in itertools.product(
            (0.5, 0.75, 1.0, 1.5, 2.0), (0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
        )
    ],
}
QUICK_STEP = 3  # --quick: every third grid point


def reinhard(x: np.ndarray) -> np.ndarray:
    """The HDR view: x / (1 + x), negatives shown as black (a display cannot go lower)."""
    x = np.maximum(x, 0.0)
    return x / (1.0 + x)


def crop(x: np.ndarray) -> np.ndarray:
    return x[BORDER:-BORDER, BORDER:-BORDER]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((crop(a) - crop(b)) ** 2)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(crop(a), crop(b), channel_axis=2, data_range=1.0))


def luma(x: np.ndarray) -> np.ndarray:
    return (x[..., :3] @ np.array([0.2126, 0.7152, 0.0722], np.float32)).astype(np.float32)


def edge_and_flat_masks(sharp_view: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels near strong edges, and flat pixels, of the sharp frame (view units)."""
    y = luma(sharp_view)
    grad = np.hypot(
        cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3)
    )
    strong = grad > 0.3 * np.percentile(grad, 99.9)  # relative: the dark scene has edges too
    edges = cv2.dilate(strong.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    mean = cv2.blur(y, (7, 7))
    var = cv2.blur(y * y, (7, 7)) - mean * mean
    flat = cv2.erode((var < 0.003**2).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    return crop(edges), crop(flat)


def overshoot(out: np.ndarray, sharp: np.ndarray, edges: np.ndarray) -> float:
    """Mean excursion beyond the sharp frame's 5×5 local range near edges (×1000)."""
    kernel = np.ones((5, 5), np.uint8)
    hi, lo = cv2.dilate(sharp, kernel), cv2.erode(sharp, kernel)
    excess = np.maximum(out - hi, 0) + np.maximum(lo - out, 0)
    return float(crop(excess)[edges].mean() * 1000) if edges.any() else float("nan")


class Setup:
    """One scene under one degradation: frames and the methods, in the metric's view."""

    def __init__(self, ctx, camera, fine: np.ndarray, degradation, hdr: bool):
        texture = sc.upload_scene(ctx, fine)
        self.sharp = sc.read(camera.sharp(texture))
        self.blurred = sc.read(camera.taa(texture, degradation))
        texture.release()
        self.ctx, self.hdr = ctx, hdr
        rng = np.random.default_rng(7)
        self.noise = np.zeros_like(self.blurred)
        self.noise[..., :3] = rng.normal(0, TEST_NOISE, self.blurred[..., :3].shape)

    def view(self, linear: np.ndarray) -> np.ndarray:
        """Linear RGB(A) → the metric's view (clamped LDR, or Reinhard for HDR)."""
        rgb = linear[..., :3]
        return reinhard(rgb) if self.hdr else np.clip(rgb, 0.0, 1.0)

    def shader(self, compute: ComputePass, rgb: np.ndarray) -> np.ndarray:
        """Run a compute shader of the gpudeconv contract on ``rgb`` (alpha 1)."""
        rgba = np.concatenate([rgb[..., :3], np.ones((*rgb.shape[:2], 1), np.float32)], 2)
        src = upload(self.ctx, rgba)
        dst = self.ctx.texture(src.size, 4, dtype="f4")
        compute(src, dst)
        out = download(dst)[..., :3]
        src.release()
        dst.release()
        return out

    def ours(self, compute: ComputePass, space: str, linear: np.ndarray) -> np.ndarray:
        """Our shader on linear light (then the view), or like a peer on sRGB / the view."""
        if space == "linear":
            return self.view(self.shader(compute, linear))
        return self.peer(lambda x: self.shader(compute, x), space == "sRGB", linear)

    def peer(self, method: Callable, srgb: bool, linear: np.ndarray) -> np.ndarray:
        """An LDR peer: on the view (HDR) or linear values, optionally sRGB-encoded."""
        x = reinhard(linear[..., :3]) if self.hdr else np.clip(linear[..., :3], 0, 1)
        if srgb:
            x = linear_to_srgb(x)
        y = method(x.astype(np.float32))
        if srgb:
            y = srgb_to_linear(np.clip(y, 0.0, 1.0))
        return np.clip(y, 0.0, 1.0)  # in the view already (HDR) or clamped like the rest


def best_of(setup: Setup, candidates: list[tuple[Callable, str]], target: np.ndarray):
    """The candidate (function of the linear frame, label) with the highest PSNR."""
    scores = [psnr(apply(setup.blurred), target) for apply, _ in candidates]
    best = int(np.argmax(scores))
    return candidates[best]


def peer_candidates(setup: Setup, grid: list) -> list[tuple[Callable, str]]:
    """Every grid point of a peer, on linear (or view) values and on sRGB-encoded ones."""
    return [
        (
            lambda x, m=method, s=srgb: setup.peer(m, s, x),
            f"{label}, {'sRGB' if srgb else 'linear'}",
        )
        for (method, label), srgb in itertools.product(grid, (False, True))
    ]


def ours_candidates(setup: Setup, passes: dict[float, ComputePass]) -> list:
    """Our shader fitted at each noise level, on linear light or like the peers."""
    other = "view" if setup.hdr else "sRGB"
    return [
        (lambda x, c=compute, s=space: setup.ours(c, s, x), f"noise {noise}, {space}")
        for noise, compute in passes.items()
        for space in ("linear", other)
    ]


def measure(setup: Setup, apply: Callable, target: np.ndarray, masks) -> dict:
    out = apply(setup.blurred)
    noisy = apply(setup.blurred + setup.noise)
    reference_noise = setup.view(setup.blurred + setup.noise) - setup.view(setup.blurred)
    edges, flat = masks
    gain = float("nan")  # no flat region, no noise gain to measure
    if flat.any():
        gain = float(crop(noisy - out)[flat].std() / crop(reference_noise)[flat].std())
    return {
        "psnr": psnr(out, target),
        "ssim": ssim(out, target),
        "overshoot": overshoot(out, target, edges),
        "noise_gain": gain,
        "output": out,
    }


def calibrate_noise(ctx, camera, degradation, kernel: np.ndarray, height: int, width: int):
    """The noise level (of ``NOISES``) whose fit restores the calibration scene best."""
    texture = sc.upload_scene(ctx, sc.calibration_scene(height, width))
    sharp = sc.read(camera.sharp(texture))[..., :3]
    blurred = sc.read(camera.taa(texture, degradation))
    texture.release()
    scores = {}
    for noise in NOISES:
        filt = fit(psf.from_array(kernel), noise=noise, **STENCIL)
        out = Pipeline(filt, shape=blurred.shape, dtype=np.float32, backend="cpu")(blurred)
        scores[noise] = psnr(np.clip(out[..., :3], 0, 1), sharp)
    return max(scores, key=scores.get)


def picture(rows: list[tuple[str, np.ndarray]], path: str) -> None:
    """Crops side by side, labelled, sRGB-encoded, 3× nearest."""
    tiles = []
    for label, image in rows:
        tile = (np.clip(linear_to_srgb(np.clip(image, 0, 1)), 0, 1) * 255).astype(np.uint8)
        tile = cv2.resize(tile[..., ::-1], None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
        tile = cv2.copyMakeBorder(tile, 22, 2, 2, 2, cv2.BORDER_CONSTANT, value=(255, 255, 255))
        cv2.putText(tile, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
        tiles.append(tile)
    cv2.imwrite(path, np.concatenate(tiles, axis=1))


def run(height: int, width: int, quick: bool) -> tuple[dict, dict]:
    import moderngl

    ctx = moderngl.create_standalone_context(backend="egl", require=430)
    camera = sc.Camera(ctx)
    fine_scenes = sc.scenes(ctx, height, width)
    grids = {k: v[::QUICK_STEP] if quick else v for k, v in GRIDS.items()}
    rows, crops, noises = [], {}, {}
    for degradation in sc.DEGRADATIONS:
        kernel = camera.psf(degradation)
        noise = calibrate_noise(ctx, camera, degradation, kernel, height, width)
        noises[degradation.name] = noise
        passes = {
            n: deblur_pass(ctx, fit(psf.from_array(kernel), noise=n, **STENCIL)) for n in NOISES
        }
        for name, fine in fine_scenes.items():
            setup = Setup(ctx, camera, fine, degradation, hdr=name == "HDR highlights")
            target = setup.view(setup.sharp)
            masks = edge_and_flat_masks(target)
            methods = {"blurred": measure(setup, setup.view, target, masks)}
            for peer, grid in grids.items():
                apply, label = best_of(setup, peer_candidates(setup, grid), target)
                methods[peer] = {**measure(setup, apply, target, masks), "setting": label}
            apply, label = best_of(setup, ours_candidates(setup, passes), target)
            methods["ours"] = {**measure(setup, apply, target, masks), "setting": label}
            calibrated = partial(setup.ours, passes[noise], "linear")
            methods["ours, calibrated"] = measure(setup, calibrated, target, masks)
            if name == "edges + text" and degradation.scale != 1.0:
                crops = {k: v["output"] for k, v in methods.items()} | {"sharp": target}
            for m in methods.values():
                m.pop("output")
            rows.append({"scene": name, "degradation": degradation.name, "methods": methods})
        for compute in passes.values():
            compute.release()
    costs = shader_costs(ctx, our_passes(ctx, camera), rounds=3 if quick else 7)
    renderer = ctx.info.get("GL_RENDERER", "?")
    ctx.release()
    result = {"rows": rows, "costs_ms_1080p": costs, "renderer": renderer, "noises": noises}
    return result, crops


def _number(value: float, digits: int) -> str:
    """A table number; '–' where the scene has no such region (no flat area)."""
    return "–" if np.isnan(value) else f"{value:.{digits}f}"


def table(result: dict) -> str:
    methods = ("blurred", "CAS", "RCAS", "unsharp", "ours", "ours, calibrated")
    peers = ("CAS", "RCAS", "unsharp")
    lines = [
        "| scene | blur | "
        + " | ".join(methods)
        + " | ours > every peer | overshoot ≤ every peer |",
        "|---|---|" + "---|" * (len(methods) + 2),
    ]
    for row in result["rows"]:
        m = row["methods"]
        cells = [
            f"{m[k]['psnr']:.2f} / {m[k]['ssim']:.3f} / {_number(m[k]['overshoot'], 1)} / "
            f"{_number(m[k]['noise_gain'], 2)}"
            for k in methods
        ]
        lost = [p for p in peers if m["ours"]["psnr"] <= m[p]["psnr"]]
        halo = [p for p in peers if not m["ours"]["overshoot"] <= m[p]["overshoot"]]
        psnr_verdict = "MET" if not lost else "MISS (" + ", ".join(lost) + ")"
        halo_verdict = "MET" if not halo else "MISS (" + ", ".join(halo) + ")"
        lines.append(
            f"| {row['scene']} | {row['degradation']} | "
            + " | ".join(cells)
            + f" | {psnr_verdict} | {halo_verdict} |"
        )
    lines += [
        "",
        "Cells: PSNR dB / SSIM / edge overshoot ×1000 / flat-region noise gain (– where the "
        "scene has no flat region).",
        "",
    ]
    lines += [
        "Ours: 5×5 stencil; *ours* tuned per scene like the peers (noise level × space), "
        "*ours, calibrated* with the noise level chosen on the calibration scene, linear: "
        + ", ".join(f"{k}: {v}" for k, v in result["noises"].items()),
        "",
    ]
    lines += [
        "| setting chosen (best PSNR per scene) | CAS | RCAS | unsharp | ours |",
        "|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        m = row["methods"]
        chosen = " | ".join(m[k]["setting"] for k in ("CAS", "RCAS", "unsharp", "ours"))
        lines.append(f"| {row['scene']}, {row['degradation']} | {chosen} |")
    lines += ["", "Shader cost, " + cost_table(result["costs_ms_1080p"], result["renderer"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small frames, coarse peer grids")
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    height, width = (96, 128) if args.quick else (288, 384)
    start = time.perf_counter()
    try:
        result, crops = run(height, width, args.quick)
    except Exception as exc:  # no GL: say why, as the other benches do for a missing peer
        if "moderngl" in type(exc).__module__ or isinstance(exc, ImportError):
            print(f"bench.render: no OpenGL 4.3 context ({exc})")
            return 2
        raise
    result |= {
        "machine": machine(),
        "size": [height, width],
        "seconds": time.perf_counter() - start,
    }
    stem = "render-quick" if args.quick else "render"
    text = table(result)
    write_results(args.out, stem, result, text)
    if crops:
        y0, x0 = (10, 4) if args.quick else (28, 14)
        h, w = (40, 64) if args.quick else (60, 100)
        order = ("blurred", "CAS", "RCAS", "unsharp", "ours", "sharp")
        picture([(k, crops[k][y0 : y0 + h, x0 : x0 + w]) for k in order], f"{args.out}/{stem}.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
