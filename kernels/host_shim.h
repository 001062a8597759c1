// gpudeconv — host emulation of the CUDA execution model, so g++ can compile and run the
// same kernel sources (tests and the 'cuda-sim' backend; never used on a GPU).
//
// - __global__ / __device__ functions are plain C++ functions;
// - blocks run one after another; each block runs blockDim.x*y*z host threads;
// - __syncthreads() is a std::barrier over those threads;
// - __shared__ is static (one block at a time), dynamic shared memory is a per-launch
//   buffer of exactly the launch's size (no slack, so AddressSanitizer sees a kernel that
//   uses more than the host asked for), handed out by GPUDECONV_DYNAMIC_SHARED;
// - a launch receives `void** args` exactly like cuLaunchKernel, unpacked by a variadic
//   template into the kernel's typed parameters;
// - float denormals are flushed to zero, inputs and results, as CuPy's -ftz=true makes
//   the GPU do: each emulated thread sets SSE's FTZ and DAZ bits (doubles too, which the
//   GPU keeps; the kernels' double path never meets a denormal).
// No warp intrinsics are emulated: kernels must not use them.
#pragma once

#include <barrier>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

struct alignas(16) uint4 {  // CUDA's built-in 16-byte vector type
    unsigned int x, y, z, w;
};

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

namespace gpudeconv_sim {
inline thread_local dim3 thread_idx;
inline dim3 block_idx, block_dim, grid_dim;  // shared: blocks run one at a time
inline std::barrier<>* block_barrier = nullptr;
inline unsigned char* dynamic_shared = nullptr;

template <typename... Args, std::size_t... I>
void call(void (*kernel)(Args...), void** args, std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_cv_t<std::remove_reference_t<Args>>*>(args[I])...);
}

// Run kernel<<<grid, block, shared_bytes>>>(args...) on host threads.
template <typename... Args>
void launch(void (*kernel)(Args...), dim3 grid, dim3 block, std::size_t shared_bytes,
            void** args) {
    const unsigned n = block.x * block.y * block.z;
    // Exactly shared_bytes, 64-byte aligned like the GPU's shared memory window.
    struct AlignedDelete {
        void operator()(unsigned char* p) const { ::operator delete[](p, std::align_val_t(64)); }
    };
    std::unique_ptr<unsigned char[], AlignedDelete> shared(
        static_cast<unsigned char*>(::operator new[](shared_bytes, std::align_val_t(64))));
    std::barrier<> barrier(n);
    block_dim = block;
    grid_dim = grid;
    block_barrier = &barrier;
    dynamic_shared = shared.get();
    auto worker = [&](unsigned t) {
#if defined(__SSE__)
        _mm_setcsr(_mm_getcsr() | 0x8040);  // FTZ (bit 15) and DAZ (bit 6): -ftz=true
#endif
        thread_idx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
        for (unsigned bz = 0; bz < grid.z; ++bz)
            for (unsigned by = 0; by < grid.y; ++by)
                for (unsigned bx = 0; bx < grid.x; ++bx) {
                    if (t == 0) block_idx = dim3(bx, by, bz);
                    barrier.arrive_and_wait();  // block index published
                    call(kernel, args, std::index_sequence_for<Args...>{});
                    barrier.arrive_and_wait();  // block finished before the next starts
                }
    };
    std::vector<std::thread> threads;
    threads.reserve(n);
    for (unsigned t = 0; t < n; ++t) threads.emplace_back(worker, t);
    for (auto& thread : threads) thread.join();
}
}  // namespace gpudeconv_sim

#define threadIdx (gpudeconv_sim::thread_idx)
#define blockIdx (gpudeconv_sim::block_idx)
#define blockDim (gpudeconv_sim::block_dim)
#define gridDim (gpudeconv_sim::grid_dim)
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__ __restrict
#define __align__(n) alignas(n)
#define GPUDECONV_DYNAMIC_SHARED(type, name) \
    type* name = reinterpret_cast<type*>(gpudeconv_sim::dynamic_shared)

inline void __syncthreads() { gpudeconv_sim::block_barrier->arrive_and_wait(); }
