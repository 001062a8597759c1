"""Huge images: TIFF/Zarr streamed band by band (gpudeconv.media.bigimage, issue 16)."""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest

from gpudeconv import Pipeline, fit
from gpudeconv.app.cli import main
from gpudeconv.core import psf
from gpudeconv.errors import InvalidArgumentError
from gpudeconv.media import bigimage as big
from gpudeconv.media.files import deblur_file

tifffile = pytest.importorskip("tifffile")
zarr = pytest.importorskip("zarr")

SIGMA, NOISE = 1.2, 0.004


def _photo(shape, dtype, rng):
    """A blurred photograph of ``shape`` (tiled from skimage's astronaut) in ``dtype``."""
    from skimage import data

    base = data.astronaut().astype(np.float32) / 255.0
    reps = (-(-shape[0] // 512), -(-shape[1] // 512), 1)
    image = np.tile(base, reps)[: shape[0], : shape[1]]
    image = cv2.GaussianBlur(image, (0, 0), SIGMA)
    image = image + rng.normal(0, 0.002, image.shape).astype(np.float32)
    if len(shape) == 2:
        image = image[..., 1]
    elif shape[2] == 4:
        image = np.dstack([image, rng.random(shape[:2], dtype=np.float32)])
    image = np.clip(image, 0, 1)
    if dtype == np.float32:
        return image.astype(np.float32)
    return np.round(image * np.iinfo(dtype).max).astype(dtype)


def _expected(image):
    bits = None if image.dtype == np.float32 else image.dtype.itemsize * 8
    filt = fit(psf.gaussian(SIGMA), noise=NOISE, quantization_bits=bits)
    pipe = Pipeline(filt, shape=image.shape, dtype=image.dtype, backend="cpu", channel_order="rgb")
    return pipe(image)


def _run(src, dst, *extra):
    return deblur_file(
        str(src),
        str(dst),
        psf_spec=f"gaussian:{SIGMA}",
        noise=NOISE,
        progress=False,
        **dict(extra),
    )


@pytest.mark.parametrize(
    ("shape", "dtype", "layout"),
    [
        ((1100, 1300, 3), np.uint8, {"tile": (256, 256)}),
        ((700, 2500), np.uint16, {"rowsperstrip": 37}),
        ((600, 900, 4), np.uint8, {"tile": (128, 256)}),
        ((530, 700, 3), np.float32, {"rowsperstrip": 64}),
    ],
)
def test_tiff_to_zarr_equals_in_memory(tmp_path, rng, monkeypatch, shape, dtype, layout):
    # Small bands and blocks: many band and block seams in a small image.
    monkeypatch.setattr(big, "BAND_ROWS", 256)
    monkeypatch.setattr(big, "BLOCK_COLS", 384)
    image = _photo(shape, dtype, rng)
    colour = image.ndim == 3
    extrasamples = ("unassalpha",) if colour and shape[2] == 4 else None
    src, dst = tmp_path / "in.tif", tmp_path / "out.zarr"
    tifffile.imwrite(
        src,
        image,
        photometric="rgb" if colour else "minisblack",
        extrasamples=extrasamples,
        **layout,
    )
    summary = _run(src, dst)
    assert "streamed" in summary
    got = zarr.open_array(str(dst), mode="r")[:]
    expected = _expected(image)
    assert got.dtype == image.dtype and got.shape == image.shape
    if dtype == np.float32:
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, expected)
    if colour and shape[2] == 4:
        np.testing.assert_array_equal(got[..., 3], image[..., 3])  # alpha untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "out.zarr"]


def test_zarr_to_tiff_and_big_tiff_pairs(tmp_path, rng, monkeypatch):
    image = _photo((800, 1000, 3), np.uint8, rng)
    store = tmp_path / "in.zarr"
    zarr.open_array(str(store), mode="w", shape=image.shape, chunks=(300, 300, 3), dtype="u1")[
        :
    ] = image
    out = tmp_path / "out.tif"
    assert "streamed" in _run(store, out)
    np.testing.assert_array_equal(tifffile.imread(out), _expected(image))
    # A TIFF pair streams above STREAM_PIXELS and reads into memory below it.
    tifffile.imwrite(tmp_path / "small.tif", image, photometric="rgb")
    assert "streamed" not in _run(tmp_path / "small.tif", tmp_path / "a.tif")
    monkeypatch.setattr(big, "STREAM_PIXELS", 1000)
    assert "streamed" in _run(tmp_path / "small.tif", tmp_path / "b.tif")
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "b.tif"), _expected(image))


