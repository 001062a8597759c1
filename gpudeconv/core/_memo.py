"""Per-device memos of spectra: built on the host once, uploaded once, reused per call.

The FFT methods need a response on the padded grid of every call (the PSF's OTF, the
Wiener or CG operators). Computed on the host in float64 and uploaded, that is a host FFT
and a full-grid copy per call — per frame of a video. The last few are kept here, keyed
by what they depend on and by the device that holds them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["MEMO_SIZE", "clear", "grid_memo", "kernel_key", "memo", "params_key"]

#: Responses kept (each up to a grid of complex values: 66 MB for a 4K frame in float32).
MEMO_SIZE = 2

_MEMO: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_LOCK = threading.Lock()


def kernel_key(kernel: np.ndarray) -> tuple[Any, ...]:
    """A PSF's identity: its shape and a digest of its values."""
    kernel = np.ascontiguousarray(kernel, dtype=np.float64)
    return kernel.shape, hashlib.sha1(kernel.tobytes()).hexdigest()


def params_key(params: dict[str, Any]) -> tuple[Any, ...]:
    """Keyword parameters as a key (arrays by digest: a repr would elide their values)."""
    return tuple(
        (name, value if isinstance(value, (int, float, str, type(None))) else kernel_key(value))
        for name, value in sorted(params.items())
    )


def _device(xp: Any) -> tuple[str, int]:
    device = getattr(getattr(xp, "cuda", None), "Device", None)
    return xp.__name__, device().id if device is not None else 0


def memo(key: tuple[Any, ...], xp: Any, build: Callable[[], Any]) -> Any:
    """``build()`` for ``key`` on ``xp``'s current device, from the memo when it is there."""
    full = (*key, *_device(xp))
    with _LOCK:
        if full in _MEMO:
            _MEMO.move_to_end(full)
            return _MEMO[full]
    value = build()  # outside the lock: a host FFT of a big grid takes a while
    with _LOCK:
        _MEMO[full] = value
        _MEMO.move_to_end(full)
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def clear() -> None:
    """Forget every memo (tests; freeing device memory)."""
    with _LOCK:
        _MEMO.clear()


def grid_memo(
    name: str,
    kernel: np.ndarray,
    shape: tuple[int, int],
    dtype: Any,
    params: dict[str, Any],
    xp: Any,
    build: Callable[[], Any],
) -> Any:
    """:func:`memo` for an operator on a padded FFT grid.

    Keyed by the PSF, the grid, the working precision and the regularisation parameters.
    """
    key = (name, kernel_key(kernel), tuple(shape), np.dtype(dtype).str, params_key(params))
    return memo(key, xp, build)
