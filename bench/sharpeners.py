"""The sharpeners game developers use, as peers: CAS, RCAS (NumPy and GLSL), unsharp mask.

Written here from AMD's published descriptions of the algorithms (FidelityFX CAS,
``ffx_cas.h``; FSR 1's RCAS, ``ffx_fsr1.h``), not copied. Both are per-pixel filters on a
3×3 (CAS) or 5-tap cross (RCAS) neighbourhood, edges clamped:

- **CAS** (contrast-adaptive sharpening, no scaling): per channel, soft min ``mn`` and max
  ``mx`` of the cross ``b d e f h`` (with *better diagonals*, plus the min/max over all
  nine added: twice the range); amplitude ``amp = sqrt(clip(min(mn, R - mx) / mx, 0, 1))``
  (``R`` = 1, or 2 with the diagonals); weight ``w = -amp / lerp(8, 5, sharpness)``
  (sharpness clamped to [0, 1]); output ``(w (b + d + f + h) + e) / (1 + 4 w)``, clamped to
  [0, 1] as CAS does. As AMD ships it, one weight for all three channels: the green
  channel's (``per_channel=True`` is their ``CAS_SLOW`` variant).
- **RCAS** (robust CAS): the cross's per-channel min/max bound a negative lobe so the
  output cannot leave the neighbourhood's range: ``hit_min = min(mn4, e) / (4 mx4)``,
  ``hit_max = (1 - max(mx4, e)) / (4 mn4 - 4)``, ``lobe = max(-hit_min, hit_max)``, the
  largest over RGB, clamped to ``[-(1/4 - 1/16), 0]`` and scaled by ``2^-stops``; optional
  noise damping by a luma contrast test; output ``(lobe (b + d + f + h) + e) / (4 lobe + 1)``.

Divisions by zero (black or white neighbourhoods) follow Direct3D's rules, which AMD's
code relies on: CAS's ``saturate(x · rcp(0))`` gives 0; in RCAS a limit divided by zero is
±inf or NaN, and ``max``/``min`` return the other operand, so that limit drops out (and
with both out, the lobe is 0) — for [0, 1] input these are exactly the cases written here.

The GLSL versions have the contract of :mod:`gpudeconv.render.shaders` (``u_src`` sampler on unit
0, ``u_dst`` rgba32f image on unit 1, 16×16 groups, alpha copied), so one harness times
them next to ours. Parameters are uniforms (``u_sharpness``, ``u_diagonals``; ``u_stops``,
``u_denoise``).
"""

from __future__ import annotations

import re

import cv2
import numpy as np

__all__ = ["CAS_GLSL", "RCAS_GLSL", "cas", "cas_hook", "rcas", "rcas_hook", "unsharp"]

RCAS_LIMIT = 0.25 - 1.0 / 16.0


def _neighbours(image: np.ndarray) -> dict[str, np.ndarray]:
    """The 3×3 neighbourhood a..i of every pixel (edges clamped), channels last."""
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = image.shape[:2]
    names = "abcdefghi"
    return {
        names[3 * dy + dx]: padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)
    }


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast(num, den).shape, np.float32)
    np.divide(num, den, out=out, where=den != 0)
    return out


def cas(
    image: np.ndarray,
    sharpness: float,
    *,
    better_diagonals: bool = True,
    per_channel: bool = False,
) -> np.ndarray:
    """FidelityFX CAS (no scaling) on ``image`` (h, w, 3) float in [0, 1]."""
    x = np.asarray(image, np.float32)
    n = _neighbours(x)
    cross = [n["b"], n["d"], n["e"], n["f"], n["h"]]
    mn = np.minimum.reduce(cross)
    mx = np.maximum.reduce(cross)
    limit = 1.0
    if better_diagonals:
        corners = [n["a"], n["c"], n["g"], n["i"]]
        mn = mn + np.minimum.reduce([mn, *corners])
        mx = mx + np.maximum.reduce([mx, *corners])
        limit = 2.0
    amp = np.sqrt(np.clip(_safe_divide(np.minimum(mn, limit - mx), mx), 0.0, 1.0))
    sharpness = min(max(float(sharpness), 0.0), 1.0)
    w = amp * np.float32(-1.0 / (8.0 + (5.0 - 8.0) * sharpness))
    if not per_channel:
        w = w[..., 1:2]  # the green channel's weight for all three
    ring = n["b"] + n["d"] + n["f"] + n["h"]
    return np.clip((w * ring + n["e"]) / (1.0 + 4.0 * w), 0.0, 1.0)


