"""A private Xvfb display for tests that open windows (the live viewer, the host programs)."""

from __future__ import annotations

import os
import subprocess


def start_xvfb(screen: str) -> tuple[subprocess.Popen, str]:
    """Start Xvfb with one screen of ``screen`` (``"WxHxDEPTH"``); ``(server, ":N")``.

    ``-displayfd``: Xvfb picks a free display number and writes it to the pipe when ready.
    Raises ``RuntimeError`` when it does not start.
    """
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        server.wait()
        raise RuntimeError("Xvfb did not start")
    return server, f":{number}"
