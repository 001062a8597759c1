// gpudeconv — the fused restoration kernel.
//
// One launch restores a whole frame: each block loads a tile plus halo once (decoding
// sRGB codes to linear light on the way, and centring it on the tile's own level), runs
// every separable term of the plan through shared memory (vertical pass into a second
// tile, horizontal pass into registers), combines the terms with their weights, adds the
// level back and writes the encoded result once.
//
// Centring: each block subtracts a level of its own (a trimmed midrange of 9 pixels)
// from the whole tile and adds F(0) times it back at the end (exact in arithmetic). Float
// rounding then scales with the tile's local contrast instead of its brightness (HDR
// values far above 1 keep their precision), and a constant region, or a constant frame,
// comes back unchanged: every centred value is exactly 0.
//
// Template parameters (they appear in the kernel's name, so a profile reads itself):
//   T      frame element: unsigned char, unsigned short or float
//   C      channels per pixel: 1, 3 or 4 (the 4th is alpha, copied)
//   LUMA   1: filter luminance only and add its change to every colour channel
//   BORDER GPUDECONV_BORDER_REFLECT or GPUDECONV_BORDER_CLAMP
//   Index  int or long long, chosen by the backend from the frame's byte extent
//
// Work precision is float, and double for unsigned short frames, where float's rounding
// reaches several codes of 65535 near black (the CPU backend does the same).
//
// Occupancy, from `nvcc --resource-usage` (sm_90, tests/test_cuda_kernels.py): 40-72
// registers per thread, no spills. A 256-thread block at 72 registers takes 18 K of the
// SM's 64 K registers (3 blocks); the default filter for blur sigma 1 (radius 8, 3 planes,
// float) takes 46 KB of shared memory plus 7 KB of staging (4 blocks in 228 KB): about 3
// resident blocks, 24 of 64 warps. Each block does ~100 FMAs per pixel and plane from
// shared memory, so latency is hidden by arithmetic, not by more warps.
#include "common.cuh"

#define GPUDECONV_BLOCK_X 32
#define GPUDECONV_BLOCK_Y 8
#define GPUDECONV_ROWS 4  // output rows per thread
#define GPUDECONV_TILE_X GPUDECONV_BLOCK_X
#define GPUDECONV_TILE_Y (GPUDECONV_BLOCK_Y * GPUDECONV_ROWS)

