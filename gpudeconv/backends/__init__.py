"""Backend selection: ``auto``, ``cpu``, ``cuda`` (CuPy) and ``cuda-sim`` (its emulation).

A forced backend that cannot run raises ``ValueError`` with the reason; ``auto`` picks the
best usable one and records why. ``GPUDECONV_BACKEND`` overrides ``auto``.
"""

from __future__ import annotations

import os
from typing import Any

from .._validate import check_choice
from ..filters import DeconvFilter
from ..frames import FrameSpec

__all__ = ["BACKENDS", "create_backend", "cuda_unavailable_reason"]

BACKENDS = ("auto", "cpu", "cuda", "cuda-sim")
ENV_VAR = "GPUDECONV_BACKEND"


def cuda_unavailable_reason() -> str | None:
    """Why the real CUDA backend cannot run here, or None when it can."""
    from .cuda import cuda_unavailable_reason as reason

    return reason()


def create_backend(name: str, spec: FrameSpec, filt: DeconvFilter) -> tuple[Any, str]:
    """Build the backend called ``name`` for ``spec``; returns ``(backend, reason)``."""
    check_choice("backend", name, BACKENDS)
    reason = f"backend {name!r} requested"
    if name == "auto":
        env = os.environ.get(ENV_VAR)
        if env:
            check_choice(f"{ENV_VAR} environment variable", env, BACKENDS[1:])
            name, reason = env, f"{ENV_VAR}={env}"
        else:
            why_not = cuda_unavailable_reason()
            name = "cpu" if why_not else "cuda"
            reason = f"auto: CUDA not usable ({why_not})" if why_not else "auto: CUDA usable"
    if name == "cuda":
        why_not = cuda_unavailable_reason()
        if why_not:
            raise ValueError(f"backend 'cuda' cannot run: {why_not}")
        from .cuda import CudaBackend, CupyRuntime

        return CudaBackend(spec, filt, CupyRuntime()), reason
    if name == "cuda-sim":
        from .cuda import CudaBackend, SimRuntime
        from .cuda_sim import compiler_unavailable_reason

        why_not = compiler_unavailable_reason()
        if why_not:
            raise ValueError(f"backend 'cuda-sim' cannot run: {why_not}")
        return CudaBackend(spec, filt, SimRuntime()), reason
    from .cpu import CpuBackend

    return CpuBackend(spec, filt), reason
