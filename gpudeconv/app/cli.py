"""Command line: ``gpudeconv live | deblur | estimate | fit | export | demo | bench``.

What the user got wrong — a bad argument, an unreadable file, a camera that is not there —
is one line on stderr and a non-zero exit code (2: arguments or files, 3: a device or
stream that fails, 130: interrupted). Anything else is a bug in gpudeconv and shows its
traceback. Warnings and notices are one line each on stderr, too.

Choices and their help come from the registries (bases, methods, backends), so the command
line never lists them by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.boundaries import FRAME_BOUNDARIES
from ..core.frames import CHANNEL_CHOICES, SPACES
from ..core.psf import KERNEL_SUFFIXES
from ..core.spectra import PRIORS
from ..engine.backends import BACKENDS
from ..errors import AppError, GpudeconvError, InvalidArgumentError
from ..fit.bases import BASES
from ..fit.objectives import OBJECTIVES
from ..render.host_shaders import CONTROLS, HOOKS, HOST_FORMATS, export_host, host_cost
from ..render.host_shaders import SPACES as HOST_SPACES
from ..render.shaders import FORMATS as SHADER_FORMATS
from ..restoration.methods import FILE_METHODS, METHODS, SLIDER_METHODS
from ..restoration.stills import DEFAULT_KERNEL_SIZE, RESTORE_METHODS

if TYPE_CHECKING:
    from ..fit import DeconvFilter, FilterTable

__all__ = ["main"]


def _cmd_demo(args: argparse.Namespace) -> int:
    from ..media.io import check_output, write_image
    from .demo import run_still_demo, side_by_side

    if args.output:  # before any work: an existing file is kept unless --overwrite
        from ..media.files import IMAGE_SUFFIXES

        if Path(args.output).suffix.lower() not in IMAGE_SUFFIXES:
            raise AppError(f"--output {args.output!r} must be an image file {IMAGE_SUFFIXES}")
        check_output(args.output, overwrite=args.overwrite, role="--output")
    sharp, _, results = run_still_demo(sigma=args.sigma, noise=args.noise)
    _say(f"test card 480x640 RGB, gaussian sigma={args.sigma}, noise={args.noise}, 8-bit")
    _say(f"{'method':<28}{'PSNR dB':>9}{'gain dB':>9}{'ms, 1st':>9}")
    base = results[0].psnr
    for r in results:
        _say(f"{r.method:<28}{r.psnr:9.2f}{r.psnr - base:9.2f}{r.ms:9.1f}")
    if args.output:
        write_image(args.output, side_by_side(sharp, results), overwrite=args.overwrite)
        _say(f"wrote {args.output}")
    return 0


def _basis_options() -> dict[str, Any]:
    """Every option of every basis, once: ``name -> Option`` (the first basis's help)."""
    options: dict[str, Any] = {}
    for spec in BASES:
        for option in spec.options:
            options.setdefault(option.name, option)
    return options


def _filter_from_options(args: argparse.Namespace) -> DeconvFilter:
    """The filter that ``fit``'s options on the command line describe."""
    from ..core import psf
    from ..fit import fit

    options = {
        name: getattr(args, name)
        for name in _basis_options()
        if getattr(args, name, None) is not None
    }
    return fit(
        psf.parse(args.psf),
        noise=args.noise,
        basis=args.basis,
        objective=args.objective,
        prior=args.prior,
        quantization_bits=args.quantization_bits,
        nodes=args.nodes,
        **options,
    )


def _table_from_options(args: argparse.Namespace) -> FilterTable:
    """``export --tunable``: one basis fitted over the listed Gaussian σ at ``--noise``."""
    from ..fit import FilterTable

    options = {
        name: getattr(args, name)
        for name in _basis_options()
        if getattr(args, name, None) is not None
    }
    return FilterTable.fit(
        sigmas=args.tunable,
        noises=[args.noise],
        basis=args.basis,
        objective=args.objective,
        prior=args.prior,
        quantization_bits=args.quantization_bits,
        nodes=args.nodes,
        **options,
    )


def _sigma_list(text: str) -> list[float]:
    """``--tunable``: comma-separated Gaussian σ in pixels, increasing."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated sigmas such as 0.5,1,1.5,2, got {text!r}"
        ) from None
    if len(values) < 2:
        raise argparse.ArgumentTypeError(f"expected 2 or more sigmas, got {text!r}")
    return values


def _read_files(args: argparse.Namespace) -> list[str]:
    """The files fit / export read (a --psf kernel file, a --filter): never written."""
    from ..core.psf import spec_file

    kernel = spec_file(getattr(args, "psf", None))
    named = [str(kernel)] if kernel is not None else []
    return named + ([args.filter] if getattr(args, "filter", None) else [])


def _cmd_fit(args: argparse.Namespace) -> int:
    from ..media.io import atomic_output, check_output

    inputs = _read_files(args)
    for path, other in ((args.output, args.plot), (args.plot, args.output)):
        if path:  # before any work
            others = [other] if other else []
            check_output(path, inputs=inputs, others=others, overwrite=args.overwrite)
    filt = _filter_from_options(args)
    _say(_describe_filter(filt))
    if args.output:
        atomic_output(
            args.output,
            lambda p: p.write_text(filt.to_json()),
            overwrite=args.overwrite,
            inputs=inputs,
            others=[args.plot] if args.plot else [],
        )
        _say(f"wrote {args.output}")
    if args.plot:
        from ..media.plots import plot_fit

        atomic_output(
            args.plot,
            lambda p: plot_fit(filt, p),
            overwrite=args.overwrite,
            inputs=inputs,
            others=[args.output] if args.output else [],
            role="--plot",
        )
        _say(f"wrote {args.plot}")
    return 0


#: fit's options with their defaults (``export --filter`` refuses any that was given).
_FIT_DEFAULTS = {
    "psf": None,
    "noise": None,
    "basis": "gauss-lap",
    "objective": "mse",
    "prior": "natural",
    "quantization_bits": None,
    "nodes": 32,
}


def _cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..fit import DeconvFilter
    from ..media.io import atomic_output, check_output
    from ..render import shaders

    inputs = _read_files(args)
    check_output(args.output, inputs=inputs, overwrite=args.overwrite)  # before any work
    if args.tunable is not None and args.format not in HOST_FORMATS:
        raise AppError(f"--tunable applies to {', '.join(HOST_FORMATS)} only")
    tunable = args.tunable is not None
    tuning = [
        f"--{n.replace('_', '-')}"
        for n in ("start_sigma", "start_strength", "controls")
        if getattr(args, n) is not None
    ]
    if tuning and not tunable:
        raise AppError(f"{', '.join(tuning)}: only with --tunable")
    if tunable:
        if args.filter is not None or args.psf is not None:
            raise AppError("--tunable fits its own table of Gaussian blurs: drop --psf/--filter")
        if args.noise is None:
            raise AppError("--tunable needs --noise (the noise the table is fitted for)")
        filt = _table_from_options(args)
    elif args.filter is not None:
        fitting = [
            f"--{name.replace('_', '-')}"
            for name, default in _FIT_DEFAULTS.items()
            if getattr(args, name) != default
        ] + [f"--{n.replace('_', '-')}" for n in _basis_options() if getattr(args, n) is not None]
        if fitting:
            raise AppError(f"give --filter or fit's options, not both (got {', '.join(fitting)})")
        try:
            text = Path(args.filter).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise AppError(f"cannot read --filter {args.filter}: {exc}") from None
        filt = DeconvFilter.from_json(text, source=args.filter)
    elif args.psf is None or args.noise is None:
        raise AppError("give --psf and --noise (as for fit), or --filter FILE.json")
    else:
        filt = _filter_from_options(args)
    if args.format in HOST_FORMATS:
        if args.uniforms or args.clamp:
            raise AppError(f"--uniforms and --clamp apply to {', '.join(SHADER_FORMATS)} only")
        tuned = {
            "sigma": args.start_sigma,
            "strength": args.start_strength,
            "controls": args.controls,
        }
        source = export_host(
            filt,
            args.format,
            hook=args.hook,
            space=args.space,
            boundary=args.boundary,
            **({k: v for k, v in tuned.items() if v is not None} if tunable else {}),
        )
        reads, fma = host_cost(filt)
        _say(
            f"{args.format}: one pass, per pixel {reads} texture reads, {fma} multiply-adds "
            f"({args.space} values{', hook ' + args.hook if args.format == 'mpv-hook' else ''}"
            f"{', tunable sigma and strength' if tunable else ''})"
        )
    else:
        if args.hook != "MAIN" or args.space != "srgb":
            raise AppError(f"--hook and --space apply to {', '.join(HOST_FORMATS)} only")
        source = shaders.export(
            filt, args.format, boundary=args.boundary, uniforms=args.uniforms, clamp=args.clamp
        )
        c = shaders.cost(filt, args.format, args.uniforms)
        _say(
            f"{args.format}: {len(filt.terms)} separable terms, per pixel "
            f"{c.texture_reads:.2f} texture reads, {c.multiply_adds:.0f} multiply-adds, "
            f"{c.shared_bytes} B shared memory"
        )
    atomic_output(
        args.output, lambda p: p.write_text(source), overwrite=args.overwrite, inputs=inputs
    )
    _say(f"wrote {args.output}")
    return 0


def _describe_filter(filt: DeconvFilter) -> str:
    lines = [repr(filt), "", f"{'term':<6}{'taps':>6}{'weight w':>14}"]
    for j, (w, (ky, kx)) in enumerate(zip(filt.weights, filt.terms, strict=True)):
        lines.append(f"{j:<6}{f'{ky.size}x{kx.size}':>6}{w:14.6g}")
    lines += ["", "coefficients c: " + ", ".join(f"{c:.6g}" for c in filt.coefficients), ""]
    d = filt.diagnostics
    rows = [
        ("expected MSE gain (dB)", d["mse_gain_db"]),
        ("Wiener filter gain (dB)", d["wiener_gain_db"]),
        ("share of Wiener gain", d["capture"]),
        ("response RMS error", d["response_rms_error"]),
        ("response max error", d["response_max_error"]),
        ("peak gain max|F|", d["peak_gain"]),
        ("white-noise gain sum(taps^2)", d["white_noise_gain"]),
    ]
    lines += [f"{name:<30}{value:12.4f}" for name, value in rows]
    return "\n".join(lines)


def _cmd_live(args: argparse.Namespace) -> int:
    import dataclasses

    from .live import LiveOptions, run_live

    # Every option of the viewer that the command line offers, under the same name.
    given = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(LiveOptions) if f.name in args
    }
    _say(run_live(LiveOptions(**given)))
    return 0


def _deblur_options(args: argparse.Namespace) -> dict[str, Any]:
    """What restores one file, the same for a single file and for each file of a batch."""
    from ..media.video import EncodeSettings

    return {
        "psf_spec": args.psf,
        "noise": args.noise,
        "method": args.method,
        "backend": args.backend,
        "overwrite": args.overwrite,
        "progress": not args.quiet,
        "space": args.space,
        "channels": args.channels,
        "encode": EncodeSettings(args.codec, args.crf, args.preset, args.bitrate),
        "iterations": args.iterations,
        "kernel_size": args.kernel_size,
    }


def _cmd_deblur(args: argparse.Namespace) -> int:
    from ..media.bigimage import in_store
    from ..media.files import deblur_file
    from ..media.io import is_zarr_store

    source = Path(args.input)
    if source.is_dir() and not in_store(source) and not is_zarr_store(source):
        return _deblur_batch(args)
    if args.workers is not None or args.scheduler is not None:
        raise InvalidArgumentError("--workers and --scheduler are for a folder INPUT (a batch)")
    _say(deblur_file(args.input, args.output, compare=args.compare, **_deblur_options(args)))
    return 0


def _deblur_batch(args: argparse.Namespace) -> int:
    from ..media.batch import run_batch

    if args.compare:
        raise InvalidArgumentError("--compare is for one file; a batch writes no figures")
    report = run_batch(
        args.input,
        args.output,
        workers=args.workers,
        scheduler=args.scheduler,
        **_deblur_options(args),
    )
    _say(report)
    return 1 if report.failed else 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    import json
    import math

    from ..blind import estimate
    from ..media.files import read_photo

    if args.kernel:
        return _estimate_kernel(args)
    if args.output is not None or args.kernel_size is not None or args.overwrite:
        raise AppError(
            "-o/--output, --kernel-size and --overwrite go with --kernel (a camera-shake "
            "kernel); the Gaussian estimate writes no file"
        )
    image = read_photo(args.image)
    roi = None
    if args.roi:
        try:
            roi = tuple(int(v) for v in args.roi.split(","))
        except ValueError:
            raise AppError(f"--roi must be Y,X,HEIGHT,WIDTH integers; got {args.roi!r}") from None
        if len(roi) != 4:
            raise AppError(f"--roi must be Y,X,HEIGHT,WIDTH (four integers); got {args.roi!r}")
    found = estimate(image, roi=roi, space=args.space)
    fields = {
        "sigma_major": found.sigma[0],
        "sigma_minor": found.sigma[1],
        "angle_deg": math.degrees(found.angle),
        "noise": found.noise,
        "prior_amplitude": found.prior_amplitude,
        "confidence": found.confidence,
        "noise_is_upper_bound": found.noise_is_upper_bound,
    }
    if args.json:
        _say(json.dumps({"image": args.image, **fields}))
        return 0
    _say(f"{args.image}: {image.shape[1]}x{image.shape[0]}, {image.dtype}")
    _say(
        f"blur      gaussian sigma {found.sigma[0]:.2f} x {found.sigma[1]:.2f} px, "
        f"major axis at {fields['angle_deg']:.0f} deg"
    )
    bound = " (upper bound: fine texture)" if found.noise_is_upper_bound else ""
    _say(f"noise     {found.noise:.4f} std in working values{bound}")
    _say(f"spectrum  A = {found.prior_amplitude:.3g} (natural prior 6e-3)")
    _say(f"confidence {found.confidence:.2f}")
    return 0


def _estimate_kernel(args: argparse.Namespace) -> int:
    """``estimate --kernel``: a blind camera-shake kernel, written as a picture."""
    import time

    import numpy as np

    from ..blind import working_luma
    from ..core.psf import save_kernel
    from ..media.files import read_photo
    from ..media.io import atomic_output, check_output
    from ..restoration.stills import estimate_kernel

    if args.output is None:
        raise AppError("estimate --kernel needs -o KERNEL.png (.png, .tif, .npy or .txt)")
    if Path(args.output).suffix.lower() not in KERNEL_SUFFIXES:
        raise AppError(f"-o {args.output!r}: a kernel is written as {', '.join(KERNEL_SUFFIXES)}")
    if args.roi is not None or args.json:
        raise AppError("--roi and --json are for the Gaussian estimate, not --kernel")
    check_output(args.output, overwrite=args.overwrite, inputs=[args.image])
    image = read_photo(args.image)
    size = DEFAULT_KERNEL_SIZE if args.kernel_size is None else args.kernel_size
    start = time.perf_counter()
    kernel = estimate_kernel(working_luma(image, space=args.space), size)
    seconds = time.perf_counter() - start
    atomic_output(
        args.output,
        lambda p: save_kernel(kernel, p),
        overwrite=args.overwrite,
        inputs=[args.image],
        role="kernel",
    )
    rows, cols = np.nonzero(kernel)
    _say(
        f"{args.image}: a {kernel.shape[0]}x{kernel.shape[1]} camera-shake kernel in "
        f"{seconds:.1f} s, "
        f"extent {np.ptp(rows) + 1}x{np.ptp(cols) + 1} px -> {args.output} "
        f"(use it: gpudeconv deblur IN OUT --psf {args.output} --method hyper-laplacian "
        f"--noise N)"
    )
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        from bench import throughput
    except ImportError:
        raise AppError(
            "the benchmarks are not part of the installed package: they live in the "
            "source checkout (git clone the project, then run `make bench` or "
            "`gpudeconv bench` from its root, with pip install 'gpudeconv[bench]')"
        ) from None
    return int(throughput.main(["--quick"] if args.quick else []))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _noise(text: str) -> float:
    """A noise std: a finite number in [0, 1] (values of 1e308 or inf overflowed later)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"expected a noise std in [0, 1], got {text!r}")
    return value


