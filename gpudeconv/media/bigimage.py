"""Images larger than memory: TIFF and Zarr, restored band by band on Dask.

``gpudeconv deblur big.tif out.zarr`` (any pair of ``.tif``/``.tiff``/``.zarr``; a TIFF
pair streams when the image has more than :data:`STREAM_PIXELS` pixels) opens the input
lazily — tifffile's Zarr view of the TIFF's strips or tiles, or the Zarr array itself —
restores it with :func:`gpudeconv.media.dask.deblur` (``map_overlap``: blocks with a halo of the
filter's radius, so the result equals the in-memory one) and writes one band of
:data:`BAND_ROWS` rows at a time. Memory holds a band and its halo, never the image: the
peak RSS of a 20 000 × 20 000 RGB image is measured by ``python -m bench.bigimage``.

Outputs follow the rules of every gpudeconv output (:mod:`gpudeconv.media.io`): written beside
the target under a temporary name and renamed into place when complete; a Zarr store is
a folder and replaces an existing store only with ``overwrite``.

TIFF samples are RGB(A) (``channel_order='rgb'``); 8- and 16-bit integers and float32.
Needs the ``dask`` extra (``pip install 'gpudeconv[dask]'``: dask, tifffile, zarr).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.frames import FrameSpec
from ..errors import GpudeconvError, InvalidArgumentError
from ..restoration.methods import AutoRestorer, PsfRestorer
from .io import PendingFolder, PendingOutput, check_output

if TYPE_CHECKING:
    from ..fit import DeconvFilter
    from .files import _Job

__all__ = ["STREAM_PIXELS", "STREAM_SUFFIXES", "deblur_big", "open_lazy", "streams"]

STORE_SUFFIX = ".zarr"
TIFF_SUFFIXES = (".tif", ".tiff")
STREAM_SUFFIXES = (*TIFF_SUFFIXES, STORE_SUFFIX)
#: TIFFs with more pixels than this stream: OpenCV reads at most 2^30 pixels, and the
#: in-memory path holds a few float copies of the image.
STREAM_PIXELS = 1 << 26
#: Rows per band (what memory holds), columns per block, and the output's tiles/chunks.
BAND_ROWS, BLOCK_COLS, TILE = 1024, 2048, 512
#: ``--psf auto`` estimates the blur on a centre crop of this size.
ESTIMATE_SIZE = 2048
#: ``--compare`` shows a centre crop of this size.
COMPARE_SIZE = 1024
DTYPES = (np.uint8, np.uint16, np.float32)


def _needs_extra() -> InvalidArgumentError:
    return InvalidArgumentError(
        "TIFF/Zarr streaming needs dask, tifffile and zarr: pip install 'gpudeconv[dask]'"
    )


def in_store(path: Path) -> bool:
    """Whether ``path`` is a Zarr store or an array inside one (``scan.zarr/level0``)."""
    return any(part.lower().endswith(STORE_SUFFIX) for part in path.parts)


def streams(source: Path, target: Path) -> bool:
    """Whether an input/output pair goes through the streaming path."""
    suffixes = (source.suffix.lower(), target.suffix.lower())
    if in_store(source) or STORE_SUFFIX == suffixes[1]:
        return True
    if all(s in TIFF_SUFFIXES for s in suffixes) and source.is_file():
        try:
            import tifffile
        except ImportError:
            return False  # the in-memory path reads it (up to OpenCV's limit)
        try:
            with tifffile.TiffFile(source) as tif:
                series = tif.series[0]
                rows, cols = (series.shape[series.axes.index(a)] for a in "YX")
                return rows * cols > STREAM_PIXELS
        except Exception:  # unreadable here: the in-memory path reports it in one line
            return False
    return False


@contextmanager
def open_lazy(path: str | Path) -> Iterator[Any]:
    """Open a TIFF or Zarr image as a Dask array (nothing read yet); closed on exit."""
    try:
        import dask.array as da
        import tifffile
        import zarr
    except ImportError:
        raise _needs_extra() from None
    path = Path(path)
    suffix = path.suffix.lower()
    closing: Any = None
    try:
        if in_store(path):
            if not path.is_dir():
                raise InvalidArgumentError(f"input {str(path)!r} is not a Zarr store (a folder)")
            node = zarr.open(str(path), mode="r")
            if not hasattr(node, "shape"):
                raise InvalidArgumentError(
                    f"input {str(path)!r} is a Zarr group; give the path of one array in it"
                )
            _check_declared(path, node.shape, node.chunks)
            array = da.from_zarr(node)
        elif suffix in TIFF_SUFFIXES:
            if not path.is_file():
                raise InvalidArgumentError(f"input {str(path)!r} does not exist or is not a file")
            with tifffile.TiffFile(path) as tif:
                axes = tif.series[0].axes
                photometric = tif.pages.first.photometric
            if photometric not in (
                tifffile.PHOTOMETRIC.MINISBLACK,
                tifffile.PHOTOMETRIC.RGB,
            ):  # palette indices are no intensities; CMYK's K is no alpha; MINISWHITE inverts
                raise InvalidArgumentError(
                    f"{str(path)!r} is a {photometric.name} TIFF; streaming restores grey "
                    "(MINISBLACK) or RGB samples only: convert it first (e.g. to RGB)"
                )
            if axes not in ("YX", "YXS"):
                raise InvalidArgumentError(
                    f"{str(path)!r} is a TIFF of axes {axes!r}; streaming reads one image, "
                    "grey (YX) or with interleaved samples (YXS)"
                )
            closing = tifffile.imread(path, aszarr=True, series=0, level=0)
            node = zarr.open(closing, mode="r")
            _check_declared(path, node.shape, node.chunks)
            array = da.from_zarr(node)
        else:
            raise InvalidArgumentError(
                f"input {str(path)!r}: streaming reads {STREAM_SUFFIXES}; got {suffix!r}"
            )
    except (InvalidArgumentError, MemoryError):
        raise
    except Exception as exc:  # tifffile/zarr errors: one line naming the file
        raise InvalidArgumentError(f"cannot read {str(path)!r}: {exc}") from None
    try:
        _check_image(path, array)
        yield array
    finally:
        if closing is not None:
            closing.close()


#: The most pixels (H × W) and chunks a streamed image may declare: a 600-byte zarr.json
#: can declare 2^40 × 2^40, and Dask's graph for it filled 5 GB before any pixel was read.
#: 2^36 pixels is a 262 144² image; 2^20 chunks of even 256² cover it.
MAX_DECLARED_PIXELS = 1 << 36
MAX_CHUNKS = 1 << 20


def _check_declared(path: Path, shape: tuple[int, ...], chunks: tuple[int, ...]) -> None:
    """Refuse what a small file declares beyond any image we stream (before Dask sees it)."""
    pixels = int(shape[0]) * int(shape[1]) if len(shape) >= 2 else 0
    count = 1
    for size, chunk in zip(shape[:2], chunks[:2], strict=False):
        count *= -(-int(size) // max(int(chunk), 1))
    if pixels > MAX_DECLARED_PIXELS:
        raise InvalidArgumentError(
            f"{str(path)!r} declares {shape[1]}x{shape[0]} pixels, over the "
            f"{MAX_DECLARED_PIXELS:.3g} a streamed image may have"
        )
    if count > MAX_CHUNKS:
        raise InvalidArgumentError(
            f"{str(path)!r} declares {count} chunks of {chunks[:2]} pixels, over the "
            f"{MAX_CHUNKS} a streamed image may have: re-chunk it (e.g. 1024x1024)"
        )


def _check_image(path: Path, array: Any) -> None:
    channels_ok = array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4))
    if not channels_ok or 0 in array.shape:
        raise InvalidArgumentError(
            f"{str(path)!r} has shape {array.shape}; images are (H, W) or (H, W, C) with C "
            "in 1, 3, 4 (a multi-page TIFF's first series is read)"
        )
    if np.dtype(array.dtype) not in DTYPES:
        raise InvalidArgumentError(
            f"{str(path)!r} has {array.dtype} samples; streaming restores uint8, uint16, float32"
        )


def deblur_big(
    source: Path,
    target: Path,
    job: _Job,
    *,
    progress: bool = True,
    compare: Path | None = None,
) -> tuple[str, tuple[np.ndarray, np.ndarray] | None, PsfRestorer | AutoRestorer]:
    """Restore a big TIFF/Zarr image into a TIFF/Zarr output, band by band.

    Returns the summary line, the ``(input, output)`` centre crops for ``--compare``
    (None without it; OpenCV's channel order) and the restorer (its kernel, filter and
    estimate).
    """
    from . import dask as gdask

    out_suffix = target.suffix.lower()
    if out_suffix not in STREAM_SUFFIXES:
        raise InvalidArgumentError(
            f"output {str(target)!r}: a streamed image is written as {STREAM_SUFFIXES}"
        )
    check_output(
        target,
        inputs=[source, *job.inputs],
        overwrite=job.overwrite,
        store=out_suffix == STORE_SUFFIX,
    )
    with open_lazy(source) as array:
        options = {"space": job.space, "channel_order": "rgb", "luma_only": job.luma}
        if array.ndim == 2 or array.shape[2] == 1:
            options["luma_only"] = False
        spec = FrameSpec.create(array.shape, array.dtype, **options)
        array = array.rechunk({0: BAND_ROWS, 1: BLOCK_COLS})
        restorer, filt = _filter(job, spec, array)
        restored = gdask.deblur(array, filt, backend=job.backend, **options)
        start = time.perf_counter()
        writer = _write_zarr if out_suffix == STORE_SUFFIX else _write_tiff
        pending = (
            PendingFolder(target)
            if out_suffix == STORE_SUFFIX
            else PendingOutput(target, replace=job.overwrite)
        )
        with pending, _progress_bar(array.shape[0], progress) as bar:
            writer(pending.path, _bands(restored, bar, source), restored, spec)
        seconds = time.perf_counter() - start
        pair = _centre_crops(array, restored, spec) if compare is not None else None
    height, width = array.shape[:2]
    bits = np.dtype(array.dtype).itemsize * 8
    summary = (
        f"restored {source.name} ({width}x{height}, {bits}-bit, {spec.channels} channel(s)) "
        f"with {restorer.method} in {seconds:.1f} s ({height * width / seconds / 1e6:.1f} MP/s), "
        f"streamed in bands of {BAND_ROWS} rows -> {target}"
    )
    return summary, pair, restorer


def _filter(
    job: _Job, spec: FrameSpec, array: Any
) -> tuple[PsfRestorer | AutoRestorer, DeconvFilter]:
    """The restorer (its method, kernel and estimate) and the filter the blocks apply."""
    if job.kernel is None:  # auto: the blur of a centre crop (it is one lens, one blur)
        crop = array[_centre(array.shape, ESTIMATE_SIZE)].compute(scheduler="threads")
        crop_spec = FrameSpec.create(crop.shape, crop.dtype, **spec.options)
        auto = AutoRestorer(crop_spec, job.backend, method=job.method, noise=job.noise)
        return auto, auto.filter_for(crop)
    assert job.noise is not None
    known = PsfRestorer(job.method, job.kernel, job.noise, spec, job.backend, pipeline=False)
    if known.filter is None:
        raise InvalidArgumentError(
            f"--method {job.method} is a whole-image FFT; a streamed image needs a fitted "
            "filter (a small support): choose another --method"
        )
    return known, known.filter


def _centre(shape: tuple[int, ...], size: int) -> tuple[slice, slice]:
    rows, cols = min(shape[0], size), min(shape[1], size)
    top, left = (shape[0] - rows) // 2, (shape[1] - cols) // 2
    return slice(top, top + rows), slice(left, left + cols)


def _bands(restored: Any, bar: Any, source: Path) -> Iterator[tuple[int, np.ndarray]]:
    """``(first row, restored rows)`` per band, computed one band at a time."""
    for top in range(0, restored.shape[0], BAND_ROWS):
        try:
            band = restored[top : top + BAND_ROWS].compute(scheduler="threads")
        except (GpudeconvError, MemoryError):
            raise
        except Exception as exc:  # the decoder's (a codec, a truncated file): one line
            raise InvalidArgumentError(f"cannot read {str(source)!r}: {exc}") from None
        yield top, band
        bar.update(band.shape[0])


def _write_zarr(path: Path, bands: Iterator[tuple[int, np.ndarray]], like: Any, spec: Any) -> None:
    import zarr

    chunks = (TILE, TILE, *like.shape[2:])
    store = zarr.open_array(str(path), mode="w", shape=like.shape, chunks=chunks, dtype=like.dtype)
    for top, band in bands:
        store[top : top + band.shape[0]] = band


def _write_tiff(path: Path, bands: Iterator[tuple[int, np.ndarray]], like: Any, spec: Any) -> None:
    import tifffile

    def tiles() -> Iterator[np.ndarray]:
        for _, band in bands:
            for top in range(0, band.shape[0], TILE):
                for left in range(0, band.shape[1], TILE):
                    yield band[top : top + TILE, left : left + TILE]

    colour = like.ndim == 3 and like.shape[2] in (3, 4)
    tifffile.imwrite(
        path,
        tiles(),
        shape=like.shape,
        dtype=like.dtype,
        tile=(TILE, TILE),
        bigtiff=True,
        photometric="rgb" if colour else "minisblack",
        extrasamples=("unassalpha",) if colour and like.shape[2] == 4 else None,
        compression="zlib",
    )


def _centre_crops(array: Any, restored: Any, spec: FrameSpec) -> tuple[np.ndarray, np.ndarray]:
    """The input's and output's centre crops in OpenCV's (BGR) order, for the figure."""
    where = _centre(array.shape, COMPARE_SIZE)
    pair = []
    for image in (array, restored):
        crop = np.asarray(image[where].compute(scheduler="threads"))
        if crop.ndim == 3 and crop.shape[2] >= 3:
            crop = crop[..., [2, 1, 0, *range(3, crop.shape[2])]]
        pair.append(np.squeeze(crop, axis=2) if crop.ndim == 3 and crop.shape[2] == 1 else crop)
    return pair[0], pair[1]


def _progress_bar(rows: int, enabled: bool) -> Any:
    import sys

    from tqdm import tqdm

    return tqdm(total=rows, unit="row", disable=not enabled, file=sys.stderr, dynamic_ncols=True)
