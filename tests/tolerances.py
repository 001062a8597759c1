"""Every numeric tolerance the tests use, in one place, with the reason for each."""

#: float64 identities (FFT round trips, closed forms vs definitions): rounding only.
F64_EXACT = 1e-10
#: MATLAB deconvwnr reproduction on circular data, relative to the image's max (issue 2).
DECONVWNR_REL = 1e-10
#: float64 Wiener against the dense direct solve (a 72x72 system, condition up to ~1e6).
DIRECT_SOLVE = 1e-8
#: The unknown-boundary CG against the dense solve: it stops when a step moves the image
#: by less than 1e-7 RMS, which leaves up to ~6e-8 (measured over 20 seeds).
CG_DIRECT_SOLVE = 1e-6
#: float32 FFT results against float64: ~1e-7 per op, a few hundred ops deep.
F32_FFT = 2e-5
#: MATLAB's published 4-decimal values (fspecial docs / known outputs).
MATLAB_4DP = 5e-5
#: Disk edge areas against a 2000x2000 supersampled count per pixel.
DISK_SUPERSAMPLED = 2e-5
#: Border PSNR may fall this far below the interior's with reflect boundaries (dB).
BORDER_PSNR_DB = 1.0
#: sRGB round trip at the standard's threshold seam (0.04045 vs 0.0031308·12.92).
SRGB_SEAM = 5e-8
#: Pipeline float32 output against the float64 reference (issue 4). The CPU backend
#: measures ~6e-6 on uniform noise (the worst case) with weights summing to ~200 in |w|.
PIPELINE_F32 = 1e-5
#: The same for the CUDA kernels (emulated): each tile is centred on the midrange of 9
#: of its pixels, not the frame's level, and sums in its own order. Re-derived once the
#: emulator fused multiply-adds (-mfma) and flushed denormals (FTZ/DAZ) as the GPU does:
#: on the 3600 float32 cases of test_pipeline's grid (fresh frames, 6 bases, 2
#: boundaries, 5 sizes) the worst is 8.6e-6 (median 2.1e-7, p99 4.8e-6); the same run
#: unfused, 9.2e-6; the CPU backend, 2.5e-6. 2e-5 leaves 2.3x for the pairs nvcc fuses
#: that g++ does not.
PIPELINE_F32_GPU = 2e-5
#: Pipeline integer output against the float64 reference through the same transfer (LSB).
PIPELINE_LSB = 1


#: Exported GLSL on llvmpipe against the float32 CPU pipeline, [0, 1] data (issue 14's
#: target; measured ~1e-6: the same float32 sums in another order).
SHADER_ATOL = 1e-4
#: HDR frames (up to half-float max, small negatives), float32 against float64: error
#: relative to the largest partial sum, Σ|w_j| · max|x| (~8 float32 ulps of it; the
#: worst of 30 random frames measured 1.2e-7).
HDR_REL = 1e-6


# ---------------------------------------------------------------------------- blind (12)
def sigma_tolerance(sigma: float) -> float:
    """Isotropic σ estimates at noise 0.002 (issue 12's target): ±(0.15 + 0.1 σ) px."""
    return 0.15 + 0.1 * sigma


#: σ = 0.6 is read as ~0.4 by design: a sharp photograph's own softness (up to 0.36 px²)
#: is taken off every measured blur, so the mildest blur loses most of it (the safe side).
SIGMA_MILD_TOL = 0.3
#: Minor axis of an anisotropic blur (its spectrum is measured across few bins).
SIGMA_MINOR_TOL = 0.45
#: Direction of a blur at least twice as long as it is wide (degrees).
ANGLE_TOL_DEG = 15.0
#: Noise estimate / truth on blurred photographs (σ ≥ 1) with little fine texture.
NOISE_RATIO = (0.8, 1.25)
#: "Never harm": PSNR may fall this far below the input's (issue 12, dB).
HARM_DB = 0.1
#: A restoration may raise the 8-pixel blockiness ratio by at most this much.
BLOCKINESS_RISE = 0.01
#: Sharpen-only fits hold F ≥ 1 on a 33×33 grid (to 2e-15); between its nodes F may dip
#: this much (on a 129×129 grid the worst of 1000 random estimates dipped 2.6e-3, the
#: 99.9th percentile 2.2e-3: a loss of 0.02 dB at that frequency; 1e-4 and then 1e-3,
#: set from the worst of 26, failed CI now and then — 0.9 % of seeds).
SHARPEN_FLOOR = 5e-3
#: Known Gaussian blur restored on code values, judged by ffmpeg's psnr filter on Y
#: (issue 13's target, dB over the blurred clip).
VIDEO_GAIN_DB = 2.0