def test_auto_and_compare_figure(tmp_path, rng):
    image = _photo((900, 1200, 3), np.uint8, rng)
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, image, photometric="rgb", tile=(256, 256))
    summary = deblur_file(
        str(src), str(tmp_path / "o.zarr"), progress=False, compare=str(tmp_path / "fig.png")
    )
    assert "estimated blur sigma" in summary and "figure ->" in summary
    assert cv2.imread(str(tmp_path / "fig.png")) is not None


def test_streamed_memory_is_a_band_not_the_image(tmp_path, rng, monkeypatch):
    # The peak of NumPy's allocations must not grow with the image's height: twice the
    # rows add far less than the added image (the filter's fit and the pipelines' scratch
    # cost the same for both). The growth measured 0.07-1.13 MB of the 6.3 MB added,
    # depending on how many bands the worker threads hold at once on a busy machine;
    # an image held whole adds all 6.3 MB.
    monkeypatch.setattr(big, "BAND_ROWS", 256)
    peaks = {}
    for rows in (2048, 4096):
        image = _photo((rows, 1024, 3), np.uint8, rng)
        src = tmp_path / f"in{rows}.tif"
        tifffile.imwrite(src, image, photometric="rgb", tile=(256, 256))
        del image
        tracemalloc.start()
        try:
            _run(src, tmp_path / f"out{rows}.zarr")
            peaks[rows] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    added = 2048 * 1024 * 3
    growth = peaks[4096] - peaks[2048]
    assert growth < 0.5 * added, f"peaks {peaks}: +{growth / 1e6:.1f} MB for +{added / 1e6} MB"


def test_outputs_are_never_lost(tmp_path, rng, monkeypatch):
    image = _photo((600, 700, 3), np.uint8, rng)
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, image, photometric="rgb")
    dst = tmp_path / "out.zarr"
    _run(src, dst)
    before = zarr.open_array(str(dst), mode="r")[:]
    with pytest.raises(InvalidArgumentError, match="already exists"):
        _run(src, dst)
    # An interrupted run leaves the old store as it was and no temporary folder.
    monkeypatch.setattr(big, "BAND_ROWS", 256)
    monkeypatch.setattr(big, "_bands", _interrupting(big._bands))
    with pytest.raises(KeyboardInterrupt):
        _run(src, dst, ("overwrite", True))
    np.testing.assert_array_equal(zarr.open_array(str(dst), mode="r")[:], before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "out.zarr"]
    monkeypatch.undo()
    _run(src, dst, ("overwrite", True))  # replaced when asked
    # A folder that is not a Zarr store is never replaced, even with overwrite.
    folder = tmp_path / "mine.zarr"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    with pytest.raises(InvalidArgumentError, match="not a Zarr store"):
        _run(src, folder, ("overwrite", True))
    assert (folder / "notes.txt").read_text() == "keep"


def _interrupting(bands):
    def interrupted(restored, bar, source):
        for i, item in enumerate(bands(restored, bar, source)):
            if i == 1:
                raise KeyboardInterrupt
            yield item

    return interrupted


