"""A strict stand-in for CuPy, so the array-level device paths run in CI without a GPU.

Arrays of this module behave towards NumPy, SciPy and OpenCV as CuPy's do — which is what
a device path gets wrong when it slips a host call in:

- ``np.asarray(a)`` / ``np.array(a)`` / SciPy / OpenCV on one: ``TypeError`` (CuPy's
  ``__array__`` refuses implicit conversion; they all go through it);
- an operation mixing one with a NumPy array: ``TypeError`` (CuPy takes Python and NumPy
  scalars, never NumPy arrays);
- NumPy ufuncs and the NumPy functions CuPy overrides (``np.exp(a)``, ``np.where``…) run
  as this module's own (NEP 13/18), as CuPy's do;
- ``a.get()`` and ``asnumpy(a)`` are the ways to the host, and count as transfers.

The module is installed as ``cupy`` in ``sys.modules`` by the ``device_xp`` fixture (the
library imports CuPy lazily, by name, when an array's type comes from it). It computes
with NumPy underneath, so results can be compared with the host path exactly.

What it cannot show: the kernels themselves (the emulator runs those), streams, device
memory, and CuPy functions whose behaviour differs from NumPy's on the same call (a few
keyword defaults); those wait for a GPU (``make gpu-check``).
"""

from __future__ import annotations

import operator
import sys
import types
from typing import Any

import numpy as _np

#: Host ↔ device copies made so far and their bytes (``asarray`` of host data, a host
#: array assigned to a slice, ``get``/``asnumpy``).
transfers = {"to_device": 0, "to_host": 0, "to_device_bytes": 0, "to_host_bytes": 0}
#: Device → host synchronisations: a device value read as a Python bool, int or float.
syncs = {"count": 0}


class ndarray:  # CuPy's name
    """A device array: a NumPy array that refuses to be used as one."""

    __module__ = "cupy"
    __array_priority__ = 100

    def __init__(self, host: _np.ndarray) -> None:
        self._a = host

    # -- what CuPy refuses
    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly."
        )

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o) for o in out)
        result = getattr(ufunc, method)(*(_unwrap(x) for x in inputs), **kwargs)
        return _wrap(result)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    # -- the host, explicitly
    def get(self, stream: Any = None, out: Any = None, blocking: bool = True) -> _np.ndarray:
        transfers["to_host"] += 1
        transfers["to_host_bytes"] += self._a.nbytes
        if out is not None:
            _np.copyto(out, self._a)
            return out
        return self._a.copy()

    # -- attributes and methods: NumPy's, results kept on the device
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # NumPy's protocols (__array_interface__…) stay hidden
            raise AttributeError(name)
        value = getattr(self._a, name)
        if callable(value):
            return lambda *args, **kwargs: _wrap(value(*_unwrap(args), **_unwrap(kwargs)))
        return _wrap(value)

    def __getitem__(self, key: Any) -> Any:
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, _np.ndarray):  # CuPy uploads a host value assigned to a slice
            transfers["to_device"] += 1
            transfers["to_device_bytes"] += value.nbytes
            self._a[_unwrap(key)] = value
            return
        self._a[_unwrap(key)] = _unwrap(value)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        return (_wrap(x) for x in self._a)

    def __bool__(self) -> bool:  # a device → host sync, as in CuPy
        syncs["count"] += 1
        return bool(self._a)

    def __float__(self) -> float:
        syncs["count"] += 1
        return float(self._a)

    def __int__(self) -> int:
        syncs["count"] += 1
        return int(self._a)

    def __index__(self) -> int:
        syncs["count"] += 1
        return operator.index(self._a)

    def __complex__(self) -> complex:
        syncs["count"] += 1
        return complex(self._a)

    def __repr__(self) -> str:
        return f"strict_cupy.{self._a!r}"

    @property
    def T(self) -> ndarray:  # NumPy's name
        return ndarray(self._a.T)

    def __dlpack_device__(self) -> tuple[int, int]:
        return (2, 0)  # kDLCUDA: what CuPy arrays say

    def __sim_host__(self) -> _np.ndarray:
        """The memory the emulator's kernels read and write (backend ``cuda-sim``)."""
        return self._a


