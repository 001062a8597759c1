"""Whole-image restoration: the FFT references, stills, and the one-shot :func:`deblur`.

Layer 6 of 8: above :mod:`gpudeconv.blind` (the one-shot ``deblur`` and the stills'
starting guess estimate the blur). :mod:`~gpudeconv.restoration.wiener` is the exact
reference every fast path is measured against; :mod:`~gpudeconv.restoration.stills`
restores photographs iteratively and estimates their kernels;
:mod:`~gpudeconv.restoration.methods` is the registry of what a user can choose (a fitted
basis, ``wiener``, ``auto``, ``off``) and how each restores a frame.
"""
