"""Find the CUDA kernel sources, installed (inside the wheel) or in a source checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import InvalidArgumentError

__all__ = ["kernel_names", "kernel_source"]


def _kernel_dir() -> Path:
    # A wheel force-includes kernels/ as gpudeconv/kernels; an editable or source-tree
    # import finds the top-level kernels/ beside the package instead.
    packaged = resources.files("gpudeconv") / "kernels"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "kernels"


def kernel_names() -> list[str]:
    """Names of the shipped kernel sources (``*.cu``, ``*.cuh``, the shim ``*.h``)."""
    folder = _kernel_dir()
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".cu", ".cuh", ".h"))


def kernel_source(name: str) -> str:
    """Text of ``kernels/<name>``; ``ValueError`` naming the shipped ones if it is missing."""
    available = kernel_names()
    if name not in available:
        raise InvalidArgumentError(f"Unknown kernel source {name!r}; shipped sources: {available}")
    return (_kernel_dir() / name).read_text(encoding="utf-8")
