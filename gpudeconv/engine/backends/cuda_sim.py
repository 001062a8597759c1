"""Host emulation of the CUDA kernels: g++ builds them with ``kernels/host_shim.h``.

:class:`SimModule` looks like a CuPy ``RawModule`` (``get_function(name)`` returning a
callable ``(grid, block, args, shared_mem=0)``), so the CUDA backend's own Python code runs
unchanged on NumPy arrays as backend ``cuda-sim``. Libraries are cached on disk by a hash
of the source, the instantiation and the flags. ``GPUDECONV_SIM_SANITIZE=address`` (or
``thread``) builds with sanitizers, for tests that run it in a subprocess.

The GPU's float arithmetic is modelled where the host can:

- **fused multiply-adds**: nvcc contracts ``a * b + c`` into one FMA by default; the
  build does too (``-ffp-contract=fast``) — but GCC contracts only into instructions the
  target has, and baseline x86-64 has none, so ``-mfma`` is added where the CPU has FMA
  (:data:`SIM_FMA`; without it the emulator rounds each step, and says so). GCC and nvcc
  may still pick different pairs to fuse: the tolerance between emulator and GPU stays.
- **flush to zero**: CuPy compiles with ``-ftz=true``, so float denormals read and
  written by the kernel are zero; each emulated thread sets the SSE FTZ and DAZ bits
  (``kernels/host_shim.h``). On the host this also flushes doubles, which the GPU keeps:
  the double (uint16) path never meets a denormal (codes are 0 or ≥ 1/65535).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ...core._resources import kernel_source
from ...errors import BackendUnavailableError, InvalidArgumentError, InvalidTypeError
from .kernels import code_hash, kernel_code

__all__ = [
    "SIM_FMA",
    "SimModule",
    "compiler_unavailable_reason",
    "sim_function",
    "sim_source",
]


def _host_has_fma() -> bool:
    """Whether this x86-64 CPU has FMA instructions (so ``-mfma`` code runs here)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(line.startswith("flags") and " fma" in line for line in flags.splitlines())


#: Whether the emulator fuses multiply-adds as the GPU does (see the module notes).
SIM_FMA = _host_has_fma()
_BASE_FLAGS = (
    "-std=c++20",
    "-O2",
    "-ffp-contract=fast",
    *(("-mfma",) if SIM_FMA else ()),
    "-fPIC",
    "-shared",
    "-pthread",
    "-w",
)
_SANITIZE = {
    "": (),
    "address": (
        "-fsanitize=address,undefined",
        "-fno-omit-frame-pointer",
        "-g",
        "-fno-sanitize-recover=undefined",
    ),
    "thread": ("-fsanitize=thread", "-g"),
}
_SCALARS = {
    np.dtype(np.int32): ctypes.c_int32,
    np.dtype(np.int64): ctypes.c_int64,
    np.dtype(np.uint64): ctypes.c_uint64,  # also a pointer (null pointers are passed so)
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float64): ctypes.c_double,
}


def compiler_unavailable_reason() -> str | None:
    """Why the emulation cannot be built here (no g++), or None."""
    return None if shutil.which("g++") else "g++ is not on PATH (needed to build cuda-sim)"


def _cache_dir() -> Path:
    """The folder of built libraries: ours alone, or refused.

    A library found there is loaded into this process and runs, so the folder (and the
    ``gpudeconv`` folder holding it) must be owned by this user and writable by nobody
    else; it is created 0700.
    """
    root = Path(
        os.environ.get("GPUDECONV_CACHE_DIR")
        or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gpudeconv"
        )
    )
    path = root / "sim"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.mkdir(mode=0o700, exist_ok=True)
    for folder in (root, path):
        info = os.stat(folder)
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            raise BackendUnavailableError(
                f"the emulation cache {str(folder)!r} is owned by another user or writable by "
                "others; a library loaded from there could run anyone's code (fix its "
                "owner/mode, or set GPUDECONV_CACHE_DIR to a folder of your own)"
            )
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cached(target: Path) -> bool:
    """A built library is reused only if its content matches the digest its build recorded."""
    record = target.with_suffix(".sha256")
    try:
        return record.read_text().strip() == _digest(target)
    except OSError:
        return False


def sim_source(names: list[str], code: str | None = None) -> str:
    """A translation unit: shim, kernel source, one ``extern "C"`` launcher per name."""
    lines = ['#include "host_shim.h"', code if code is not None else kernel_code()]
    for i, name in enumerate(names):
        lines.append(
            f'extern "C" void gpudeconv_launch_{i}(unsigned gx, unsigned gy, unsigned gz, '
            "unsigned bx, unsigned by, unsigned bz, std::size_t shared, void** args) {\n"
            f"    gpudeconv_sim::launch(&{name}, dim3(gx, gy, gz), dim3(bx, by, bz), "
            "shared, args);\n}"
        )
    return "\n".join(lines) + "\n"


