"""A fitted filter for the programs people already run: mpv / libplacebo hooks, ReShade FX.

- ``mpv-hook`` — an mpv user shader (``--glsl-shaders=deblur.glsl``), which libplacebo runs
  too (``ffmpeg -vf libplacebo=custom_shader_path=deblur.glsl``). Hook point ``MAIN``
  filters RGB; ``LUMA`` filters the Y plane of YUV video and leaves chroma alone.
- ``reshade-fx`` — a ReShade FX effect (ReShade on Windows, vkBasalt on Linux and the
  Steam Deck). It declares its own back-buffer texture and full-screen vertex shader, so
  it needs no ``ReShade.fxh`` (vkBasalt does not ship one).

Both are one pass per pixel over the filter's dense kernel (its non-zero taps, weights
baked), read at exact texel positions (``texelFetch``; point sampling at texel centres in
the FX) with the borders folded in (``reflect`` = OpenCV ``BORDER_REFLECT``, the
``Pipeline``'s default, or ``clamp``), centred on the pixel's own value: the same
arithmetic as the ``glsl-fragment`` export, the same cost.

Value space (``space``):

- ``srgb`` (default): the filter runs on the values the host hands the shader — gamma-
  encoded video or a game's back buffer, as ``Pipeline(space="srgb")`` does on codes. A
  player or a game hands over encoded values; the blur it leaves (scaling, TAA, a codec,
  software blur) was made on them too.
- ``linear``: each value is decoded by the exact sRGB curve, filtered in linear light and
  encoded back, as ``Pipeline(space="linear")`` does — for an optical blur of sRGB content.

HDR (PQ / HLG) is not handled: a hook is not told the transfer function, and the filter
is fitted for SDR values in [0, 1]. Export for SDR sources only.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidArgumentError
from .fit import DeconvFilter
from .shaders import LICENCE, _border_function, _check_filter, _comment_text, _readable

__all__ = ["HOOKS", "HOST_FORMATS", "SPACES", "export_host", "host_cost"]

HOST_FORMATS = ("mpv-hook", "reshade-fx")
#: mpv hook points: RGB after conversion (``MAIN``), or the Y plane of YUV video (``LUMA``).
HOOKS = ("MAIN", "LUMA")
SPACES = ("srgb", "linear")
_SPACE_TEXT = {
    "srgb": "filtered as the host hands them (gamma-encoded)",
    "linear": "decoded by the sRGB curve, filtered in linear light, encoded back",
}

_SRGB_GLSL = """\
float srgb_decode(float c) {
    return c <= 0.04045 ? c / 12.92 : pow((max(c, 0.04045) + 0.055) / 1.055, 2.4);
}
float srgb_encode(float v) {
    return v <= 0.0031308 ? v * 12.92 : 1.055 * pow(max(v, 0.0031308), 1.0 / 2.4) - 0.055;
}
"""


def host_cost(filt: DeconvFilter) -> tuple[int, int]:
    """``(texture reads, multiply-adds)`` per pixel: the dense kernel's non-zero taps."""
    taps = int(np.count_nonzero(filt.kernel()))
    return taps, taps + 1


def _taps(filt: DeconvFilter) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets ``(dx, dy)`` and values of the dense kernel's non-zero taps."""
    kernel = filt.kernel()
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    ys, xs = np.nonzero(kernel)
    return xs - rx, ys - ry, kernel[ys, xs]


def _check(
    filt: object, kind: object, hook: object, space: object, boundary: object
) -> DeconvFilter:
    filt = _check_filter(filt)
    for name, value, allowed in (
        ("format", kind, HOST_FORMATS),
        ("hook", hook, HOOKS),
        ("space", space, SPACES),
        ("boundary", boundary, ("reflect", "clamp")),
    ):
        if value not in allowed:
            raise InvalidArgumentError(f"Invalid {name} {value!r}; expected one of {allowed}")
    if kind == "reshade-fx" and hook != "MAIN":
        raise InvalidArgumentError("hook applies to mpv-hook only (ReShade filters RGB)")
    return filt


