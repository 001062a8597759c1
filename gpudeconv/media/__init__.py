"""Files, video, huge images and batches: how frames get in and out.

Layer 7 of 8: above :mod:`gpudeconv.restoration`. :mod:`~gpudeconv.media.io` reads and
writes images atomically; :mod:`~gpudeconv.media.video` decodes and encodes with PyAV;
:mod:`~gpudeconv.media.files` restores one photo or video file (what ``gpudeconv deblur``
runs); :mod:`~gpudeconv.media.bigimage`, :mod:`~gpudeconv.media.dask` and
:mod:`~gpudeconv.media.batch` take images larger than memory and folders of files.

``gpudeconv.media`` was a module before the package was cut by layer; its names stay here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "MediaError", "deblur_file", "read_photo"]


def __getattr__(name: str) -> Any:
    """The old module's names, from ``files`` when first asked for.

    Not imported with the package: ``gpudeconv.media.io`` (atomic outputs, used by
    ``gpudeconv export`` and ``fit -o``) must not pull in the restorers and video.
    """
    if name in __all__:
        from . import files

        return getattr(files, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
