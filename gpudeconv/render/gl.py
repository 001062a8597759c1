"""Run an exported compute shader in a moderngl context: the filter inside a GL prototype.

:func:`gpudeconv.render.shaders.export` writes the source; :class:`ComputePass` compiles it in the
caller's context and applies it texture to texture, with no copy to the CPU. Any compute
shader with the same contract (``u_src`` sampler on unit 0, ``u_dst`` rgba32f image on
unit 1, 16×16 groups) runs the same way — the sharpeners in ``bench/`` do.

Needs ``moderngl`` (``pip install moderngl``) and an OpenGL 4.3 context, e.g.
``moderngl.create_standalone_context(backend="egl", require=430)`` (Mesa's llvmpipe works).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..fit import DeconvFilter
from .shaders import GROUP, export, uniform_bytes

__all__ = ["BLOCK", "ComputePass", "deblur_pass", "download", "upload"]

#: The uniform block of ``export(..., uniforms=True)``.
BLOCK = "GpudeconvFilter"


class ComputePass:
    """A compiled compute shader of the gpudeconv contract, in ``ctx``.

    Parameters
    ----------
    ctx : moderngl.Context
        OpenGL 4.3 or later.
    source : str
        GLSL compute source (e.g. from :func:`gpudeconv.render.shaders.export`).
    uniforms : bytes, optional
        Initial contents of the ``GpudeconvFilter`` uniform block, when the shader has one.
    """

    def __init__(self, ctx: Any, source: str, uniforms: bytes | None = None) -> None:
        self.ctx = ctx
        self.program = ctx.compute_shader(source)
        self.block = None
        declared = self.program.get(BLOCK, None)
        if declared is None and uniforms is not None:
            raise InvalidArgumentError(f"this shader has no {BLOCK} block to hold uniforms")
        if declared is not None:
            if uniforms is None:
                raise InvalidArgumentError(
                    f"this shader reads its weights from the {BLOCK} block: pass "
                    "uniforms=gpudeconv.render.shaders.uniform_bytes(filter, weights)"
                )
            self.block_size = declared.size
            self.block = ctx.buffer(self._checked(uniforms))

    def _checked(self, data: bytes) -> bytes:
        if not isinstance(data, (bytes, bytearray)) or len(data) != self.block_size:
            got = len(data) if isinstance(data, (bytes, bytearray)) else type(data).__name__
            raise InvalidArgumentError(
                f"the {BLOCK} block takes {self.block_size} bytes "
                f"(gpudeconv.render.shaders.uniform_bytes); got {got}"
            )
        return bytes(data)

    def set_uniforms(self, data: bytes) -> None:
        """Replace the uniform block's contents (new weights, no recompilation)."""
        if self.block is None:
            raise InvalidArgumentError(f"this shader was built without a {BLOCK} block")
        self.block.write(self._checked(data))

    def __setitem__(self, name: str, value: Any) -> None:
        """Set a plain uniform of the program (the peers' ``u_sharpness`` and the like)."""
        self.program[name].value = value

    def __call__(self, src: Any, dst: Any) -> None:
        """Filter texture ``src`` into texture ``dst`` (same size, ``dst`` rgba32f)."""
        if src.size != dst.size:
            raise InvalidArgumentError(f"src is {src.size} but dst is {dst.size}")
        if src is dst or src.glo == dst.glo:
            raise InvalidArgumentError("src and dst must be different textures")
        if dst.components != 4 or dst.dtype != "f4":
            raise InvalidArgumentError(
                f"dst must be an RGBA float32 texture (rgba32f); got {dst.components} "
                f"components of {dst.dtype}"
            )
        src.use(location=0)
        dst.bind_to_image(1, read=False, write=True)
        if self.block is not None:
            self.block.bind_to_uniform_block(0)
        w, h = src.size
        self.program.run(group_x=math.ceil(w / GROUP), group_y=math.ceil(h / GROUP))

    def release(self) -> None:
        """Free the program and the uniform block."""
        self.program.release()
        if self.block is not None:
            self.block.release()


def deblur_pass(
    ctx: Any, filt: DeconvFilter, *, boundary: str = "reflect", uniforms: bool = False
) -> ComputePass:
    """``filt`` as a compiled :class:`ComputePass` (weights baked, or in a uniform block)."""
    source = export(filt, "glsl-compute", boundary=boundary, uniforms=uniforms)
    return ComputePass(ctx, source, uniform_bytes(filt) if uniforms else None)


def upload(ctx: Any, rgba: np.ndarray) -> Any:
    """An RGBA float32 texture (nearest filtering) holding ``rgba`` (h, w, 4)."""
    import moderngl

    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise InvalidArgumentError(f"rgba must have shape (h, w, 4); got {rgba.shape}")
    if rgba.dtype.kind != "f":
        # An 8-bit frame would land as 0..255 in a float texture: say so, not guess.
        raise InvalidArgumentError(
            f"rgba must be float (linear values, 1.0 = white); got {rgba.dtype}"
        )
    data = np.ascontiguousarray(rgba, np.float32)
    texture = ctx.texture(rgba.shape[1::-1], 4, data=data.tobytes(), dtype="f4")
    texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
    return texture


def download(texture: Any) -> np.ndarray:
    """An RGBA float32 texture's contents as an (h, w, 4) array."""
    w, h = texture.size
    return np.frombuffer(texture.read(), np.float32).reshape(h, w, 4).copy()