def _header(filt: DeconvFilter, kind: str, hook: str, space: str, boundary: str) -> str:
    reads, fma = host_cost(filt)
    gain = filt.diagnostics
    psf = filt.psf.shape
    lines = [
        f"gpudeconv {kind} shader - {LICENCE}",
        f"Fitted for: PSF {psf[0]}x{psf[1]}, noise {filt.noise:.4g}, basis {filt.basis} "
        f"{_readable(filt.basis_params)}",
        f"Expected gain over the blurred input: {gain['mse_gain_db']:.2f} dB "
        f"(Wiener filter: {gain['wiener_gain_db']:.2f} dB)",
        f"Values: {_SPACE_TEXT[space]}; borders: {boundary}; SDR only (PQ/HLG not handled)",
        f"Cost per pixel: {reads} texture reads, {fma} multiply-adds"
        + ("" if kind != "mpv-hook" else f"; hook {hook}"),
    ]
    if kind == "mpv-hook":
        lines.append(
            "Use: mpv --glsl-shaders=THIS_FILE VIDEO, or ffmpeg -init_hw_device vulkan=vk "
            "-filter_hw_device vk -i IN -vf hwupload,libplacebo=custom_shader_path=THIS_FILE:"
            "dithering=none,hwdownload,format=... OUT"
        )
    else:
        lines.append(
            "Use: ReShade - put it in reshade-shaders/Shaders and enable gpudeconv_deblur; "
            "vkBasalt - effects = deblur and deblur = /path/THIS_FILE in vkBasalt.conf"
        )
    return "\n".join(f"// {_comment_text(line)}" for line in lines) + "\n"


def export_host(
    filt: DeconvFilter,
    kind: str = "mpv-hook",
    *,
    hook: str = "MAIN",
    space: str = "srgb",
    boundary: str = "reflect",
) -> str:
    """Shader source applying ``filt`` inside mpv / libplacebo or ReShade / vkBasalt.

    Parameters
    ----------
    filt : DeconvFilter
    kind : {'mpv-hook', 'reshade-fx'}
    hook : {'MAIN', 'LUMA'}
        mpv's hook point: RGB, or the Y plane of YUV video (mpv-hook only).
    space : {'srgb', 'linear'}
        Filter the values as handed over, or in linear light by the exact sRGB curves
        (see the module notes for why ``srgb`` is the default).
    boundary : {'reflect', 'clamp'}
        How the frame's border is read, as the ``Pipeline`` reads it.
    """
    filt = _check(filt, kind, hook, space, boundary)
    header = _header(filt, kind, hook, space, boundary)
    if kind == "mpv-hook":
        return header + _mpv(filt, hook, space, boundary)
    return header + _reshade(filt, space, boundary)


def _mpv(filt: DeconvFilter, hook: str, space: str, boundary: str) -> str:
    dx, dy, values = _taps(filt)
    grey = hook == "LUMA"
    kind, swizzle = ("float", "x") if grey else ("vec3", "rgb")
    decode, encode = _curves(space, kind)
    offsets = ", ".join(f"ivec2({x}, {y})" for x, y in zip(dx, dy, strict=True))
    out = "vec4(rgb, 0.0, 0.0, centre.a)" if grey else "vec4(rgb, centre.a)"
    return (
        f"//!HOOK {hook}\n//!BIND HOOKED\n//!DESC gpudeconv deblur ({filt.basis})\n"
        f"const int N_TAPS = {values.size};\n"
        f"const ivec2 OFFSETS[{values.size}] = ivec2[]({offsets});\n"
        f"const float TAPS[{values.size}] = float[]({_floats(values)});\n"
        f"const float DC = {filt.dc_gain:.9g};\n"
        + _border_function(boundary, hlsl=False)
        + (_SRGB_GLSL if space == "linear" else "")
        + "vec4 hook() {\n"
        "    ivec2 size = ivec2(HOOKED_size);\n"
        "    ivec2 p = ivec2(floor(HOOKED_pos * HOOKED_size));\n"
        "    vec4 centre = texelFetch(HOOKED_raw, p, 0) * HOOKED_mul;\n"
        f"    {kind} level = {decode.format(f'centre.{swizzle}')};\n"
        f"    {kind} acc = {kind}(0.0);\n"
        "    for (int i = 0; i < N_TAPS; ++i) {\n"
        "        ivec2 q = ivec2(border_index(p.x + OFFSETS[i].x, size.x), "
        "border_index(p.y + OFFSETS[i].y, size.y));\n"
        f"        {kind} v = texelFetch(HOOKED_raw, q, 0).{swizzle} * HOOKED_mul;\n"
        f"        acc += TAPS[i] * ({decode.format('v')} - level);  // centred: exact constants\n"
        "    }\n"
        f"    {kind} rgb = {encode.format('acc + DC * level')};\n"
        f"    return {out};\n}}\n"
    )