# ---------------------------------------------------------------------------- stills (15)
#: RMS error of gpudeconv.restore on a noiseless periodic blur of a smooth planted image
#: (blurred: ~8e-3). With noise=0 the priors' weight is 0: TV and the hyper-Laplacian
#: reduce to the exact inverse (measured ~2e-13); RL stops at its 500-iteration cap
#: (measured ~6e-6).
PLANTED_RECOVERY_RMS = {"tv": 1e-9, "hyper-laplacian": 1e-9, "rl": 2e-5}
#: With the prior on (noise=1e-3 given), the error stays below this share of the
#: blurred image's (measured 0.29–0.33: the prior's bias on a random texture).
PLANTED_PRIOR_SHARE = 0.4
#: Blind kernel estimation (gpudeconv.estimate_kernel): normalised correlation with the
#: true kernel at the best sub-pixel shift (a kernel is known up to one) on a 448²
#: photograph, noise 1e-3, fresh 9–15 px camera-shake kernels (measured 0.975–0.992 on 5;
#: whole-pixel shifts only: 0.87–0.99, since ½ px alone costs a 9-px kernel 0.11); and
#: between estimates from two crops shifted by (7, −4) px, also at the best sub-pixel
#: shift, at most 1.5 px apart (each is centred to the whole pixel, rounding either way).
KERNEL_NCC = 0.9
KERNEL_SHIFT_NCC = 0.9
#: The kernel solve alone, fed the true sharp image and a noiseless blur: without the
#: noise low-pass (measured 0.9998–0.9999 on 45 fresh kernels), and with the 1-px
#: low-pass used at noise 0.01 (0.933–0.98 on the same 45: the Tikhonov term takes the
#: frequencies the weighting leaves out; weighting only one side of the normal equations
#: gives 0.69–0.76 on 5).
KERNEL_STEP_NCC, KERNEL_LOWPASS_NCC = 0.99, 0.88

#: Compressed frames (issue 26). The edge reading of a blur's major std on random scenes
#: of step edges, relative (measured within ±8 % on 3 seeds; the scene's own softness
#: taken out as read), and of its direction (within 6°).
EDGE_SIGMA_REL = 0.2
EDGE_ANGLE_DEG = 15.0
#: One frame's edge-read variance (px², mean per axis) as PNG, JPEG q75 and H.264 CRF 23:
#: measured 0.1–0.25 apart on the astronaut.
EDGE_VARIANCE_ACROSS_CODECS = 0.45
#: The noise-level function's frame-average std against the truth (measured within 10 %).
LEVEL_NOISE_REL = 0.2
#: ``estimate``'s isotropic σ of a σ = 1.4 linear-light blur read from JPEG q90 / H.264
#: CRF 23 frames (measured 1.10–1.36: the edge path reads low on purpose).
COMPRESSED_SIGMA_ABS = 0.4
#: The codec's error std stated by the file against the true error (decoded − original),
#: on ``skimage.data`` photographs with sensor noise, sharp and blurred: a JPEG's tables
#: with the Laplacian model of zeroed coefficients (measured 0.8–2.1× at q50–95) and an
#: H.264 frame's QP (x264 CRF 18–28: 0.6–1.7×).
JPEG_STATED_NOISE_RATIO = (0.6, 2.5)
H264_STATED_NOISE_RATIO = (0.5, 2.0)
#: A host program's output against the Pipeline on the same 8-bit frame (issue 29):
#: libplacebo keeps intermediate textures in half float (measured: 1 code in 6–9 % of
#: pixels at 320×240, every basis and both spaces); vkBasalt measured exact.
HOST_PROGRAM_CODES = 1
#: An iterative stills method on a device path (the strict stand-in: NumPy's FFT) against
#: the host (SciPy's): float32 rounding, measured ≤ 4e-4 for tv and rl over 25 kernels.
STILLS_DEVICE = 2e-3
#: The hyper-Laplacian's prox is discontinuous at its threshold: a pixel whose gradient
#: sits on it may flip between host and device (measured: 1 kernel in 25 over
#: STILLS_DEVICE, and in CI 3.3e-3 at 1 pixel of 10 752). Such pixels may differ by this
#: much, in at most this share of the frame.
STILLS_DEVICE_FLIP = 1e-2
STILLS_DEVICE_FLIP_SHARE = 1e-3
