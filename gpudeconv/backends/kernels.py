"""The fused kernel's specialisations, its source, and how each toolchain compiles it.

One loader for every consumer: the CUDA backend (CuPy ``RawModule`` with
``name_expressions``), the NVRTC compile tests, ``nvcc --resource-usage``, and the host
emulation (g++). All of them compile :func:`kernel_code`, so they see the same text.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._resources import kernel_source
from ..frames import BOUNDARIES, FrameSpec

__all__ = [
    "BLOCK",
    "NVRTC_OPTIONS",
    "TILE",
    "KernelSpec",
    "all_specs",
    "index_type",
    "kernel_code",
    "shared_bytes",
]

#: Threads per block and output tile, as #defined in kernels/deconv.cu.
BLOCK = (32, 8)
TILE = (32, 32)  # (x, y)
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
            f"{int(self.luma)}, {BOUNDARIES.index(self.boundary)}, {self.index}>"
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
        _CTYPE, (1, 3, 4), (False, True), BOUNDARIES, ("int", "long long")
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


@lru_cache(maxsize=4)
def kernel_code(name: str = "deconv.cu") -> str:
    """The kernel source with its local ``#include "…"`` files inlined (one text)."""

    def inline(match: re.Match[str]) -> str:
        return kernel_source(match.group(1))

    return re.sub(r'^#include "([^"]+)"$', inline, kernel_source(name), flags=re.MULTILINE)


def code_hash(*parts: str) -> str:
    """Short content hash of source text plus build flags (cache keys)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
