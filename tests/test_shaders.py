"""Exported shaders (issue 14), run for real: GLSL on Mesa's llvmpipe through moderngl's
EGL context, HLSL compiled to SPIR-V by glslang. Each is compared with the CPU pipeline.

The GL harness is the contract of :mod:`gpudeconv.render.shaders`: the source RGBA float texture
on unit 0 (``texelFetch``), the compute shader's ``rgba32f`` image on unit 1, 16×16 groups;
the fragment shader draws one full-screen triangle into a float framebuffer.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess

import numpy as np
import pytest

from gpudeconv import FilterTable, Pipeline, fit
from gpudeconv.core import psf
from gpudeconv.errors import InvalidArgumentError
from gpudeconv.fit import DeconvFilter
from gpudeconv.render.shaders import FORMATS, cost, export, is_direct, uniform_bytes
from tests.tolerances import HDR_REL, SHADER_ATOL

GLSL = ("glsl-compute", "glsl-fragment")
BASES = {
    "gauss-lap": lambda: fit(psf.gaussian(1.1), noise=0.003),
    "atrous": lambda: fit(
        psf.gaussian(1.2, 0.8, angle=0.4), noise=0.003, basis="atrous", levels=2, oriented=2
    ),
    "fir": lambda: fit(psf.gaussian(1.0), noise=0.003, basis="fir"),
    # A 5×5 stencil: the compute shaders read its taps directly (no shared tile).
    "fir-5x5": lambda: fit(psf.gaussian(0.8), noise=0.003, basis="fir", radius=2, mode="2d"),
    "unsharp": lambda: fit(psf.gaussian(1.1), noise=0.003, basis="unsharp"),
}
VERTEX = "#version 330 core\nin vec2 a_pos;\nvoid main() { gl_Position = vec4(a_pos, 0.0, 1.0); }"


@pytest.fixture(scope="module")
def gl():
    """A standalone OpenGL 4.3+ context (llvmpipe here), or a skip saying why not."""
    moderngl = pytest.importorskip("moderngl", reason="moderngl is not installed")
    try:
        ctx = moderngl.create_standalone_context(backend="egl", require=430)
    except Exception as exc:  # EGL or Mesa missing: the reason is the skip message
        pytest.skip(f"no OpenGL 4.3 context through EGL: {exc}")
    yield ctx
    ctx.release()


@pytest.fixture(scope="module")
def filters() -> dict[str, DeconvFilter]:
    return {name: make() for name, make in BASES.items()}


def run_shader(gl, kind: str, source: str, rgba: np.ndarray, ubo: bytes | None = None):
    """Run an exported GLSL shader on ``rgba`` (h, w, 4 float32); return its RGBA output."""
    import moderngl

    h, w = rgba.shape[:2]
    src = gl.texture((w, h), 4, data=np.ascontiguousarray(rgba, np.float32).tobytes(), dtype="f4")
    src.filter = (moderngl.NEAREST, moderngl.NEAREST)
    dst = gl.texture((w, h), 4, dtype="f4")
    buffers = [src, dst]
    if kind == "glsl-compute":
        program = gl.compute_shader(source)
    else:
        program = gl.program(vertex_shader=VERTEX, fragment_shader=source)
    if ubo is not None:
        block = gl.buffer(ubo)
        program["GpudeconvFilter"].binding = 0
        block.bind_to_uniform_block(0)
        buffers.append(block)
    src.use(location=0)
    if kind == "glsl-compute":
        dst.bind_to_image(1, read=False, write=True)
        program.run(group_x=math.ceil(w / 16), group_y=math.ceil(h / 16))
        gl.finish()
        out = dst.read()
    else:
        if "u_src" in program:
            program["u_src"].value = 0
        fbo = gl.framebuffer(color_attachments=[dst])
        triangle = gl.buffer(np.array([-1, -1, 3, -1, -1, 3], np.float32).tobytes())
        vao = gl.vertex_array(program, [(triangle, "2f", "a_pos")])
        fbo.use()
        fbo.viewport = (0, 0, w, h)
        vao.render(moderngl.TRIANGLES)
        gl.finish()
        out = fbo.read(components=4, dtype="f4")
        buffers += [fbo, triangle, vao]
    result = np.frombuffer(out, np.float32).reshape(h, w, 4).copy()
    for b in [*buffers, program]:
        b.release()
    return result


def reference(filt: DeconvFilter, rgba: np.ndarray, boundary: str) -> np.ndarray:
    return Pipeline(filt, shape=rgba.shape, dtype=np.float32, backend="cpu", boundary=boundary)(
        rgba
    )


@pytest.mark.parametrize("kind", GLSL)
@pytest.mark.parametrize("boundary", ["reflect", "clamp"])
@pytest.mark.parametrize("basis", list(BASES))
def test_glsl_matches_the_cpu_pipeline(gl, filters, rng, basis, boundary, kind):
    filt = filters[basis]
    for shape in ((1, 1), (17, 31), (40, 23)):
        rgba = rng.random((*shape, 4)).astype(np.float32)
        want = reference(filt, rgba, boundary)
        baked = run_shader(gl, kind, export(filt, kind, boundary=boundary), rgba)
        np.testing.assert_allclose(baked, want, rtol=0, atol=SHADER_ATOL, err_msg=f"{shape}")
        source = export(filt, kind, boundary=boundary, uniforms=True)
        from_block = run_shader(gl, kind, source, rgba, uniform_bytes(filt))
        np.testing.assert_allclose(from_block, want, rtol=0, atol=SHADER_ATOL, err_msg=f"{shape}")
        assert np.array_equal(baked[..., 3], rgba[..., 3]), "alpha must be copied"


@pytest.mark.slow
@pytest.mark.parametrize("kind", GLSL)
def test_glsl_at_1080p(gl, filters, rng, kind):
    rgba = rng.random((1080, 1920, 4)).astype(np.float32)
    filt = filters["gauss-lap"]
    got = run_shader(gl, kind, export(filt, kind), rgba)
    np.testing.assert_allclose(got, reference(filt, rgba, "reflect"), rtol=0, atol=SHADER_ATOL)


@pytest.mark.parametrize("kind", GLSL)
def test_uniform_weights_change_without_recompiling(gl, rng, kind):
    """One program, the weights of another table cell: the result is that cell's filter."""
    table = FilterTable.fit(sigmas=[0.8, 1.2, 1.6], noises=[0.002, 0.01])
    source = export(table.template, kind, uniforms=True)
    rgba = rng.random((24, 37, 4)).astype(np.float32)
    for sigma, noise in ((0.8, 0.002), (1.4, 0.004)):
        got = run_shader(
            gl, kind, source, rgba, uniform_bytes(table.template, table.weights(sigma, noise))
        )
        want = reference(table(sigma, noise), rgba, "reflect")
        np.testing.assert_allclose(got, want, rtol=0, atol=SHADER_ATOL)


