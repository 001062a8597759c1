"""Output files: never an input, never half-written, never through a planted link.

Every file gpudeconv writes goes through :func:`check_output` (refuse what must not be
written) and :class:`PendingOutput` (write a temporary file beside the destination,
rename it into place only when complete):

- an output is never one of the inputs, nor another output of the same command — compared
  as files (``os.path.samefile``), so symlinks, ``./`` spellings and hard links count;
- an existing output is replaced only when asked (``overwrite``);
- the temporary file is made by ``mkstemp`` in the destination folder (``O_EXCL``: a name
  planted there beforehand, a symlink included, is never opened, never followed, never
  deleted), and the final ``os.replace`` swaps the name, never writing through a link;
- a new file gets the mode the umask allows (``mkstemp`` would leave 0600), a replaced
  file keeps its own mode;
- on any error or interruption (Ctrl-C; SIGTERM and SIGHUP through the command line) the
  temporary file is removed. Only SIGKILL (or a power cut) can leave one behind: a
  ``.<name>.gpudeconv-<random><suffix>`` file in the output folder, safe to delete.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from ..errors import InvalidArgumentError

__all__ = [
    "PendingFolder",
    "PendingOutput",
    "atomic_output",
    "check_output",
    "is_zarr_store",
    "write_image",
]

PathLike = str | os.PathLike
#: In every temporary output's name (``.<name>.gpudeconv-<random><suffix>``): what a batch
#: looks for when it removes the temporary files of tasks killed with their worker.
TEMP_MARK = "gpudeconv-"


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (links and spellings resolved)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (yet): compare what they would resolve to
        return a.resolve() == b.resolve()


def check_output(
    path: PathLike,
    *,
    inputs: Iterable[PathLike] = (),
    others: Iterable[PathLike] = (),
    overwrite: bool = False,
    role: str = "output",
    store: bool = False,
) -> Path:
    """Refuse to write ``path`` when it is an input, another output, or exists unasked.

    Parameters
    ----------
    path : path-like
        Where the output would go; its folder must exist.
    inputs, others : iterable of path-like
        The command's inputs (never written) and its other outputs (never the same file).
    overwrite : bool
        Whether an existing file may be replaced.
    role : str
        What the output is called in messages (``'OUTPUT'``, ``'--compare figure'``).
    store : bool
        The output is a folder (a Zarr store): an existing one is replaced only with
        ``overwrite`` and only if it is a Zarr store (never an arbitrary folder).
    """
    path = Path(path)
    for source in inputs:
        if _same_file(path, Path(source)):
            raise InvalidArgumentError(
                f"{role} {str(path)!r} is the input file {str(source)!r}; an input is never "
                "overwritten"
            )
    for other in others:
        if _same_file(path, Path(other)):
            raise InvalidArgumentError(
                f"{role} {str(path)!r} is the same file as another output {str(other)!r}"
            )
    if path.is_dir() and not store:
        raise InvalidArgumentError(f"{role} {str(path)!r} is a folder; give a file name")
    if store:
        for source in inputs:
            inner, outer = Path(source).resolve(), path.resolve()
            if inner.is_relative_to(outer) or outer.is_relative_to(inner):
                raise InvalidArgumentError(
                    f"{role} {str(path)!r} and the input {str(source)!r} are one inside the "
                    "other; an input is never overwritten"
                )
    if store and path.exists() and not (path.is_dir() and is_zarr_store(path)):
        raise InvalidArgumentError(
            f"{role} {str(path)!r} exists and is not a Zarr store; it is never replaced"
        )
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise InvalidArgumentError(
            f"{role} {str(path)!r} already exists; pass --overwrite (overwrite=True) to replace it"
        )
    if not path.parent.is_dir():
        raise InvalidArgumentError(f"{role} folder {str(path.parent)!r} does not exist")
    return path


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, without changing it (Linux); else read by setting it back."""
    try:
        status = Path("/proc/self/status").read_text()
        found = re.search(r"^Umask:\s*([0-7]+)", status, flags=re.MULTILINE)
        if found:
            return int(found.group(1), 8)
    except OSError:
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


#: Bytes that mkstemp adds to a temporary name's prefix and suffix (8 random characters).
_TEMP_RANDOM = 8


