"""Images larger than memory on Dask: the filter applied chunk by chunk, with a halo.

A fitted filter reaches a few pixels, so ``dask.array.map_overlap`` with a halo of the
filter's radius gives every chunk what it needs: each block is restored by an ordinary
:class:`~gpudeconv.engine.pipeline.Pipeline` and its halo is trimmed away. The image's own
border follows the frame's ``boundary`` (``reflect`` → Dask's ``'reflect'``, the same
mirror with the edge pixel repeated; ``clamp`` → ``'nearest'``), so the result equals the
in-memory pipeline's to float rounding for every chunking (the tests check it).

Blocks in CuPy arrays run on the CUDA backend. Each worker process keeps its pipelines
(one per block shape, dtype and filter) and reuses them across chunks.

Needs ``dask[array]`` (``pip install 'gpudeconv[dask]'``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from ..core.frames import FrameSpec
from ..engine.pipeline import Pipeline
from ..errors import InvalidArgumentError, InvalidTypeError
from ..fit import DeconvFilter, fit

__all__ = ["deblur"]

#: Frame boundary rule → Dask's name for the same padding.
DASK_BOUNDARY = {"reflect": "reflect", "clamp": "nearest"}
#: Pipelines kept per process (block shapes at the array's edges differ).
CACHE_SIZE = 32

_cache: OrderedDict[tuple, Pipeline] = OrderedDict()
_cache_lock = threading.Lock()


def deblur(
    array: Any,
    filter_or_psf: DeconvFilter | np.ndarray,
    *,
    noise: float | None = None,
    backend: str = "auto",
    **frame_options: Any,
) -> Any:
    """Restore a Dask array lazily; returns a Dask array of the same shape and dtype.

    Parameters
    ----------
    array : dask.array.Array
        ``(H, W)`` or ``(H, W, C)`` with channels last (C in 1, 3, 4), any chunking;
        float32, uint8 or uint16 (as for :class:`~gpudeconv.engine.pipeline.Pipeline`).
    filter_or_psf : DeconvFilter or ndarray
        A fitted filter, or a PSF to fit one for (then ``noise`` is required).
    noise : float, optional
        Noise std for fitting from a PSF.
    backend : str
        As for ``Pipeline``; CuPy blocks use ``cuda`` (or ``cuda-sim``, the emulator,
        when asked for by name).
    **frame_options
        As for ``Pipeline``: ``channel_order``, ``space``, ``luma_only``, ``boundary``.
    """
    import dask.array as da

    if not isinstance(array, da.Array):
        raise InvalidTypeError(
            f"array must be a dask.array.Array; got {type(array).__name__} "
            "(wrap it with dask.array.from_array, or use gpudeconv.Pipeline in memory)"
        )
    filt = _filter(filter_or_psf, noise)
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise InvalidArgumentError(
            f"array must be (H, W) or (H, W, C) and non-empty; got shape {array.shape}"
        )
    # Validates dtype, channels and options once, up front (blocks only vary in size).
    spec = FrameSpec.create(array.shape, array.dtype, **frame_options)
    ry = max(ky.size // 2 for ky, _ in filt.terms)
    rx = max(kx.size // 2 for _, kx in filt.terms)
    depth: dict[int, int] = {0: ry, 1: rx}
    if array.ndim == 3:
        depth[2] = 0
        array = array.rechunk({2: -1})  # a pixel's channels stay together
    for axis in (0, 1):
        # An axis no longer than two halos is one chunk: its block sees the true border
        # (the pipeline folds it as in memory), and no halo is needed.
        if array.shape[axis] <= 2 * depth[axis]:
            array = array.rechunk({axis: -1})
        if array.numblocks[axis] == 1:
            depth[axis] = 0
    options = tuple(sorted(frame_options.items()))
    digest = hashlib.sha256(filt.to_json().encode()).hexdigest()

    def restore_block(block: Any) -> Any:
        return _pipeline(filt, digest, block, options, backend)(block)

    return da.map_overlap(
        restore_block,
        array,
        depth=depth,
        boundary=DASK_BOUNDARY[spec.boundary],
        dtype=array.dtype,
        meta=array._meta,
        allow_rechunk=True,
    )


def _filter(filter_or_psf: Any, noise: float | None) -> DeconvFilter:
    if isinstance(filter_or_psf, DeconvFilter):
        if noise is not None:
            raise InvalidArgumentError("noise= is for fitting from a PSF; this is a filter")
        return filter_or_psf
    if noise is None:
        raise InvalidArgumentError("a PSF needs noise= (std in [0, 1]) to fit a filter for it")
    return fit(filter_or_psf, noise=noise)


def _pipeline(
    filt: DeconvFilter, digest: str, block: Any, options: tuple, backend: str
) -> Pipeline:
    """The process's pipeline for blocks like ``block`` (built once, then reused)."""
    on_gpu = type(block).__module__.startswith("cupy")
    # Device blocks need a device backend: 'cuda', or the emulator when asked for.
    chosen = ("cuda-sim" if backend == "cuda-sim" else "cuda") if on_gpu else backend
    key = (digest, block.shape, np.dtype(block.dtype).str, options, chosen)
    with _cache_lock:
        pipe = _cache.get(key)
        if pipe is not None:
            _cache.move_to_end(key)
            return pipe
    pipe = Pipeline(filt, shape=block.shape, dtype=block.dtype, backend=chosen, **dict(options))
    with _cache_lock:
        _cache[key] = pipe
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return pipe