@pytest.mark.parametrize(
    ("make", "argv", "message"),
    [
        ("int32", ["in.tif", "o.zarr"], "int32 samples"),
        ("group", ["g.zarr", "o.tif"], "Zarr group"),
        ("rgb", ["in.tif", "o.zarr", "--method", "wiener"], "whole-image FFT"),
        ("zarr", ["in.zarr", "o.png"], "is written as"),
        ("rgb", ["in.tif", "o.zarr", "--workers", "2"], "for a folder INPUT"),
        ("text", ["in.tif", "o.zarr"], "cannot read"),
        ("pages", ["in.tif", "o.zarr"], "axes 'QYX'"),
        ("zarr", ["in.zarr", "in.zarr/o.zarr", "--overwrite"], "one inside the other"),
        ("group", ["g.zarr/img.zarr", "g.zarr", "--overwrite"], "one inside the other"),
    ],
)
def test_refusals(tmp_path, capsys, monkeypatch, make, argv, message):
    monkeypatch.chdir(tmp_path)
    if make == "int32":
        tifffile.imwrite("in.tif", np.zeros((40, 50), np.int32))
    elif make == "group":
        zarr.open_group("g.zarr", mode="w").create_array("img.zarr", shape=(40, 50), dtype="u1")
    elif make == "pages":
        tifffile.imwrite("in.tif", np.zeros((10, 300, 3), np.uint8), photometric="minisblack")
    elif make == "zarr":
        zarr.open_array("in.zarr", mode="w", shape=(40, 50), dtype="u1")[:] = 7
    elif make == "text":
        (tmp_path / "in.tif").write_text("not a tiff")
    else:
        tifffile.imwrite("in.tif", np.zeros((40, 50, 3), np.uint8), photometric="rgb")
    code = main(["deblur", *argv, "--psf", "gaussian:1", "--noise", "0.01", "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and message in err, err
    assert len(err.strip().splitlines()) == 1
    left = [p for p in tmp_path.rglob("*") if p.name.startswith("o") or "gpudeconv-" in p.name]
    assert not left


def test_array_in_a_group_and_compressed_tiffs(tmp_path, rng):
    image = _photo((300, 400, 3), np.uint8, rng)
    group = zarr.open_group(str(tmp_path / "scan.zarr"), mode="w")
    group.create_array("level0", shape=image.shape, chunks=(128, 128, 3), dtype="u1")[:] = image
    _run(tmp_path / "scan.zarr" / "level0", tmp_path / "a.zarr")
    expected = _expected(image)
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "a.zarr"), mode="r")[:], expected)
    for compression in ("lzw", "zlib"):  # LZW: OpenCV's TIFF default (needs imagecodecs)
        src = tmp_path / f"{compression}.tif"
        tifffile.imwrite(src, image, photometric="rgb", compression=compression)
        _run(src, tmp_path / f"{compression}.zarr")
        got = zarr.open_array(str(tmp_path / f"{compression}.zarr"), mode="r")[:]
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    ("photometric", "shape", "extra"),
    [
        ("palette", (48, 64), {"colormap": np.arange(3 * 256, dtype=np.uint16).reshape(3, 256)}),
        ("separated", (48, 64, 4), {}),  # CMYK: its K is no alpha
        ("miniswhite", (48, 64), {}),
    ],
)
def test_streaming_refuses_tiffs_whose_samples_are_not_intensities(
    tmp_path, photometric, shape, extra
):
    """#27 item 10: palette indices were filtered as grey, CMYK's K taken as alpha."""
    import tifffile

    source = tmp_path / "in.tif"
    data = np.random.default_rng(7).integers(0, 256, shape, dtype=np.uint8)
    tifffile.imwrite(source, data, photometric=photometric, **extra)
    with pytest.raises(InvalidArgumentError, match="streaming restores grey"):
        deblur_file(str(source), str(tmp_path / "out.zarr"), psf_spec="gaussian:1", noise=0.01)
    assert not (tmp_path / "out.zarr").exists()


@pytest.mark.parametrize(
    ("shape", "chunks", "what"),
    [((1 << 40, 1 << 40), (4096, 4096), "declares"), ((8192, 8192), (1, 1), "chunks")],
)
def test_a_small_store_declaring_a_huge_image_is_refused_at_once(tmp_path, shape, chunks, what):
    """#27 item 13: a 600-byte zarr.json declaring 2^40 x 2^40 filled 5 GB building the graph."""
    import time

    import zarr

    store = tmp_path / "bomb.zarr"
    zarr.open_array(str(store), mode="w", shape=shape, chunks=chunks, dtype="u1")
    start = time.perf_counter()
    with pytest.raises(InvalidArgumentError, match=what):
        deblur_file(str(store), str(tmp_path / "out.zarr"), psf_spec="gaussian:1", noise=0.01)
    assert time.perf_counter() - start < 20