def _reshade(filt: DeconvFilter, space: str, boundary: str) -> str:
    dx, dy, values = _taps(filt)
    decode, encode = _curves(space, "float3")
    offsets = ", ".join(f"int2({x}, {y})" for x, y in zip(dx, dy, strict=True))
    border = _border_function(boundary, hlsl=True).replace("[loop] ", "")
    srgb = _SRGB_GLSL if space == "linear" else ""
    return (
        "texture2D gpudeconv_BackBufferTex : COLOR;\n"
        "// Point sampling at texel centres: exact texels, in every ReShade version (the\n"
        "// signature of tex2Dfetch changed between them; vkBasalt takes only the old one).\n"
        "sampler2D gpudeconv_BackBuffer { Texture = gpudeconv_BackBufferTex;\n"
        "    MagFilter = POINT; MinFilter = POINT; MipFilter = POINT;\n"
        "    AddressU = CLAMP; AddressV = CLAMP; };\n"
        "float4 gpudeconv_texel(int2 p) {\n"
        "    return tex2Dlod(gpudeconv_BackBuffer,\n"
        "        float4((float2(p) + 0.5) / float2(BUFFER_WIDTH, BUFFER_HEIGHT), 0.0, 0.0));\n"
        "}\n"
        f"static const int N_TAPS = {values.size};\n"
        f"static const int2 OFFSETS[{values.size}] = {{ {offsets} }};\n"
        f"static const float TAPS[{values.size}] = {{ {_floats(values)} }};\n"
        f"static const float DC = {filt.dc_gain:.9g};\n"
        + border
        + srgb
        + "void gpudeconv_vs(in uint id : SV_VertexID, out float4 position : SV_Position,\n"
        "                   out float2 texcoord : TEXCOORD) {\n"
        "    texcoord.x = (id == 2) ? 2.0 : 0.0;\n"
        "    texcoord.y = (id == 1) ? 2.0 : 0.0;\n"
        "    position = float4(texcoord * float2(2.0, -2.0) + float2(-1.0, 1.0), 0.0, 1.0);\n"
        "}\n"
        "float4 gpudeconv_ps(float4 position : SV_Position, float2 texcoord : TEXCOORD)"
        " : SV_Target {\n"
        "    int2 size = int2(BUFFER_WIDTH, BUFFER_HEIGHT);\n"
        "    int2 p = int2(position.xy);\n"
        "    float4 centre = gpudeconv_texel(p);\n"
        f"    float3 level = {decode.format('centre.rgb')};\n"
        "    float3 acc = float3(0.0, 0.0, 0.0);\n"
        "    for (int i = 0; i < N_TAPS; ++i) {\n"
        "        int2 q = int2(border_index(p.x + OFFSETS[i].x, size.x), "
        "border_index(p.y + OFFSETS[i].y, size.y));\n"
        "        float3 v = gpudeconv_texel(q).rgb;\n"
        f"        acc += TAPS[i] * ({decode.format('v')} - level);\n"
        "    }\n"
        f"    return float4({encode.format('acc + DC * level')}, centre.a);\n"
        "}\n"
        'technique gpudeconv_deblur < ui_label = "gpudeconv deblur"; >\n'
        "{\n    pass { VertexShader = gpudeconv_vs; PixelShader = gpudeconv_ps; }\n}\n"
    )


def _curves(space: str, kind: str) -> tuple[str, str]:
    """Templates (with ``{}``) decoding a fetched value and encoding the result."""
    if space == "srgb":
        return "{}", "{}"
    if kind == "float":
        return "srgb_decode({})", "srgb_encode({})"
    make = kind  # vec3 / float3: component-wise
    return (
        f"{make}(srgb_decode(({{0}}).x), srgb_decode(({{0}}).y), srgb_decode(({{0}}).z))",
        f"{make}(srgb_encode(({{0}}).x), srgb_encode(({{0}}).y), srgb_encode(({{0}}).z))",
    )


def _floats(values: np.ndarray) -> str:
    return ", ".join(f"{float(v):.9g}" for v in values)
