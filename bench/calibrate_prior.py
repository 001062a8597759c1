"""Calibrate the amplitude of the natural-image prior of ``gpudeconv.wiener``.

For each candidate amplitude, restore every calibration photograph blurred by a Gaussian
(reflect boundaries) plus noise and 8-bit quantisation, and average the PSNR over the
interior; print the table and the best amplitude. Also print a direct least-squares fit
of ``A / |ω|²`` to the photographs' own power spectra, for comparison.

Run: ``python -m bench.calibrate_prior``.
"""

from __future__ import annotations

import importlib

import numpy as np

from bench.images import CALIBRATION_IMAGES, grey_photo
from gpudeconv import wiener
from gpudeconv.core import degrade, metrics, psf
from gpudeconv.core.spectra import total_noise

wiener_module = importlib.import_module("gpudeconv.restoration.wiener")

SIGMAS = (0.6, 1.0, 1.5, 2.0)
NOISES = (0.002, 0.01)
AMPLITUDES = (1e-3, 3e-3, 6e-3, 1e-2, 2e-2, 4e-2, 1e-1)
CROP = 16


def spectral_fit(images: list[np.ndarray]) -> float:
    """Least-squares fit of log(P) = log(A) − log|ω|² on 0.1π < |ω| < 0.5π."""
    logs = []
    for image in images:
        x = image - image.mean()
        power = np.abs(np.fft.fft2(x)) ** 2 / x.size
        wy = 2 * np.pi * np.fft.fftfreq(x.shape[0])[:, None]
        wx = 2 * np.pi * np.fft.fftfreq(x.shape[1])[None, :]
        w2 = wx**2 + wy**2
        band = (w2 > (0.1 * np.pi) ** 2) & (w2 < (0.5 * np.pi) ** 2)
        logs.append(np.mean(np.log(power[band] * w2[band])))
    return float(np.exp(np.mean(logs)))


def main() -> None:
    images = [grey_photo(name) for name in CALIBRATION_IMAGES]
    print(f"spectral fit A/|w|^2 on 0.1pi..0.5pi: A = {spectral_fit(images):.3g}")
    saved = dict(wiener_module.NATURAL_PRIOR)
    scores = {}
    for amplitude in AMPLITUDES:
        wiener_module.NATURAL_PRIOR["amplitude"] = amplitude
        total = []
        for sigma in SIGMAS:
            h = psf.gaussian(sigma)
            for noise in NOISES:
                for k, image in enumerate(images):
                    blurred = degrade.blur(image, h)
                    noisy = degrade.quantize(degrade.add_noise(blurred, noise, seed=k))
                    total = total_noise(noise, 8)
                    out = wiener(noisy, h, noise=total)
                    c = (slice(CROP, -CROP),) * 2
                    total.append(metrics.psnr(image[c], out[c]))
        scores[amplitude] = float(np.mean(total))
        print(f"amplitude {amplitude:8.1e}: mean PSNR {scores[amplitude]:.3f} dB")
    wiener_module.NATURAL_PRIOR.update(saved)
    best = max(scores, key=scores.get)
    print(f"best amplitude {best:.1e} (current default {saved['amplitude']:.1e})")


if __name__ == "__main__":
    main()
