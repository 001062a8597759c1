"""Shaders: a fitted filter as GLSL (compute or fragment) or HLSL source for a renderer.

The filter ``F x = Σ_j w_j (ky_j ⊗ kx_j) x`` is emitted three ways:

- ``glsl-compute`` — GLSL 4.30, 16×16 work groups. The interface is a contract:
  ``layout(binding = 0) uniform sampler2D u_src`` (linear-light RGBA, read with
  ``texelFetch``) and ``layout(rgba32f, binding = 1) uniform writeonly image2D u_dst`` (RGB
  filtered, alpha copied). Each group loads its 16×16 tile plus the filter's halo into
  shared memory once (borders folded in, ``reflect`` = OpenCV ``BORDER_REFLECT`` or
  ``clamp``), centred on the tile's level (a trimmed midrange of five texels), then runs
  every separable term as a vertical pass into shared memory and a horizontal pass out
  of it.
- ``glsl-fragment`` — GLSL 3.30 full-screen pass for engines without compute: the same
  filter per pixel (its dense kernel's non-zero taps when the weights are baked; term by
  term when they are uniforms), centred on the pixel's own value.
- ``hlsl`` — an HLSL compute shader (SM 5/6: ``Texture2D<float4> src : register(t0)``,
  ``RWTexture2D<float4> dst : register(u0)``, ``[numthreads(16, 16, 1)]``), the same
  algorithm as ``glsl-compute``.

Weights are baked as constants, or (``uniforms=True``) read from a uniform block / constant
buffer (``layout(std140, binding = 0) uniform GpudeconvFilter { vec4 u_weights[N]; vec4
u_dc; }``; :func:`uniform_bytes` packs it), so a slider or an auto estimate changes the
weights of the same terms without recompiling.

Values are not clipped unless ``clamp=True`` (to [0, 1]): HDR frames far above 1 and small
negatives from TAA pass through; finite input gives finite output (every operation is a
bounded sum of finite products).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.boundaries import BOUNDARIES, FRAME_BOUNDARIES
from ..engine.backends.plan import FilterPlan
from ..errors import InvalidArgumentError
from ..fit import DeconvFilter
from ..fit.filter import MAX_TAP, MAX_WEIGHT

__all__ = [
    "DIRECT_TAPS",
    "FORMATS",
    "SHARED_MEMORY_BYTES",
    "ShaderCost",
    "cost",
    "export",
    "is_direct",
    "uniform_bytes",
]

FORMATS = ("glsl-compute", "glsl-fragment", "hlsl")
#: Work-group side of the compute shaders (the contract: 16 × 16).
GROUP = 16
#: Shared memory a compute shader may use: OpenGL's guaranteed minimum (32 KiB); HLSL's
#: groupshared limit is the same.
SHARED_MEMORY_BYTES = 32768
#: A compute shader whose filter reads at most this many taps (a 5×5 stencil) reads them
#: straight from the texture, cached, with no shared tile and no barriers: for so few taps
#: the tile's loads and barriers cost more than they save (measured on llvmpipe: a 9-tap
#: filter 14× slower through the tile than direct).
DIRECT_TAPS = 25
LICENCE = "SPDX-License-Identifier: MIT (gpudeconv)"


@dataclass(frozen=True)
class ShaderCost:
    """Per output pixel: texture reads and multiply-adds (RGB counted once)."""

    texture_reads: float
    multiply_adds: float
    shared_bytes: int


def _radius(filt: DeconvFilter) -> tuple[int, int]:
    ry = max(ky.size // 2 for ky, _ in filt.terms)
    rx = max(kx.size // 2 for _, kx in filt.terms)
    return ry, rx


def _check_filter(filt: object) -> DeconvFilter:
    """A filter whose weights and taps are finite and bounded (float32 literals)."""
    if not isinstance(filt, DeconvFilter):
        raise InvalidArgumentError(f"filt must be a DeconvFilter; got {type(filt).__name__}")
    _check_weights(filt.weights, filt)
    taps = np.concatenate([np.concatenate([ky, kx]) for ky, kx in filt.terms])
    if not (np.isfinite(taps).all() and np.abs(taps).max() <= MAX_TAP):
        raise InvalidArgumentError(f"the filter's taps must be finite, |tap| <= {MAX_TAP:g}")
    return filt


def _check_weights(weights: object, filt: DeconvFilter) -> np.ndarray:
    """``weights`` as float64: one per term, finite, |w| <= MAX_WEIGHT."""
    w = np.asarray(weights)
    if w.dtype.kind not in "iuf":
        raise InvalidArgumentError(f"weights must be real numbers; got dtype {w.dtype}")
    w = w.astype(np.float64)
    if w.shape != (len(filt.terms),) or not np.isfinite(w).all() or np.abs(w).max() > MAX_WEIGHT:
        raise InvalidArgumentError(
            f"weights must be {len(filt.terms)} finite numbers with |w| <= {MAX_WEIGHT:g}; "
            f"got shape {w.shape}"
        )
    return w


def _check_format(kind: object) -> str:
    if not isinstance(kind, str) or kind not in FORMATS:
        raise InvalidArgumentError(f"Invalid format {kind!r}; expected one of {FORMATS}")
    return kind


def _support(filt: DeconvFilter, uniforms: bool) -> np.ndarray:
    """The taps a direct shader reads, as a boolean mask.

    The dense kernel's non-zero taps (weights baked), or every tap any term touches
    (weights as uniforms).
    """
    kernel = filt.kernel()
    if not uniforms:
        return kernel != 0
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    mask = np.zeros(kernel.shape, bool)
    for ky, kx in filt.terms:
        ty, tx = ky.size // 2, kx.size // 2
        mask[ry - ty : ry + ty + 1, rx - tx : rx + tx + 1] |= np.outer(ky, kx) != 0
    return mask


def is_direct(filt: DeconvFilter, uniforms: bool = False) -> bool:
    """Whether a compute shader reads its taps directly (at most :data:`DIRECT_TAPS`)."""
    _check_filter(filt)
    return int(_support(filt, uniforms).sum()) <= DIRECT_TAPS


def cost(filt: DeconvFilter, kind: str = "glsl-compute", uniforms: bool = False) -> ShaderCost:
    """What a shader of ``kind`` costs per output pixel (and its shared memory)."""
    _check_filter(filt)
    _check_format(kind)
    ry, rx = _radius(filt)
    tw, th = GROUP + 2 * rx, GROUP + 2 * ry
    if kind == "glsl-fragment" and not uniforms:
        taps = int(np.count_nonzero(filt.kernel()))
        return ShaderCost(float(taps + 2), float(taps), 0)
    if kind == "glsl-fragment":
        taps = sum(ky.size * kx.size for ky, kx in filt.terms)
        return ShaderCost(float(taps + 2), float(taps + len(filt.terms)), 0)
    if is_direct(filt, uniforms):
        taps = int(_support(filt, uniforms).sum())
        fma = taps * (len(filt.terms) + 1) if uniforms else taps
        return ShaderCost(float(taps + 1), float(fma), 0)
    reads = th * tw / GROUP**2 + 2  # the tile with its halo, the level, alpha
    fma = 0.0
    for ky, kx in filt.terms:
        if ky.size == kx.size == 1:
            fma += 1
        else:
            fma += ky.size * tw / GROUP + kx.size + 1
    shared = 4 * 3 * (th * tw + GROUP * tw)
    return ShaderCost(reads, fma, shared)


def uniform_bytes(filt: DeconvFilter, weights: np.ndarray | None = None) -> bytes:
    """The std140 bytes of the ``GpudeconvFilter`` uniform block.

    ``weights`` default to the filter's own; they are packed four to a ``vec4``, then
    ``u_dc`` holds F(0) in ``.x`` (the shaders add the level back with it).
    """
    _check_filter(filt)
    w = _check_weights(filt.weights if weights is None else weights, filt)
    packed = np.zeros(4 * _vec4s(filt) + 4, np.float32)
    packed[: w.size] = w
    packed[-4] = FilterPlan.from_filter(filt, np.float64).dc_gain(w)
    return packed.tobytes()


def _vec4s(filt: DeconvFilter) -> int:
    return math.ceil(len(filt.terms) / 4)


def _floats(values: np.ndarray) -> str:
    return ", ".join(f"{float(v):.9g}" for v in values)


def _readable(value: object) -> str:
    """Basis parameters for a comment: floats to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_readable(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_readable(v)}" for k, v in value.items()) + "}"
    return str(value)


