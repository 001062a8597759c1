"""The errors and warnings gpudeconv raises on purpose, and how its warnings are issued.

Every check of user input raises a subclass of :class:`GpudeconvError` that is also a
``ValueError`` or a ``TypeError``, so ``except ValueError`` keeps working while the command
line can tell "you gave me something wrong" (one line, exit code 2) from a bug in the
library (a traceback): it reports only :class:`GpudeconvError` and ``OSError`` as one line.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

__all__ = [
    "AppError",
    "BackendUnavailableError",
    "FitQualityWarning",
    "GpudeconvError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "NonFiniteFrameError",
    "opencv_reason",
    "warn",
]


class GpudeconvError(Exception):
    """Base of every error gpudeconv raises deliberately (bad input, unusable device, …)."""


class InvalidArgumentError(GpudeconvError, ValueError):
    """A value of the right kind but not allowed (out of range, unknown name, bad shape)."""


class InvalidTypeError(GpudeconvError, TypeError):
    """A value of the wrong kind (a list where an array is needed, a float dtype for uint8)."""


class NonFiniteFrameError(InvalidArgumentError):
    """A float frame holds NaN, Inf or a value beyond ±1e30 (one message, every backend)."""

    def __init__(self) -> None:
        super().__init__(
            "frame contains NaN, Inf or a value beyond ±1e+30; float frames must be finite "
            "with |x| <= 1e+30 (check_finite=False skips this check)"
        )


class BackendUnavailableError(InvalidArgumentError):
    """A backend was asked for by name but cannot run here; the message says why."""


class AppError(GpudeconvError):
    """A failure of a command (``deblur``, ``live``): one line, and an exit ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class FitQualityWarning(UserWarning):
    """The basis cannot represent the restoration well; ``gpudeconv.wiener`` can."""


_PACKAGE = str(Path(__file__).resolve().parent)


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue a warning attributed to the first caller outside the gpudeconv package.

    A fixed ``stacklevel`` points at the wrong line as soon as a public function calls
    another (``deblur`` → ``fit``); this walks up to the user's frame instead.
    """
    level = 2  # stacklevel 2 is the caller of warn()
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        level += 1
        frame = frame.f_back
    warnings.warn(message, category, stacklevel=level)


def opencv_reason(exc: Exception) -> str:
    """OpenCV's own reason for a ``cv2.error``, on one line.

    Its message spans several lines, with the source file and the failed assertion; the
    part after ``error:`` says what was wrong.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = next((line for line in lines if "error:" in line), lines[-1] if lines else "")
    return reason.split("error:", 1)[-1].strip() or "OpenCV refused it"
