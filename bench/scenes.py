"""Rendered scenes and the blur a renderer leaves in them, made in OpenGL (moderngl).

A scene is drawn at ``SUPER`` (4) times the output resolution — OpenCV for hard edges and
text, a perspective textured plane rasterised by GL (mipmapped, anisotropic) — and then
*seen* by a GL camera pass that point-samples that fine image, the way a rasteriser
samples geometry:

- **sharp**: each output pixel the average of its 4×4 fine texels (supersampling);
- **TAA**: ``JITTERS`` frames with Halton(2, 3) sub-pixel jitter, accumulated by a resolve
  that, like UE4's, gathers the 3×3 neighbouring pixels' samples of every frame weighted
  by a Gaussian (σ = 0.5 px) or a Blackman-Harris window (radius 1 px) of their distance;
- **TAAU**: the same at ``0.67×`` the output resolution, then a bilinear upscale.

The blur is then measured as a renderer's user would: a one-pixel square light pushed
through the same passes, averaged over the upscale's 3×3 phases, is the PSF.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

SUPER = 4
JITTERS = 16


def halton(index: int, base: int) -> float:
    f, r = 1.0, 0.0
    while index > 0:
        f /= base
        r += f * (index % base)
        index //= base
    return r


def jitter_offsets(count: int = JITTERS) -> np.ndarray:
    """Halton(2, 3) sub-pixel offsets in [-0.5, 0.5)², as TAA uses."""
    return np.array([(halton(i + 1, 2) - 0.5, halton(i + 1, 3) - 0.5) for i in range(count)])


def resolve_weight(distance: np.ndarray, kind: str) -> np.ndarray:
    """The resolve filter's weight of a sample ``distance`` px from the pixel centre."""
    if kind == "gaussian":
        return np.exp(-(distance**2) / (2 * 0.5**2))
    t = np.clip(distance, 0.0, 1.0)  # Blackman-Harris, radius 1 px
    w = 0.35875 + 0.48829 * np.cos(np.pi * t) + 0.14128 * np.cos(2 * np.pi * t)
    return w + 0.01168 * np.cos(3 * np.pi * t)


@dataclass(frozen=True)
class Degradation:
    """How the engine made the frame: its resolve filter and render scale."""

    name: str
    resolve: str  # "gaussian" | "blackman-harris"
    scale: float  # render resolution / output resolution


DEGRADATIONS = (
    Degradation("TAA, Gaussian resolve", "gaussian", 1.0),
    Degradation("TAAU 0.67x, Blackman-Harris + bilinear", "blackman-harris", 0.67),
)

_CAMERA = """#version 330 core
uniform sampler2D u_scene;
uniform vec2 u_samples[160];
uniform float u_weights[160];
uniform int u_count;
uniform vec2 u_texels_per_pixel;
out vec4 o_color;
void main() {
    ivec2 size = textureSize(u_scene, 0);
    vec4 acc = vec4(0.0);
    for (int k = 0; k < u_count; ++k) {
        vec2 q = (gl_FragCoord.xy + u_samples[k]) * u_texels_per_pixel;
        ivec2 t = clamp(ivec2(floor(q)), ivec2(0), size - 1);
        acc += u_weights[k] * texelFetch(u_scene, t, 0);
    }
    o_color = acc;
}
"""

_UPSCALE = """#version 330 core
uniform sampler2D u_low;
uniform vec2 u_size;
out vec4 o_color;
void main() { o_color = texture(u_low, gl_FragCoord.xy / u_size); }
"""

_VERTEX = """#version 330 core
in vec2 a_pos;
void main() { gl_Position = vec4(a_pos, 0.0, 1.0); }
"""

_PLANE_VS = """#version 330 core
uniform mat4 u_mvp;
in vec3 a_pos;
in vec2 a_uv;
out vec2 v_uv;
void main() { gl_Position = u_mvp * vec4(a_pos, 1.0); v_uv = a_uv; }
"""

_PLANE_FS = """#version 330 core
uniform sampler2D u_tex;
in vec2 v_uv;
out vec4 o_color;
void main() { o_color = vec4(texture(u_tex, v_uv).rgb, 1.0); }
"""


