"""``estimate``: blur, noise and signal spectrum of one frame, with their uncertainty."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from ..core import psf as _psf
from ..core._validate import array_module, check_choice, image_array
from ..core.colour import decode_table, luma_weights
from ..core.frames import ORDERS, SPACES, FrameSpec
from ..core.spectra import NATURAL_PRIOR, quantization_noise
from ..errors import InvalidArgumentError
from .edges import BASELINE, EdgeFit, edge_blur
from .jpeg import DEBLOCK_RATIO, block_grid_bins, block_ratio, compression_noise
from .noise import block_noise, haar_measures, level_noise, sample_blocks
from .sideinfo import Compression
from .spectrum import (
    CORNER,
    DECIMATE,
    TILE,
    TILES,
    SpectralFit,
    choose_tiles,
    crossover_amplitude,
    detail_ratio,
    fit_spectrum,
    low_band_amplitude,
    noise_ceiling,
    periodogram,
)

__all__ = ["MODELS", "Estimate", "estimate"]

MODELS = ("gaussian",)
#: The blur variance (pixels², per axis) a *sharp* photograph shows to this estimator —
#: pixel integration, lens, demosaicing, and what the fixed spectral slope misreads. On
#: ``skimage.data`` photographs it spans −0.1 to 0.36 (``python -m bench.blind``); the
#: value sits at the top of that range on purpose: reading a sharp frame's own softness
#: as blur makes the frame worse, reading a mild blur as a little less costs some gain.
SHARP_SOFTNESS = 0.36
#: The most noise std an estimate states (the filters are fitted for noise in [0, 1]; a
#: frame that reads more — an HDR float frame, a checkerboard taken for block error — is
#: one the filter must leave alone, and at 1 it does).
MAX_NOISE = 1.0
#: The least noise std the spectral fit assumes (float frames may report none at all).
NOISE_FLOOR = 1e-5
#: The part of a blur variance the model gets wrong on top of the fit's own scatter
#: (relative to the blur): the posterior's model error.
MODEL_SPREAD = 0.12
#: Relative spread of the noise estimate, and of the signal amplitude (in log units).
NOISE_SPREAD = 0.15
AMPLITUDE_SPREAD = 0.4
#: The posterior's blur spread relative to the fit's stated one. At full width the
#: expected-error fit still sharpened sharp frames (its far points are blurred ones) and
#: lost up to 4.7 dB on them at noise 0.002; at half width none lost more than 0.05 dB,
#: for 2 points less of the oracle's gain (``bench.blind``).
POSTERIOR_WIDTH = 0.5


@dataclass(frozen=True)
class Sample:
    """One point of the posterior: a weight, a blur covariance, a noise std, an amplitude."""

    weight: float
    covariance: np.ndarray  # (2, 2) added blur, pixels², (x, rows)
    noise: float
    amplitude: float

    def psf(self) -> np.ndarray:
        """The rotated Gaussian of this sample (a delta for no blur)."""
        return gaussian_of(self.covariance)


@dataclass(frozen=True)
class Estimate:
    """What :func:`estimate` found, and how sure it is.

    Attributes
    ----------
    sigma : (float, float)
        Blur std along its major and minor axes, in pixels (0: sharp). The blur a frame
        shows anyway (pixel integration, the softness of a sharp photograph) is excluded.
    angle : float
        Direction of ``sigma[0]`` in radians, counter-clockwise from +x on screen, in
        ``[0, π)`` (as ``psf.gaussian(angle=)``).
    noise : float
        White-noise std in the frame's working values (for integer frames, quantisation
        included).
    prior_amplitude : float
        The frame's own ``A`` for ``S(ω) = A / (|ω|² + ε)`` (the fixed natural prior is
        ``6e-3``; a smooth, dark frame may be 100× less).
    confidence : float
        In ``[0, 1]``: 1 when the blur is pinned down, near 0 when the frame gave little to
        go on (flat, tiny, or noise only). The robust fit backs off by itself as it falls.
    covariance : (3, 3) ndarray
        Uncertainty of the added blur's covariance entries ``(Σxx, Σxy, Σyy)``.
    """

    sigma: tuple[float, float]
    angle: float
    noise: float
    prior_amplitude: float
    confidence: float
    covariance: np.ndarray = field(default_factory=lambda: np.eye(3) * 0.25, repr=False)
    blur: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)), repr=False)
    #: The measured blur covariance before the frame's own softness is taken away.
    measured: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)), repr=False)
    #: True when the frame's finest scales hold signal (a sharp, textured frame): its noise
    #: cannot be told from that texture, ``noise`` is only an upper bound, and a filter
    #: for this estimate must not smooth (``fit_posterior(sharpen_only=True)``).
    noise_is_upper_bound: bool = False
    #: True when the frame shows a block codec's 8-pixel grid (JPEG, MJPEG, H.264): the
    #: auto paths deblock it (:func:`~.jpeg.deblock`) before restoring, so the filter does
    #: not sharpen the grid.
    blocky: bool = False

    @classmethod
    def from_measured(
        cls,
        measured: np.ndarray,
        covariance: np.ndarray,
        noise: float,
        prior_amplitude: float,
        noise_is_upper_bound: bool = False,
    ) -> Estimate:
        """An estimate from a measured total blur covariance and its uncertainty.

        ``measured`` is 2×2 (pixels², x then rows), ``covariance`` 3×3 over ``Σxx, Σxy,
        Σyy``; the blur's axes, angle and the confidence follow from them.
        """
        measured = np.array(measured, dtype=np.float64)
        noise = min(float(noise), MAX_NOISE)
        added = _nearest_psd(measured - SHARP_SOFTNESS * np.eye(2))
        major, minor, angle = _axes(added)
        width = math.sqrt(max(np.trace(covariance) / 2, 0.0))
        confidence = 1.0 / (1.0 + width / (0.1 + np.trace(added) / 2))
        return cls(
            (major, minor),
            angle,
            float(noise),
            float(prior_amplitude),
            float(confidence),
            np.array(covariance, dtype=np.float64),
            added,
            measured,
            bool(noise_is_upper_bound),
        )

    def with_measured(self, measured: np.ndarray) -> Estimate:
        """The same estimate with another measured blur (e.g. smoothed over frames)."""
        found = Estimate.from_measured(
            measured,
            self.covariance,
            self.noise,
            self.prior_amplitude,
            self.noise_is_upper_bound,
        )
        return replace(found, blocky=self.blocky)

    def psf(self) -> np.ndarray:
        """The estimated blur as a kernel (a rotated Gaussian; a delta for a sharp frame)."""
        return gaussian_of(self.blur)

    def samples(self) -> list[Sample]:
        """Weighted points spanning the posterior (11 points).

        An unscented transform over the three entries of the measured blur covariance
        (minus a sharp frame's own softness, :data:`SHARP_SOFTNESS`), the log noise and the
        log amplitude, each Gaussian. Blur covariances are projected onto positive
        semidefinite ones.
        """
        mean = np.array([self.measured[0, 0], self.measured[0, 1], self.measured[1, 1]])
        mean -= np.array([SHARP_SOFTNESS, 0.0, SHARP_SOFTNESS])
        n, kappa = 5, 1.0
        cov = np.zeros((n, n))
        cov[:3, :3] = self.covariance * POSTERIOR_WIDTH**2
        cov[3, 3] = NOISE_SPREAD**2
        cov[4, 4] = AMPLITUDE_SPREAD**2
        root = np.linalg.cholesky((n + kappa) * cov + 1e-12 * np.eye(n))
        points = [np.zeros(n)] + [s * root[:, i] for i in range(n) for s in (1.0, -1.0)]
        weights = [kappa / (n + kappa)] + [0.5 / (n + kappa)] * (2 * n)
        samples = []
        for offset, weight in zip(points, weights, strict=True):
            sxx, sxy, syy = mean + offset[:3]
            samples.append(
                Sample(
                    weight,
                    _nearest_psd(np.array([[sxx, sxy], [sxy, syy]])),
                    min(self.noise * math.exp(offset[3]), MAX_NOISE),
                    self.prior_amplitude * math.exp(offset[4]),
                )
            )
        return samples

    def posterior(self) -> list[tuple[float, np.ndarray, float, float]]:
        """``(weight, psf, noise, amplitude)`` per sample: what ``fit_posterior`` takes."""
        return [(s.weight, s.psf(), s.noise, s.amplitude) for s in self.samples()]

    @property
    def deblock_first(self) -> bool:
        """Whether the auto paths deblock the frame before restoring it.

        Only a blocky frame that the filter will sharpen: a block grid that nothing
        sharpens is left as the codec made it (it may be the picture's own, as in a
        photograph that was a JPEG before it reached us).
        """
        return self.blocky and self.isotropic_sigma >= DEBLOCK_SIGMA

    @property
    def isotropic_sigma(self) -> float:
        """The std of the isotropic Gaussian with the same blur variance (pixels)."""
        return math.sqrt(max(np.trace(self.blur) / 2, 0.0))


def _nearest_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.clip(values, 0.0, None)) @ vectors.T


def _axes(cov: np.ndarray) -> tuple[float, float, float]:
    """(major std, minor std, screen angle in [0, π)) of a 2×2 covariance (x, rows)."""
    values, vectors = np.linalg.eigh(_nearest_psd(cov))
    major = vectors[:, 1]
    angle = math.atan2(-major[1], major[0]) % math.pi
    return math.sqrt(max(values[1], 0.0)), math.sqrt(max(values[0], 0.0)), angle


#: Blocky frames are deblocked before restoring when the blur to undo is at least this
#: std (pixels); below it the filter barely sharpens the grid.
DEBLOCK_SIGMA = 0.3

#: Below this std (pixels) a blur is no blur: the kernel is a delta.
SHARP = 0.05


def gaussian_of(cov: np.ndarray) -> np.ndarray:
    """The rotated Gaussian of a blur covariance's positive part (a delta below SHARP)."""
    major, minor, angle = _axes(cov)
    if major < SHARP:
        return np.ones((1, 1))
    return _psf.gaussian(major, max(minor, SHARP), angle=angle)


class _Decoder:
    """Decodes parts of a raw frame into the pipeline's working values (float32).

    Integer frames are decoded as the pipeline decodes them (sRGB → linear light for
    ``space='linear'``); float frames are taken as they are; alpha is dropped. Only the
    parts the estimator reads are decoded — a 1080p frame is never converted whole.
    """

    def __init__(self, frame: Any, space: str, channel_order: str, bits: int | None = None) -> None:
        self.xp = array_module(frame)
        self.colours = 3 if frame.shape[-1] >= 3 else 1
        self.table = (
            self.xp.asarray(decode_table(frame.dtype.name, space, "float32", bits))
            if frame.dtype.kind == "u"
            else None
        )
        self.weights = (
            self.xp.asarray(luma_weights(channel_order), dtype=self.xp.float32)
            if self.colours == 3
            else None
        )

    def values(self, raw: Any) -> Any:
        """``(..., colours)`` float32 working values of raw ``(..., C)`` pixels."""
        raw = raw[..., : self.colours]
        if self.table is None:
            return raw.astype(self.xp.float32)
        if self.xp is np and raw.dtype == np.uint8 and raw.size >= 16 * self.colours:
            # OpenCV's table lookup: 5× NumPy's (it returns None below 16 pixels)
            flat = np.ascontiguousarray(raw).reshape(-1, 1, self.colours)
            return cv2.LUT(flat, self.table).reshape(raw.shape)
        return self.xp.take(self.table, raw)

    def luma(self, raw: Any) -> Any:
        """``(...)`` float32 luminance of raw ``(..., C)`` pixels."""
        values = self.values(raw)
        return values[..., 0] if self.weights is None else values @ self.weights


def working_luma(image: Any, *, space: str = "linear", channel_order: str = "bgr") -> Any:
    """A frame's luminance in the pipeline's working values (float32, NumPy or CuPy)."""
    image = image_array("image", image)
    frame = image[..., None] if image.ndim == 2 else image
    return _Decoder(frame, space, channel_order).luma(frame)


def estimate(
    image: Any,
    *,
    model: str = "gaussian",
    roi: tuple[int, int, int, int] | None = None,
    space: str = "linear",
    channel_order: str = "bgr",
    bits: int | None = None,
    compression: Compression | None = None,
) -> Estimate:
    """Estimate the blur, the noise and the signal spectrum of one frame.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        NumPy or CuPy; uint8/uint16 code values or float values (taken as linear, as the
        pipeline takes them). Colour frames are measured on their luminance. CuPy frames
        stay on the device: what comes back is bounded — the spectrum's tiles (the edges
        are read from them on the host), sampled blocks, every 4th pixel of every 4th
        row (to pick the tiles) and a few numbers (``tests/test_device_paths.py``).
    model : {'gaussian'}
        The blur model: an anisotropic, rotated Gaussian.
    roi : (y, x, height, width), optional
        Measure only this region (e.g. the subject, not a blurred background).
    space, channel_order, bits
        How integer frames are decoded and which channel is which, as for ``Pipeline``
        (``bits=10``: a 10-bit video plane in uint16 samples).
    compression : Compression, optional
        The codec's error as the file or stream states it (a JPEG's tables, an H.264
        frame's QP: :class:`~gpudeconv.blind.sideinfo.Compression`). Without it, the
        error is read from the frame's block boundaries.

    Returns
    -------
    Estimate
        Also for frames that say little (flat, tiny, pure noise): then ``confidence`` is
        low and the blur's uncertainty wide, which makes the robust fit gentle.

    Notes
    -----
    Noise from the flat blocks of the finest Haar band (:mod:`.noise`); blur and
    amplitude by one weighted least-squares fit of the log power spectrum of the most
    textured tiles (:mod:`.spectrum`). What is read is bounded whatever the frame size:
    every 4th pixel of every 4th row (to pick the tiles), 12 tiles of 128² (the
    spectrum) and at most 512 blocks of 16² (the noise) — at 1080p a tenth of the frame.
    """
    check_choice("model", model, MODELS)
    check_choice("space", space, SPACES)
    check_choice("channel_order", channel_order, ORDERS)
    image = image_array("image", image)
    spec = FrameSpec.create(image.shape[:2], image.dtype, bits=bits)  # validates bits
    frame = image[..., None] if image.ndim == 2 else image
    if roi is not None:
        frame = frame[_roi_slices(roi, frame.shape)]
    xp = array_module(frame)
    decoder = _Decoder(frame, space, channel_order, spec.bits)
    bits = spec.quantization_bits
    floor = 0.5 * quantization_noise(bits) if bits else 0.0

    # The filter runs on each channel: the noise it meets is each channel's own. The
    # spectrum is the luma's, whose noise the spectrum's corner also bounds from above.
    raw = sample_blocks(frame)
    blocks = decoder.values(raw)
    measures = haar_measures(blocks, decoder.weights)
    stds = block_noise(blocks, decoder.weights, measures=measures)
    channels, luma_noise = stds[: decoder.colours], float(stds[-1])
    luma_blocks = blocks[..., 0] if decoder.weights is None else blocks @ decoder.weights
    # The grid is judged on the codes, as the codec left them (not in linear light).
    codes = raw[..., : decoder.colours].astype(xp.float32)
    luma_codes = codes[..., 0] if decoder.weights is None else codes @ decoder.weights
    blocky = block_ratio(luma_codes) >= DEBLOCK_RATIO
    detected = compression_noise(luma_blocks)
    if compression is None:
        compression = detected
    else:  # stated in code units: carried into working values by the decoding's slope
        stated = compression.noise * _code_slope(decoder, luma_codes)
        compression = min(max(detected, compression.white_share * stated), stated)
    luma_noise = math.hypot(luma_noise, compression)
    display = (
        _display_factor(luma_blocks) if decoder.table is not None and space == "linear" else 1.0
    )
    if display > DISPLAY_LIMIT:  # a dark frame: left alone, saying why (confidence 0)
        noise = max(math.hypot(float(channels.mean()), compression), floor) * display
        return replace(_from_fit(None, noise, NATURAL_PRIOR["amplitude"], True), blocky=blocky)

    fitted, amplitude = None, NATURAL_PRIOR["amplitude"]
    height, width = frame.shape[:2]
    if min(height, width) >= 32:
        tile = TILE if min(height, width) >= TILE else 32 if min(height, width) < 64 else 64
        coarse = decoder.luma(frame[::DECIMATE, ::DECIMATE])
        corners, share = choose_tiles(coarse, (height, width), TILES, tile)
        stack = xp.stack([frame[y : y + tile, x : x + tile] for y, x in corners])
        tiles = decoder.luma(stack)  # decoded once: the spectrum and the edges read it
        power, count = periodogram(tiles)
        ceiling = noise_ceiling(power)
        # The spectrum's corner is noise only on a frame that lost its fine detail: what
        # stands above it in the detail band is detail, whatever the noise estimate says.
        detail = detail_ratio(power, max(luma_noise, ceiling))
        if 0 < ceiling < luma_noise:
            channels = channels * (ceiling / luma_noise)
            luma_noise = ceiling
        grid = block_grid_bins(power.shape[0]) if compression > 0 else None
        # A noise-free float frame still has rounding error: never fit below it.
        fitted = fit_spectrum(power, count, max(luma_noise, NOISE_FLOOR), grid)
        if fitted is not None:
            added = _nearest_psd(_nearest_psd(fitted.blur_covariance) - SHARP_SOFTNESS * np.eye(2))
            matched = crossover_amplitude(power, luma_noise, added, grid)
            # Matched at the crossover, but never above the fitted level: far out in the
            # spectrum, window leakage of strong edges (text) can pose as signal.
            amplitude = max(min(fitted.amplitude, matched or fitted.amplitude) * share, 1e-12)
        # Where the fine detail is gone (a blur, or a codec that took it and left block
        # edges and ringing that pose as detail), or where the edges are plainly soft
        # whatever the high band holds (a codec kept the noise, not the detail), the
        # blur is read from the edges.
        # All the spectrum's tiles: the 6 most textured cost 3 ms less at 1080p and harmed
        # 3 of 210 tuning cells by up to 0.26 dB.
        edges = edge_blur(_host(tiles), luma_noise)
        if edges is not None:
            spectral = 0.0 if fitted is None else float(np.trace(added)) / 2
            read = float(np.trace(_edge_added(edges))) / 2
            soft = detail < DETAIL_SHARP or read >= EDGE_CERTAIN
            if soft and read > spectral + EDGE_MARGIN:
                # Per channel, as the filter meets it, averaged over the frame's levels.
                levels = level_noise(blocks, decoder.weights, measures=measures)
                sensor = float(levels[: decoder.colours].mean())
                # Smoothing is allowed only where the corner confirms the noise.
                confirmed = not blocky and levels[-1] <= EDGE_CONFIRM * ceiling
                found = _from_edges(
                    edges, power, share, math.hypot(sensor, compression), not confirmed, display
                )
                return _amplitude_floored(replace(found, blocky=blocky))
    # Compression error is noise to the filter: it must not sharpen the block grid.
    noise = max(math.hypot(float(channels.mean()), compression), floor)
    bound = fitted is None or _corner_snr(fitted, luma_noise) > CORNER_SNR
    bound = bound or display > DISPLAY_SMOOTHING
    found = replace(_from_fit(fitted, noise * display, amplitude, bound), blocky=blocky)
    return _amplitude_floored(found)


#: The least signal amplitude an estimate whose noise is only an upper bound keeps: a
#: quarter of the natural prior's. There the noise may be texture, a codec's error or
#: both, so ``noise² / A`` is an upper bound too, and the amplitude read from the tiles
#: (matched where a codec or the noise hides the detail) kept the sharpen-only filter
#: near idle on textured and text frames (text +0.13 dB, brick +1.25 where the known PSF
#: gained 2–5 dB). Swept on ``bench.camera``'s photographs (PNG, JPEG q90, H.264 CRF 23;
#: 420 cells): a quarter (with the rise capped below) raised the mean gain in every
#: condition but one, kept there (bright JPEG +0.63 → +0.72 dB; text +0.13 → +0.25, brick
#: +1.25 → +1.40), 2 cells lost 0.03–0.16 dB (coffee's disk 1.5) and no sharp frame lost
#: more than 0.04 dB; 0.4 and above cost sharp H.264 text frames
#: 0.2–0.7 dB. Frames whose noise is confirmed keep their own amplitude: there the
#: filter also smooths, and a smooth frame (moon) lost up to 1.2 dB when its small
#: amplitude was raised. Frames read as sharp (below :data:`AMPLITUDE_FLOOR_SIGMA`) keep
#: theirs too: a clean screen capture (amplitude 5e-5, noise 6e-4) rang by 16 codes
#: around its text when the posterior's spread met a 30× amplitude.
UPPER_BOUND_AMPLITUDE = 0.25 * NATURAL_PRIOR["amplitude"]
AMPLITUDE_FLOOR_SIGMA = 0.3
#: ... and never raised more than this factor: a frame that reads a far smaller amplitude
#: is smooth (moon: 1.7e-4), and there a false streak read from its few edges was
#: sharpened (−0.31 dB at a 9× rise; +0.08 at 3×, where text and brick keep their gain).
AMPLITUDE_FLOOR_RISE = 3.0


def _amplitude_floored(found: Estimate) -> Estimate:
    """``found``, its amplitude at least :data:`UPPER_BOUND_AMPLITUDE` if its noise is a bound."""
    if not found.noise_is_upper_bound or found.isotropic_sigma < AMPLITUDE_FLOOR_SIGMA:
        return found
    raised = min(UPPER_BOUND_AMPLITUDE, AMPLITUDE_FLOOR_RISE * found.prior_amplitude)
    if found.prior_amplitude >= raised:
        return found
    return replace(found, prior_amplitude=raised)


#: Below this :func:`~.spectrum.detail_ratio` the high band is not trusted (see there).
DETAIL_SHARP = 0.2
#: Noise std added (in quadrature) to the measured noise for an edge-read blur: the error
#: of the model itself (a Gaussian for a disk or a streak, the scene's softness guessed)
#: and of a codec (block edges, ringing, quantised texture), which the flat blocks miss.
#: Swept 0.006–0.014 on the tuning photographs of ``bench.camera``: 0.006 gave the most
#: gain with no cell harmed.
EDGE_NOISE_FLOOR = 0.006
#: The uncertainty of an edge-read blur variance (px²): the spread of sharp photographs'
#: own edge softness about :data:`~.edges.BASELINE`, and a share of the blur.
EDGE_SPREAD = 0.25
EDGE_RELATIVE_SPREAD = 0.1
#: The share of an edge-read blur variance believed: the gradient ratio reads a flat-topped
#: blur (defocus disk, motion streak) as up to 2× the variance it has, and reading too much
#: blur rings, while reading too little only sharpens less.
EDGE_SHRINK = 0.9
#: The edges must read this much more blur (px², mean per axis) than the spectral fit for
#: their reading to replace it: on a lossless frame the spectral fit is the finer one.
EDGE_MARGIN = 0.15
#: An edge-read blur (px², mean per axis, as believed) this large is taken even where the
#: high band seems to hold detail: sharp photographs' edges read at most ~0.3 beyond
#: :data:`~.edges.BASELINE`, and noise a codec kept can lift the detail band of a blurred
#: frame (dim JPEG q90 frames blurred by σ = 2 read as sharp without this).
EDGE_CERTAIN = 0.8
#: The flat-block noise is confirmed (smoothing allowed) when it is at most this many
#: times the spectrum corner's level, and the frame shows no block grid: a codec quantises
#: noise and texture alike, and smoothing a compressed texture (brick, H.264) lost up to
#: 0.7 dB where sharpening only gained.
EDGE_CONFIRM = 1.5


#: The slope of the sRGB curve (codes per linear unit) at mid-grey (0.18): where the
#: filter's trade between blur and noise is judged as fitted.
DISPLAY_SLOPE = 1.2
#: Above this display factor the filter only sharpens: in a dark frame, noise that the
#: sensor clipped at black is not zero-mean, and smoothing it in linear light shifts the
#: displayed codes (on ``hubble_deep_field``, up to −2 dB).
DISPLAY_SMOOTHING = 1.5
#: Above this display factor the frame is left alone: a frame that dark (a night sky)
#: is judged in codes so far from the linear-light model the filter is fitted for that
#: even the known-PSF filter gains only at one noise setting and loses up to 2 dB at the
#: next (``hubble_deep_field``); restore such frames with a known PSF and
#: ``space="srgb"``.
DISPLAY_LIMIT = 4.0


def _display_factor(luma: Any) -> float:
    """How much more a frame's noise counts once displayed than fitted in linear light.

    The filter weighs errors in linear light; a viewer sees them through the sRGB curve,
    whose slope is 12.92 near black and ~1 at mid-grey. On a mostly dark frame (a night
    sky: median slope 11 on ``hubble_deep_field``, against 0.9–2.2 on the other
    ``skimage.data`` photographs) amplified noise shows ~10× more than the fit expected
    and restoring made it worse by up to 2.6 dB. The noise is scaled by the median slope
    over the frame's levels relative to mid-grey's, once that exceeds
    :data:`DISPLAY_SMOOTHING` (1 below: ordinary photographs, 0.8–1.2 here, keep the
    noise they measured).
    """
    values = _host(luma).astype(np.float64)
    if values.size == 0:
        return 1.0
    level = max(float(np.median(values)), 1e-6)
    slope = 12.92 if level <= 0.0031308 else 1.055 / 2.4 * level ** (1 / 2.4 - 1)
    factor = slope / DISPLAY_SLOPE
    return factor if factor > DISPLAY_SMOOTHING else 1.0


def _code_slope(decoder: _Decoder, luma_codes: Any) -> float:
    """RMS slope of working values per unit of code range at a frame's luma codes."""
    if decoder.table is None:
        return 1.0
    table = _host(decoder.table).astype(np.float64)
    slope = np.gradient(table) * (table.size - 1)
    codes = np.clip(np.rint(_host(luma_codes)).astype(np.int64), 0, table.size - 1)
    return float(np.sqrt(np.mean(slope[codes] ** 2))) if codes.size else 1.0


def _host(array: Any) -> np.ndarray:
    return np.asarray(array if isinstance(array, np.ndarray) else array.get())


#: A blur this elongated (major over minor variance) is a motion streak: its flat-topped
#: profile reads, by the peak-gradient ratio, as ``L²/2π`` where its variance is ``L²/12``.
STREAK_ELONGATION = (3.0, 8.0)
STREAK_FACTOR = 2 * math.pi / 12


def _streak_corrected(added: np.ndarray) -> np.ndarray:
    """``added`` with its major variance scaled toward a streak's (see above)."""
    values, vectors = np.linalg.eigh(added)
    minor, major = max(values[0], 0.0), max(values[1], 0.0)
    lo, hi = STREAK_ELONGATION
    ratio = major / max(minor, 1e-3 * max(major, 1e-12))
    weight = min(max((ratio - lo) / (hi - lo), 0.0), 1.0)
    major *= 1.0 - weight * (1.0 - STREAK_FACTOR)
    return (vectors * np.array([minor, max(major, minor)])) @ vectors.T


def _edge_added(edges: EdgeFit) -> np.ndarray:
    """The blur covariance (px²) the edges read beyond a sharp frame's, as believed."""
    return _streak_corrected(_nearest_psd(edges.covariance - BASELINE * np.eye(2)) * EDGE_SHRINK)


def _from_edges(
    edges: EdgeFit, power: np.ndarray, share: float, noise: float, bound: bool, display: float
) -> Estimate:
    """An estimate from the blur the edges read; amplitude from the low band."""
    added = _edge_added(edges)
    measured = added + SHARP_SOFTNESS * np.eye(2)
    amplitude = max(low_band_amplitude(power, added) * share, 1e-12)
    width = EDGE_SPREAD + EDGE_RELATIVE_SPREAD * np.trace(added) / 2 + edges.spread
    noise = math.hypot(noise, EDGE_NOISE_FLOOR)
    # The corner holds signal by this model (a sharp or barely blurred frame): the noise
    # there is texture as much as noise, and the filter must not smooth. Judged before
    # the display scaling below, which is about how errors show, not what is noise.
    least = float(np.linalg.eigvalsh(added)[0])
    corner = amplitude / CORNER**2 * math.exp(-least * CORNER**2) / max(noise * noise, 1e-30)
    bound = bound or corner > CORNER_SNR or display > DISPLAY_SMOOTHING
    noise *= display
    return Estimate.from_measured(
        measured, np.diag([1.0, 0.5, 1.0]) * width**2, noise, amplitude, bound
    )


def _roi_slices(roi: Any, shape: tuple[int, ...]) -> tuple[slice, slice]:
    try:
        y, x, h, w = (int(v) for v in roi)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"roi must be four integers (y, x, height, width); got {roi!r}"
        ) from None
    if h < 1 or w < 1 or y < 0 or x < 0 or y + h > shape[0] or x + w > shape[1]:
        raise InvalidArgumentError(
            f"roi {roi!r} (y, x, height, width) is not inside the frame of {shape[0]}x{shape[1]}"
        )
    return slice(y, y + h), slice(x, x + w)