def _header(filt: DeconvFilter, kind: str, boundary: str, uniforms: bool, clamp: bool) -> str:
    gain = filt.diagnostics
    ry, rx = _radius(filt)
    c = cost(filt, kind, uniforms)
    psf = filt.psf.shape
    interface = {
        "glsl-compute": "u_src: sampler2D, binding 0 (linear RGBA, texelFetch); u_dst: "
        "rgba32f image2D, binding 1 (RGB filtered, alpha copied); 16x16 work groups, "
        "dispatch ceil(w/16) x ceil(h/16)",
        "glsl-fragment": "u_src: sampler2D (linear RGBA, texelFetch); one full-screen pass, "
        "o_color at location 0 (RGB filtered, alpha copied)",
        "hlsl": "src: Texture2D<float4> register(t0); dst: RWTexture2D<float4> register(u0); "
        "[numthreads(16,16,1)], dispatch ceil(w/16) x ceil(h/16); for Vulkan, give each its "
        "own binding: glslangValidator -D -V -S comp -e main --shift-image-binding comp 1 "
        "--shift-cbuffer-binding comp 2 (t0 -> 0, u0 -> 1, b0 -> 2)",
    }[kind]
    block = {
        "glsl-compute": "binding 0",
        "glsl-fragment": "bind it with glUniformBlockBinding (GLSL 3.30 has no binding=)",
        "hlsl": "cbuffer register(b0)",
    }[kind]
    weights = (
        f"weights: uniform block GpudeconvFilter, {block} ({_vec4s(filt)} vec4 + u_dc; "
        "gpudeconv.render.shaders.uniform_bytes packs it)"
        if uniforms
        else "weights: baked constants"
    )
    lines = [
        f"gpudeconv {kind} shader - {LICENCE}",
        f"Fitted for: PSF {psf[0]}x{psf[1]}, noise {filt.noise:.4g}, basis {filt.basis} "
        f"{_readable(filt.basis_params)}, objective {filt.objective}, prior {filt.prior}",
        f"Expected gain over the blurred input: {gain['mse_gain_db']:.2f} dB "
        f"(Wiener filter: {gain['wiener_gain_db']:.2f} dB)",
        f"Terms: {len(filt.terms)} separable, radius {ry}x{rx}; borders: {boundary}; "
        f"{'output clamped to [0, 1]' if clamp else 'no clipping (HDR and negatives pass)'}",
        f"Interface: {interface}",
        weights,
        f"Cost per pixel: {c.texture_reads:.1f} texture reads, {c.multiply_adds:.0f} "
        f"multiply-adds (RGB){f', {c.shared_bytes} bytes shared' if c.shared_bytes else ''}",
    ]
    return "\n".join(f"// {_comment_text(line)}" for line in lines) + "\n"