def hdr_frame(rng: np.random.Generator, shape=(33, 45)) -> np.ndarray:
    """A render target: mostly [0, 1], highlights up to half-float max, small negatives."""
    rgba = rng.random((*shape, 4)).astype(np.float32)
    rgba[..., :3] *= rng.choice([1.0, 50.0, 65504.0], size=(*shape, 1), p=[0.8, 0.15, 0.05])
    rgba[..., :3] -= (rng.random((*shape, 3)) < 0.1) * 0.02
    return rgba


def float64_filter(filt: DeconvFilter, rgba: np.ndarray, boundary: str) -> np.ndarray:
    """The filter in float64 (OpenCV border modes, the dense kernel) for the HDR checks."""
    import cv2

    border = {"reflect": cv2.BORDER_REFLECT, "clamp": cv2.BORDER_REPLICATE}[boundary]
    out = rgba.astype(np.float64).copy()
    kernel = filt.kernel().astype(np.float64)
    for c in range(3):
        out[..., c] = cv2.filter2D(rgba[..., c].astype(np.float64), -1, kernel, borderType=border)
    return out


@pytest.mark.parametrize("backend", ["cpu", "cuda-sim"])
def test_hdr_and_negative_values_pass_every_backend_unclipped(filters, rng, backend):
    filt = filters["gauss-lap"]
    rgba = hdr_frame(rng)
    got = Pipeline(filt, shape=rgba.shape, dtype=np.float32, backend=backend)(rgba)
    want = float64_filter(filt, rgba, "reflect")
    assert np.isfinite(got).all()
    assert got.max() > 65504 * 0.5 and got.min() < 0, "values outside [0, 1] must survive"
    np.testing.assert_allclose(got, want, rtol=0, atol=hdr_tolerance(filt, rgba))