#: The most worker processes a local batch starts (each holds ~265 MB; 1024 were accepted).
MAX_WORKERS = 64


def _workers(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"expected at most {MAX_WORKERS} worker processes (~265 MB each), got {text!r}"
        )
    return value


def _add_fit_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """The options of ``fit`` (PSF, noise, basis and its options) on ``parser``."""
    parser.add_argument(
        "--psf",
        required=required,
        help="gaussian:S[,SY] | disk:R | motion:L,ANGLE | box:N | kernel file",
    )
    parser.add_argument("--noise", type=_noise, required=required, help="noise std in [0, 1]")
    defaults = _FIT_DEFAULTS
    parser.add_argument(
        "--basis", default=defaults["basis"], choices=BASES.names, help=BASES.help()
    )
    parser.add_argument(
        "--objective",
        default=defaults["objective"],
        choices=OBJECTIVES,
        help="mse: least expected restoration error (default); response: least squares to "
        "the Wiener response",
    )
    parser.add_argument(
        "--prior",
        default=defaults["prior"],
        choices=PRIORS,
        help="the signal spectrum the fit assumes: natural (a photograph's 1/f², default) or flat",
    )
    parser.add_argument(
        "--quantization-bits",
        type=int,
        default=None,
        help="add the rounding noise of this bit depth (e.g. 8)",
    )
    parser.add_argument(
        "--nodes", type=int, default=defaults["nodes"], help="quadrature nodes per axis"
    )
    for name, option in _basis_options().items():
        users = [b.name for b in BASES if any(o.name == name for o in b.options)]
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=option.parse,
            choices=option.choices,
            help=f"{'/'.join(users)}: {option.help}",
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gpudeconv", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="blur the built-in test card and restore it")
    demo.add_argument("--sigma", type=float, default=1.2, help="Gaussian blur sigma (pixels)")
    demo.add_argument("--noise", type=_noise, default=0.004, help="noise std in [0, 1] units")
    demo.add_argument("--output", help="write a side-by-side PNG here")
    demo.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    demo.set_defaults(func=_cmd_demo)

    f = sub.add_parser("fit", help="fit a small-filter deconvolution to a blur and noise level")
    _add_fit_options(f, required=True)
    f.add_argument("-o", "--output", help="write the filter as JSON")
    f.add_argument("--plot", help="write a PNG of the responses over frequency")
    f.add_argument("--overwrite", action="store_true", help="replace existing output files")
    f.set_defaults(func=_cmd_fit)

    x = sub.add_parser(
        "export",
        help="write the fitted filter as a shader: GLSL compute/fragment, HLSL, an mpv / "
        "libplacebo hook or a ReShade FX effect",
        description="Formats: glsl-compute, glsl-fragment, hlsl (for your own renderer); "
        "mpv-hook (mpv --glsl-shaders=FILE, or ffmpeg's libplacebo filter with "
        "custom_shader_path=FILE); reshade-fx (ReShade, or vkBasalt on Linux / Steam Deck).",
    )
    _add_fit_options(x, required=False)
    x.add_argument("--filter", help="a filter JSON written by `fit -o` (instead of --psf/--noise)")
    x.add_argument("--format", default="glsl-compute", choices=(*SHADER_FORMATS, *HOST_FORMATS))
    x.add_argument(
        "--hook",
        default="MAIN",
        choices=HOOKS,
        help="mpv-hook: MAIN filters RGB; LUMA filters the Y plane of YUV video only",
    )
    x.add_argument(
        "--space",
        default="srgb",
        choices=HOST_SPACES,
        help="mpv-hook / reshade-fx: srgb filters the values the player or game hands over "
        "(gamma-encoded: default, where their blur was made); linear decodes by the sRGB "
        "curve, filters in linear light, encodes back (an optical blur). SDR only",
    )
    x.add_argument(
        "--boundary",
        default="reflect",
        choices=FRAME_BOUNDARIES,
        help="reads past the frame: reflect (OpenCV BORDER_REFLECT) or clamp (edge texel)",
    )
    x.add_argument(
        "--uniforms",
        action="store_true",
        help="weights in a uniform block / constant buffer, changeable without recompiling",
    )
    x.add_argument("--clamp", action="store_true", help="clamp the output to [0, 1]")
    x.add_argument(
        "--tunable",
        type=_sigma_list,
        metavar="SIGMAS",
        help="mpv-hook / reshade-fx: one file for a range of Gaussian blurs (e.g. "
        "0.5,1,1.5,2,2.5), with a blur sigma and a strength set in the host "
        "(mpv --glsl-shader-opts / ReShade's sliders); needs --noise",
    )
    x.add_argument("--start-sigma", type=float, help="--tunable: the sigma the file starts at")
    x.add_argument(
        "--start-strength",
        type=float,
        help="--tunable: the strength it starts at (0 = off .. 2; default 1)",
    )
    x.add_argument(
        "--controls",
        choices=CONTROLS,
        help="--tunable: host = //!PARAM blocks (libplacebo v5 or later, mpv gpu-next) and ReShade "
        "sliders (default); const = constants to edit at the top of the file (older hosts)",
    )
    x.add_argument("-o", "--output", required=True, help="the shader source file to write")
    x.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    x.set_defaults(func=_cmd_export)

    live = sub.add_parser("live", help="live viewer: camera, video file or the test card")
    source = live.add_mutually_exclusive_group()
    source.add_argument("--camera", type=int, help="camera index (OpenCV)")
    source.add_argument("--input", help="a video file (anything OpenCV/FFmpeg reads)")
    live.add_argument(
        "--sigma",
        type=float,
        help="assumed Gaussian blur sigma (default: estimated, method auto; the test "
        "card is blurred by 1.2)",
    )
    live.add_argument("--noise", type=_noise, default=0.004, help="noise std in [0, 1] units")
    live.add_argument(
        "--method",
        choices=SLIDER_METHODS,
        help=METHODS.help(SLIDER_METHODS) + " (default: auto, or gauss-lap with --sigma)",
    )
    live.add_argument("--backend", default="auto", choices=BACKENDS.names, help=BACKENDS.help())
    live.add_argument(
        "--view",
        default="split",
        choices=("split", "side"),
        help="split: original | restored at a divider you drag (default); side: side by side",
    )
    live.add_argument("--frames", type=_positive_int, help="stop after N frames")
    live.add_argument("--output", help="record the view to this video (.mp4)")
    live.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    live.add_argument(
        "--headless",
        action="store_const",
        const=True,
        default=None,
        help="no window (automatic when there is no display)",
    )
    live.add_argument(
        "--virtual-camera",
        action="store_true",
        help="publish the restored stream as a virtual webcam (pyvirtualcam)",
    )
    live.set_defaults(func=_cmd_live)

    d = sub.add_parser(
        "deblur", help="restore a photo, a video, a huge TIFF/Zarr image, or a folder of them"
    )
    d.add_argument(
        "input",
        help="photo (PNG/JPEG/TIFF, 8/16-bit), video, huge image (TIFF, .zarr), or a folder "
        "(a batch: every photo and video in it, sub-folders included)",
    )
    d.add_argument(
        "output", help="where to write the result (never the input); a folder for a batch"
    )
    d.add_argument(
        "--psf",
        default="auto",
        help="auto (estimate blur and noise; the default) | estimate (photos: a blind "
        "camera-shake kernel, restored with --method hyper-laplacian unless another "
        "iterative method is given) | gaussian:S[,SY] | disk:R | motion:L,ANGLE | box:N | "
        "kernel file",
    )
    d.add_argument(
        "--kernel-size",
        type=_positive_int,
        help="--psf estimate: the kernel's side in pixels, odd, 3..63 (default "
        f"{DEFAULT_KERNEL_SIZE}): the blur's extent plus a few pixels",
    )
    d.add_argument(
        "--noise",
        type=_noise,
        help="noise std in [0, 1] units (required with a known --psf; with auto it "
        "replaces the estimate)",
    )
    d.add_argument(
        "--method",
        default=None,
        choices=FILE_METHODS + RESTORE_METHODS,
        help=METHODS.help(FILE_METHODS)
        + " (default gauss-lap); photos also: tv (total variation), hyper-laplacian "
        "(|grad|^0.8 prior), rl (Richardson-Lucy): iterative, seconds per megapixel",
    )
    d.add_argument(
        "--iterations",
        type=_positive_int,
        help="tv / hyper-laplacian: total iterations (default 39 / 12); rl: the cap "
        "(default 500, it stops at the noise level)",
    )
    d.add_argument("--backend", default="auto", choices=BACKENDS.names, help=BACKENDS.help())
    d.add_argument(
        "--space",
        default="linear",
        choices=SPACES,
        help="restore in linear light (optical blur: lenses, defocus; the default) or on "
        "code values (srgb: blur made by software — video filters, scalers, TAA on display "
        "buffers)",
    )
    d.add_argument(
        "--channels",
        choices=CHANNEL_CHOICES,
        help="luma: the luminance only (videos: the Y plane, chroma untouched; their "
        "default); all: every colour channel (photos' default)",
    )
    d.add_argument(
        "--codec",
        help="video encoder (default: the input's family: libx264, libx265, libsvtav1, libvpx-vp9)",
    )
    d.add_argument("--crf", type=float, help="video constant quality (default per encoder)")
    d.add_argument("--preset", help="video encoder preset (default per encoder)")
    d.add_argument("--bitrate", help="video bit rate instead of constant quality (e.g. 8M)")
    d.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT")
    d.add_argument("--compare", help="write a figure: input, result, PSF, fitted response")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.add_argument(
        "--workers",
        type=_workers,
        help="batch: worker processes of a local Dask cluster (default: the cores, at most 8)",
    )
    d.add_argument(
        "--scheduler",
        help="batch: the address of a running Dask scheduler (tcp://host:8786) to use instead",
    )
    d.set_defaults(func=_cmd_deblur)

    e = sub.add_parser(
        "estimate",
        help="estimate a photo's blur, noise and spectrum, or (--kernel) a camera-shake kernel",
    )
    e.add_argument("image", help="photo (PNG/JPEG/TIFF, 8/16-bit)")
    e.add_argument(
        "--kernel",
        action="store_true",
        help="estimate a camera-shake kernel (blind, coarse to fine) and write it to -o",
    )
    e.add_argument(
        "--kernel-size",
        type=_positive_int,
        help=f"--kernel: its side in pixels, odd, 3..63 (default {DEFAULT_KERNEL_SIZE})",
    )
    e.add_argument(
        "-o",
        "--output",
        help="--kernel: where to write it: .png/.tif (16-bit, scaled to its peak), .npy or "
        ".txt (the values, summing to 1)",
    )
    e.add_argument("--overwrite", action="store_true", help="--kernel: replace an existing -o")
    e.add_argument("--json", action="store_true", help="one JSON object instead of text")
    e.add_argument("--roi", help="measure only Y,X,HEIGHT,WIDTH (pixels)")
    e.add_argument(
        "--space",
        default="linear",
        choices=("linear", "srgb"),
        help="decode code values as sRGB to linear light (default) or use them as they are",
    )
    e.set_defaults(func=_cmd_estimate)

    b = sub.add_parser("bench", help="throughput of every method and peer (source checkout)")
    b.add_argument("--quick", action="store_true", help="tiny frames, under a minute")
    b.set_defaults(func=_cmd_bench)
    return parser