def temp_stem(target: Path) -> str:
    """The part of ``target``'s stem its temporary names carry (``.<stem>.gpudeconv-…``).

    The whole stem when it fits; else cut, on a character boundary, so that the temporary
    name stays within the folder's name limit (NAME_MAX, 255 bytes on most file systems):
    a legal output name of 235 bytes or more failed through its longer temporary name.
    """
    try:
        limit = os.pathconf(target.parent if str(target.parent) else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    fixed = len(f"..{TEMP_MARK}{target.suffix}".encode()) + _TEMP_RANDOM
    stem = target.stem
    while stem and len(stem.encode()) > limit - fixed:
        stem = stem[:-1]
    return stem


class PendingOutput:
    """A temporary file beside ``path``, moved onto it by :meth:`commit`.

    Use as a context manager: leaving the block normally commits, an exception (or a
    signal turned into one) discards the temporary file. ``replace=False``: the commit
    never replaces a file — one that appeared at ``path`` while this was being written
    (another run) is kept, and the commit fails saying so.
    """

    def __init__(self, path: PathLike, *, replace: bool = True) -> None:
        self.target = Path(path)
        self.replace = replace
        fd, name = tempfile.mkstemp(
            prefix=f".{temp_stem(self.target)}.{TEMP_MARK}",
            suffix=self.target.suffix,
            dir=self.target.parent,
        )
        os.close(fd)
        self.path = Path(name)
        self._done = False

    def commit(self) -> Path:
        """Give the file its final mode and move it onto the target (atomically)."""
        try:
            mode = os.stat(self.target).st_mode & 0o7777  # the replaced file keeps its mode
        except OSError:
            mode = 0o666 & ~_umask()
        try:
            os.chmod(self.path, mode)
            if self.replace:
                os.replace(self.path, self.target)  # renames over the name: never through it
            else:
                self._move_without_replacing()
        except FileExistsError:
            self.discard()
            raise InvalidArgumentError(
                f"{str(self.target)!r} appeared while this output was being written (another "
                "run?); it is kept: use --overwrite to replace it"
            ) from None
        except OSError as exc:  # nothing half-done stays behind; the message names the target
            self.discard()
            raise OSError(exc.errno, f"cannot write {str(self.target)!r}: {exc.strerror}") from None
        self._done = True
        return self.target

    def _move_without_replacing(self) -> None:
        """Give the file its name only if that name is free, atomically (a hard link).

        ``os.replace`` after an existence check would let a second run that checked at
        the same time silently replace the first's output. Where the file system has no
        hard links, the check and the rename are as close as they can be.
        """
        try:
            os.link(self.path, self.target)  # FileExistsError if the name is taken
        except FileExistsError:
            raise
        except OSError:  # no hard links here (FAT, some network file systems)
            if os.path.lexists(self.target):
                raise FileExistsError(str(self.target)) from None
            os.replace(self.path, self.target)
            return
        os.unlink(self.path)

    def discard(self) -> None:
        """Remove the temporary file (idempotent)."""
        if not self._done:
            self.path.unlink(missing_ok=True)
            self._done = True

    def __enter__(self) -> PendingOutput:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


class PendingFolder(PendingOutput):
    """A temporary folder beside ``path`` (a Zarr store being written), renamed onto it.

    An existing store at ``path`` (allowed by :func:`check_output`) is moved aside, the new
    one renamed into place, and only then the old one deleted.
    """

    def __init__(self, path: PathLike) -> None:
        self.target = Path(path)
        self.path = Path(
            tempfile.mkdtemp(prefix=f".{self.target.name}.{TEMP_MARK}", dir=self.target.parent)
        )
        self._done = False

    def commit(self) -> Path:
        """Give the folder its final mode and move it onto the target."""
        os.chmod(self.path, 0o777 & ~_umask())
        old = None
        if self.target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.old.", dir=self.target.parent))
            os.replace(self.target, old / "store")
        try:
            os.replace(self.path, self.target)
        except OSError as exc:
            if old is not None:  # put the old store back: nothing is lost
                os.replace(old / "store", self.target)
                shutil.rmtree(old, ignore_errors=True)
            self.discard()
            raise OSError(exc.errno, f"cannot write {str(self.target)!r}: {exc.strerror}") from None
        self._done = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.target

    def discard(self) -> None:
        """Remove the temporary folder (idempotent).

        A writer interrupted mid-chunk (zarr 3 writes from its own event-loop thread) may
        still create a file or two after the first removal: removed again until the
        folder stays gone.
        """
        if not self._done:
            for _ in range(40):
                shutil.rmtree(self.path, ignore_errors=True)
                time.sleep(0.05)
                if not self.path.exists():
                    break
            self._done = True


def is_zarr_store(path: PathLike) -> bool:
    """Whether ``path`` is a folder holding a Zarr array or group (format 2 or 3)."""
    path = Path(path)
    return any((path / name).is_file() for name in ("zarr.json", ".zarray", ".zgroup"))


def atomic_output(
    path: PathLike,
    write: Callable[[Path], None],
    *,
    overwrite: bool = False,
    inputs: Iterable[PathLike] = (),
    others: Iterable[PathLike] = (),
    role: str = "output",
) -> Path:
    """Check ``path`` (:func:`check_output`), call ``write(tmp)``, then rename into place.

    ``write`` receives a temporary path with the same suffix as ``path`` (so writers that
    choose a format by extension work) and must write the whole output there.
    """
    target = check_output(path, inputs=inputs, others=others, overwrite=overwrite, role=role)
    with PendingOutput(target, replace=overwrite) as pending:
        try:
            write(pending.path)
        except OSError as exc:  # a full disk, a read-only mount: name the target, not ours
            reason = exc.strerror or str(exc)
            raise OSError(exc.errno, f"cannot write {str(target)!r}: {reason}") from None
    return target


def write_image(path: PathLike, image: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write an image (OpenCV channel order) atomically; an error if encoding fails."""

    def write(tmp: Path) -> None:
        if not cv2.imwrite(str(tmp), image):
            raise InvalidArgumentError(f"OpenCV could not encode an image to {str(path)!r}")

    return atomic_output(path, write, overwrite=overwrite)
