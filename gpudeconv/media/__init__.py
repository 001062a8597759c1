"""Files, video, huge images and batches: how frames get in and out.

Layer 7 of 8: above :mod:`gpudeconv.restoration`. :mod:`~gpudeconv.media.io` reads and
writes images atomically; :mod:`~gpudeconv.media.video` decodes and encodes with PyAV;
:mod:`~gpudeconv.media.files` restores one photo or video file (what ``gpudeconv deblur``
runs); :mod:`~gpudeconv.media.bigimage`, :mod:`~gpudeconv.media.dask` and
:mod:`~gpudeconv.media.batch` take images larger than memory and folders of files.

``gpudeconv.media`` was a module before the package was cut by layer; its names stay here.
"""

from __future__ import annotations

from .files import IMAGE_SUFFIXES, VIDEO_SUFFIXES, MediaError, deblur_file, read_photo

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "MediaError", "deblur_file", "read_photo"]