@contextlib.contextmanager
def _one_line_notices(command: str) -> Iterator[None]:
    """Show warnings and log notices as one line each on stderr, named by the command."""
    prefix = f"gpudeconv {command}: "

    def show(message: Any, category: Any, *_: Any, **__: Any) -> None:
        _say(f"{prefix}warning: {message}", file=sys.stderr)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(prefix + "%(message)s"))
    logger = logging.getLogger("gpudeconv")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)


@contextlib.contextmanager
def _signals_as_errors() -> Iterator[None]:
    """SIGTERM and SIGHUP raise, like Ctrl-C, so every half-written file is removed.

    Without this, the default action kills the process on the spot and a temporary output
    file stays behind. (Only in the main thread, where Python delivers signals.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise AppError(f"stopped by {signal.Signals(signum).name}", 128 + signum)

    wanted = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {s: signal.signal(s, stop) for s in wanted}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _printable(text: str) -> str:
    r"""``text`` with control characters shown as escapes (``\x1b``), line breaks kept.

    File names come from folders anyone may have filled: printed raw, a name holding
    ANSI/OSC sequences could retitle or clear the terminal, or hide the lines above it.
    """
    return "".join(
        c
        if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf")
        else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def _say(*values: object, file: Any = None) -> None:
    """``print``, with :func:`_printable` text (every line the command prints)."""
    print(*(_printable(str(v)) for v in values), file=file)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        with _one_line_notices(args.command), _signals_as_errors():
            return int(args.func(args))
    except AppError as exc:
        _say(f"gpudeconv {args.command}: error: {exc}", file=sys.stderr)
        return exc.code
    except (GpudeconvError, OSError) as exc:
        _say(f"gpudeconv {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _say(f"gpudeconv {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        _say(f"gpudeconv {args.command}: error: out of memory", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