class Camera:
    """The GL passes that turn a fine scene into sharp / TAA / TAAU frames."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.camera = ctx.program(vertex_shader=_VERTEX, fragment_shader=_CAMERA)
        self.upscale = ctx.program(vertex_shader=_VERTEX, fragment_shader=_UPSCALE)
        triangle = np.array([-1, -1, 3, -1, -1, 3], np.float32)
        self.triangle = ctx.buffer(triangle.tobytes())

    def _draw(self, program: Any, size: tuple[int, int]) -> Any:
        """Run ``program`` over a float framebuffer of ``size`` (w, h); return its texture."""
        out = self.ctx.texture(size, 4, dtype="f4")
        fbo = self.ctx.framebuffer(color_attachments=[out])
        vao = self.ctx.vertex_array(program, [(self.triangle, "2f", "a_pos")])
        fbo.use()
        fbo.viewport = (0, 0, *size)
        vao.render()
        vao.release()
        fbo.release()
        return out

    def _sample(self, scene: Any, size: tuple[int, int], samples: np.ndarray, weights) -> Any:
        w, h = size
        sw, sh = scene.size
        padded = np.zeros((160, 2), np.float32)
        padded[: len(samples)] = samples
        pw = np.zeros(160, np.float32)
        pw[: len(weights)] = np.asarray(weights) / np.sum(weights)
        self.camera["u_samples"].write(padded.tobytes())
        self.camera["u_weights"].write(pw.tobytes())
        self.camera["u_count"].value = len(samples)
        self.camera["u_texels_per_pixel"].value = (sw / w, sh / h)
        scene.use(location=0)
        self.camera["u_scene"].value = 0
        return self._draw(self.camera, size)

    def sharp(self, scene: Any) -> Any:
        """The 4×4 supersampled frame."""
        size = (scene.size[0] // SUPER, scene.size[1] // SUPER)
        grid = (np.arange(SUPER) + 0.5) / SUPER - 0.5
        samples = np.array([(x, y) for y in grid for x in grid])
        return self._sample(scene, size, samples, np.ones(len(samples)))

    def taa(self, scene: Any, degradation: Degradation) -> Any:
        """The jittered accumulation with the resolve (and upscale) of ``degradation``."""
        out_w, out_h = scene.size[0] // SUPER, scene.size[1] // SUPER
        low = (round(out_w * degradation.scale), round(out_h * degradation.scale))
        samples, weights = [], []
        for j in jitter_offsets():
            for oy in (-1, 0, 1):
                for ox in (-1, 0, 1):
                    at = np.array([ox, oy]) + j
                    samples.append(at)
                    weights.append(resolve_weight(np.hypot(*at), degradation.resolve))
        resolved = self._sample(scene, low, np.array(samples), np.array(weights))
        if low == (out_w, out_h):
            return resolved
        resolved.filter = (self.ctx.LINEAR, self.ctx.LINEAR)
        resolved.repeat_x = resolved.repeat_y = False
        resolved.use(location=0)
        self.upscale["u_low"].value = 0
        self.upscale["u_size"].value = (out_w, out_h)
        out = self._draw(self.upscale, (out_w, out_h))
        resolved.release()
        return out

    def psf(self, degradation: Degradation, size: int = 9) -> np.ndarray:
        """The blur of ``degradation``: one-pixel squares through it, 3×3 phases averaged."""
        out_w = out_h = 48
        fine = np.zeros((out_h * SUPER, out_w * SUPER, 4), np.float32)
        centres = [(12 + 10 * i, 12 + 10 * j) for i in range(3) for j in range(3)]
        for cy, cx in centres:
            fine[cy * SUPER : (cy + 1) * SUPER, cx * SUPER : (cx + 1) * SUPER] = 1.0
        frame = read(self.taa(upload_scene(self.ctx, fine), degradation))[..., 0]
        r = size // 2
        kernel = np.mean([frame[cy - r : cy + r + 1, cx - r : cx + r + 1] for cy, cx in centres], 0)
        return kernel / kernel.sum()


def upload_scene(ctx: Any, rgba: np.ndarray) -> Any:
    """A fine scene as a nearest-sampled float texture (row 0 at the bottom, GL's way)."""
    data = np.ascontiguousarray(rgba[::-1], np.float32)
    texture = ctx.texture(rgba.shape[1::-1], 4, data=data.tobytes(), dtype="f4")
    texture.filter = (ctx.NEAREST, ctx.NEAREST)
    return texture


def read(texture: Any) -> np.ndarray:
    """A float texture back as an (h, w, 4) array, row 0 at the top."""
    w, h = texture.size
    return np.frombuffer(texture.read(), np.float32).reshape(h, w, 4)[::-1].copy()


# ----------------------------------------------------------------------------- scenes
def _rgba(rgb: np.ndarray) -> np.ndarray:
    return np.concatenate([rgb, np.ones((*rgb.shape[:2], 1), np.float32)], axis=2)


def edges_and_text(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Filled polygons, thin lines and text of several sizes, linear RGB."""
    rng = np.random.default_rng(seed)
    H, W = h * SUPER, w * SUPER
    img = np.full((H, W, 3), 0.18, np.float32)
    for _ in range(7):
        centre = rng.uniform([0.1 * W, 0.1 * H], [0.9 * W, 0.9 * H])
        radius = rng.uniform(0.05, 0.16) * H
        angles = np.sort(rng.uniform(0, 2 * np.pi, 5))
        pts = centre + radius * np.stack([np.cos(angles), np.sin(angles)], 1)
        cv2.fillPoly(img, [pts.astype(np.int32)], rng.uniform(0.05, 0.9, 3).tolist())
    for k in range(9):
        a = k * np.pi / 9
        p0 = (int(W * 0.75), int(H * 0.7))
        p1 = (int(p0[0] + np.cos(a) * H * 0.25), int(p0[1] - np.sin(a) * H * 0.25))
        cv2.line(img, p0, p1, (0.95, 0.95, 0.95), SUPER, cv2.LINE_8)
    lines = ["gpudeconv: sharp text 0123", "The quick brown fox", "jumps over 42 lazy dogs"]
    for i, (text, scale) in enumerate(zip(lines, (1.2, 0.9, 0.65), strict=True)):
        x, y = int(0.05 * W), int(H * (0.18 + 0.13 * i))
        thickness = max(1, int(scale * SUPER * 1.5))
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale * SUPER, thickness)
        img[y - th - SUPER * 2 : y + base, x - SUPER * 2 : x + tw + SUPER * 2] = 0.02
        mask = np.zeros((H, W), np.uint8)  # OpenCV draws text on 8-bit images only
        cv2.putText(mask, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale * SUPER, 255, thickness)
        img[mask > 0] = 1.0
    return _rgba(img)


def fine_detail(h: int, w: int) -> np.ndarray:
    """A zone plate up to 0.6× Nyquist, a Siemens star and one-pixel grids."""
    H, W = h * SUPER, w * SUPER
    y, x = np.mgrid[0:H, 0:W].astype(np.float32) / SUPER  # output-pixel units
    cy, cx = h / 2, w * 0.3
    r2 = (x - cx) ** 2 + (y - cy) ** 2
    k = 0.6 * np.pi / (2 * min(h, w) * 0.45)  # phase slope reaches 0.6 pi at the edge
    zone = 0.5 + 0.4 * np.cos(k * r2)
    star_c = (h / 2, w * 0.78)
    theta = np.arctan2(y - star_c[0], x - star_c[1])
    star = 0.5 + 0.4 * np.sign(np.sin(24 * theta))
    img = np.where((x < w * 0.55)[..., None], zone[..., None], star[..., None]).astype(np.float32)
    grid = ((np.floor(x) % 4 == 0) | (np.floor(y) % 4 == 0)) & (y < h * 0.2)
    img[grid] = 0.95
    return _rgba(np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img)


def textured_plane(ctx: Any, h: int, w: int) -> np.ndarray:
    """A photograph on a receding plane under a sky gradient, rasterised by GL at 4×."""
    import skimage.data

    photo = skimage.data.coffee().astype(np.float32) / 255.0
    linear = np.where(photo <= 0.04045, photo / 12.92, ((photo + 0.055) / 1.055) ** 2.4)
    data = np.ascontiguousarray(linear[::-1]).tobytes()
    tex = ctx.texture(linear.shape[1::-1], 3, data=data, dtype="f4")
    tex.build_mipmaps()
    tex.anisotropy = 16.0
    tex.repeat_x = tex.repeat_y = True
    H, W = h * SUPER, w * SUPER
    target = ctx.texture((W, H), 4, dtype="f4")
    depth = ctx.depth_renderbuffer((W, H))
    fbo = ctx.framebuffer(color_attachments=[target], depth_attachment=depth)
    program = ctx.program(vertex_shader=_PLANE_VS, fragment_shader=_PLANE_FS)
    quad = np.array(
        [[-2, 0, 0, 0, 0], [2, 0, 0, 3, 0], [-2, 0, -8, 0, 4], [2, 0, -8, 3, 4]], np.float32
    )
    vbo = ctx.buffer(quad.tobytes())
    ibo = ctx.buffer(np.array([0, 1, 2, 1, 3, 2], np.int32).tobytes())
    vao = ctx.vertex_array(program, [(vbo, "3f 2f", "a_pos", "a_uv")], index_buffer=ibo)
    aspect, f, near, far = W / H, 1 / np.tan(np.radians(30)), 0.1, 50.0
    proj = np.array(
        [
            [f / aspect, 0, 0, 0],
            [0, f, 0, 0],
            [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
            [0, 0, -1, 0],
        ],
        np.float32,
    )
    view = np.eye(4, dtype=np.float32)
    view[1, 3], view[2, 3] = -0.8, -0.6
    program["u_mvp"].write((proj @ view).T.copy().tobytes())
    fbo.use()
    fbo.viewport = (0, 0, W, H)
    sky = np.linspace(0.55, 0.25, H, dtype=np.float32)
    fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)  # alpha 0: sky
    ctx.enable(ctx.DEPTH_TEST)
    tex.use(location=0)
    program["u_tex"].value = 0
    vao.render()
    ctx.disable(ctx.DEPTH_TEST)
    img = read(target)
    for obj in (vao, vbo, ibo, program, fbo, depth, target, tex):
        obj.release()
    empty = img[..., 3] == 0
    sky_rgb = sky[:, None, None] * np.array([0.6, 0.75, 1.0], np.float32)
    img[..., :3] = np.where(empty[..., None], sky_rgb, img[..., :3])
    img[..., 3] = 1.0
    return img


def calibration_scene(h: int, w: int) -> np.ndarray:
    """Not one of the benchmark's scenes: a photograph (astronaut) under a few polygons."""
    import skimage.data

    photo = cv2.resize(skimage.data.astronaut(), (w, h), interpolation=cv2.INTER_AREA)
    photo = photo.astype(np.float32) / 255.0
    linear = np.where(photo <= 0.04045, photo / 12.92, ((photo + 0.055) / 1.055) ** 2.4)
    fine = np.ascontiguousarray(np.repeat(np.repeat(linear, SUPER, 0), SUPER, 1))
    rng = np.random.default_rng(3)
    for _ in range(5):
        centre = rng.uniform([0, 0], [w * SUPER, h * SUPER])
        pts = centre + rng.uniform(-0.15, 0.15, (4, 2)) * h * SUPER
        cv2.fillPoly(fine, [pts.astype(np.int32)], rng.uniform(0.0, 1.0, 3).tolist())
    return _rgba(fine)


def scenes(ctx: Any, h: int, w: int) -> dict[str, np.ndarray]:
    """The benchmark's five scenes at 4× (h, w): name → linear RGBA."""
    text = edges_and_text(h, w)
    plane = textured_plane(ctx, h, w)
    dark = text.copy()
    dark[..., :3] = dark[..., :3] * 0.05 + 0.004
    hdr = plane.copy()
    H, W = h * SUPER, w * SUPER
    for i, (cy, cx, r) in enumerate(((0.3, 0.2, 0.03), (0.25, 0.55, 0.02), (0.35, 0.8, 0.04))):
        light = (20.0 * (i + 1),) * 3 + (1.0,)
        cv2.circle(hdr, (int(cx * W), int(cy * H)), int(r * H), light, -1)
    window = (int(0.4 * W), int(0.05 * H)), (int(0.5 * W), int(0.15 * H))
    cv2.rectangle(hdr, *window, (6.0, 6.0, 5.0, 1.0), -1)
    return {
        "edges + text": text,
        "textured surface": plane,
        "fine detail": fine_detail(h, w),
        "dark scene": dark,
        "HDR highlights": hdr,
    }
