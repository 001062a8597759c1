"""How good a fitted filter is, in the numbers DESIGN §3 asks every fit to report."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .problem import Problem

if TYPE_CHECKING:
    from .filter import DeconvFilter

__all__ = ["diagnose"]

#: Quadrature nodes per axis for diagnostics (finer than a fit's default 32).
DIAGNOSTIC_NODES = 64
#: Points per axis of the uniform grid the peak gain is searched on.
PEAK_GRID = 257


def diagnose(filt: DeconvFilter) -> dict[str, float]:
    """Diagnostics of ``filt`` against the Wiener target of its own PSF, noise and prior.

    Returns
    -------
    dict
        ``response_rms_error`` / ``response_max_error``: ``|F − Re W|`` over the band that
        matters (where the blurred signal is above the noise, ``S|H|² ≥ σ²``; the whole
        plane without noise). ``white_noise_gain``: ``Σ taps²`` of the dense kernel.
        ``peak_gain``: ``max |F|``. ``expected_mse`` (fitted), ``expected_mse_blurred``
        (no filter), ``expected_mse_wiener`` (the unconstrained optimum), the gains in dB
        over the blurred input ``mse_gain_db`` and ``wiener_gain_db``, and ``capture``, the
        share of the Wiener gain the basis achieves.
    """
    problem = Problem.build(
        filt.psf,
        filt.noise,
        filt.prior,
        nodes=DIAGNOSTIC_NODES,
        amplitude=filt.extra.get("amplitude"),
    )
    quad = problem.quad
    response = filt.response(quad.wy, quad.wx)
    target = problem.wiener
    band = problem.spectrum * np.abs(problem.otf) ** 2 >= problem.noise**2
    q_band = quad.q * band
    deviation = np.abs(response - target.real)
    rms = math.sqrt(float((q_band * deviation**2).sum() / q_band.sum()))
    w = np.linspace(0.0, np.pi, PEAK_GRID)
    peak = float(np.abs(filt.response(w[:, None], w[None, :])).max())
    gain, gain_wiener = problem.gains_db(response)
    return {
        "response_rms_error": rms,
        "response_max_error": float(deviation[band].max()),
        "white_noise_gain": float((filt.kernel() ** 2).sum()),
        "peak_gain": peak,
        "expected_mse": problem.error(response),
        "expected_mse_blurred": problem.error(np.ones_like(problem.otf)),
        "expected_mse_wiener": problem.error(target),
        "mse_gain_db": gain,
        "wiener_gain_db": gain_wiener,
        "capture": gain / gain_wiener if 0 < gain_wiener < math.inf else 1.0,
    }
