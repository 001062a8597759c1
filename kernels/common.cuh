// gpudeconv — helpers shared by every kernel: border indexing and sRGB transfer curves.
//
// Compiled by NVRTC at run time (backends/cuda) and by g++ through the host emulation
// shim (tests), so it uses only plain C++ plus the CUDA qualifiers the shim defines.
#pragma once

// Dynamic shared memory: one extern array on the GPU; the host emulation shim defines
// this macro itself (a per-block buffer) before including this file.
#ifndef GPUDECONV_DYNAMIC_SHARED
#define GPUDECONV_DYNAMIC_SHARED(type, name) \
    extern __shared__ __align__(16) unsigned char gpudeconv_smem[]; \
    type* name = reinterpret_cast<type*>(gpudeconv_smem)
#endif

// Border modes. Python reads these codes back (gpudeconv/engine/backends/kernels.py:
// border_code) for the rules gpudeconv/core/boundaries.py names; keep one line per #define.
#define GPUDECONV_BORDER_REFLECT 0  // ...cba|abc... (OpenCV BORDER_REFLECT)
#define GPUDECONV_BORDER_CLAMP 1    // ...aaa|abc... (OpenCV BORDER_REPLICATE)

// Map an out-of-range coordinate into [0, n). Reflect folds repeatedly, so taps wider than
// the image (tiny frames) are still defined, and identical to OpenCV's BORDER_REFLECT.
// Index is int or long long, as the backend chose from the frame's byte extent.
template <typename Index>
__device__ __forceinline__ Index border_index(Index i, Index n, int mode) {
    if (mode == GPUDECONV_BORDER_CLAMP) {
        return i < 0 ? 0 : (i >= n ? n - 1 : i);
    }
    if (n == 1) return 0;
    const Index period = 2 * n;
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - 1 - i;
}

// IEC 61966-2-1 sRGB curves on [0, 1]; odd extension below zero keeps undershoot exact.
__device__ __forceinline__ float srgb_to_linear(float v) {
    const float a = fabsf(v);
    const float lin = a <= 0.04045f ? a * (1.0f / 12.92f) : powf((a + 0.055f) * (1.0f / 1.055f), 2.4f);
    return copysignf(lin, v);
}

__device__ __forceinline__ float linear_to_srgb(float v) {
    const float a = fabsf(v);
    const float enc = a <= 0.0031308f ? a * 12.92f : 1.055f * powf(a, 1.0f / 2.4f) - 0.055f;
    return copysignf(enc, v);
}