def _comment_text(text: str) -> str:
    r"""``text`` made safe inside a ``//`` comment: it cannot end the comment early.

    A line break (``\n``, ``\r``, or any other character that is not printable: controls,
    line and paragraph separators) would end the comment and let what follows compile as
    source; a backslash at the end of a line splices the next line into the comment (C
    and GLSL preprocessors). A filter file's ``basis_params`` is user data: line breaks
    become spaces and backslashes slashes.
    """
    return "".join(c if c.isprintable() else " " for c in text.replace("\\", "/"))


def _check(filt: DeconvFilter, kind: str, boundary: str, uniforms: bool) -> str:
    _check_filter(filt)
    _check_format(kind)
    boundary = BOUNDARIES.check(boundary, allowed=FRAME_BOUNDARIES)
    shared = cost(filt, kind, uniforms).shared_bytes
    if kind != "glsl-fragment" and shared > SHARED_MEMORY_BYTES:
        ry, rx = _radius(filt)
        raise InvalidArgumentError(
            f"a filter of radius {ry}x{rx} needs {shared} bytes of "
            f"shared memory, above the {SHARED_MEMORY_BYTES} a compute shader may count on; "
            "export it as glsl-fragment"
        )
    return boundary


def export(
    filt: DeconvFilter,
    kind: str = "glsl-compute",
    *,
    boundary: str = "reflect",
    uniforms: bool = False,
    clamp: bool = False,
) -> str:
    """Shader source applying ``filt``: ``kind`` one of :data:`FORMATS`.

    Parameters
    ----------
    filt : DeconvFilter
    kind : {'glsl-compute', 'glsl-fragment', 'hlsl'}
    boundary : {'reflect', 'clamp'}
        How the shader reads beyond the frame (OpenCV ``BORDER_REFLECT`` / replicate).
    uniforms : bool
        Weights from a uniform block (``uniform_bytes``) instead of constants.
    clamp : bool
        Clamp the output to [0, 1] (off: HDR values and negatives pass through).
    """
    boundary = _check(filt, kind, boundary, uniforms)
    header = _header(filt, kind, boundary, uniforms, clamp)
    if kind == "glsl-fragment":
        return header + _fragment(filt, boundary, uniforms, clamp)
    compute = _compute_direct if is_direct(filt, uniforms) else _compute
    return header + compute(filt, boundary, uniforms, clamp, hlsl=kind == "hlsl")