def _binary(name: str) -> Any:
    def method(self: ndarray, other: Any) -> Any:
        return _wrap(getattr(self._a, name)(_unwrap(other)))

    method.__name__ = name
    return method


def _unary(name: str) -> Any:
    def method(self: ndarray) -> Any:
        return _wrap(getattr(self._a, name)())

    method.__name__ = name
    return method


for _name in (
    "add sub mul truediv floordiv mod pow matmul and or xor lshift rshift lt le gt ge eq ne".split()
):
    for _form in ("__{}__", "__r{}__", "__i{}__"):
        _dunder = _form.format(_name)
        if hasattr(_np.ndarray, _dunder):
            setattr(ndarray, _dunder, _binary(_dunder))
for _dunder in ("__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(ndarray, _dunder, _unary(_dunder))


def _unwrap(value: Any) -> Any:
    """Device arrays as their NumPy arrays; a NumPy array here is a host array: refused."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, _np.ndarray):
        raise TypeError(
            f"Unsupported type {type(value)}: a NumPy array met a device array (upload it "
            "with cupy.asarray first)"
        )
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _wrap(value: Any) -> Any:
    if isinstance(value, _np.ndarray):
        return ndarray(value)
    if isinstance(value, _np.generic):  # CuPy's reductions give 0-d device arrays
        return ndarray(_np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


# ---------------------------------------------------------------------------- the module
def asarray(a: Any, dtype: Any = None, order: Any = None, *, blocking: bool = False) -> ndarray:
    """Upload host data (or take a device array as it is)."""
    if isinstance(a, ndarray):
        return a if dtype is None else ndarray(a._a.astype(dtype, copy=False))
    host = _np.array(a, dtype=dtype, order=order or "K", copy=True)
    transfers["to_device"] += 1
    transfers["to_device_bytes"] += host.nbytes
    return ndarray(host)


def array(a: Any, dtype: Any = None, copy: bool = True, order: str = "K") -> ndarray:
    if isinstance(a, ndarray):
        return ndarray(_np.array(a._a, dtype=dtype, copy=copy, order=order))
    return asarray(a, dtype, order)


def asnumpy(a: Any, stream: Any = None, out: Any = None) -> _np.ndarray:
    if isinstance(a, ndarray):
        return a.get(out=out)
    return _np.asarray(a)


def ascontiguousarray(a: Any, dtype: Any = None) -> ndarray:
    return ndarray(_np.ascontiguousarray(_unwrap(asarray(a)), dtype=dtype))


def get_array_module(*arrays: Any) -> Any:
    return sys.modules["cupy"] if any(isinstance(a, ndarray) for a in arrays) else _np


class _Namespace(types.ModuleType):
    """NumPy's functions (or a submodule's) taking and giving device arrays."""

    def __init__(self, name: str, source: Any) -> None:
        super().__init__(name)
        self._source = source

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._source, name)
        if isinstance(value, types.ModuleType):
            return _Namespace(f"{self.__name__}.{name}", value)
        if callable(value) and not isinstance(value, type):

            def call(*args: Any, **kwargs: Any) -> Any:
                return _wrap(value(*_unwrap(args), **_unwrap(kwargs)))

            call.__name__ = name
            return call
        return value


fft = _Namespace("cupy.fft", _np.fft)
linalg = _Namespace("cupy.linalg", _np.linalg)
random = _Namespace("cupy.random", _np.random)
_numpy = _Namespace("cupy", _np)
cuda = types.SimpleNamespace()  # no streams here: code that needs them is the backend's


def __getattr__(name: str) -> Any:
    """Everything else: NumPy's function of that name, on device arrays."""
    return getattr(_numpy, name)


def install() -> Any:
    """Put this module in ``sys.modules`` as ``cupy``; returns it."""
    module = sys.modules[__spec__.name]
    sys.modules["cupy"] = module
    return module


def reset_transfers() -> None:
    """Start counting transfers and syncs afresh."""
    for key in transfers:
        transfers[key] = 0
    syncs["count"] = 0