def build_library(
    names: list[str], *, sanitize: str = "", code: str | None = None, out: Path | None = None
) -> Path:
    """Compile ``names`` into a shared library (cached); returns its path."""
    if sanitize not in _SANITIZE:
        raise InvalidArgumentError(
            f"Invalid sanitize {sanitize!r}; expected one of {tuple(_SANITIZE)}"
        )
    reason = compiler_unavailable_reason()
    if reason:
        raise BackendUnavailableError(f"cannot build the CUDA emulation: {reason}")
    source = sim_source(names, code)
    shim = kernel_source("host_shim.h")
    flags = (*_BASE_FLAGS, *_SANITIZE[sanitize])
    target = out or _cache_dir() / f"sim-{code_hash(source, shim, *flags)}.so"
    if out is None and _cached(target):
        return target
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "host_shim.h").write_text(shim)
        (Path(tmp) / "unit.cpp").write_text(source)
        built = Path(tmp) / "lib.so"
        result = subprocess.run(
            ["g++", *flags, "-I", tmp, str(Path(tmp) / "unit.cpp"), "-o", str(built)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BackendUnavailableError(
                f"g++ failed to build the CUDA emulation: {_first_error(result.stderr)}"
            )
        # Atomic: concurrent builders never see half a file. The digest goes last, so a
        # library is trusted only once it is whole.
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(built, partial)
        os.replace(partial, target)
        if out is None:  # a cached library: record the digest its reuse is checked against
            record = target.with_suffix(f".{os.getpid()}.sha256tmp")
            record.write_text(_digest(target))
            os.replace(record, target.with_suffix(".sha256"))
    return target


_LAUNCH_LOCK = threading.Lock()


def _first_error(stderr: str) -> str:
    """The first line of a compiler's output that says 'error' (all of it if none does)."""
    lines = [line for line in stderr.splitlines() if "error" in line.lower()]
    return (lines[0] if lines else stderr.strip()).strip()[:500]


def _c_argument(value: Any) -> Any:
    """A ctypes object holding one kernel argument, as cuLaunchKernel expects it."""
    if value is None:
        return ctypes.c_void_p(None)
    if isinstance(value, np.ndarray):
        return ctypes.c_void_p(value.ctypes.data)
    if isinstance(value, np.generic) and value.dtype in _SCALARS:
        return _SCALARS[value.dtype](value.item())
    raise InvalidTypeError(
        f"kernel arguments must be NumPy arrays, None or NumPy scalars of "
        f"{sorted(str(d) for d in _SCALARS)}; got {type(value).__name__}"
    )


class SimFunction:
    """One emulated kernel, called like ``cupy.RawKernel``."""

    def __init__(self, launcher: Any, name: str) -> None:
        self._launcher = launcher
        self.name = name

    def __call__(
        self,
        grid: tuple[int, ...],
        block: tuple[int, ...],
        args: tuple[Any, ...],
        *,
        shared_mem: int = 0,
    ) -> None:
        """Run the kernel over ``grid`` blocks of ``block`` host threads."""
        grid3 = (*grid, 1, 1)[:3]
        block3 = (*block, 1, 1)[:3]
        values = [_c_argument(a) for a in args]
        pointers = (ctypes.c_void_p * len(values))(
            *[ctypes.cast(ctypes.pointer(v), ctypes.c_void_p) for v in values]
        )
        with _LAUNCH_LOCK:  # the shim's block state is global: one emulated launch at a time
            self._launcher(
                *[ctypes.c_uint(int(v)) for v in (*grid3, *block3)],
                ctypes.c_size_t(int(shared_mem)),
                pointers,
            )


class SimModule:
    """The emulated counterpart of ``cupy.RawModule(code, name_expressions=names)``."""

    def __init__(self, names: list[str], *, sanitize: str = "") -> None:
        self.names = list(names)
        self._lib = ctypes.CDLL(str(build_library(self.names, sanitize=sanitize)))

    def get_function(self, name: str) -> SimFunction:
        """The kernel for one of the module's name expressions."""
        if name not in self.names:
            raise InvalidArgumentError(f"{name!r} is not in this module; it has {self.names}")
        return SimFunction(getattr(self._lib, f"gpudeconv_launch_{self.names.index(name)}"), name)


@cache
def sim_function(name: str) -> SimFunction:
    """The emulated kernel of one instantiation (a name expression), built once per process."""
    module = SimModule([name], sanitize=os.environ.get("GPUDECONV_SIM_SANITIZE", ""))
    return module.get_function(name)