# ---------------------------------------------------------------------------- bodies
def _border_function(boundary: str, hlsl: bool) -> str:
    signature = "int border_index(int i, int n)"
    if boundary == "clamp":
        return f"{signature} {{ return clamp(i, 0, n - 1); }}\n"
    # OpenCV BORDER_REFLECT (fedcba|abcdefgh|hgfedcb), folded until inside: any overshoot.
    loop = "[loop] " if hlsl else ""
    return (
        f"{signature} {{\n"
        f"    {loop}while (i < 0 || i >= n) {{ i = (i < 0) ? -i - 1 : 2 * n - i - 1; }}\n"
        "    return i;\n}\n"
    )


def _weight_source(filt: DeconvFilter, uniforms: bool, hlsl: bool) -> tuple[str, str, str]:
    """(declarations, weight expression template with {j}, DC expression)."""
    if uniforms:
        n = _vec4s(filt)
        if hlsl:
            decl = (
                "cbuffer GpudeconvFilter : register(b0) "
                f"{{ float4 u_weights[{n}]; float4 u_dc; }};\n"
            )
        else:
            decl = (
                "layout(std140, binding = 0) uniform GpudeconvFilter {\n"
                f"    vec4 u_weights[{n}];\n    vec4 u_dc;\n}};\n"
            )
        return decl, "u_weights[{q}][{r}]", "u_dc.x"
    weights = ", ".join(f"{float(w):.9g}" for w in filt.weights)
    array = "static const float" if hlsl else "const float"
    opening, closing = ("{", "}") if hlsl else ("float[](", ")")
    decl = (
        f"{array} W[{len(filt.terms)}] = {opening}{weights}{closing};\n"
        f"{array} DC = {filt.dc_gain:.9g};\n"
    )
    return decl, "W[{j}]", "DC"


def _taps_decl(filt: DeconvFilter, hlsl: bool) -> str:
    lines = []
    for j, (ky, kx) in enumerate(filt.terms):
        for name, taps in (("KY", ky), ("KX", kx)):
            if hlsl:
                lines.append(f"static const float {name}{j}[{taps.size}] = {{{_floats(taps)}}};")
            else:
                lines.append(f"const float {name}{j}[{taps.size}] = float[]({_floats(taps)});")
    return "\n".join(lines) + "\n"


def _level5(hlsl: bool) -> str:
    """Per component, the midrange of the middle three of five values.

    Sorted by a 9-comparator network: one outlier cannot set the level, and a midrange
    keeps the centred values small.
    """
    v = "float3" if hlsl else "vec3"
    pairs = ((0, 1), (3, 4), (2, 4), (2, 3), (1, 4), (0, 3), (0, 2), (1, 3), (1, 2))
    swaps = "".join(
        f"    {{ {v} lo = min(q{i}, q{j}); q{j} = max(q{i}, q{j}); q{i} = lo; }}\n"
        for i, j in pairs
    )
    return (
        f"{v} level5({v} q0, {v} q1, {v} q2, {v} q3, {v} q4) {{\n"
        + swaps
        + "    return q1 + (q3 - q1) * 0.5;\n}\n"
    )


