"""Every numeric tolerance the tests use, in one place, with the reason for each."""

#: float64 identities (FFT round trips, closed forms vs definitions): rounding only.
F64_EXACT = 1e-10
#: MATLAB deconvwnr reproduction on circular data, relative to the image's max (issue 2).
DECONVWNR_REL = 1e-10
#: float64 Wiener against the dense direct solve (a 72x72 system, condition up to ~1e6).
DIRECT_SOLVE = 1e-8
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
#: Pipeline integer output against the float64 reference through the same transfer (LSB).
PIPELINE_LSB = 1