def hdr_tolerance(filt: DeconvFilter, rgba: np.ndarray) -> float:
    """float32 rounding of the largest partial sum (tests/tolerances.py)."""
    return HDR_REL * float(np.abs(filt.weights).sum()) * float(np.abs(rgba).max())


@pytest.mark.parametrize("kind", GLSL)
def test_hdr_and_negative_values_pass_the_shaders_unclipped(gl, filters, rng, kind):
    filt = filters["gauss-lap"]
    rgba = hdr_frame(rng)
    got = run_shader(gl, kind, export(filt, kind), rgba)
    assert np.isfinite(got).all()
    assert got.max() > 65504 * 0.5 and got.min() < 0
    want = float64_filter(filt, rgba, "reflect")
    np.testing.assert_allclose(got, want, rtol=0, atol=hdr_tolerance(filt, rgba))
    clamped = run_shader(gl, kind, export(filt, kind, clamp=True), rgba)
    np.testing.assert_allclose(clamped[..., :3], np.clip(got[..., :3], 0, 1), atol=SHADER_ATOL)


@pytest.mark.parametrize("where", ["cpu", "cuda-sim", "glsl-compute"])
def test_one_highlight_does_not_cost_its_tile_precision(filters, rng, where, request):
    """Tiles are centred on a level; one 65504 texel must not become that level."""
    filt = filters["gauss-lap"]  # radius 6: the tiled compute path
    rgba = rng.random((32, 32, 4)).astype(np.float32)
    rgba[8, 8, :3] = 65504.0  # the centre texel of the first 16×16 tile (and a CUDA sample)
    want = float64_filter(filt, rgba, "reflect")
    if where == "glsl-compute":
        got = run_shader(request.getfixturevalue("gl"), where, export(filt), rgba)
    else:
        got = Pipeline(filt, shape=rgba.shape, dtype=np.float32, backend=where)(rgba)
    error = np.abs(got - want)[..., :3].max(axis=2)
    error[: 8 + 7, : 8 + 7] = 0  # within the highlight's reach float32 rounds at its scale
    assert error.max() <= SHADER_ATOL, f"{where}: {error.max():.3g} outside the highlight"


@pytest.fixture(scope="module")
def glslang() -> str:
    path = shutil.which("glslangValidator")
    if path is None:
        pytest.skip("glslangValidator not found (Debian: apt-get install glslang-tools)")
    return path


