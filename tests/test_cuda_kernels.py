"""The CUDA code, verified without a GPU (DESIGN §5).

1. NVRTC compiles every instantiation for every target architecture (test names: nvrtc);
   nvcc's resource report shows registers and no spills.
2. The g++ emulation runs the kernels (via backend 'cuda-sim') under AddressSanitizer +
   UBSan, and a ThreadSanitizer harness that must fail when a barrier is removed.
3. The index width follows the byte extent, and the 64-bit instantiation computes the same.
4. The streaming API keeps frames in order.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gpudeconv
from gpudeconv import Pipeline, fit
from gpudeconv.core import psf
from gpudeconv.core._resources import kernel_source
from gpudeconv.engine.backends import kernels
from gpudeconv.engine.backends.kernels import NVRTC_OPTIONS, all_specs, index_type, kernel_code

ARCHS = ["sm_75", "sm_80", "sm_86", "sm_89", "sm_90"]
HERE = Path(__file__).resolve().parent


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
def test_nvrtc_compiles_every_instantiation(arch):
    from cuda.bindings import nvrtc

    names = [spec.name for spec in all_specs()]
    err, prog = nvrtc.nvrtcCreateProgram(kernel_code().encode(), b"deconv.cu", 0, [], [])
    assert err == nvrtc.nvrtcResult.NVRTC_SUCCESS
    for name in names:
        (err,) = nvrtc.nvrtcAddNameExpression(prog, name.encode())
        assert err == nvrtc.nvrtcResult.NVRTC_SUCCESS
    options = [o.encode() for o in NVRTC_OPTIONS] + [f"--gpu-architecture={arch}".encode()]
    (err,) = nvrtc.nvrtcCompileProgram(prog, len(options), options)
    _, size = nvrtc.nvrtcGetProgramLogSize(prog)
    log = b" " * size
    nvrtc.nvrtcGetProgramLog(prog, log)
    assert err == nvrtc.nvrtcResult.NVRTC_SUCCESS, log.decode(errors="replace")
    for name in names:  # every instantiation has a lowered (mangled) kernel symbol
        err, lowered = nvrtc.nvrtcGetLoweredName(prog, name.encode())
        assert err == nvrtc.nvrtcResult.NVRTC_SUCCESS and lowered
    err, cubin_size = nvrtc.nvrtcGetCUBINSize(prog)
    assert err == nvrtc.nvrtcResult.NVRTC_SUCCESS and cubin_size > 0


def test_nvrtc_rejects_broken_source():
    """The compile check has teeth: a syntax error fails with NVRTC's log."""
    from cuda.bindings import nvrtc

    broken = kernel_code().replace("constexpr int CF", "constexpr int CF = ;//", 1)
    _, prog = nvrtc.nvrtcCreateProgram(broken.encode(), b"deconv.cu", 0, [], [])
    options = [o.encode() for o in NVRTC_OPTIONS] + [b"--gpu-architecture=sm_90"]
    nvrtc.nvrtcAddNameExpression(prog, all_specs()[0].name.encode())
    (err,) = nvrtc.nvrtcCompileProgram(prog, len(options), options)
    assert err != nvrtc.nvrtcResult.NVRTC_SUCCESS


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not on PATH")
def test_nvcc_resource_usage_has_no_spills(tmp_path, record_property):
    instantiate = [
        f"auto* gpudeconv_ptr_{i} = &{s.name};"
        for i, s in enumerate(all_specs())
        if s.index == "int"
    ]
    (tmp_path / "unit.cu").write_text(kernel_code() + "\n" + "\n".join(instantiate) + "\n")
    result = subprocess.run(
        [
            "nvcc",
            "-std=c++17",
            "-arch=sm_90",
            "-cubin",
            "--resource-usage",
            "-o",
            str(tmp_path / "unit.cubin"),
            str(tmp_path / "unit.cu"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = result.stdout + result.stderr
    registers = [int(m) for m in re.findall(r"Used (\d+) registers", report)]
    spills = re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads", report)
    stacks = [int(m) for m in re.findall(r"(\d+) bytes stack frame", report)]
    assert len(registers) == len(instantiate) == len(stacks), report
    record_property("registers", f"min {min(registers)}, max {max(registers)}")
    print(f"registers per thread: {min(registers)}..{max(registers)}")
    assert spills and all(int(a) == 0 and int(b) == 0 for a, b in spills), report
    # No local memory either: the accumulators must stay in registers.
    assert max(stacks) == 0, report
    assert max(registers) <= 255


# ---------------------------------------------------------------------------- sanitizers
def _runtime(name: str) -> str:
    path = subprocess.run(
        ["gcc", f"-print-file-name={name}"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not os.path.isabs(path):
        pytest.skip(f"{name} is not installed with gcc")
    return path


def _asan_run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        GPUDECONV_SIM_SANITIZE="address",
        GPUDECONV_CACHE_DIR=str(tmp_path / "cache"),
        ASAN_OPTIONS="detect_leaks=0",
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
        LD_PRELOAD=f"{_runtime('libasan.so')}:{_runtime('libubsan.so')}",
        PYTHONPATH=str(HERE.parent),
    )
    return subprocess.run(
        [sys.executable, str(HERE / "sim" / "asan_run.py"), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.slow
def test_kernels_clean_under_address_and_ub_sanitizers(tmp_path):
    result = _asan_run(tmp_path)
    assert "ERROR: AddressSanitizer" not in result.stderr, result.stderr[-4000:]
    assert "runtime error" not in result.stderr, result.stderr[-4000:]
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    assert "worst error in tolerance units" in result.stdout


@pytest.mark.slow
def test_address_sanitizer_catches_a_planted_overrun(tmp_path):
    result = _asan_run(tmp_path, "--plant-oob")
    assert result.returncode != 0
    assert "heap-buffer-overflow" in result.stderr, result.stderr[-4000:]
    assert "deconv_fused" in result.stderr  # the report names the kernel


@pytest.mark.slow
def test_shared_bytes_is_not_too_small(tmp_path):
    """16 bytes less than shared_bytes() and the kernel overruns the (exact) buffer."""
    result = _asan_run(tmp_path, "--shrink-shared", "16")
    assert result.returncode != 0
    assert "heap-buffer-overflow" in result.stderr, result.stderr[-4000:]


def _tsan_build_and_run(tmp_path: Path, source: str) -> subprocess.CompletedProcess:
    from gpudeconv.engine.backends.kernels import KernelSpec, shared_bytes

    shared = shared_bytes(KernelSpec(np.dtype(np.uint8), 3, False, "reflect"), 1)
    (tmp_path / "host_shim.h").write_text(kernel_source("host_shim.h"))
    (tmp_path / "kernel.inc").write_text(source)
    exe = tmp_path / "tsan_main"
    subprocess.run(
        [
            "g++",
            "-std=c++20",
            "-O1",
            "-g",
            "-fsanitize=thread",
            "-pthread",
            "-I",
            str(tmp_path),
            str(HERE / "sim" / "tsan_main.cpp"),
            "-o",
            str(exe),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1")
    return subprocess.run(
        [str(exe), str(shared)], capture_output=True, text=True, timeout=600, env=env, check=False
    )


@pytest.mark.slow
def test_thread_sanitizer_silent_on_the_kernel(tmp_path):
    result = _tsan_build_and_run(tmp_path, kernel_code())
    assert "ThreadSanitizer" not in result.stderr, result.stderr[-4000:]
    assert result.returncode == 0 and "checksum" in result.stdout


@pytest.mark.slow
def test_thread_sanitizer_catches_a_missing_barrier(tmp_path):
    marker = "__syncthreads();  // vertical pass done"
    assert marker in kernel_code()
    result = _tsan_build_and_run(tmp_path, kernel_code().replace(marker, "", 1))
    assert "WARNING: ThreadSanitizer: data race" in result.stderr
    assert result.returncode != 0


# ---------------------------------------------------------------------------- index width
def test_index_type_follows_byte_extent():
    assert index_type(2**31 - 1) == "int"
    assert index_type(10, 2**31) == "long long"


def test_backend_picks_64_bit_indexing_and_it_agrees(monkeypatch, rng):
    filt = fit(psf.gaussian(1.0), noise=0.002)
    frame = rng.integers(0, 256, (37, 23, 3), dtype=np.uint8)
    narrow = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="cuda-sim")
    assert narrow.describe()["index"] == "int"
    monkeypatch.setattr(kernels, "_INT32_LIMIT", frame.nbytes)  # this frame now "too big"
    wide = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="cuda-sim")
    assert wide.describe()["index"] == "long long"
    assert wide.describe()["kernel"].endswith(", long long>")
    np.testing.assert_array_equal(wide(frame), narrow(frame))


@pytest.mark.parametrize(
    ("dtype", "channels", "luma"),
    [
        (np.uint8, 3, False),
        (np.uint8, 3, True),
        (np.uint8, 4, False),
        (np.uint8, 4, True),
        (np.uint16, 3, False),
        (np.uint16, 3, True),
        (np.uint8, 1, False),
        (np.uint16, 1, False),
    ],
)
def test_staged_16_byte_loads_match_the_reference(rng, dtype, channels, luma):
    """Frames big enough for interior blocks, whose halo rows go through 16-byte loads."""
    from gpudeconv.restoration.reference import restore_reference

    filt = fit(psf.gaussian(1.0), noise=0.002)
    shape = (150, 201, channels) if channels > 1 else (150, 201)
    frame = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True, dtype=dtype)
    for view in (frame, frame[1:, 3:]):  # the second is not 16-byte aligned per row
        pipe = Pipeline(filt, shape=view.shape, dtype=dtype, luma_only=luma, backend="cuda-sim")
        out = pipe(view)
        ref = restore_reference(np.ascontiguousarray(view), filt, pipe.spec)
        assert np.abs(out.astype(np.int64) - ref.astype(np.int64)).max() <= 1


def test_kernel_names_carry_their_specialisation():
    names = {s.name for s in all_specs()}
    assert len(names) == len(all_specs()) == 60
    assert "gpudeconv::deconv_fused<unsigned char, 4, 1, 0, int>" in names
    assert "gpudeconv::deconv_fused<unsigned short, 3, 0, 1, long long>" in names


# ---------------------------------------------------------------------------- streaming
@pytest.mark.parametrize("backend", ["cpu", "cuda-sim"])
def test_stream_and_submit_keep_order(rng, backend):
    filt = fit(psf.gaussian(0.8), noise=0.002)
    frames = [rng.integers(0, 256, (20, 30, 3), dtype=np.uint8) for _ in range(5)]
    pipe = Pipeline(filt, shape=(20, 30, 3), dtype=np.uint8, backend=backend)
    expect = [pipe(f) for f in frames]
    streamed = list(pipe.stream(iter(frames)))
    assert len(streamed) == 5
    for a, b in zip(streamed, expect, strict=True):
        np.testing.assert_array_equal(a, b)
    pipe.submit(frames[0])
    pipe.submit(frames[1])
    out = np.empty_like(frames[0])
    assert pipe.result(out) is out
    np.testing.assert_array_equal(out, expect[0])
    np.testing.assert_array_equal(pipe.result(), expect[1])
    with pytest.raises(ValueError, match="no frame in flight"):
        pipe.result()


def test_cuda_stream_depth_is_two(rng):
    pipe = Pipeline(
        fit(psf.gaussian(0.8), noise=0.002), shape=(8, 8), dtype=np.float32, backend="cuda-sim"
    )
    frame = rng.random((8, 8), dtype=np.float32)
    pipe.submit(frame)
    pipe.submit(frame)
    with pytest.raises(ValueError, match="two frames are already in flight"):
        pipe.submit(frame)


def test_weight_changes_never_rebuild_the_kernel(rng):
    table = gpudeconv.FilterTable.fit(sigmas=[0.6, 1.4], noises=[0.0, 0.01])
    pipe = Pipeline(table, shape=(33, 35, 3), dtype=np.uint8, backend="cuda-sim")
    before = pipe.describe()
    frame = rng.integers(0, 256, (33, 35, 3), dtype=np.uint8)
    pipe.set_blur(1.1, 0.004)
    assert pipe.describe() == before  # same kernel, buffers and plan: weights only
    fresh = Pipeline(table(1.1, 0.004), shape=frame.shape, dtype=np.uint8, backend="cuda-sim")
    np.testing.assert_array_equal(pipe(frame), fresh(frame))


def test_too_much_shared_memory_is_a_clear_error():
    wide = fit(psf.gaussian(6.0), noise=0.002)  # Gaussians up to σ = 15: radius 45
    with pytest.raises(ValueError, match="bytes of shared memory per block"):
        Pipeline(wide, shape=(64, 64, 3), dtype=np.uint16, backend="cuda-sim")


# ---------------------------------------------------------------------------- real GPU
@pytest.mark.cuda
def test_cupy_arrays_stay_on_the_device(cuda, rng):
    filt = fit(psf.gaussian(1.0), noise=0.002)
    frame = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    pipe = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="cuda")
    out = pipe(cuda.asarray(frame))
    assert isinstance(out, cuda.ndarray)
    cpu = Pipeline(filt, shape=frame.shape, dtype=np.uint8, backend="cpu")(frame)
    assert np.abs(cuda.asnumpy(out).astype(int) - cpu.astype(int)).max() <= 1


@pytest.mark.cuda
def test_numpy_frames_through_pinned_buffers(cuda, rng):
    filt = fit(psf.gaussian(1.0), noise=0.002)
    frames = [rng.random((48, 64, 3), dtype=np.float32) for _ in range(4)]
    gpu = Pipeline(filt, shape=(48, 64, 3), dtype=np.float32, backend="cuda")
    cpu = Pipeline(filt, shape=(48, 64, 3), dtype=np.float32, backend="cpu")
    for got, frame in zip(gpu.stream(frames), frames, strict=True):
        np.testing.assert_allclose(got, cpu(frame), atol=2e-5)
