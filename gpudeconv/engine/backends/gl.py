"""OpenGL backend: the pipeline on any OpenGL 4.3 GPU (Intel, AMD, Apple via Mesa, NVIDIA).

For the laptops without CUDA (issue 31). Two compute passes per frame, in a moderngl
context of our own (headless EGL), run by one thread that owns it:

1. **decode** — the frame's codes (an 8-bit normalised texture) or float values to
   centred working values in an ``rgba32f`` texture: the sRGB curve by a 256-entry table
   (the CPU backend's own ``decode_table``), float frames centred by the CPU backend's
   level; the luma in the fourth component when ``luma_only``.
2. **filter** — the filter's dense kernel (``Σ w_j ky_j ⊗ kx_j``, centre tap corrected so
   the taps keep their float64 sum) from a storage buffer over the working texture, the
   boundary by index folding, then the level added back, the sRGB curve, rounding and
   the alpha copy, into an ``rgba8ui``/``r8ui`` or ``rgba32f``/``r32f`` image.

New weights (``set_weights``, a ``FilterTable`` lookup) rewrite the kernel buffer: no
recompilation. Programs are compiled once per frame layout and shared by every pipeline
of the process. A frame is uploaded once and read back once; the calls are synchronous
(the upload, the passes and the read-back of one frame do not overlap the next's).

Cost per pixel on a GPU: one ``vec4`` fetch and one ``vec4`` multiply-add per kernel tap
(121 for the 11×11 gauss-lap kernel of σ = 1), from a working texture of 16 bytes per
pixel that neighbouring invocations share in the texture cache; the decode pass reads
the frame once and writes 16 bytes per pixel. At 1080p that is 8 MB uploaded, 33 MB
written and read back by the passes, 8 MB downloaded.

uint16 frames are refused: the CPU backend filters them in float64 because float32 leaves
up to 5 codes of 65535 near black, and a GPU's float32 would too.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import numpy as np

from ...core._validate import values_in_range
from ...core.colour import decode_table, luma_weights
from ...core.frames import FrameSpec
from ...errors import BackendUnavailableError, NonFiniteFrameError
from ...fit.filter import DeconvFilter, dense_kernel
from .base import HostFifo, host_array
from .plan import INT_CENTRE, FilterPlan, dc_corrected, float_level

__all__ = [
    "GlBackend",
    "gl_software_reason",
    "gl_unavailable_reason",
    "is_software_renderer",
    "renderer",
    "spec_unsupported_reason",
]

#: Work-group side of both passes.
GROUP = 16
#: Renderer names of software rasterisers (Mesa's llvmpipe/softpipe/swrast, Vulkan's
#: lavapipe through Zink, Google's SwiftShader, Windows' basic render driver): they run
#: on the CPU, where the ``cpu`` backend is faster, so ``auto`` never picks them.
SOFTWARE_RENDERERS = (
    "llvmpipe",
    "softpipe",
    "swrast",
    "lavapipe",
    "swiftshader",
    "software rasterizer",
    "microsoft basic render",
)


# ---------------------------------------------------------------------------- context
class _GlThread:
    """One headless OpenGL 4.3 context and the one thread that may use it.

    A GL context is current in one thread at a time; handing it between the threads that
    call a ``Pipeline`` is fragile, so every GL call runs on this thread instead. Objects
    of pipelines that were garbage-collected wait in :attr:`released` (a finaliser may
    run anywhere, even inside this executor's own ``submit``, so it only enqueues) and
    are freed before the next job.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpudeconv-gl")
        self.released: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.ctx, info = self.run(_create_context)
        self.renderer = str(info.get("GL_RENDERER", "unknown"))
        self.programs: dict[str, Any] = {}

    def run(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the context's thread; its result (or its exception)."""
        return self._pool.submit(self._job, fn, args).result()

    def _job(self, fn: Any, args: tuple) -> Any:
        while True:  # free what finalisers left, then run
            try:
                gpu = self.released.get_nowait()
            except queue.Empty:
                break
            _free(gpu)
        return fn(*args)

    def program(self, source: str) -> Any:
        """The compiled compute program of ``source`` (compiled once per process)."""
        found = self.programs.get(source)
        if found is None:
            found = self.programs[source] = self.ctx.compute_shader(source)
        return found


def _create_context() -> tuple[Any, dict[str, Any]]:
    import moderngl

    ctx = moderngl.create_standalone_context(backend="egl", require=430)
    return ctx, dict(ctx.info)  # read here: the context is current on this thread only


_LOCK = threading.Lock()
_SHARED: list[_GlThread] = []


def _shared() -> _GlThread:
    with _LOCK:
        if not _SHARED:
            _SHARED.append(_GlThread())
        return _SHARED[0]


#: Set in a process forked from one that had made a GL context (see below).
_FORKED_FROM_GL: list[bool] = []
FORKED_REASON = (
    "this process was forked from one that used OpenGL, and a driver's state does not "
    "survive a fork (Mesa's hangs in EGL): start workers with the 'spawn' method"
)


def _forget_after_fork() -> None:
    """A forked child has the parent's objects but not its GL thread or a sane driver."""
    if _SHARED or _probe.cache_info().currsize:
        _FORKED_FROM_GL.append(True)
    _SHARED.clear()
    _probe.cache_clear()


os.register_at_fork(after_in_child=_forget_after_fork)


@lru_cache(maxsize=1)
def _probe() -> tuple[str | None, str, int]:
    """``(why not, renderer, largest texture)`` from a context made and released at once.

    ``auto`` asks this on every machine without CUDA; keeping the context (and a software
    renderer's worker threads, ~60 MB) for a backend it then does not choose would cost
    every such process. The context a ``gl`` backend uses is made when one is built.
    """
    if _FORKED_FROM_GL:
        return FORKED_REASON, "", 0
    try:
        import moderngl  # noqa: F401
    except ImportError:
        return "moderngl is not installed (pip install 'gpudeconv[gl]')", "", 0

    def probe() -> tuple[str, int]:
        ctx, info = _create_context()
        ctx.release()
        return str(info.get("GL_RENDERER", "unknown")), int(info.get("GL_MAX_TEXTURE_SIZE", 0))

    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpudeconv-gl-probe") as once:
            name, largest = once.submit(probe).result()
    except Exception as error:  # EGL or the driver refused: say what it said
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"no OpenGL 4.3 context through EGL ({first})", "", 0
    return None, name, largest


def gl_unavailable_reason() -> str | None:
    """Why no OpenGL 4.3 context can be made here (moderngl, EGL), or None."""
    return _probe()[0]


def renderer() -> str:
    """The OpenGL renderer's name (``GL_RENDERER``); an error if none is usable."""
    why_not = gl_unavailable_reason()
    if why_not:
        raise BackendUnavailableError(f"backend 'gl' cannot run: {why_not}")
    return _probe()[1]


def is_software_renderer(name: str) -> bool:
    """Whether ``name`` (a ``GL_RENDERER`` string) is a software rasteriser."""
    lowered = name.lower()
    return any(word in lowered for word in SOFTWARE_RENDERERS)


def gl_software_reason() -> str | None:
    """Why ``auto`` does not choose the GL backend here (none usable, or software), or None."""
    why_not = gl_unavailable_reason()
    if why_not:
        return why_not
    name = renderer()
    return f"the OpenGL renderer is software ({name})" if is_software_renderer(name) else None


def spec_unsupported_reason(spec: FrameSpec) -> str | None:
    """Why the GL backend cannot restore frames of ``spec``, or None."""
    if spec.dtype == np.uint16:
        return (
            "uint16 frames need float64 filtering to stay within 1 code of 65535 "
            "(GPU float32 leaves up to 5 near black); use backend='cpu' or 'cuda'"
        )
    why_not = gl_unavailable_reason()
    if why_not:
        return why_not
    largest = _probe()[2]
    if max(spec.height, spec.width) > largest:
        return (
            f"a {spec.height}x{spec.width} frame exceeds this GPU's largest texture "
            f"({largest} px a side)"
        )
    return None


# ---------------------------------------------------------------------------- shaders
_BORDER = {
    "clamp": "int border_index(int i, int n) { return clamp(i, 0, n - 1); }\n",
    # OpenCV BORDER_REFLECT (fedcba|abcdefgh|hgfedcb), folded until inside: any overshoot.
    "reflect": (
        "int border_index(int i, int n) {\n"
        "    while (i < 0 || i >= n) { i = (i < 0) ? -i - 1 : 2 * n - i - 1; }\n"
        "    return i;\n}\n"
    ),
}


def _decode_source(spec: FrameSpec) -> str:
    integer = spec.is_integer
    read = (
        "ivec3 code = ivec3(floor(v.rgb * 255.0 + 0.5));\n"
        "    vec3 c = vec3(u_table[code.r], u_table[code.g], u_table[code.b]);\n"
        if integer
        else "vec3 c = v.rgb - u_centre.rgb;\n"
    )
    luma = "dot(c, u_luma)" if spec.luma_only else "0.0"
    return f"""#version 430
layout(local_size_x = {GROUP}, local_size_y = {GROUP}) in;
uniform sampler2D u_src;
layout(rgba32f, binding = 1) uniform writeonly image2D u_work;
layout(std430, binding = 2) readonly buffer Decode {{ float u_table[]; }};
uniform vec4 u_centre;
uniform vec3 u_luma;
void main() {{
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    ivec2 n = textureSize(u_src, 0);
    if (p.x >= n.x || p.y >= n.y) return;
    vec4 v = texelFetch(u_src, p, 0);
    {read}    imageStore(u_work, p, vec4(c, {luma}));
}}
"""


def _filter_source(spec: FrameSpec) -> str:
    c = spec.channels
    if spec.is_integer:
        layout, image = ("r8ui" if c == 1 else "rgba8ui"), "uimage2D"
    else:
        layout, image = ("r32f" if c == 1 else "rgba32f"), "image2D"
    if spec.luma_only:
        result = (
            "vec4 here = texelFetch(u_work, p, 0);\n"
            "    float delta = acc.a - here.a + u_luma_level * (u_dc - 1.0);\n"
            "    vec3 v = here.rgb + u_centre.rgb + delta;\n"
        )
    else:
        result = "vec3 v = acc.rgb + u_dc * u_centre.rgb;\n"
    if spec.is_integer:
        curve = ""
        if spec.space == "linear":
            curve = (
                "v = max(v, vec3(0.0));\n"
                "    v = mix(1.055 * pow(v, vec3(1.0 / 2.4)) - 0.055, 12.92 * v,\n"
                "            lessThanEqual(v, vec3(0.0031308)));\n    "
            )
        alpha = "uint(floor(texelFetch(u_src, p, 0).a * 255.0 + 0.5))" if c == 4 else "255u"
        store = (
            f"{curve}uvec3 code = uvec3(clamp(floor(v * 255.0 + 0.5), 0.0, 255.0));\n"
            f"    imageStore(u_dst, p, uvec4(code, {alpha}));\n"
        )
    else:
        alpha = "texelFetch(u_src, p, 0).a" if c == 4 else "1.0"
        store = f"imageStore(u_dst, p, vec4(v, {alpha}));\n"
    return f"""#version 430
layout(local_size_x = {GROUP}, local_size_y = {GROUP}) in;
uniform sampler2D u_work;
uniform sampler2D u_src;
layout({layout}, binding = 1) uniform writeonly {image} u_dst;
layout(std430, binding = 3) readonly buffer Kernel {{ float u_kernel[]; }};
uniform ivec2 u_radius;
uniform float u_dc;
uniform vec4 u_centre;
uniform float u_luma_level;
{_BORDER[spec.boundary]}
void main() {{
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    ivec2 n = textureSize(u_work, 0);
    if (p.x >= n.x || p.y >= n.y) return;
    vec4 acc = vec4(0.0);
    int k = 0;
    for (int dy = -u_radius.y; dy <= u_radius.y; ++dy) {{
        int y = p.y + dy;
        if (y < 0 || y >= n.y) y = border_index(y, n.y);
        for (int dx = -u_radius.x; dx <= u_radius.x; ++dx) {{
            int x = p.x + dx;
            if (x < 0 || x >= n.x) x = border_index(x, n.x);
            acc += u_kernel[k++] * texelFetch(u_work, ivec2(x, y), 0);
        }}
    }}
    {result}    {store}}}
"""


# ---------------------------------------------------------------------------- backend
class GlBackend(HostFifo):
    """Applies a filter to frames of one :class:`FrameSpec` with OpenGL compute shaders."""

    name = "gl"

    def __init__(self, spec: FrameSpec, filt: DeconvFilter) -> None:
        why_not = spec_unsupported_reason(spec)
        if why_not:
            raise BackendUnavailableError(f"backend 'gl' cannot restore these frames: {why_not}")
        self.spec = spec
        self._gl = _shared()
        self._lock = threading.Lock()
        # New weights are stored and uploaded as one step: two setters racing must not
        # leave the older kernel on the GPU.
        self._set_lock = threading.Lock()
        self._plan = FilterPlan.from_filter(filt, np.float64)
        self._weights = np.asarray(filt.weights, dtype=np.float64).copy()
        self._replans = 0
        self._done: deque[np.ndarray] = deque()
        luma = luma_weights(spec.channel_order) if spec.colour_channels == 3 else (1.0, 0.0, 0.0)
        self._luma = tuple(float(v) for v in luma)
        self._gpu = self._gl.run(self._allocate)
        self._upload_kernel()
        # Textures are freed on the GL thread when the backend goes (not waited for).
        weakref.finalize(self, self._gl.released.put, self._gpu)

    # ------------------------------------------------------------------ GL objects
    def _allocate(self) -> dict[str, Any]:
        import moderngl

        ctx, spec = self._gl.ctx, self.spec
        size = (spec.width, spec.height)
        c = spec.channels
        src = ctx.texture(size, c, dtype="f1" if spec.is_integer else "f4", alignment=1)
        work = ctx.texture(size, 4, dtype="f4")
        out_components = 1 if c == 1 else 4
        dst = ctx.texture(size, out_components, dtype="u1" if spec.is_integer else "f4")
        for texture in (src, work, dst):
            texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
        table = decode_table("uint8", spec.space, "float32") - np.float32(INT_CENTRE)
        return {
            "src": src,
            "work": work,
            "dst": dst,
            "table": ctx.buffer(np.ascontiguousarray(table, np.float32).tobytes()),
            "kernel": None,
            "decode": self._gl.program(_decode_source(spec)),
            "filter": self._gl.program(_filter_source(spec)),
        }

    def _dense(self) -> tuple[np.ndarray, float]:
        """The float32 dense kernel of the current weights and the filter's ``F(0)``."""
        with self._lock:
            plan, weights = self._plan, self._weights
        applied = plan.weights(weights)
        dense = dense_kernel(applied, plan.taps_y, plan.taps_x)
        return dc_corrected(dense, np.dtype(np.float32)), plan.dc_gain(weights)

    def _upload_kernel(self) -> None:
        dense, dc = self._dense()

        def write() -> None:
            data = np.ascontiguousarray(dense, np.float32).tobytes()
            buffer = self._gpu["kernel"]
            if buffer is None or buffer.size != len(data):
                if buffer is not None:
                    buffer.release()
                buffer = self._gpu["kernel"] = self._gl.ctx.buffer(data)
            else:
                buffer.write(data)
            self._gpu["radius"] = (dense.shape[1] // 2, dense.shape[0] // 2)
            self._gpu["dc"] = dc

        self._gl.run(write)

    # ------------------------------------------------------------------ weights
    def set_filter(self, filt: DeconvFilter) -> bool:
        """Use ``filt``; returns False when its terms differ (the kernel is rebuilt)."""
        plan = FilterPlan.from_filter(filt, np.float64)
        with self._set_lock:
            with self._lock:
                same = plan.same_terms(self._plan)
                if not same:
                    self._plan = plan
                    self._replans += 1
                self._weights = np.asarray(filt.weights, dtype=np.float64).copy()
            self._upload_kernel()
        return same

    def set_weights(self, weights: np.ndarray) -> None:
        """Replace the per-term weights: the kernel buffer is rewritten, nothing compiled."""
        weights = np.asarray(weights, dtype=np.float64)
        with self._set_lock:
            with self._lock:
                self._weights = weights.copy()
            self._upload_kernel()

    def describe(self) -> dict[str, Any]:
        """Backend, renderer, kernel size and how often the terms changed."""
        rx, ry = self._gpu["radius"]
        return {
            "backend": self.name,
            "renderer": self._gl.renderer,
            "software_renderer": is_software_renderer(self._gl.renderer),
            "strategy": "dense",
            "kernel": (2 * ry + 1, 2 * rx + 1),
            "terms": self._plan.size,
            "replans": self._replans,
        }

    # ------------------------------------------------------------------ frames
    def view(self, a: np.ndarray) -> np.ndarray:
        """The host array itself; a GPU array is refused by name."""
        return host_array(a, "gl")

    def empty_like(self, frame: np.ndarray) -> np.ndarray:
        """A new output array for ``frame``."""
        return np.empty(self.spec.shape, self.spec.dtype)

    def all_finite(self, frame: np.ndarray) -> bool:
        """NaN/Inf check on the host (the frame is there before its upload)."""
        return values_in_range(frame)

    def __call__(
        self,
        frame: np.ndarray,
        out: np.ndarray,
        *,
        check_finite: bool = False,
        like: Any = None,
        in_place: bool = False,
    ) -> None:
        """Restore ``frame`` (already validated) into ``out`` (same shape and dtype)."""
        if check_finite and not self.all_finite(frame):
            raise NonFiniteFrameError()
        frame = np.ascontiguousarray(frame)
        centre = self._centre(frame)
        result = self._gl.run(self._run, frame, centre)
        spec = self.spec
        if spec.channels == 3:
            np.copyto(out, result.reshape(spec.height, spec.width, 4)[..., :3])
        else:
            np.copyto(out, result.reshape(spec.shape))

    def _centre(self, frame: np.ndarray) -> np.ndarray:
        """Per colour channel level subtracted before filtering (as the CPU backend)."""
        spec = self.spec
        if spec.is_integer:
            return np.full(3, INT_CENTRE)
        level = float_level(frame, spec.channels, spec.colour_channels).astype(np.float32)
        return level if level.size == 3 else np.array([level[0], 0.0, 0.0], np.float32)

    def _run(self, frame: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """Upload, decode, filter, read back: on the GL thread."""
        import moderngl

        gpu, ctx, spec = self._gpu, self._gl.ctx, self.spec
        gpu["src"].write(frame.tobytes(), alignment=1)
        groups = (math.ceil(spec.width / GROUP), math.ceil(spec.height / GROUP))
        centre4 = (*(float(v) for v in centre), 0.0)

        decode = gpu["decode"]
        gpu["src"].use(location=0)
        gpu["work"].bind_to_image(1, read=False, write=True)
        gpu["table"].bind_to_storage_buffer(2)
        _set(decode, "u_src", 0)
        _set(decode, "u_centre", centre4)
        _set(decode, "u_luma", self._luma)
        decode.run(*groups)
        ctx.memory_barrier(moderngl.TEXTURE_FETCH_BARRIER_BIT)

        filt = gpu["filter"]
        gpu["work"].use(location=0)
        gpu["src"].use(location=1)
        gpu["dst"].bind_to_image(1, read=False, write=True)
        gpu["kernel"].bind_to_storage_buffer(3)
        _set(filt, "u_work", 0)
        _set(filt, "u_src", 1)
        _set(filt, "u_radius", gpu["radius"])
        _set(filt, "u_dc", float(gpu["dc"]))
        _set(filt, "u_centre", centre4)
        luma_level = float(np.dot(self._luma, np.asarray(centre, np.float64)))
        _set(filt, "u_luma_level", luma_level)
        filt.run(*groups)
        ctx.memory_barrier(moderngl.TEXTURE_UPDATE_BARRIER_BIT)
        dtype = np.uint8 if spec.is_integer else np.float32
        return np.frombuffer(gpu["dst"].read(alignment=1), dtype)

    def release(self) -> None:
        """Free this backend's textures and buffers now (the shared programs stay)."""
        self._gl.run(_free, self._gpu)


_OWNED = ("src", "work", "dst", "table", "kernel")


def _free(gpu: dict[str, Any]) -> None:
    for key in _OWNED:
        if gpu.get(key) is not None:
            gpu[key].release()
            gpu[key] = None


def _set(program: Any, name: str, value: Any) -> None:
    """Set a uniform the compiler kept (an unused one is optimised away, which is fine)."""
    member = program.get(name, None)
    if member is not None:
        member.value = value