@pytest.mark.parametrize("uniforms", [False, True])
@pytest.mark.parametrize("basis", list(BASES))
def test_hlsl_compiles_to_spirv(glslang, filters, tmp_path, basis, uniforms):
    source = tmp_path / "deblur.hlsl"
    source.write_text(export(filters[basis], "hlsl", uniforms=uniforms))
    # The binding shifts the header gives for Vulkan: t0, u0 and b0 each get their own.
    shifts = ["--shift-image-binding", "comp", "1", "--shift-cbuffer-binding", "comp", "2"]
    command = [glslang, "-D", "-V", "-S", "comp", "-e", "main", *shifts, "-H", str(source)]
    run = subprocess.run(
        [*command, "-o", str(tmp_path / "x.spv")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    bindings = re.findall(r"Decorate \d+(?:\((\w+)\))? Binding (\d+)", run.stdout)
    assert sorted(int(b) for _, b in bindings) == ([0, 1, 2] if uniforms else [0, 1])


def test_header_says_what_the_shader_is(filters):
    filt = filters["gauss-lap"]
    for kind in FORMATS:
        text = export(filt, kind, uniforms=True)
        head = "\n".join(line for line in text.splitlines() if line.startswith("//"))
        for needed in ("SPDX-License-Identifier: MIT", "noise 0.003", "gauss-lap", "gain"):
            assert needed in head, (kind, needed)
        assert "u_src" in head or "src" in head


def test_small_stencils_are_read_directly_and_large_ones_through_the_tile(filters):
    assert is_direct(filters["fir-5x5"]) and is_direct(filters["fir-5x5"], uniforms=True)
    assert not is_direct(filters["gauss-lap"])
    direct = cost(filters["fir-5x5"])
    assert direct.shared_bytes == 0 and direct.texture_reads == 26
    assert "shared" not in export(filters["fir-5x5"]).split("void main")[0]
    assert "shared float" in export(filters["gauss-lap"])


def test_cost_counts_the_separable_passes(filters):
    filt = filters["gauss-lap"]
    c = cost(filt)
    taps = sum(ky.size + kx.size for ky, kx in filt.terms)  # one vec3 multiply-add each
    # Every tap once per pixel, plus the vertical pass over the tile's halo columns.
    assert taps <= c.multiply_adds <= 1.5 * taps + len(filt.terms)
    assert c.multiply_adds < np.count_nonzero(filt.kernel()), "separable must beat dense"
    assert c.shared_bytes > 0
    assert cost(filt, "glsl-fragment").texture_reads == np.count_nonzero(filt.kernel()) + 2


def test_bad_requests_are_refused(filters):
    filt = filters["gauss-lap"]
    with pytest.raises(InvalidArgumentError, match="format"):
        export(filt, "metal")
    with pytest.raises(InvalidArgumentError, match="reflect"):
        export(filt, boundary="periodic")
    with pytest.raises(InvalidArgumentError, match="DeconvFilter"):
        export(np.ones((3, 3)))
    wide = fit(psf.gaussian(9.0), noise=0.003)
    with pytest.raises(InvalidArgumentError, match="glsl-fragment"):
        export(wide, "glsl-compute")
    assert "void main" in export(wide, "glsl-fragment")
    with pytest.raises(InvalidArgumentError, match="weights"):
        uniform_bytes(filt, np.ones(len(filt.terms) + 1))


def test_cli_export_writes_each_format_from_options_or_a_filter_file(tmp_path, capsys):
    from gpudeconv.app.cli import main

    fit_options = ["--psf", "gaussian:1.1", "--noise", "0.003"]
    filter_json = tmp_path / "f.json"
    assert main(["fit", *fit_options, "-o", str(filter_json)]) == 0
    for kind in FORMATS:
        a, b = tmp_path / f"a.{kind}", tmp_path / f"b.{kind}"
        assert main(["export", *fit_options, "--format", kind, "-o", str(a)]) == 0
        assert main(["export", "--filter", str(filter_json), "--format", kind, "-o", str(b)]) == 0
        assert a.read_text() == b.read_text()
        assert a.read_text() == export(fit(psf.gaussian(1.1), noise=0.003), kind)
    assert "texture reads" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["export", "-o", "x.glsl"], "give --psf and --noise"),
        (["export", "--psf", "gaussian:1", "-o", "x.glsl"], "give --psf and --noise"),
        (["export", "--filter", "f.json", "--psf", "gaussian:1", "-o", "x.glsl"], "not both"),
        (["export", "--filter", "missing.json", "-o", "x.glsl"], "cannot read"),
        (["export", "--psf", "gaussian:9", "--noise", "0.003", "-o", "x.glsl"], "glsl-fragment"),
    ],
)
def test_cli_export_refuses_with_one_line(tmp_path, monkeypatch, capsys, argv, message):
    from gpudeconv.app.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.json").write_text("{}")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.glsl").exists()


def test_cli_export_never_replaces_a_file_unasked(tmp_path, capsys):
    from gpudeconv.app.cli import main

    out = tmp_path / "deblur.comp"
    out.write_text("keep me")
    argv = ["export", "--psf", "gaussian:1.1", "--noise", "0.003", "-o", str(out)]
    assert main(argv) == 2
    assert out.read_text() == "keep me"
    assert main([*argv, "--overwrite"]) == 0
    assert out.read_text().startswith("// gpudeconv glsl-compute shader")


