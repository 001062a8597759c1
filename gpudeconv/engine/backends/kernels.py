"""The fused kernel's specialisations, its source, and how each toolchain compiles it.

One loader for every consumer: the CUDA backend (CuPy ``RawModule`` with
``name_expressions``), the NVRTC compile tests, ``nvcc --resource-usage``, and the host
emulation (g++). All of them compile :func:`kernel_code`, so they see the same text.

The kernel source is the one source of truth for its geometry and enumerations: block and
tile sizes and the border codes are read back from its ``#define`` lines
(:func:`kernel_define`), never copied here by hand.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ...core._resources import kernel_source
from ...core.boundaries import BOUNDARIES, FRAME_BOUNDARIES
from ...core.frames import FrameSpec

__all__ = [
    "BLOCK",
    "NVRTC_OPTIONS",
    "TILE",
    "KernelSpec",
    "all_specs",
    "index_type",
    "kernel_code",
    "kernel_define",
    "shared_bytes",
]


@lru_cache(maxsize=4)
def kernel_code(name: str = "deconv.cu") -> str:
    """The kernel source with its local ``#include "…"`` files inlined (one text)."""

    def inline(match: re.Match[str]) -> str:
        return kernel_source(match.group(1))

    return re.sub(r'^#include "([^"]+)"$', inline, kernel_source(name), flags=re.MULTILINE)


@lru_cache(maxsize=64)
def kernel_define(macro: str) -> int:
    """The integer a ``#define`` of the kernel source gives ``macro`` (evaluated if simple).

    >>> kernel_define("GPUDECONV_BLOCK_X")
    32
    """
    found = re.search(rf"^#define {macro} (.+?)\s*(//.*)?$", kernel_code(), flags=re.MULTILINE)
    if found is None:
        raise KeyError(f"the kernel source does not #define {macro}")
    # Expand other GPUDECONV_ macros, then evaluate the integer expression (+ - * /).
    text = re.sub(r"GPUDECONV_\w+", lambda m: str(kernel_define(m.group(0))), found.group(1))
    try:
        return _integer_expression(ast.parse(text, mode="eval").body)
    except (SyntaxError, ValueError):
        raise ValueError(
            f"#define {macro} {found.group(1)!r} is not an integer expression"
        ) from None


_OPERATORS = {
    ast.Add: int.__add__,
    ast.Sub: int.__sub__,
    ast.Mult: int.__mul__,
    ast.Div: int.__floordiv__,
}


def _integer_expression(node: ast.AST) -> int:
    """Value of an integer expression of literals and + - * / (C's integer division)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        op = _OPERATORS[type(node.op)]
        return op(_integer_expression(node.left), _integer_expression(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_integer_expression(node.operand)
    raise ValueError("not an integer expression")


#: Threads per block and output tile, (x, y), as kernels/deconv.cu #defines them.
BLOCK = (kernel_define("GPUDECONV_BLOCK_X"), kernel_define("GPUDECONV_BLOCK_Y"))
TILE = (kernel_define("GPUDECONV_TILE_X"), kernel_define("GPUDECONV_TILE_Y"))
#: Options the backend passes to NVRTC (and the NVRTC tests use verbatim).
NVRTC_OPTIONS = ("-std=c++17",)
_CTYPE = {
    np.dtype(np.uint8): "unsigned char",
    np.dtype(np.uint16): "unsigned short",
    np.dtype(np.float32): "float",
}
_INT32_LIMIT = 2**31


def index_type(*nbytes: int) -> str:
    """``'int'`` when every buffer's byte extent fits in 31 bits, else ``'long long'``."""
    return "int" if max(nbytes) < _INT32_LIMIT else "long long"


@dataclass(frozen=True)
class KernelSpec:
    """One instantiation of ``gpudeconv::deconv_fused``."""

    dtype: np.dtype
    channels: int
    luma: bool
    boundary: str
    index: str = "int"

    @classmethod
    def for_frames(cls, spec: FrameSpec, index: str = "int") -> KernelSpec:
        """The instantiation a pipeline of ``spec`` needs."""
        return cls(spec.dtype, spec.channels, spec.luma_only, spec.boundary, index)

    @property
    def name(self) -> str:
        """The C++ name expression (also the kernel's demangled name)."""
        return (
            f"gpudeconv::deconv_fused<{_CTYPE[self.dtype]}, {self.channels}, "
            f"{int(self.luma)}, {border_code(self.boundary)}, {self.index}>"
        )

    @property
    def work_dtype(self) -> np.dtype:
        """Precision of taps, weights and tables: float64 for uint16 frames."""
        return np.dtype(np.float64 if self.dtype == np.uint16 else np.float32)

    @property
    def filtered_planes(self) -> int:
        """Planes held in shared memory: 1 (grey or luma) or 3."""
        return 1 if (self.luma or self.channels == 1) else 3


def all_specs() -> list[KernelSpec]:
    """Every instantiation the backend can request."""
    out = []
    for dtype, channels, luma, boundary, index in itertools.product(
        _CTYPE, (1, 3, 4), (False, True), FRAME_BOUNDARIES, ("int", "long long")
    ):
        if luma and channels == 1:
            continue
        out.append(KernelSpec(np.dtype(dtype), channels, luma, boundary, index))
    return out


def shared_bytes(spec: KernelSpec, radius: int) -> int:
    """Dynamic shared memory of one block, as laid out in kernels/deconv.cu.

    The input tile with halo and the mid tile (work precision), then for 8- and 16-bit
    frames the staging rows of the 16-byte load path.
    """
    tx, ty = TILE
    in_w, in_h = tx + 2 * radius, ty + 2 * radius
    tiles = spec.filtered_planes * (in_h * in_w + ty * in_w) * spec.work_dtype.itemsize
    offset = (tiles + 15) // 16 * 16
    if spec.dtype.itemsize > 2:
        return offset
    row_bytes = in_w * spec.channels * spec.dtype.itemsize
    return offset + in_h * ((row_bytes + 15) // 16 * 16 + 16)


def border_code(boundary: str) -> int:
    """The kernel's integer code of a boundary rule (its ``#define`` in common.cuh)."""
    macro = BOUNDARIES[boundary].kernel
    if macro is None:
        raise ValueError(f"boundary {boundary!r} has no kernel implementation")
    return kernel_define(macro)


def code_hash(*parts: str) -> str:
    """Short content hash of source text plus build flags (cache keys)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
