"""File output that never leaves a half-written file and never overwrites an input."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from .errors import InvalidArgumentError

__all__ = ["atomic_output", "write_image"]


def atomic_output(
    path: str | os.PathLike, write: Callable[[Path], None], *, overwrite: bool = False
) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    Parameters
    ----------
    path : path-like
        Final destination. Its folder must exist.
    write : callable
        Writes the whole output to the temporary path it receives (same suffix as
        ``path``, so format-by-extension writers work).
    overwrite : bool
        Replace an existing ``path``; otherwise an existing file is a ``ValueError``.

    Returns
    -------
    path : Path
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise InvalidArgumentError(
            f"output {str(path)!r} already exists; pass overwrite to replace it"
        )
    if not path.parent.is_dir():
        raise InvalidArgumentError(f"output folder {str(path.parent)!r} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_image(path: str | os.PathLike, image: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write an image (OpenCV channel order) atomically; ``ValueError`` if encoding fails."""

    def write(tmp: Path) -> None:
        if not cv2.imwrite(str(tmp), image):
            raise InvalidArgumentError(f"OpenCV could not encode an image to {str(path)!r}")

    return atomic_output(path, write, overwrite=overwrite)