# --------------------------------------------------------------- gpudeconv.render.gl and peers
def test_compute_pass_runs_an_exported_filter_and_swaps_weights(gl, rng):
    from gpudeconv.render.gl import ComputePass, deblur_pass, download, upload

    table = FilterTable.fit(sigmas=[0.8, 1.6], noises=[0.002, 0.01])
    rgba = rng.random((19, 26, 4)).astype(np.float32)
    src, dst = upload(gl, rgba), gl.texture((26, 19), 4, dtype="f4")
    baked = deblur_pass(gl, table(0.8, 0.002))
    baked(src, dst)
    want = reference(table(0.8, 0.002), rgba, "reflect")
    np.testing.assert_allclose(download(dst), want, atol=SHADER_ATOL)
    live = deblur_pass(gl, table.template, uniforms=True)
    live.set_uniforms(uniform_bytes(table.template, table.weights(1.2, 0.005)))
    live(src, dst)
    want = reference(table(1.2, 0.005), rgba, "reflect")
    np.testing.assert_allclose(download(dst), want, atol=SHADER_ATOL)
    with pytest.raises(InvalidArgumentError, match="without a GpudeconvFilter block"):
        baked.set_uniforms(b"")
    with pytest.raises(InvalidArgumentError, match="dst"):
        baked(src, gl.texture((5, 5), 4, dtype="f4"))
    with pytest.raises(InvalidArgumentError, match=r"\(h, w, 4\)"):
        upload(gl, rgba[..., :3])
    for p in (baked, live, ComputePass(gl, export(table.template))):
        p.release()


@pytest.mark.parametrize("peer", ["cas", "rcas"])
def test_peer_shaders_match_their_numpy_versions(gl, rng, peer):
    """bench's CAS / RCAS: the GLSL the cost is timed on computes what the table scores."""
    from bench.sharpeners import CAS_GLSL, RCAS_GLSL, cas, rcas
    from gpudeconv.render.gl import ComputePass, download, upload

    rgba = rng.random((21, 34, 4)).astype(np.float32)
    rgba[:4, :4, :3] = 0.0  # black and white patches: the divisions by zero
    rgba[-4:, -4:, :3] = 1.0
    src, dst = upload(gl, rgba), gl.texture((34, 21), 4, dtype="f4")
    if peer == "cas":
        program, settings = ComputePass(gl, CAS_GLSL), [(0.0, 1), (0.6, 0), (1.0, 1)]
    else:
        program, settings = ComputePass(gl, RCAS_GLSL), [(0.0, 0), (0.2, 1), (1.5, 0)]
    for a, b in settings:
        if peer == "cas":
            program["u_sharpness"], program["u_diagonals"] = a, b
            want = cas(rgba[..., :3], a, better_diagonals=bool(b))
        else:
            program["u_stops"], program["u_denoise"] = a, b
            want = rcas(rgba[..., :3], a, denoise=bool(b))
        program(src, dst)
        got = download(dst)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got[..., :3], want, atol=1e-5)
        assert not np.allclose(want, rgba[..., :3], atol=1e-3), "the peer must sharpen"
    program.release()


def test_peers_leave_flat_frames_alone_and_rcas_needs_no_clamp(rng):
    from bench.sharpeners import cas, rcas, unsharp

    flat = np.full((9, 11, 3), 0.37, np.float32)
    for out in (cas(flat, 1.0), rcas(flat, 0.0), unsharp(flat, 1.0, 2.0)):
        np.testing.assert_allclose(out, flat, atol=1e-6)
    x = (rng.random((30, 30, 3)) ** 3).astype(np.float32)  # many dark, some bright
    out = rcas(x, 0.0)  # its lobe limits keep [0, 1] data in [0, 1] without clamping
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6
    assert np.abs(out - x).max() > 0.01


@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e39])
def test_unusable_weights_are_refused_not_written(filters, bad):
    import dataclasses

    filt = filters["gauss-lap"]
    weights = filt.weights.copy()
    weights[2] = bad
    broken = dataclasses.replace(filt, weights=weights)
    for kind in FORMATS:
        with pytest.raises(InvalidArgumentError, match="finite"):
            export(broken, kind)
    with pytest.raises(InvalidArgumentError, match="finite"):
        uniform_bytes(filt, weights)
    with pytest.raises(InvalidArgumentError, match="real numbers"):
        uniform_bytes(filt, filt.weights * 1j)


def test_every_entry_point_checks_its_arguments(filters):
    filt = filters["gauss-lap"]
    for call in (lambda: cost(filt, "metal"), lambda: cost(filt, None)):
        with pytest.raises(InvalidArgumentError, match="format"):
            call()
    for call in (lambda: cost(np.ones((3, 3))), lambda: is_direct("x"), lambda: uniform_bytes(1)):
        with pytest.raises(InvalidArgumentError, match="DeconvFilter"):
            call()


