"""Benchmarks: quality (PSNR/SSIM) and throughput, run as ``python -m bench.<name>``."""