def _compute(filt: DeconvFilter, boundary: str, uniforms: bool, clamp: bool, hlsl: bool) -> str:
    ry, rx = _radius(filt)
    vec3, ivec2, shared = ("float3", "int2", "groupshared") if hlsl else ("vec3", "ivec2", "shared")
    barrier = "GroupMemoryBarrierWithGroupSync();" if hlsl else "barrier();"
    decl, weight, dc = _weight_source(filt, uniforms, hlsl)
    body = []
    for j, (ky, kx) in enumerate(filt.terms):
        w = weight.format(j=j, q=j // 4, r=j % 4)
        if ky.size == kx.size == 1:
            body.append(
                f"    acc += {w} * ({float(ky[0] * kx[0]):.9g}) * tile_at(lid.y + RY, lid.x + RX);"
            )
            continue
        ty, tx = ky.size // 2, kx.size // 2
        body.append(
            f"    // term {j}: {ky.size} taps down, {kx.size} across\n"
            "    for (int x = lid.x; x < TW; x += 16) {\n"
            f"        {vec3} v = {vec3}(0.0, 0.0, 0.0);\n"
            f"        for (int b = 0; b < {ky.size}; ++b) "
            f"v += KY{j}[b] * tile_at(lid.y + RY - {ty} + b, x);\n"
            "        store_vert(lid.y, x, v);\n"
            "    }\n"
            f"    {barrier}\n"
            "    {\n"
            f"        {vec3} h = {vec3}(0.0, 0.0, 0.0);\n"
            f"        for (int a = 0; a < {kx.size}; ++a) "
            f"h += KX{j}[a] * vert_at(lid.y, lid.x + RX - {tx} + a);\n"
            f"        acc += {w} * h;\n"
            "    }\n"
            f"    {barrier}"
        )
    clamp_line = (
        f"        rgb = clamp(rgb, {vec3}(0.0, 0.0, 0.0), {vec3}(1.0, 1.0, 1.0));\n"
        if clamp
        else ""
    )
    common = (
        f"static const int RY = {ry};\nstatic const int RX = {rx};\n"
        "static const int TW = 16 + 2 * RX;\nstatic const int TH = 16 + 2 * RY;\n"
        if hlsl
        else f"const int RY = {ry};\nconst int RX = {rx};\n"
        "const int TW = 16 + 2 * RX;\nconst int TH = 16 + 2 * RY;\n"
    )
    storage = (
        f"{shared} float s_r[TH * TW];\n{shared} float s_g[TH * TW];\n"
        f"{shared} float s_b[TH * TW];\n{shared} float v_r[16 * TW];\n"
        f"{shared} float v_g[16 * TW];\n{shared} float v_b[16 * TW];\n"
        f"{vec3} tile_at(int y, int x) {{ int k = y * TW + x; "
        f"return {vec3}(s_r[k], s_g[k], s_b[k]); }}\n"
        f"{vec3} vert_at(int y, int x) {{ int k = y * TW + x; "
        f"return {vec3}(v_r[k], v_g[k], v_b[k]); }}\n"
        f"void store_vert(int y, int x, {vec3} v) {{ int k = y * TW + x; "
        "v_r[k] = v.x; v_g[k] = v.y; v_b[k] = v.z; }\n"
    )
    if hlsl:
        io = "Texture2D<float4> src : register(t0);\nRWTexture2D<float4> dst : register(u0);\n"
        entry = (
            "[numthreads(16, 16, 1)]\n"
            "void main(uint3 group : SV_GroupID, uint3 local : SV_GroupThreadID) {\n"
            "    uint width, height;\n    src.GetDimensions(width, height);\n"
            "    int2 size = int2(width, height);\n"
            "    int2 lid = int2(local.xy);\n    int2 origin = int2(group.xy) * 16;\n"
            "    // The tile's level: a trimmed midrange of 5 texels (no highlight sets it).\n"
            "    int2 last = size - 1;\n"
            "    float3 level = level5(src.Load(int3(min(origin + int2(8, 8), last), 0)).rgb,\n"
            "        src.Load(int3(min(origin + int2(4, 4), last), 0)).rgb,\n"
            "        src.Load(int3(min(origin + int2(12, 4), last), 0)).rgb,\n"
            "        src.Load(int3(min(origin + int2(4, 12), last), 0)).rgb,\n"
            "        src.Load(int3(min(origin + int2(12, 12), last), 0)).rgb);\n"
        )
        fetch = "src.Load(int3({p}, 0))"
        store = "dst[pix] = float4(rgb, {alpha});"
    else:
        io = (
            "layout(local_size_x = 16, local_size_y = 16) in;\n"
            "layout(binding = 0) uniform sampler2D u_src;\n"
            "layout(rgba32f, binding = 1) uniform writeonly image2D u_dst;\n"
        )
        entry = (
            "void main() {\n"
            "    ivec2 size = textureSize(u_src, 0);\n"
            "    ivec2 lid = ivec2(gl_LocalInvocationID.xy);\n"
            "    ivec2 origin = ivec2(gl_WorkGroupID.xy) * 16;\n"
            "    // The tile's level: a trimmed midrange of 5 texels (no highlight sets it).\n"
            "    ivec2 last = size - 1;\n"
            "    vec3 level = level5(texelFetch(u_src, min(origin + ivec2(8), last), 0).rgb,\n"
            "        texelFetch(u_src, min(origin + ivec2(4, 4), last), 0).rgb,\n"
            "        texelFetch(u_src, min(origin + ivec2(12, 4), last), 0).rgb,\n"
            "        texelFetch(u_src, min(origin + ivec2(4, 12), last), 0).rgb,\n"
            "        texelFetch(u_src, min(origin + ivec2(12, 12), last), 0).rgb);\n"
        )
        fetch = "texelFetch(u_src, {p}, 0)"
        store = "imageStore(u_dst, pix, vec4(rgb, {alpha}));"
    load = (
        "    // The tile and its halo, borders folded in, centred on the tile's level.\n"
        "    for (int y = lid.y; y < TH; y += 16) {\n"
        "        int sy = border_index(origin.y + y - RY, size.y);\n"
        "        for (int x = lid.x; x < TW; x += 16) {\n"
        "            int sx = border_index(origin.x + x - RX, size.x);\n"
        f"            {vec3} c = {fetch.format(p=f'{ivec2}(sx, sy)')}.rgb - level;\n"
        "            int k = y * TW + x;\n"
        "            s_r[k] = c.x; s_g[k] = c.y; s_b[k] = c.z;\n"
        "        }\n    }\n"
        f"    {barrier}\n"
        f"    {vec3} acc = {vec3}(0.0, 0.0, 0.0);\n"
    )
    tail = (
        f"\n    {ivec2} pix = origin + lid;\n"
        "    if (pix.x < size.x && pix.y < size.y) {\n"
        f"        {vec3} rgb = acc + {dc} * level;\n"
        f"{clamp_line}"
        f"        {store.format(alpha=fetch.format(p='pix') + '.a')}\n"
        "    }\n}\n"
    )
    version = "" if hlsl else "#version 430\n"
    return (
        version
        + io
        + decl
        + common
        + _taps_decl(filt, hlsl)
        + storage
        + _border_function(boundary, hlsl)
        + _level5(hlsl)
        + entry
        + load
        + "\n".join(body)
        + tail
    )


def _fetch(hlsl: bool, position: str) -> str:
    """The source texel at integer ``position``."""
    return f"src.Load(int3({position}, 0))" if hlsl else f"texelFetch(u_src, {position}, 0)"


def _compute_direct(
    filt: DeconvFilter, boundary: str, uniforms: bool, clamp: bool, hlsl: bool
) -> str:
    """A compute shader for a small stencil: each pixel reads its taps straight.

    Baked weights: pixels away from the borders run every tap unrolled, with literal
    offsets and weights; pixels near them loop over constant tables and fold (unrolling
    the folding too made llvmpipe's JIT take 24 s). Uniform weights: the loop, each
    term's sum over the shared taps kept apart.
    """
    decl, weight, dc = _weight_source(filt, uniforms, hlsl)
    kernel = filt.kernel()
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    vec3, vec4, ivec2 = ("float3", "float4", "int2") if hlsl else ("vec3", "vec4", "ivec2")
    const = "static const" if hlsl else "const"
    zero = f"{vec3}(0.0, 0.0, 0.0)"
    ys, xs = np.nonzero(_support(filt, uniforms))

    def table(type_: str, name: str, items: list[str]) -> str:
        opening, closing = ("{", "}") if hlsl else (f"{type_}[](", ")")
        return f"{const} {type_} {name}[{len(items)}] = {opening}{', '.join(items)}{closing};\n"

    tables = f"{const} int N_TAPS = {ys.size};\n" + table(
        ivec2, "OFFSETS", [f"{ivec2}({x - rx}, {y - ry})" for y, x in zip(ys, xs, strict=True)]
    )
    if uniforms:
        count = len(filt.terms)
        for j, (ky, kx) in enumerate(filt.terms):
            term = np.zeros(kernel.shape)
            ty, tx = ky.size // 2, kx.size // 2
            term[ry - ty : ry + ty + 1, rx - tx : rx + tx + 1] = np.outer(ky, kx)
            tables += table("float", f"T{j}", [f"{float(v):.9g}" for v in term[ys, xs]])
        before = "".join(f"    {vec3} t{j} = {zero};\n" for j in range(count))
        inner = "".join(f"        t{j} += T{j}[i] * v;\n" for j in range(count))
        after = "".join(
            f"    acc += {weight.format(j=j, q=j // 4, r=j % 4)} * t{j};\n" for j in range(count)
        )
    else:
        tables += table("float", "TAPS", [f"{float(v):.9g}" for v in kernel[ys, xs]])
        before, inner, after = "", "        acc += TAPS[i] * v;\n", ""
    # Away from the borders: every tap unrolled, literal offsets and weights (faster on
    # llvmpipe than indexing the tables); near them, the loop with the folding.
    fast = (
        ""
        if uniforms
        else "".join(
            f"        acc += {float(kernel[y, x]):.9g} * "
            f"({_fetch(hlsl, f'pix + {ivec2}({x - rx}, {y - ry})')}.rgb - level);\n"
            for y, x in zip(ys, xs, strict=True)
        )
    )
    if hlsl:
        head = "Texture2D<float4> src : register(t0);\nRWTexture2D<float4> dst : register(u0);\n"
        entry = (
            "[numthreads(16, 16, 1)]\nvoid main(uint3 id : SV_DispatchThreadID) {\n"
            "    uint width, height;\n    src.GetDimensions(width, height);\n"
            "    int2 size = int2(width, height);\n    int2 pix = int2(id.xy);\n"
        )
        fetch = "src.Load(int3({p}, 0))"
        store = "    dst[pix] = float4(rgb, centre.a);\n"
        loop = "    [loop] "
    else:
        head = (
            "#version 430\nlayout(local_size_x = 16, local_size_y = 16) in;\n"
            "layout(binding = 0) uniform sampler2D u_src;\n"
            "layout(rgba32f, binding = 1) uniform writeonly image2D u_dst;\n"
        )
        entry = (
            "void main() {\n    ivec2 size = textureSize(u_src, 0);\n"
            "    ivec2 pix = ivec2(gl_GlobalInvocationID.xy);\n"
        )
        fetch = "texelFetch(u_src, {p}, 0)"
        store = "    imageStore(u_dst, pix, vec4(rgb, centre.a));\n"
        loop = "    "
    clamp_line = f"    rgb = clamp(rgb, {zero}, {vec3}(1.0, 1.0, 1.0));\n" if clamp else ""
    return (
        head
        + decl
        + tables
        + _border_function(boundary, hlsl)
        + entry
        + "    if (pix.x >= size.x || pix.y >= size.y) return;\n"
        + f"    bool inside = pix.x >= {rx} && pix.y >= {ry} && pix.x < size.x - {rx} "
        + f"&& pix.y < size.y - {ry};  // no border folding needed\n"
        + f"    {vec4} centre = {fetch.format(p='pix')};\n"
        + f"    {vec3} level = centre.rgb;  // centred on the pixel: constants stay exact\n"
        + f"    {vec3} acc = {zero};\n"
        + before
        + ("    if (inside) {\n" + fast + "    } else {\n" if not uniforms else "")
        + f"{loop}for (int i = 0; i < N_TAPS; ++i) {{\n"
        + f"        {ivec2} q = pix + OFFSETS[i];\n"
        + "        if (!inside) q = "
        + f"{ivec2}(border_index(q.x, size.x), border_index(q.y, size.y));\n"
        + f"        {vec3} v = {fetch.format(p='q')}.rgb - level;\n"
        + inner
        + "    }\n"
        + ("    }\n" if not uniforms else "")
        + after
        + f"    {vec3} rgb = acc + {dc} * level;\n"
        + clamp_line
        + store
        + "}\n"
    )


def _fragment(filt: DeconvFilter, boundary: str, uniforms: bool, clamp: bool) -> str:
    decl, weight, dc = _weight_source(filt, uniforms, hlsl=False)
    if uniforms:
        decl = decl.replace("layout(std140, binding = 0)", "layout(std140)")
        body = []
        for j, (ky, kx) in enumerate(filt.terms):
            ty, tx = ky.size // 2, kx.size // 2
            w = weight.format(j=j, q=j // 4, r=j % 4)
            body.append(
                "    {\n        vec3 t = vec3(0.0);\n"
                f"        for (int b = 0; b < {ky.size}; ++b) {{\n"
                f"            int y = border_index(p.y + b - {ty}, size.y);\n"
                "            vec3 r = vec3(0.0);\n"
                f"            for (int a = 0; a < {kx.size}; ++a) r += KX{j}[a] * "
                f"(texelFetch(u_src, ivec2(border_index(p.x + a - {tx}, size.x), y), 0).rgb "
                "- level);\n"
                f"            t += KY{j}[b] * r;\n        }}\n"
                f"        acc += {w} * t;\n    }}"
            )
        taps = _taps_decl(filt, hlsl=False)
    else:
        kernel = filt.kernel()
        ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
        ys, xs = np.nonzero(kernel)
        taps = (
            f"const int N_TAPS = {ys.size};\n"
            f"const ivec2 OFFSETS[{ys.size}] = ivec2[]("
            + ", ".join(f"ivec2({x - rx}, {y - ry})" for y, x in zip(ys, xs, strict=True))
            + ");\n"
            f"const float TAPS[{ys.size}] = float[]({_floats(kernel[ys, xs])});\n"
        )
        body = [
            "    for (int i = 0; i < N_TAPS; ++i) {\n"
            "        ivec2 q = ivec2(border_index(p.x + OFFSETS[i].x, size.x), "
            "border_index(p.y + OFFSETS[i].y, size.y));\n"
            "        acc += TAPS[i] * (texelFetch(u_src, q, 0).rgb - level);\n"
            "    }"
        ]
    clamp_line = "    rgb = clamp(rgb, vec3(0.0), vec3(1.0));\n" if clamp else ""
    return (
        "#version 330 core\n"
        "uniform sampler2D u_src;\n"
        "layout(location = 0) out vec4 o_color;\n"
        + decl
        + taps
        + _border_function(boundary, hlsl=False)
        + "void main() {\n"
        "    ivec2 size = textureSize(u_src, 0);\n"
        "    ivec2 p = ivec2(gl_FragCoord.xy);\n"
        "    vec4 centre = texelFetch(u_src, p, 0);\n"
        "    vec3 level = centre.rgb;  // centred on the pixel: constants stay exact\n"
        "    vec3 acc = vec3(0.0);\n"
        + "\n".join(body)
        + f"\n    vec3 rgb = acc + {dc} * level;\n"
        + clamp_line
        + "    o_color = vec4(rgb, centre.a);\n}\n"
    )
