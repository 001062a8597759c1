"""Command line: ``gpudeconv demo``.

Errors are one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_still_demo, side_by_side
    from .io import write_image

    sharp, _, results = run_still_demo(sigma=args.sigma, noise=args.noise)
    print(f"test card 480x640 RGB, gaussian sigma={args.sigma}, noise={args.noise}, 8-bit")
    print(f"{'method':<28}{'PSNR dB':>9}{'gain dB':>9}{'ms':>9}")
    base = results[0].psnr
    for r in results:
        print(f"{r.method:<28}{r.psnr:9.2f}{r.psnr - base:9.2f}{r.ms:9.1f}")
    if args.output:
        write_image(args.output, side_by_side(sharp, results), overwrite=True)
        print(f"wrote {args.output}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gpudeconv", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="blur the built-in test card and restore it")
    demo.add_argument("--sigma", type=float, default=1.2, help="Gaussian blur sigma (pixels)")
    demo.add_argument("--noise", type=float, default=0.004, help="noise std in [0, 1] units")
    demo.add_argument("--output", help="write a side-by-side PNG here")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (CLIError, ValueError, TypeError, OSError) as exc:
        print(f"gpudeconv {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gpudeconv {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
