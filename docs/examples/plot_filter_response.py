"""
What the fitted filter is
=========================

:func:`gpudeconv.fit` chooses the weights of a few separable filters so that together
they match the noise-regularised Wiener inverse of the blur. This example plots the two
responses along one frequency axis for three noise levels: at low noise the fitted filter
follows the inverse far into the high frequencies; at high noise both back off. Near the
Nyquist frequency, where the blur has left almost no signal, the fitted gain departs from
the Wiener response: the expected-error objective weighs each frequency by the signal and
noise there, and both are small.
"""

import matplotlib.pyplot as plt
import numpy as np

import gpudeconv
from gpudeconv import psf, spectra

kernel = psf.gaussian(1.2)
w = np.linspace(0, np.pi, 256)
zero = np.zeros_like(w)
blur = spectra.psf_response(kernel, np.zeros(1), w)[0]  # H(0, wx)

fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
for noise, colour in ((0.001, "C0"), (0.005, "C1"), (0.02, "C2")):
    filt = gpudeconv.fit(kernel, noise=noise, quantization_bits=8)
    fitted = np.real(filt.response(zero, w))
    optimum = np.real(spectra.wiener_response(blur, zero, w, noise=filt.noise))
    ax.plot(w / np.pi, optimum, color=colour, ls="--", lw=1)
    ax.plot(w / np.pi, fitted, color=colour, label=f"noise {noise}: {len(filt.terms)} terms")
ax.plot(w / np.pi, np.abs(blur), color="k", lw=1, label="blur")
ax.set_xlabel("horizontal frequency (× π rad/px)")
ax.set_ylabel("gain")
ax.set_title("fitted filter (solid) against the Wiener response (dashed)")
ax.legend()
plt.show()