def _limit(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, NaN where ``den`` is 0 (Direct3D's max/min then skip it)."""
    out = np.full(np.broadcast(num, den).shape, np.nan, np.float32)
    np.divide(num, den, out=out, where=den != 0)
    return out


def rcas(image: np.ndarray, stops: float = 0.2, *, denoise: bool = False) -> np.ndarray:
    """FSR 1 RCAS on ``image`` (h, w, 3) float in [0, 1]; ``stops`` 0 is the strongest."""
    x = np.asarray(image, np.float32)
    n = _neighbours(x)
    b, d, e, f, h = n["b"], n["d"], n["e"], n["f"], n["h"]
    mn4 = np.minimum.reduce([b, d, f, h])
    mx4 = np.maximum.reduce([b, d, f, h])
    hit_min = _limit(np.minimum(mn4, e), 4.0 * mx4)
    hit_max = _limit(1.0 - np.maximum(mx4, e), 4.0 * mn4 - 4.0)
    lobe = np.fmax.reduce(np.fmax(-hit_min, hit_max), axis=2, keepdims=True)
    lobe = np.nan_to_num(np.fmin(lobe, 0.0), nan=0.0)  # min(NaN, 0) is 0 in Direct3D
    lobe = np.maximum(-RCAS_LIMIT, lobe) * np.float32(2.0 ** (-stops))
    if denoise:
        luma = [0.5 * p[..., 2:3] + 0.5 * p[..., 0:1] + p[..., 1:2] for p in (b, d, e, f, h)]
        bl, dl, el, fl, hl = luma
        contrast = np.maximum.reduce(luma) - np.minimum.reduce(luma)
        nz = np.clip(_safe_divide(np.abs(0.25 * (bl + dl + fl + hl) - el), contrast), 0.0, 1.0)
        lobe = lobe * (1.0 - 0.5 * nz)
    return (lobe * (b + d + f + h) + e) / (4.0 * lobe + 1.0)


def unsharp(image: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    """The plain unsharp mask (OpenCV): ``x + amount (x - G_sigma x)``, edges replicated."""
    x = np.asarray(image, np.float32)
    blurred = cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return cv2.addWeighted(x, 1.0 + amount, blurred, -amount, 0.0)


_HEAD = """#version 430
layout(local_size_x = 16, local_size_y = 16) in;
layout(binding = 0) uniform sampler2D u_src;
layout(rgba32f, binding = 1) uniform writeonly image2D u_dst;
vec4 at(ivec2 p) {
    return texelFetch(u_src, clamp(p, ivec2(0), textureSize(u_src, 0) - 1), 0);
}
vec3 safe_div(vec3 n, vec3 d) {
    return vec3(d.x != 0.0 ? n.x / d.x : 0.0, d.y != 0.0 ? n.y / d.y : 0.0,
                d.z != 0.0 ? n.z / d.z : 0.0);
}
"""

#: CAS as a compute shader (uniforms ``u_sharpness`` in [0, 1], ``u_diagonals`` 0/1; the
#: green channel's weight for all three, as AMD ships it).
CAS_GLSL = (
    _HEAD
    + """uniform float u_sharpness;
uniform int u_diagonals;
void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    if (any(greaterThanEqual(p, textureSize(u_src, 0)))) return;
    vec4 e4 = at(p);
    vec3 b = at(p + ivec2(0, -1)).rgb, d = at(p + ivec2(-1, 0)).rgb, e = e4.rgb;
    vec3 f = at(p + ivec2(1, 0)).rgb, h = at(p + ivec2(0, 1)).rgb;
    vec3 mn = min(min(min(d, e), min(f, b)), h);
    vec3 mx = max(max(max(d, e), max(f, b)), h);
    float limit = 1.0;
    if (u_diagonals != 0) {
        vec3 a = at(p + ivec2(-1, -1)).rgb, c = at(p + ivec2(1, -1)).rgb;
        vec3 g = at(p + ivec2(-1, 1)).rgb, i = at(p + ivec2(1, 1)).rgb;
        mn += min(min(mn, a), min(min(c, g), i));
        mx += max(max(mx, a), max(max(c, g), i));
        limit = 2.0;
    }
    vec3 amp = sqrt(clamp(safe_div(min(mn, vec3(limit) - mx), mx), 0.0, 1.0));
    float w = amp.g * (-1.0 / (8.0 + (5.0 - 8.0) * clamp(u_sharpness, 0.0, 1.0)));
    vec3 rgb = clamp((w * (b + d + f + h) + e) / (1.0 + 4.0 * w), 0.0, 1.0);
    imageStore(u_dst, p, vec4(rgb, e4.a));
}
"""
)

#: RCAS as a compute shader (uniforms ``u_stops`` ≥ 0, ``u_denoise`` 0/1).
RCAS_GLSL = (
    _HEAD
    + f"""uniform float u_stops;
uniform int u_denoise;
void main() {{
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    if (any(greaterThanEqual(p, textureSize(u_src, 0)))) return;
    vec4 e4 = at(p);
    vec3 b = at(p + ivec2(0, -1)).rgb, d = at(p + ivec2(-1, 0)).rgb, e = e4.rgb;
    vec3 f = at(p + ivec2(1, 0)).rgb, h = at(p + ivec2(0, 1)).rgb;
    vec3 mn4 = min(min(b, d), min(f, h));
    vec3 mx4 = max(max(b, d), max(f, h));
    float lobe = -1e30;  // "no limit yet": a limit divided by zero drops out (Direct3D)
    for (int c = 0; c < 3; ++c) {{
        float d1 = 4.0 * mx4[c], d2 = 4.0 * mn4[c] - 4.0;
        if (d1 != 0.0) lobe = max(lobe, -min(mn4[c], e[c]) / d1);
        if (d2 != 0.0) lobe = max(lobe, (1.0 - max(mx4[c], e[c])) / d2);
    }}
    lobe = max(-{RCAS_LIMIT!r}, lobe <= -1e29 ? 0.0 : min(lobe, 0.0));
    lobe *= exp2(-u_stops);
    if (u_denoise != 0) {{
        float bl = 0.5 * b.b + 0.5 * b.r + b.g, dl = 0.5 * d.b + 0.5 * d.r + d.g;
        float el = 0.5 * e.b + 0.5 * e.r + e.g, fl = 0.5 * f.b + 0.5 * f.r + f.g;
        float hl = 0.5 * h.b + 0.5 * h.r + h.g;
        float contrast = max(max(max(bl, dl), max(el, fl)), hl)
                       - min(min(min(bl, dl), min(el, fl)), hl);
        float nz = abs(0.25 * (bl + dl + fl + hl) - el);
        nz = clamp(contrast != 0.0 ? nz / contrast : 0.0, 0.0, 1.0);
        lobe *= 1.0 - 0.5 * nz;
    }}
    vec3 rgb = (lobe * (b + d + f + h) + e) / (4.0 * lobe + 1.0);
    imageStore(u_dst, p, vec4(rgb, e4.a));
}}
"""
)


def _mpv_hook(compute: str, desc: str, values: dict[str, float | int]) -> str:
    """A compute shader above as an mpv / libplacebo user-shader hook on ``MAIN``.

    The same source, mechanically: uniforms become the given constants, the invocation's
    pixel becomes the hooked one (``HOOKED_texOff``, whose sampler clamps at the edges as
    :func:`_neighbours` does), and the stored value is returned.
    """
    body = compute[len(_HEAD) :]
    for name, value in values.items():
        body = re.sub(rf"uniform (float|int) {name};", rf"const \1 {name} = {value!r};", body)
    body = body.replace("void main() {", "vec4 hook() {")
    body = re.sub(r"\n    ivec2 p = .*\n    if \(any.*return;", "", body)
    body = body.replace("at(p)", "HOOKED_texOff(vec2(0.0))")
    body = re.sub(r"at\(p \+ ivec2\((-?\d), (-?\d)\)\)", r"HOOKED_texOff(vec2(\1.0, \2.0))", body)
    body = re.sub(r"imageStore\(u_dst, p, (.*)\);", r"return \1;", body)
    if "at(" in body.replace("safe_div", "") or "imageStore" in body or "gl_Global" in body:
        raise ValueError(f"{desc}: the compute source did not translate")  # a changed source
    helper = _HEAD[_HEAD.index("vec3 safe_div") :]
    return f"//!HOOK MAIN\n//!BIND HOOKED\n//!DESC {desc}\n{helper}{body}"


def cas_hook(sharpness: float, *, better_diagonals: bool = True) -> str:
    """:data:`CAS_GLSL` as an mpv / libplacebo hook (the peer inside a real host)."""
    values = {"u_sharpness": float(sharpness), "u_diagonals": int(better_diagonals)}
    return _mpv_hook(CAS_GLSL, "CAS (AMD FidelityFX, bench.sharpeners)", values)


def rcas_hook(stops: float = 0.2, *, denoise: bool = False) -> str:
    """:data:`RCAS_GLSL` as an mpv / libplacebo hook (the peer inside a real host)."""
    values = {"u_stops": float(stops), "u_denoise": int(denoise)}
    return _mpv_hook(RCAS_GLSL, "RCAS (AMD FSR 1, bench.sharpeners)", values)
