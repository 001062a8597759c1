"""Run the cuda-sim backend on awkward frames against the float64 reference.

Executed in a subprocess by tests/test_cuda_kernels.py, with the sanitizer runtimes
preloaded and GPUDECONV_SIM_SANITIZE=address. With ``--plant-oob`` the kernel source is
altered so the tile load reads one pixel past the right edge: the sanitizer must catch it.
With ``--shrink-shared N`` every launch gets N bytes less dynamic shared memory than
``shared_bytes`` computes: the emulator allocates exactly what it is given, so the
sanitizer must catch the kernel using more (``shared_bytes`` is not too small).
"""

import sys
import warnings

import numpy as np

import gpudeconv
from gpudeconv.engine.backends import kernels
from gpudeconv.restoration.reference import restore_reference

if "--plant-oob" in sys.argv:
    original = kernels.kernel_code()
    planted = original.replace(
        "const Index gx = border_index<Index>(tile_x - R + ix, width, BORDER);",
        "const Index gx = tile_x - R + ix < width ? border_index<Index>(tile_x - R + ix, "
        "width, BORDER) : width;",
    )
    assert planted != original, "the line to plant the bug in has changed"
    kernels.kernel_code.cache_clear()
    kernels.kernel_code = lambda name="deconv.cu": planted  # type: ignore[assignment]
    from gpudeconv.engine.backends import cuda_sim

    cuda_sim.kernel_code = kernels.kernel_code

if "--shrink-shared" in sys.argv:
    shrink = int(sys.argv[sys.argv.index("--shrink-shared") + 1])
    from gpudeconv.engine.backends import cuda

    exact = cuda.shared_bytes
    cuda.shared_bytes = lambda spec, radius: exact(spec, radius) - shrink  # type: ignore[assignment]

warnings.simplefilter("ignore", gpudeconv.FitQualityWarning)
rng = np.random.default_rng(0)
worst = 0.0
for basis in ("gauss-lap", "atrous"):
    filt = gpudeconv.fit(gpudeconv.core.psf.gaussian(1.0), noise=0.002, basis=basis)
    for shape, dtype, options in [
        ((1, 1, 3), np.uint8, {}),
        ((7, 5, 3), np.uint8, {"boundary": "clamp"}),
        ((37, 23, 4), np.uint8, {"luma_only": True}),
        ((17, 1), np.float32, {}),
        ((5, 40, 3), np.uint16, {}),
        ((150, 200, 3), np.uint8, {}),  # interior blocks: the staged 16-byte loads
        ((120, 170, 4), np.uint16, {"luma_only": True}),
    ]:
        if dtype == np.float32:
            frame = rng.random(shape, dtype=np.float32)
        else:
            frame = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True, dtype=dtype)
        pipe = gpudeconv.Pipeline(filt, shape=shape, dtype=dtype, backend="cuda-sim", **options)
        out = pipe(frame)
        ref = restore_reference(frame, filt, pipe.spec)
        scale = 1e-5 if dtype == np.float32 else 1.0
        worst = max(worst, float(np.abs(out.astype(float) - ref.astype(float)).max()) / scale)
print(f"worst error in tolerance units: {worst:.3f}")
sys.exit(0 if worst <= 1.0 else 3)
