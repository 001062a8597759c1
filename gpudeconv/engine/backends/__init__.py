"""Frame engines and how one is chosen: ``auto``, ``cpu``, ``cuda``, ``gl``, ``cuda-sim``.

:data:`BACKENDS` is the registry. A backend asked for by name that cannot run here raises
:class:`~gpudeconv.errors.BackendUnavailableError` with the reason; ``auto`` picks the
best usable one — CUDA, then a hardware OpenGL renderer (never a software one such as
Mesa's llvmpipe: the renderer's name says which), then the CPU — and records why.
``GPUDECONV_BACKEND`` overrides ``auto``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from ...core._registry import Registry
from ...core.frames import FrameSpec
from ...errors import BackendUnavailableError
from ...fit.filter import DeconvFilter
from .base import Backend

__all__ = ["BACKENDS", "ENV_VAR", "Backend", "create_backend", "cuda_unavailable_reason"]

ENV_VAR = "GPUDECONV_BACKEND"


def cuda_unavailable_reason() -> str | None:
    """Why the real CUDA backend cannot run here, or None when it can."""
    from .cuda import cuda_unavailable_reason as reason

    return reason()


def frame_limit_reason(spec: FrameSpec) -> str | None:
    """Why the CUDA kernel's launch cannot cover frames of ``spec``, or None."""
    from .cuda import frame_limit_reason as reason

    return reason(spec)


def _sim_unavailable_reason() -> str | None:
    from .cuda_sim import compiler_unavailable_reason

    return compiler_unavailable_reason()


def _gl_unavailable_reason() -> str | None:
    from .gl import gl_unavailable_reason

    return gl_unavailable_reason()


def _auto_gl_reason(spec: FrameSpec) -> str | None:
    """Why ``auto`` does not pick the GL backend for ``spec``, or None."""
    from .gl import gl_software_reason, spec_unsupported_reason

    return gl_software_reason() or spec_unsupported_reason(spec)


def _cpu(spec: FrameSpec, filt: DeconvFilter) -> Backend:
    from .cpu import CpuBackend

    return CpuBackend(spec, filt)


def _cuda(spec: FrameSpec, filt: DeconvFilter) -> Backend:
    from .cuda import CudaBackend, CupyRuntime

    return CudaBackend(spec, filt, CupyRuntime())


def _gl(spec: FrameSpec, filt: DeconvFilter) -> Backend:
    from .gl import GlBackend

    return GlBackend(spec, filt)


def _cuda_sim(spec: FrameSpec, filt: DeconvFilter) -> Backend:
    from .cuda import CudaBackend, SimRuntime

    return CudaBackend(spec, filt, SimRuntime())


@dataclass(frozen=True)
class BackendSpec:
    """One backend: what it is, why it may not run here, how to build it."""

    name: str
    help: str
    #: Why it cannot run on this machine, or None; None as a function: always available.
    unavailable: Callable[[], str | None] | None = None
    build: Callable[[FrameSpec, DeconvFilter], Backend] | None = None


BACKENDS: Registry[BackendSpec] = Registry(
    "backend",
    [
        BackendSpec(
            "auto",
            f"cuda when usable, else a hardware OpenGL GPU, else cpu ({ENV_VAR} overrides)",
        ),
        BackendSpec("cpu", "OpenCV on row strips, on every core", None, _cpu),
        BackendSpec(
            "cuda", "one fused CUDA kernel per frame (CuPy)", cuda_unavailable_reason, _cuda
        ),
        BackendSpec(
            "gl",
            "two OpenGL 4.3 compute passes per frame (moderngl; any GPU vendor)",
            _gl_unavailable_reason,
            _gl,
        ),
        BackendSpec(
            "cuda-sim",
            "the CUDA backend on a g++ emulation of the kernel (tests; slow)",
            _sim_unavailable_reason,
            _cuda_sim,
        ),
    ],
)


def create_backend(name: str, spec: FrameSpec, filt: DeconvFilter) -> tuple[Backend, str]:
    """Build the backend called ``name`` for ``spec``; returns ``(backend, reason)``."""
    BACKENDS.check(name)
    reason = f"backend {name!r} requested"
    if name == "auto":
        env = os.environ.get(ENV_VAR)
        if env:
            allowed = BACKENDS.names_where(lambda b: b.build is not None)
            name = BACKENDS.check(env, allowed=allowed, param=f"{ENV_VAR} environment variable")
            reason = f"{ENV_VAR}={env}"
        else:
            why_not = cuda_unavailable_reason() or frame_limit_reason(spec)
            if not why_not:
                name, reason = "cuda", "auto: CUDA usable"
            else:
                gl_why_not = _auto_gl_reason(spec)
                name = "cpu" if gl_why_not else "gl"
                reason = f"auto: CUDA not usable ({why_not})"
                reason += f"; OpenGL not chosen ({gl_why_not})" if gl_why_not else "; OpenGL GPU"
    entry = BACKENDS[name]
    why_not = entry.unavailable() if entry.unavailable else None
    if why_not:
        raise BackendUnavailableError(f"backend {name!r} cannot run: {why_not}")
    assert entry.build is not None  # every entry but 'auto' builds
    return entry.build(spec, filt), reason