def test_compute_pass_refuses_what_would_run_silently_wrong(gl, filters, rng):
    from gpudeconv.render.gl import ComputePass, upload

    filt = filters["gauss-lap"]
    source = export(filt, uniforms=True)
    with pytest.raises(InvalidArgumentError, match="uniform_bytes"):
        ComputePass(gl, source)  # would read an empty block: an all-zero frame
    live = ComputePass(gl, source, uniform_bytes(filt))
    with pytest.raises(InvalidArgumentError, match="48 bytes"):
        live.set_uniforms(uniform_bytes(filt)[:16])
    with pytest.raises(InvalidArgumentError, match="no GpudeconvFilter"):
        ComputePass(gl, export(filt), uniform_bytes(filt))
    src = upload(gl, rng.random((8, 8, 4)).astype(np.float32))
    with pytest.raises(InvalidArgumentError, match="different textures"):
        live(src, src)
    with pytest.raises(InvalidArgumentError, match="rgba32f"):
        live(src, gl.texture((8, 8), 3, dtype="f4"))
    with pytest.raises(InvalidArgumentError, match="float"):
        upload(gl, np.zeros((8, 8, 4), np.uint8))
    live.release()


def test_cli_export_refuses_fit_options_with_a_filter_file_and_folders(tmp_path, capsys):
    from gpudeconv.app.cli import main

    filter_json = tmp_path / "f.json"
    assert main(["fit", "--psf", "gaussian:1", "--noise", "0.003", "-o", str(filter_json)]) == 0
    capsys.readouterr()
    argv = ["export", "--filter", str(filter_json), "--basis", "atrous", "--levels", "3"]
    assert main([*argv, "-o", str(tmp_path / "k.glsl")]) == 2
    assert "--basis, --levels" in capsys.readouterr().err
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["export", "--filter", str(filter_json), "-o", str(folder), "--overwrite"]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json", "out"]  # nothing left


def test_cli_export_prints_the_cost_the_header_states(tmp_path, capsys):
    from gpudeconv.app.cli import main

    for fmt in FORMATS:
        out = tmp_path / f"k-{fmt}"
        argv = ["export", "--psf", "gaussian:1", "--noise", "0.003", "--uniforms"]
        assert main([*argv, "--format", fmt, "-o", str(out)]) == 0
        printed = re.search(r"([\d.]+) texture reads, (\d+) multiply-adds", capsys.readouterr().out)
        header = re.search(r"Cost per pixel: ([\d.]+) texture reads, (\d+)", out.read_text())
        assert float(printed[1]) == pytest.approx(float(header[1]), abs=0.05)
        assert printed[2] == header[2]


def test_a_failed_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    import os

    from gpudeconv.media.io import PendingOutput

    def refuse(*_):
        raise IsADirectoryError(21, "Is a directory")

    pending = PendingOutput(tmp_path / "result.glsl")
    pending.path.write_text("half")
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match=r"result\.glsl"):
        pending.commit()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", FORMATS)
def test_basis_params_from_a_filter_file_cannot_inject_source(filters, kind):
    """#27 item 3: a newline (or a line-splicing backslash) in a filter file's data."""
    import dataclasses

    from gpudeconv.fit import DeconvFilter

    evil = {
        "note": "x\n[numthreads(1, 1, 1)] void main() { }\r\n#define texelFetch(a, b, c) vec4(1)",
        "tail": "splice the next line \\",
        "separators": "a\u2028b\u2029c\x0bd\x0ce\x85f",
    }
    document = dataclasses.replace(filters["gauss-lap"], basis_params=evil).to_json()
    text = export(DeconvFilter.from_json(document), kind)
    source = [line for line in text.splitlines() if not line.startswith("//")]
    assert not any("void main() { }" in line or "#define texelFetch" in line for line in source)
    assert not any(
        line.rstrip().endswith("\\") for line in text.splitlines() if line.startswith("//")
    )
    # the text is still there to read, on one line
    assert "x [numthreads(1, 1, 1)] void main() { }" in text
