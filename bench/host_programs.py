"""Cost of the mpv-hook export inside a real host: ffmpeg + libplacebo (issue 29).

Hooks run on the same clip through ``ffmpeg -vf libplacebo=custom_shader_path=…``: a
pass-through hook (upload, one texture read, download: the host's own cost), the fixed
export of the table's filter at σ 1.3, and the tunable export of the whole table (σ and
strength as constants, as Debian 12's libplacebo needs), and the fixed export with its tap
arrays declared ``const`` as it was first written (Mesa compiles that far worse), and the
sharpeners renderers use instead, AMD's CAS and FSR 1 RCAS, as hooks in the same host.
Each is run on 1 frame and on ``1 + FRAMES`` frames (``SLOW_FRAMES`` for the slow form)
with Mesa's shader cache off; the difference over those frames is the per-frame time with
the compile taken out. Rounds are interleaved; the least of the rounds is kept (timing
noise only adds).

On this machine the Vulkan device is Mesa's lavapipe (CPU rasteriser): the numbers say
what the hook costs *relative* to the fixed one, not what a GPU takes; the per-pixel
arithmetic (texture reads, multiply-adds) is printed beside them for a real GPU.

Run: ``python -m bench.host_programs [--out bench/results]``; writes
``host_programs.json`` and ``host_programs.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from bench import sharpeners
from gpudeconv import FitQualityWarning
from gpudeconv.fit import FilterTable
from gpudeconv.render.host_shaders import export_host, host_cost

SIZE = (480, 270)  # large enough that the filter, not the host, sets the time
FRAMES = 60
#: Fewer frames for the slow form (about 10 s a frame on lavapipe at this size).
SLOW_FRAMES = 2
ROUNDS = 3
PASS_THROUGH = (
    "//!HOOK MAIN\n//!BIND HOOKED\n//!DESC pass-through\n"
    "vec4 hook() { return HOOKED_tex(HOOKED_pos); }\n"
)


def _run(clip: Path, shader: Path, frames: int) -> float:
    graph = (
        "format=rgba,hwupload,libplacebo=format=rgba:dithering=none:"
        f"custom_shader_path={shader},hwdownload,format=rgba"
    )
    start = time.perf_counter()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-init_hw_device", "vulkan=vk", "-filter_hw_device", "vk",
         "-i", str(clip), "-frames:v", str(frames), "-vf", graph, "-f", "null", "-"],
        check=True, timeout=900, env={**os.environ, "MESA_SHADER_CACHE_DISABLE": "true"},
    )  # fmt: skip
    return time.perf_counter() - start


def _const_arrays(source: str) -> str:
    """The hook with its tap arrays declared ``const`` (how the export wrote them before)."""
    return re.sub(r"^((?:float|ivec2) \w+\[)", r"const \1", source, flags=re.M)


def markdown(rows: list[dict]) -> str:
    """The cost table: each hook's time minus the pass-through, and its per-pixel work."""
    ref = next(r for r in rows if r["hook"].startswith("fixed"))
    lines = [
        f"# mpv-hook cost in ffmpeg + libplacebo on lavapipe (CPU), {SIZE[0]}x{SIZE[1]}, per frame",
        "",
        "| hook | ms/frame | minus pass-through | × fixed | texture reads | multiply-adds |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["filter_ms"] / ref["filter_ms"] if r is not rows[0] else float("nan")
        fma = "–" if r["multiply_adds"] is None else r["multiply_adds"]
        lines.append(
            f"| {r['hook']} | {r['ms_per_frame']:.1f} | {r['filter_ms']:.1f} | "
            f"{ratio:.2f} | {r['texture_reads']} | {fma} |"
        )
    lines += [
        "",
        f"{FRAMES} frames ({SLOW_FRAMES} for the const arrays) after a 1-frame run (compile "
        f"excluded), least of {ROUNDS} rounds; "
        "lavapipe: a CPU rasteriser, so these are ratios, not GPU times.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg is not installed (make system-deps)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitQualityWarning)
        table = FilterTable.fit(sigmas=[0.6, 1.0, 1.5, 2.0], noises=[0.01], quantization_bits=8)
    fixed = table(1.3, 0.01)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        frame = cv2.resize(data.astronaut()[..., ::-1], SIZE, interpolation=cv2.INTER_AREA)
        still = folder / "frame.png"
        cv2.imwrite(str(still), frame)
        clip = folder / "clip.mkv"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", str(still), "-frames:v",
             str(FRAMES + 1), "-c:v", "ffv1", str(clip)],
            check=True,
        )  # fmt: skip
        fixed_hook = export_host(fixed, "mpv-hook")
        tunable_hook = export_host(table, "mpv-hook", sigma=1.3, controls="const")
        shaders = {
            "pass-through": PASS_THROUGH,
            "fixed (sigma 1.3)": fixed_hook,
            "tunable (4 sigmas)": tunable_hook,
            "fixed, const arrays (before)": _const_arrays(fixed_hook),
            # The sharpeners renderers ship, as hooks in the same host (bench.sharpeners;
            # tests/test_host_programs.py checks them against their NumPy versions).
            "CAS 0.5 (peer)": sharpeners.cas_hook(0.5),
            "RCAS 0.2 (peer)": sharpeners.rcas_hook(0.2),
        }
        paths = {}
        for i, (name, text) in enumerate(shaders.items()):
            paths[name] = folder / f"hook{i}.glsl"
            paths[name].write_text(text)
        times: dict[str, list[float]] = {name: [] for name in shaders}
        for _ in range(ROUNDS):
            for name, path in paths.items():
                frames = SLOW_FRAMES if "before" in name else FRAMES
                one = _run(clip, path, 1)
                many = _run(clip, path, 1 + frames)
                times[name].append((many - one) / frames)
    costs = {"pass-through": (1, 0)}
    costs.update(
        dict.fromkeys(["fixed (sigma 1.3)", "fixed, const arrays (before)"], host_cost(fixed))
    )
    costs["tunable (4 sigmas)"] = host_cost(table)
    costs["CAS 0.5 (peer)"] = (9, None)  # min/max/sqrt/rcp, not a tap sum
    costs["RCAS 0.2 (peer)"] = (5, None)
    rows = []
    for name, samples in times.items():
        reads, fma = costs[name]
        rows.append(
            {
                "hook": name,
                "ms_per_frame": 1e3 * min(samples),
                "samples_ms": [1e3 * s for s in samples],
                "texture_reads": reads,
                "multiply_adds": fma,
            }
        )
    base = next(r for r in rows if r["hook"] == "pass-through")["ms_per_frame"]
    for r in rows:
        r["filter_ms"] = r["ms_per_frame"] - base
    text = markdown(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "host_programs.json").write_text(json.dumps({"rows": rows, "size": SIZE}, indent=1))
    (out / "host_programs.md").write_text(text + "\n")
    print(text)
    return 0 if np.isfinite(base) else 1


if __name__ == "__main__":
    raise SystemExit(main())