#: Above this signal-to-noise ratio in the spectrum's corner (as the fitted model
#: predicts it), the noise estimate is only an upper bound (see ``noise_is_upper_bound``).
CORNER_SNR = 0.25


def _corner_snr(fitted: SpectralFit, noise: float) -> float:
    """Signal over noise power at ``|ω| = CORNER`` along the blur's least-blurred axis."""
    least = float(np.linalg.eigvalsh(_nearest_psd(fitted.blur_covariance))[0])
    signal = fitted.amplitude / CORNER**2 * math.exp(-least * CORNER**2)
    return signal / max(noise * noise, 1e-30)


def _from_fit(
    fitted: SpectralFit | None, noise: float, amplitude: float, noise_is_upper_bound: bool
) -> Estimate:
    if fitted is None:  # nothing to read a blur from (flat, noise only, tiny): leave it
        return replace(
            Estimate.from_measured(
                np.zeros((2, 2)),
                np.diag([0.01, 0.005, 0.01]),
                noise,
                amplitude,
                noise_is_upper_bound,
            ),
            confidence=0.0,
        )
    measured = _nearest_psd(fitted.blur_covariance)
    added = _nearest_psd(measured - SHARP_SOFTNESS * np.eye(2))
    scale = 1.0 + np.trace(added) / 2
    model = np.diag([1.0, 0.5, 1.0]) * (MODEL_SPREAD * scale) ** 2
    return Estimate.from_measured(
        measured,
        fitted.covariance[1:, 1:] + model,
        noise,
        amplitude,
        noise_is_upper_bound,
    )
