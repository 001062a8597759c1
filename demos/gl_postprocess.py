"""Our filter as a render pass in an OpenGL pipeline: scene → TAA(U) resolve → deblur.

An animated scene (a receding checkerboard, a pinwheel, moving lights and text) is drawn
by a fragment shader at 4× the output resolution, resolved like TAA (16 Halton jitters,
a Blackman-Harris resolve, by default at 0.67× with a bilinear upscale: ``bench.scenes``),
then sharpened by our exported compute shader — or CAS, RCAS, nothing — *in the same GL
context*: the frames never leave the GPU between passes. Only the final view (a split:
processed left, the TAA output right) is read back, to show or to encode.

The blur is measured once by an impulse through the same passes, and a 5×5 stencil is
fitted for it (``fit(..., basis="fir", radius=2, mode="2d")``, the cost class of CAS).

Run: ``python demos/gl_postprocess.py [--frames 120] [--size 360x640] [--pass ours|cas|
rcas|off] [--scale 0.67] [--output out.mp4|out.png] [--window]``. With ``--window`` and a
display the view is shown (keys: o ours, c CAS, r RCAS, n off, q quit); headless it is
written to ``--output`` (default ``gl_postprocess.mp4``). Needs an OpenGL 4.3 context
(Mesa's llvmpipe works without a GPU).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ (a source checkout)

from bench import scenes as sc
from bench.shader_cost import STENCIL, TAAU_NOISE
from bench.sharpeners import CAS_GLSL, RCAS_GLSL
from gpudeconv import fit
from gpudeconv.core import psf
from gpudeconv.core.colour import linear_to_srgb
from gpudeconv.media.io import PendingOutput, check_output, write_image
from gpudeconv.render.gl import ComputePass, deblur_pass

SCENE = """#version 330 core
uniform float u_time;
uniform vec2 u_size;
uniform sampler2D u_text;
out vec4 o_color;
void main() {
    vec2 p = gl_FragCoord.xy / u_size;            // 0..1, y up
    vec3 c;
    if (p.y < 0.45) {                             // a checkerboard receding to the horizon
        float z = 0.45 / (0.47 - p.y);
        vec2 uv = vec2((p.x - 0.5) * z * 4.0, z + u_time * 0.8);
        float check = mod(floor(uv.x) + floor(uv.y), 2.0);
        c = mix(vec3(0.08, 0.09, 0.1), vec3(0.75, 0.7, 0.6), check);
    } else {
        c = mix(vec3(0.35, 0.45, 0.6), vec3(0.15, 0.2, 0.35), (p.y - 0.45) / 0.55);
    }
    vec2 q = (gl_FragCoord.xy - vec2(0.5, 0.62) * u_size) / u_size.y;
    float blades = step(0.0, sin(12.0 * atan(q.y, q.x) + u_time * 2.0));
    if (length(q) < 0.2) c = mix(vec3(0.1, 0.3, 0.9), vec3(0.95, 0.85, 0.2), blades);
    for (int k = 0; k < 4; ++k) {                  // small bright lights, moving
        vec2 l = vec2(0.15 + 0.12 * float(k) + 0.05 * sin(u_time + float(k)), 0.85);
        if (length((p - l) * u_size / u_size.y) < 0.015) c = vec3(1.0);
    }
    vec4 text = texelFetch(u_text, ivec2(gl_FragCoord.xy), 0);
    o_color = vec4(mix(c, vec3(1.0), text.r), 1.0);
}
"""

SPLIT = """#version 330 core
uniform sampler2D u_left;
uniform sampler2D u_right;
uniform float u_split;
out vec4 o_color;
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 c = gl_FragCoord.x < u_split ? texelFetch(u_left, p, 0) : texelFetch(u_right, p, 0);
    if (abs(gl_FragCoord.x - u_split) < 1.0) c = vec4(1.0, 1.0, 0.0, 1.0);
    o_color = c;
}
"""

VERTEX = "#version 330 core\nin vec2 a_pos;\nvoid main() { gl_Position = vec4(a_pos, 0.0, 1.0); }"


class Renderer:
    """The GL passes of one frame, all in ``ctx``."""

    def __init__(self, ctx, height: int, width: int, scale: float) -> None:
        import cv2

        self.ctx, self.height, self.width = ctx, height, width
        self.camera = sc.Camera(ctx)
        self.degradation = sc.Degradation(f"TAA at {scale}x", "blackman-harris", scale)
        fine = (width * sc.SUPER, height * sc.SUPER)
        text = np.zeros((fine[1], fine[0]), np.uint8)
        cv2.putText(
            text,
            "gpudeconv: TAA resolve undone",
            (fine[0] // 20, fine[1] // 8),
            cv2.FONT_HERSHEY_SIMPLEX,
            fine[1] / 500,
            255,
            max(1, fine[1] // 250),
        )
        self.text = ctx.texture(fine, 1, data=np.ascontiguousarray(text[::-1]).tobytes())
        self.scene = ctx.program(vertex_shader=VERTEX, fragment_shader=SCENE)
        self.split = ctx.program(vertex_shader=VERTEX, fragment_shader=SPLIT)
        self.fine = ctx.texture(fine, 4, dtype="f4")
        self.fine.filter = (ctx.NEAREST, ctx.NEAREST)
        self.fine_fbo = ctx.framebuffer(color_attachments=[self.fine])
        self.processed = ctx.texture((width, height), 4, dtype="f4")
        self.view = ctx.texture((width, height), 4, dtype="f4")
        self.view_fbo = ctx.framebuffer(color_attachments=[self.view])
        triangle = ctx.buffer(np.array([-1, -1, 3, -1, -1, 3], np.float32).tobytes())
        self.scene_vao = ctx.vertex_array(self.scene, [(triangle, "2f", "a_pos")])
        self.split_vao = ctx.vertex_array(self.split, [(triangle, "2f", "a_pos")])

    def passes(self) -> dict[str, ComputePass | None]:
        """Our fitted filter (the blur measured by an impulse), CAS, RCAS, off."""
        kernel = self.camera.psf(self.degradation)
        filt = fit(psf.from_array(kernel), noise=TAAU_NOISE, **STENCIL)
        cas, rcas = ComputePass(self.ctx, CAS_GLSL), ComputePass(self.ctx, RCAS_GLSL)
        cas["u_sharpness"], cas["u_diagonals"] = 0.6, 0
        rcas["u_stops"], rcas["u_denoise"] = 0.2, 0
        print(f"measured PSF {kernel.shape}; {filt}")
        return {"ours": deblur_pass(self.ctx, filt), "cas": cas, "rcas": rcas, "off": None}

    def frame(self, t: float, post: ComputePass | None) -> np.ndarray:
        """Render, resolve, post-process, compose; the view read back as sRGB uint8 BGR."""
        self.fine_fbo.use()
        self.text.use(location=0)
        self.scene["u_text"].value = 0
        self.scene["u_time"].value = t
        self.scene["u_size"].value = self.fine.size
        self.scene_vao.render()
        resolved = self.camera.taa(self.fine, self.degradation)
        if post is None:
            self.ctx.copy_framebuffer(self.processed, self.ctx.framebuffer([resolved]))
        else:
            post(resolved, self.processed)
        self.view_fbo.use()
        self.processed.use(location=0)
        resolved.use(location=1)
        self.split["u_left"].value, self.split["u_right"].value = 0, 1
        self.split["u_split"].value = self.width / 2
        self.split_vao.render()
        resolved.release()
        rgb = sc.read(self.view)[..., :3]
        return (np.clip(linear_to_srgb(np.clip(rgb, 0, 1)), 0, 1) * 255 + 0.5).astype(np.uint8)[
            ..., ::-1
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--size", default="360x640", help="HEIGHTxWIDTH")
    parser.add_argument(
        "--pass", dest="post", default="ours", choices=["ours", "cas", "rcas", "off"]
    )
    parser.add_argument("--scale", type=float, default=0.67, help="render scale (1: plain TAA)")
    parser.add_argument("--output", default="gl_postprocess.mp4", help=".mp4 or .png")
    parser.add_argument("--window", action="store_true", help="show it (needs a display)")
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    if not (0.25 <= args.scale <= 1.0) or args.frames < 1 or min(height, width) < 16:
        parser.error("need --scale in [0.25, 1], --frames >= 1 and a size of at least 16x16")

    import moderngl

    try:
        ctx = moderngl.create_standalone_context(backend="egl", require=430)
    except Exception as exc:  # no EGL / GL 4.3: say so in one line
        print(f"gl_postprocess: no OpenGL 4.3 context ({exc})", file=sys.stderr)
        return 2
    renderer = Renderer(ctx, height, width, args.scale)
    passes = renderer.passes()
    post = args.post
    window = args.window and _display()
    target = None if window else check_output(args.output, overwrite=True)
    video = target is not None and target.suffix.lower() != ".png"
    pending = PendingOutput(target) if video else None
    writer = None
    times, last = [], None
    try:
        for i in range(args.frames):
            start = time.perf_counter()
            last = renderer.frame(i / 30, passes[post])
            times.append(time.perf_counter() - start)
            if window:
                import cv2

                cv2.imshow("gpudeconv GL post-process (left: processed, right: TAA)", last)
                key = chr(cv2.waitKey(1) & 0xFF)
                post = {"o": "ours", "c": "cas", "r": "rcas", "n": "off"}.get(key, post)
                if key == "q":
                    break
            elif video:
                if writer is None:
                    from fractions import Fraction

                    from gpudeconv.media.video import VideoWriter

                    writer = VideoWriter(
                        pending.path,
                        width=width // 2 * 2,
                        height=height // 2 * 2,
                        rate=Fraction(30),
                    )
                writer.write(np.ascontiguousarray(last[: height // 2 * 2, : width // 2 * 2]))
    except BaseException:
        if pending is not None:
            pending.discard()
        raise
    if writer is not None:
        writer.close()
        pending.commit()
    elif target is not None:
        write_image(target, last, overwrite=True)
    summary = f"{len(times)} frames {width}x{height}, pass {post}, median "
    summary += f"{np.median(times) * 1e3:.1f} ms/frame (scene + resolve + pass + readback)"
    print(summary + (f"; wrote {target}" if target else ""))
    ctx.release()
    return 0


def _display() -> bool:
    import os

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("gl_postprocess: no display; writing --output instead")
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
