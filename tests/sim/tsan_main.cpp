// Standalone ThreadSanitizer harness: shim + kernel source + a main that restores one small
// random uint8 frame with a two-term filter. Built and run by tests/test_cuda_kernels.py.
#include <cstdio>
#include <cstdlib>
#include <random>

// The test writes the kernel source (possibly with a barrier removed) to kernel.inc.
#include "host_shim.h"
#include "kernel.inc"

// argv[1]: the dynamic shared memory to launch with (the test passes shared_bytes()).
int main(int argc, char** argv) {
    if (argc != 2) return 2;
    // 100 x 90: some blocks take the staged 16-byte path, edge blocks the scalar one.
    const int h = 100, w = 90, c = 3;
    std::vector<unsigned char> src(h * w * c), dst(h * w * c);
    std::mt19937 rng(1);
    for (auto& v : src) v = static_cast<unsigned char>(rng() & 255);
    // Term 0: identity (weight 2); term 1: [1,2,1]/4 both ways (weight -1).
    float taps[] = {1.f, 1.f, .25f, .5f, .25f, .25f, .5f, .25f};
    int info[] = {0, 0, 0, 1, 1, 1, 2, 5};
    double weights[] = {2.0, -1.0};
    std::vector<float> lut(256);
    for (int i = 0; i < 256; ++i) lut[i] = i / 255.f;
    const unsigned char* s = src.data();
    unsigned char* d = dst.data();
    int hh = h, ww = w, row = w * c, n_terms = 2, radius = 1, srgb = 0;
    float max_code = 255.f, l0 = .0722f, l1 = .7152f, l2 = .2126f;
    double dc_gain = 1.0;
    const float* t = taps;
    const int* in = info;
    const double* wt = weights;
    const float* lt = lut.data();
    void* args[] = {&s, &d, &hh, &ww, &row, &row, &t, &in, &wt, &n_terms, &radius, &lt,
                    &srgb, &max_code, &dc_gain, &l0, &l1, &l2};
    const std::size_t shared = std::strtoul(argv[1], nullptr, 10);
    gpudeconv_sim::launch(&gpudeconv::deconv_fused<unsigned char, 3, 0, 0, int>,
                          dim3((w + 31) / 32, (h + 31) / 32), dim3(32, 8), shared, args);
    std::printf("checksum %u\n", static_cast<unsigned>(d[0] + d[h * w * c - 1]));
    return 0;
}