namespace gpudeconv {

template <typename T> struct Work { typedef float type; };
template <> struct Work<unsigned short> { typedef double type; };

// Decoded colour of the pixel at p: codes through the table, floats as they are.
template <typename T, int C, typename W>
__device__ __forceinline__ void load_colour(const T* __restrict__ p, const W* __restrict__ lut,
                                            W v[3]) {
    constexpr int n = C == 1 ? 1 : 3;
#pragma unroll
    for (int c = 0; c < n; ++c) {
        v[c] = lut ? lut[(int)p[c]] : (W)p[c];
    }
}

template <typename T, typename W>
__device__ __forceinline__ T encode(W value, int srgb, W max_code) {
    W v = value;
    if (srgb) v = (W)linear_to_srgb((float)(v > (W)0 ? v : (W)0));
    v = v * max_code;
    v = v < (W)0 ? (W)0 : (v > max_code ? max_code : v);
    return (T)rint((double)v);
}

template <>
__device__ __forceinline__ float encode<float, float>(float value, int, float) {
    return value;
}

// Shared memory layout, in bytes from the start: input tile | mid tile | staging rows.
// The host computes the same sizes (backends/kernels.py: shared_bytes).
__device__ __forceinline__ int stage_pitch(int row_bytes) { return (row_bytes + 15) / 16 * 16 + 16; }
__device__ __forceinline__ int stage_offset(int planes, int in_h, int in_w, int work_size) {
    const int tiles = planes * (in_h * in_w + GPUDECONV_TILE_Y * in_w) * work_size;
    return (tiles + 15) / 16 * 16;
}

template <typename T, int C, int LUMA, int BORDER, typename Index>
__global__ void deconv_fused(const T* __restrict__ src, T* __restrict__ dst, Index height,
                             Index width, Index src_row, Index dst_row,
                             const typename Work<T>::type* __restrict__ taps,
                             const int* __restrict__ term_info,
                             const double* __restrict__ weights, int n_terms,
                             int radius, const typename Work<T>::type* __restrict__ lut,
                             int srgb, typename Work<T>::type max_code, double dc_gain,
                             typename Work<T>::type luma0, typename Work<T>::type luma1,
                             typename Work<T>::type luma2) {
    typedef typename Work<T>::type W;
    constexpr int CF = (LUMA || C == 1) ? 1 : 3;  // planes filtered
    const int R = radius;
    const int in_w = GPUDECONV_TILE_X + 2 * R;
    const int in_h = GPUDECONV_TILE_Y + 2 * R;
    GPUDECONV_DYNAMIC_SHARED(W, in);                 // CF × in_h × in_w
    W* mid = in + CF * in_h * in_w;                  // CF × TILE_Y × in_w
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int tid = ty * GPUDECONV_BLOCK_X + tx;
    const int nthreads = GPUDECONV_BLOCK_X * GPUDECONV_BLOCK_Y;
    const Index tile_x = (Index)blockIdx.x * GPUDECONV_TILE_X;
    const Index tile_y = (Index)blockIdx.y * GPUDECONV_TILE_Y;

    // 0. The tile's level: the midrange of a 3x3 grid of its pixels (clamped into the
    // frame), decoded, with the lowest and the highest sample left out. Every thread
    // reads the same addresses (broadcast loads). Trimmed, so one highlight in the
    // samples cannot set the level (it would cost the whole tile its precision); a
    // midrange, so the centred values stay small (float32 rounding scales with them);
    // for a constant tile it is the constant exactly.
    W level[CF];
    {
        W lo[CF], lo2[CF], hi[CF], hi2[CF];  // the two lowest and the two highest
#pragma unroll
        for (int s = 0; s < 9; ++s) {
            const Index sy = tile_y + (s / 3 + 1) * (GPUDECONV_TILE_Y / 4);
            const Index sx = tile_x + (s % 3 + 1) * (GPUDECONV_TILE_X / 4);
            W v[3];
            load_colour<T, C, W>(src + (sy < height ? sy : height - 1) * src_row +
                                     (sx < width ? sx : width - 1) * C,
                                 lut, v);
            if (LUMA) v[0] = luma0 * v[0] + luma1 * v[1] + luma2 * v[2];
#pragma unroll
            for (int c = 0; c < CF; ++c) {
                if (s == 0) {
                    lo[c] = lo2[c] = hi[c] = hi2[c] = v[c];
                } else {
                    lo2[c] = s == 1 ? fmax(lo[c], v[c]) : fmin(lo2[c], fmax(lo[c], v[c]));
                    lo[c] = fmin(lo[c], v[c]);
                    hi2[c] = s == 1 ? fmin(hi[c], v[c]) : fmax(hi2[c], fmin(hi[c], v[c]));
                    hi[c] = fmax(hi[c], v[c]);
                }
            }
        }
#pragma unroll
        for (int c = 0; c < CF; ++c) level[c] = lo2[c] + (hi2[c] - lo2[c]) * (W)0.5;
    }

    // 1. Tile + halo, decoded and centred, borders folded in.
    //
    // 8- and 16-bit frames: a block whose halo lies inside the image (no border folding)
    // reads each halo row as one contiguous run with aligned 16-byte loads into a staging
    // buffer, and decodes from there; 1-3 byte scalar loads would cost 3-6x the load
    // instructions. Edge blocks, and float frames (already 4-byte loads), go pixel by
    // pixel. The fast path also needs a 16-byte aligned frame and a row after the last
    // halo row, so that rounding the run out to 16 bytes never leaves the allocation.
    unsigned char* stage = reinterpret_cast<unsigned char*>(in) +
                           stage_offset(CF, in_h, in_w, (int)sizeof(W));
    const int row_bytes = in_w * C * (int)sizeof(T);
    const int pitch = stage_pitch(row_bytes);
    const bool staged = sizeof(T) <= 2 && tile_x - R >= 0 && tile_y - R >= 0 &&
                        tile_x + GPUDECONV_TILE_X + R <= width &&
                        tile_y + GPUDECONV_TILE_Y + R < height &&
                        reinterpret_cast<unsigned long long>(src) % 16 == 0;
    if (staged) {  // uniform over the block, like the barrier below
        const int chunks = pitch / 16;
        for (int i = tid; i < in_h * chunks; i += nthreads) {
            const int r = i / chunks, k = i - r * chunks;
            const unsigned char* run = reinterpret_cast<const unsigned char*>(
                src + (tile_y - R + r) * src_row + (tile_x - R) * C);
            const unsigned long long address = reinterpret_cast<unsigned long long>(run);
            const unsigned char* aligned = run - (address & 15);
            if (16 * k < (int)(address & 15) + row_bytes) {
                *reinterpret_cast<uint4*>(stage + r * pitch + 16 * k) =
                    *reinterpret_cast<const uint4*>(aligned + 16 * k);
            }
        }
        __syncthreads();  // halo rows staged
    }
    for (int i = tid; i < in_w * in_h; i += nthreads) {
        const int iy = i / in_w, ix = i - iy * in_w;
        const T* p;
        if (staged) {
            const unsigned long long address = reinterpret_cast<unsigned long long>(
                src + (tile_y - R + iy) * src_row + (tile_x - R) * C);
            p = reinterpret_cast<const T*>(stage + iy * pitch + (address & 15)) + ix * C;
        } else {
            const Index gy = border_index<Index>(tile_y - R + iy, height, BORDER);
            const Index gx = border_index<Index>(tile_x - R + ix, width, BORDER);
            p = src + gy * src_row + gx * C;
        }
        W v[3];
        load_colour<T, C, W>(p, lut, v);
        if (CF == 1) {
            in[i] = (LUMA ? luma0 * v[0] + luma1 * v[1] + luma2 * v[2] : v[0]) - level[0];
        } else {
#pragma unroll
            for (int c = 0; c < CF; ++c) in[c * in_h * in_w + i] = v[c] - level[c];
        }
    }
    __syncthreads();  // tile loaded

    // The terms' weights reach the hundreds and cancel: partial sums in float would round
    // at ulp(~100). A double accumulator costs one FP64 add per term and pixel.
    // Every loop over r and c is unrolled, so the accumulators live in registers (a
    // dynamically indexed array would go to local memory; the nvcc test checks the stack).
    double acc[GPUDECONV_ROWS][CF];
#pragma unroll
    for (int r = 0; r < GPUDECONV_ROWS; ++r)
#pragma unroll
        for (int c = 0; c < CF; ++c) acc[r][c] = 0.0;

    // 2. Every term: vertical pass into `mid`, horizontal pass into the accumulators.
    for (int j = 0; j < n_terms; ++j) {
        const int ry = term_info[4 * j], rx = term_info[4 * j + 1];
        const W* ty_taps = taps + term_info[4 * j + 2];
        const W* tx_taps = taps + term_info[4 * j + 3];
        // Weights stay double: rounded to float, a weight of ~50 moves the result by 1e-6.
        const double w = weights[j];
        if (ry == 0 && rx == 0) {  // a scaled identity: no pass needed
            const double scale = w * (double)ty_taps[0] * (double)tx_taps[0];
#pragma unroll
            for (int r = 0; r < GPUDECONV_ROWS; ++r) {
                const int y = ty + r * GPUDECONV_BLOCK_Y + R;
#pragma unroll
                for (int c = 0; c < CF; ++c)
                    acc[r][c] += scale * (double)in[(c * in_h + y) * in_w + tx + R];
            }
            continue;  // uniform over the block: every thread skips the barriers alike
        }
        for (int i = tid; i < GPUDECONV_TILE_Y * in_w; i += nthreads) {
            const int y = i / in_w, x = i - y * in_w;
            for (int c = 0; c < CF; ++c) {
                const W* column = in + (c * in_h + y + R - ry) * in_w + x;
                W s = (W)0;
                for (int k = 0; k <= 2 * ry; ++k) s += ty_taps[k] * column[k * in_w];
                mid[(c * GPUDECONV_TILE_Y + y) * in_w + x] = s;
            }
        }
        __syncthreads();  // vertical pass done
#pragma unroll
        for (int r = 0; r < GPUDECONV_ROWS; ++r) {
            const int y = ty + r * GPUDECONV_BLOCK_Y;
#pragma unroll
            for (int c = 0; c < CF; ++c) {
                const W* row = mid + (c * GPUDECONV_TILE_Y + y) * in_w + tx + R - rx;
                W s = (W)0;
                for (int k = 0; k <= 2 * rx; ++k) s += tx_taps[k] * row[k];
                acc[r][c] += w * (double)s;
            }
        }
        __syncthreads();  // horizontal pass done: `mid` may be overwritten
    }

    // 3. Combine, add the level back (times F(0)), encode, write once.
#pragma unroll
    for (int r = 0; r < GPUDECONV_ROWS; ++r) {
        const int ly = ty + r * GPUDECONV_BLOCK_Y;
        const Index gy = tile_y + ly, gx = tile_x + tx;
        if (gy >= height || gx >= width) continue;
        const T* p = src + gy * src_row + gx * C;
        T* q = dst + gy * dst_row + gx * C;
        if (LUMA) {
            // Y = Yc + m: F(Y) - Y = F(Yc) - Yc + (F(0) - 1) m, added to every channel.
            const W yc = in[(ly + R) * in_w + tx + R];
            const W delta = (W)(acc[r][0] - (double)yc + (dc_gain - 1.0) * (double)level[0]);
            W v[3];
            load_colour<T, C, W>(p, lut, v);
#pragma unroll
            for (int c = 0; c < 3; ++c) q[c] = encode<T, W>(v[c] + delta, srgb, max_code);
        } else {
#pragma unroll
            for (int c = 0; c < CF; ++c)
                q[c] = encode<T, W>((W)(acc[r][c] + dc_gain * (double)level[c]), srgb, max_code);
        }
        if (C == 4) q[3] = p[3];
    }
}

}  // namespace gpudeconv
