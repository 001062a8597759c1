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

Tunable (a :class:`~gpudeconv.fit.FilterTable` instead of one filter): one file covers the
table's range of Gaussian blurs. The host shows two controls — the blur σ to undo and a
strength (0 = off, 1 = the table's filter, above 1 = stronger) — as mpv ``//!PARAM`` blocks
(``--glsl-shader-opts=DEBLUR_SIGMA=1.4``; libplacebo v5 or later, mpv ``gpu-next``) or ReShade
``uniform`` sliders (ReShade's overlay; vkBasalt takes the default). ``controls='const'``
writes them as constants at the top of the file instead, for hosts older than ``//!PARAM``
(Debian 12's libplacebo 4.208, whose ffmpeg and mpv refuse the block). The shader keeps the
table's kernel at each grid σ (noise fixed at export) and blends the two around the chosen
σ tap by tap — exactly the table's linear interpolation, since a filter is linear in its
weights: the same texture reads as a single filter over the table's widest support, two
multiply-adds per read instead of one.

HDR (PQ / HLG) is not handled: a hook is not told the transfer function, and the filter
is fitted for SDR values in [0, 1]. Export for SDR sources only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core._validate import check_real
from ..errors import InvalidArgumentError
from ..fit import DeconvFilter, FilterTable
from .shaders import LICENCE, _border_function, _check_filter, _comment_text, _readable

__all__ = ["CONTROLS", "HOOKS", "HOST_FORMATS", "SPACES", "export_host", "host_cost"]

HOST_FORMATS = ("mpv-hook", "reshade-fx")
#: mpv hook points: RGB after conversion (``MAIN``), or the Y plane of YUV video (``LUMA``).
HOOKS = ("MAIN", "LUMA")
SPACES = ("srgb", "linear")
#: How a tunable export's σ and strength are set: by the host (``//!PARAM`` / ReShade
#: sliders) or as constants at the top of the file (hosts without ``//!PARAM``).
CONTROLS = ("host", "const")
#: The strength control's range (0 = off, 1 = the table's filter).
STRENGTH_RANGE = (0.0, 2.0)
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


@dataclass(frozen=True)
class _Weights:
    """The kernel a shader applies: one row of taps, or one row per grid σ of a table."""

    dx: np.ndarray  # tap offsets (x, y) over the support every row shares
    dy: np.ndarray
    rows: np.ndarray  # (n_rows, n_taps) tap values; one row when fixed
    dcs: np.ndarray  # (n_rows,) each row's F(0)
    sigmas: np.ndarray | None  # the table's σ grid (tunable) or None
    default_sigma: float = 0.0
    default_strength: float = 1.0

    @property
    def tunable(self) -> bool:
        return self.sigmas is not None


def _weights(kernels: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Offsets of the taps non-zero in any kernel, and each kernel's values there."""
    support = np.any([k != 0 for k in kernels], axis=0)
    ry, rx = support.shape[0] // 2, support.shape[1] // 2
    ys, xs = np.nonzero(support)
    return xs - rx, ys - ry, np.stack([k[ys, xs] for k in kernels])


def _fixed(filt: DeconvFilter) -> _Weights:
    dx, dy, rows = _weights([filt.kernel()])
    return _Weights(dx, dy, rows, np.array([filt.dc_gain]), None)


def _tunable(
    table: FilterTable, sigma: float | None, noise: float | None, strength: float
) -> _Weights:
    if table.sigmas.size < 2:
        raise InvalidArgumentError("a tunable export needs a table of 2 or more sigmas")
    if noise is None:
        if table.noises.size != 1:
            raise InvalidArgumentError(
                f"give noise=: the table covers noise {table.noises[0]:g}..{table.noises[-1]:g} "
                "and the exported file fixes one"
            )
        noise = float(table.noises[0])
    middle = float(np.sqrt(table.sigmas[0] * table.sigmas[-1]))
    sigma = middle if sigma is None else sigma
    table(sigma, noise)  # the same range checks and messages as a lookup
    strength = check_real("strength", strength)
    if not STRENGTH_RANGE[0] <= strength <= STRENGTH_RANGE[1]:
        raise InvalidArgumentError(f"strength={strength} is outside {list(STRENGTH_RANGE)}")
    filters = [table(float(s), noise) for s in table.sigmas]
    dx, dy, rows = _weights([f.kernel() for f in filters])
    dcs = np.array([f.dc_gain for f in filters])
    return _Weights(dx, dy, rows, dcs, table.sigmas.astype(float), float(sigma), strength)


def host_cost(source: DeconvFilter | FilterTable) -> tuple[int, int]:
    """``(texture reads, multiply-adds)`` per pixel.

    A filter: its dense kernel's non-zero taps, one multiply-add each (plus the DC term).
    A table: the taps non-zero at any grid σ, two multiply-adds each (blend the two rows
    around σ, then accumulate), plus the strength blend.
    """
    if isinstance(source, FilterTable):
        noise = float(source.noises[0])
        taps, _, _ = _weights([source(float(s), noise).kernel() for s in source.sigmas])
        return _cost(taps.size, tunable=True)
    return _cost(int(np.count_nonzero(_check_filter(source).kernel())), tunable=False)


def _cost(taps: int, tunable: bool) -> tuple[int, int]:
    return (taps, 2 * taps + 3) if tunable else (taps, taps + 1)


def _check(kind: object, hook: object, space: object, boundary: object, controls: object) -> None:
    for name, value, allowed in (
        ("format", kind, HOST_FORMATS),
        ("hook", hook, HOOKS),
        ("space", space, SPACES),
        ("boundary", boundary, ("reflect", "clamp")),
        ("controls", controls, CONTROLS),
    ):
        if value not in allowed:
            raise InvalidArgumentError(f"Invalid {name} {value!r}; expected one of {allowed}")
    if kind == "reshade-fx" and hook != "MAIN":
        raise InvalidArgumentError("hook applies to mpv-hook only (ReShade filters RGB)")


def _header(
    source: DeconvFilter | FilterTable, weights: _Weights, kind: str, hook: str, space: str,
    boundary: str,
) -> str:  # fmt: skip
    reads, fma = _cost(weights.dx.size, weights.tunable)
    if isinstance(source, FilterTable):
        t = source.template
        fitted = (
            f"Tunable: Gaussian blur sigma {weights.sigmas[0]:g}..{weights.sigmas[-1]:g} px "
            f"({weights.sigmas.size} grid values, blended linearly), basis {t.basis} "
            f"{_readable(t.basis_params)}; strength 0 = off, 1 = the table's filter"
        )
        gain = ""
    else:
        psf = source.psf.shape
        fitted = (
            f"Fitted for: PSF {psf[0]}x{psf[1]}, noise {source.noise:.4g}, basis {source.basis} "
            f"{_readable(source.basis_params)}"
        )
        d = source.diagnostics
        gain = (
            f"Expected gain over the blurred input: {d['mse_gain_db']:.2f} dB "
            f"(Wiener filter: {d['wiener_gain_db']:.2f} dB)"
        )
    lines = [
        f"gpudeconv {kind} shader - {LICENCE}",
        fitted,
        *([gain] if gain else []),
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
    source: DeconvFilter | FilterTable,
    kind: str = "mpv-hook",
    *,
    hook: str = "MAIN",
    space: str = "srgb",
    boundary: str = "reflect",
    sigma: float | None = None,
    noise: float | None = None,
    strength: float = 1.0,
    controls: str = "host",
) -> str:
    """Shader source applying a filter inside mpv / libplacebo or ReShade / vkBasalt.

    Parameters
    ----------
    source : DeconvFilter or FilterTable
        One fitted filter, or a table of Gaussian blurs: a tunable shader whose blur σ and
        strength the host sets (see the module notes).
    kind : {'mpv-hook', 'reshade-fx'}
    hook : {'MAIN', 'LUMA'}
        mpv's hook point: RGB, or the Y plane of YUV video (mpv-hook only).
    space : {'srgb', 'linear'}
        Filter the values as handed over, or in linear light by the exact sRGB curves
        (see the module notes for why ``srgb`` is the default).
    boundary : {'reflect', 'clamp'}
        How the frame's border is read, as the ``Pipeline`` reads it.
    sigma : float, optional
        Tunable only: the σ the file starts at (default: the grid's geometric middle).
    noise : float, optional
        Tunable only: the table noise the file is fixed at (needed when the table has
        several).
    strength : float
        Tunable only: the strength the file starts at, in ``STRENGTH_RANGE``.
    controls : {'host', 'const'}
        Tunable only: ``//!PARAM`` / ReShade sliders, or constants at the top of the file.
    """
    _check(kind, hook, space, boundary, controls)
    if isinstance(source, FilterTable):
        weights = _tunable(source, sigma, noise, strength)
    else:
        source = _check_filter(source)
        if sigma is not None or noise is not None or strength != 1.0 or controls != "host":
            raise InvalidArgumentError(
                "sigma, noise, strength and controls apply to a tunable export (give a FilterTable)"
            )
        weights = _fixed(source)
    header = _header(source, weights, kind, hook, space, boundary)
    label = source.template.basis if isinstance(source, FilterTable) else source.basis
    if kind == "mpv-hook":
        return header + _mpv(weights, label, hook, space, boundary, controls)
    return header + _reshade(weights, space, boundary, controls)


# Names of the controls in the shader (ReShade's namespace is shared by every effect).
_SIGMA, _STRENGTH = "DEBLUR_SIGMA", "DEBLUR_STRENGTH"


def _constant_controls(w: _Weights, qualifier: str) -> str:
    """The controls as constants to edit, for hosts that cannot set them."""
    return (
        f"// Edit to tune: blur sigma in [{w.sigmas[0]:g}, {w.sigmas[-1]:g}] px, strength in "
        f"[{STRENGTH_RANGE[0]:g}, {STRENGTH_RANGE[1]:g}].\n"
        f"{qualifier} float {_SIGMA} = {w.default_sigma:.9g};\n"
        f"{qualifier} float {_STRENGTH} = {w.default_strength:.9g};\n"
    )


def _mpv_params(w: _Weights, controls: str) -> tuple[str, str]:
    """``(constants inside the hook, //!PARAM blocks before it)``: one of them empty."""
    if controls == "const":
        return _constant_controls(w, "const"), ""
    blocks = [
        (_SIGMA, "Gaussian blur to undo, sigma in pixels", w.sigmas[0], w.sigmas[-1],
         w.default_sigma),
        (_STRENGTH, "0 = off, 1 = the fitted filter, above 1 = stronger", *STRENGTH_RANGE,
         w.default_strength),
    ]  # fmt: skip
    text = "".join(
        f"//!PARAM {name}\n//!DESC {desc}\n//!TYPE float\n//!MINIMUM {lo:.9g}\n"
        f"//!MAXIMUM {hi:.9g}\n{default:.9g}\n\n"
        for name, desc, lo, hi, default in blocks
    )
    return "", text


def _reshade_params(w: _Weights, controls: str) -> str:
    if controls == "const":
        return _constant_controls(w, "static const")
    return (
        f'uniform float {_SIGMA} < ui_type = "slider"; ui_min = {w.sigmas[0]:.9g}; '
        f"ui_max = {w.sigmas[-1]:.9g}; ui_step = 0.01;\n"
        '    ui_label = "Blur sigma (px)"; ui_tooltip = "The Gaussian blur to undo"; > = '
        f"{w.default_sigma:.9g};\n"
        f'uniform float {_STRENGTH} < ui_type = "slider"; ui_min = {STRENGTH_RANGE[0]:.9g}; '
        f"ui_max = {STRENGTH_RANGE[1]:.9g}; ui_step = 0.01;\n"
        '    ui_label = "Strength"; ui_tooltip = "0 = off, 1 = the fitted filter"; > = '
        f"{w.default_strength:.9g};\n"
    )


def _arrays(w: _Weights, hlsl: bool) -> str:
    """The tap arrays: offsets, taps (interleaved by grid σ when tunable), DC.

    Plain initialised arrays, not ``const``: they are read at a loop index, and Mesa's
    compiler turns a dynamically indexed ``const`` array into a select over every element
    (lavapipe: a 169-tap hook took 1.40 s per 160×90 frame with ``const`` arrays, 3.1 ms
    with plain ones; the tunable one 220 s to compile). ``bench.host_programs`` measures it.
    """
    n = w.dx.size
    if hlsl:
        decl, pair, wrap = "static ", "int2", True
    else:
        decl, pair, wrap = "", "ivec2", False
    offsets = ", ".join(f"{pair}({x}, {y})" for x, y in zip(w.dx, w.dy, strict=True))

    def array(kind: str, name: str, size: int, body: str) -> str:
        value = f"{{ {body} }}" if wrap else f"{kind}[]({body})"
        return f"{decl}{kind} {name}[{size}] = {value};\n"

    constant = "static const" if hlsl else "const"
    text = f"{constant} int N_TAPS = {n};\n" + array(pair, "OFFSETS", n, offsets)
    if not w.tunable:
        return (
            text
            + array("float", "TAPS", n, _floats(w.rows[0]))
            + f"{constant} float DC = {w.dcs[0]:.9g};\n"
        )
    rows = w.rows.shape[0]
    return (
        text
        + f"{constant} int N_SIGMAS = {rows};\n"
        + array("float", "SIGMAS", rows, _floats(w.sigmas))
        + "// Tap i at grid sigma j is TAPS[i * N_SIGMAS + j] (noise fixed at export).\n"
        + array("float", "TAPS", rows * n, _floats(w.rows.T.ravel()))
        + array("float", "DCS", rows, _floats(w.dcs))
    )


def _locate(w: _Weights, hlsl: bool) -> str:
    """Per-pixel prologue of a tunable shader: the grid interval holding σ and the blend.

    (Summing every row with its share at constant indices instead, so the taps could stay
    immediates, was 3.7× slower on lavapipe than picking the two rows.)
    """
    if not w.tunable:
        return ""
    saturate = "saturate({})" if hlsl else "clamp({}, 0.0, 1.0)"
    return (
        "    int row = 0;  // the grid interval holding sigma (the same in every pixel)\n"
        "    for (int j = 1; j < N_SIGMAS - 1; ++j) {\n"
        f"        row = ({_SIGMA} >= SIGMAS[j]) ? j : row;\n    }}\n"
        "    float t = "
        + saturate.format(f"({_SIGMA} - SIGMAS[row]) / (SIGMAS[row + 1] - SIGMAS[row])")
        + ";\n    float dc = DCS[row] + t * (DCS[row + 1] - DCS[row]);\n"
    )


def _tap(w: _Weights) -> str:
    return "(TAPS[k] + t * (TAPS[k + 1] - TAPS[k]))" if w.tunable else "TAPS[i]"


def _tap_index(w: _Weights) -> str:
    """Loop-body line: tap ``i`` at the grid σ below the chosen one (tunable only)."""
    return "        int k = i * N_SIGMAS + row;\n" if w.tunable else ""


def _result(w: _Weights) -> str:
    """The filtered level before encoding (blended by strength when tunable)."""
    if not w.tunable:
        return "acc + DC * level"
    return f"level + {_STRENGTH} * (acc + (dc - 1.0) * level)"


def _mpv(w: _Weights, label: str, hook: str, space: str, boundary: str, controls: str) -> str:
    grey = hook == "LUMA"
    kind, swizzle = ("float", "x") if grey else ("vec3", "rgb")
    decode, encode = _curves(space, kind)
    out = "vec4(rgb, 0.0, 0.0, centre.a)" if grey else "vec4(rgb, centre.a)"
    constants, params = _mpv_params(w, controls) if w.tunable else ("", "")
    return (
        params
        + f"//!HOOK {hook}\n//!BIND HOOKED\n//!DESC gpudeconv deblur ({label})\n"
        + constants
        + _arrays(w, hlsl=False)
        + _border_function(boundary, hlsl=False)
        + (_SRGB_GLSL if space == "linear" else "")
        + "vec4 hook() {\n"
        "    ivec2 size = ivec2(HOOKED_size);\n"
        "    ivec2 p = ivec2(floor(HOOKED_pos * HOOKED_size));\n"
        "    vec4 centre = texelFetch(HOOKED_raw, p, 0) * HOOKED_mul;\n"
        + _locate(w, hlsl=False)
        + f"    {kind} level = {decode.format(f'centre.{swizzle}')};\n"
        f"    {kind} acc = {kind}(0.0);\n"
        "    for (int i = 0; i < N_TAPS; ++i) {\n"
        + _tap_index(w)
        + "        ivec2 q = ivec2(border_index(p.x + OFFSETS[i].x, size.x), "
        "border_index(p.y + OFFSETS[i].y, size.y));\n"
        f"        {kind} v = texelFetch(HOOKED_raw, q, 0).{swizzle} * HOOKED_mul;\n"
        f"        acc += {_tap(w)} * ({decode.format('v')} - level);  // centred: exact constants\n"
        "    }\n"
        f"    {kind} rgb = {encode.format(_result(w))};\n"
        f"    return {out};\n}}\n"
    )


def _reshade(w: _Weights, space: str, boundary: str, controls: str) -> str:
    decode, encode = _curves(space, "float3")
    border = _border_function(boundary, hlsl=True).replace("[loop] ", "")
    srgb = _SRGB_GLSL if space == "linear" else ""
    return (
        (_reshade_params(w, controls) if w.tunable else "")
        + "texture2D gpudeconv_BackBufferTex : COLOR;\n"
        "// Point sampling at texel centres: exact texels, in every ReShade version (the\n"
        "// signature of tex2Dfetch changed between them; vkBasalt takes only the old one).\n"
        "sampler2D gpudeconv_BackBuffer { Texture = gpudeconv_BackBufferTex;\n"
        "    MagFilter = POINT; MinFilter = POINT; MipFilter = POINT;\n"
        "    AddressU = CLAMP; AddressV = CLAMP; };\n"
        "float4 gpudeconv_texel(int2 p) {\n"
        "    return tex2Dlod(gpudeconv_BackBuffer,\n"
        "        float4((float2(p) + 0.5) / float2(BUFFER_WIDTH, BUFFER_HEIGHT), 0.0, 0.0));\n"
        "}\n"
        + _arrays(w, hlsl=True)
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
        + _locate(w, hlsl=True)
        + f"    float3 level = {decode.format('centre.rgb')};\n"
        "    float3 acc = float3(0.0, 0.0, 0.0);\n"
        "    for (int i = 0; i < N_TAPS; ++i) {\n"
        + _tap_index(w)
        + "        int2 q = int2(border_index(p.x + OFFSETS[i].x, size.x), "
        "border_index(p.y + OFFSETS[i].y, size.y));\n"
        "        float3 v = gpudeconv_texel(q).rgb;\n"
        f"        acc += {_tap(w)} * ({decode.format('v')} - level);\n"
        "    }\n"
        f"    return float4({encode.format(_result(w))}, centre.a);\n"
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
