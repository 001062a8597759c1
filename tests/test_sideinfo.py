"""What files and streams say about their compression (issue 26): JPEG tables, H.264 QP.

Files are made in the tests (Pillow and OpenCV JPEGs, PyAV's x264) from ``skimage.data``
photographs with fresh noise; the stated error is checked against the true one.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from bench.camera import photo
from bench.camera_frames import EXPOSURES, Blur, camera_frame, jpeg_roundtrip
from gpudeconv import estimate
from gpudeconv.blind.sideinfo import (
    JPEG_WHITE_SHARE,
    Compression,
    h264_noise,
    jpeg_noise,
    jpeg_tables,
)
from tests import tolerances as tol

#: libjpeg's standard luminance table (ITU T.81, Annex K), natural order.
IJG_LUMA = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.float64,
)


def _ijg_table(quality: int) -> np.ndarray:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip(np.floor((IJG_LUMA * scale + 50) / 100), 1, 255)


def _noisy_grey(rng: np.random.Generator, name: str, sigma: float) -> np.ndarray:
    grey = cv2.cvtColor(photo(name, 256), cv2.COLOR_BGR2GRAY).astype(np.float64)
    if sigma:
        grey = cv2.GaussianBlur(grey, (0, 0), sigma)
    return np.clip(np.round(grey + rng.normal(0, 1.0, grey.shape)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("quality", [30, 50, 75, 90])
def test_tables_are_read_as_libjpeg_wrote_them(quality):
    rng = np.random.default_rng(quality)
    image = rng.integers(0, 256, (40, 48), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as opened:
        tables = jpeg_tables(opened)
    np.testing.assert_array_equal(tables[0], _ijg_table(quality))


def test_stated_jpeg_error_matches_the_true_error():
    rng = np.random.default_rng()
    for name in ("astronaut", "camera", "brick"):
        for sigma in (0.0, 1.5):
            grey = _noisy_grey(rng, name, sigma)
            for quality in (50, 75, 90, 95):
                buffer = io.BytesIO()
                Image.fromarray(grey).save(buffer, "JPEG", quality=quality)
                stated = Compression.from_jpeg(buffer.getvalue())
                with Image.open(io.BytesIO(buffer.getvalue())) as opened:
                    decoded = np.asarray(opened, dtype=np.float64)
                true = (decoded - grey).std() / 255
                low, high = tol.JPEG_STATED_NOISE_RATIO
                assert low * true <= stated.noise <= high * true, (name, sigma, quality)
                assert stated.codec == "jpeg" and stated.white_share == JPEG_WHITE_SHARE


def test_not_a_jpeg_states_nothing(tmp_path):
    ok, png = cv2.imencode(".png", np.zeros((16, 16), np.uint8))
    assert ok and Compression.from_jpeg(png.tobytes()) is None
    assert Compression.from_jpeg(b"not an image at all") is None
    assert Compression.from_video_frame(object()) is None


def _h264_frames(grey: np.ndarray, crf: int):
    """(decoded luma, Compression) of a 3-frame x264 stream of ``grey``, side data on."""
    import av

    height, width = grey.shape
    rgb = np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf)}
        for _ in range(3):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    source = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    buffer.seek(0)
    with av.open(buffer) as container:
        video = container.streams.video[0]
        video.codec_context.options = {"export_side_data": "venc_params"}
        frame = next(container.decode(video))
        true = frame.to_ndarray(format="gray").astype(float) - source.to_ndarray(format="gray")
        return true.std() / 255, Compression.from_video_frame(frame)


def test_h264_qp_is_read_from_the_stream_and_states_its_error():
    rng = np.random.default_rng()
    grey = _noisy_grey(rng, "coffee", 0.0)[:240, :256]
    stated = {}
    for crf in (18, 28):
        true, found = _h264_frames(grey, crf)
        assert found is not None and found.codec == "h264" and "QP" in found.detail
        low, high = tol.H264_STATED_NOISE_RATIO
        assert low * true <= found.noise <= high * true, crf
        stated[crf] = found.noise
    assert stated[28] > 1.5 * stated[18]  # 10 CRF steps: about 2^(10/6) in step


def test_estimate_takes_the_stated_error_between_floor_and_cap():
    """The block reading is kept between the stated error's white share and the stated
    error: raised where the grid hides the codec's error (coffee, q90), lowered where the
    blocks read more than the tables allow (grass, q90: texture on the grid)."""
    for name, moved in (("coffee", 1), ("grass", -1)):
        frame = camera_frame(photo(name), Blur("gaussian", 1.4), EXPOSURES[0], seed=4)
        decoded, data = jpeg_roundtrip(frame, 90)
        plain = estimate(decoded).noise
        told = estimate(decoded, compression=Compression.from_jpeg(data)).noise
        assert np.sign(told - plain) == moved and abs(told - plain) > 0.03 * plain, name
    loud = Compression("jpeg", 0.2, white_share=1.0)
    assert estimate(decoded, compression=loud).noise > 5 * plain
    assert estimate(decoded, compression=Compression("jpeg", 0.0)).noise < plain


def test_deblur_file_reads_a_jpeg_s_tables(tmp_path, capsys):
    from gpudeconv.app.cli import main

    frame = camera_frame(photo("astronaut", 192), Blur("gaussian", 1.4), EXPOSURES[0], seed=2)
    source, target = tmp_path / "in.jpg", tmp_path / "out.png"
    cv2.imwrite(str(source), frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert main(["deblur", str(source), str(target), "--psf", "auto"]) == 0
    assert "JPEG quantisation tables read" in capsys.readouterr().out
    assert target.exists()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: Compression("jpeg", -0.1), "noise"),
        (lambda: Compression("jpeg", 0.01, white_share=2.0), "white_share"),
        (lambda: h264_noise(70), "qp"),
        (lambda: jpeg_noise(np.zeros(8), np.ones((8, 8))), "2-D luma"),
        (lambda: jpeg_tables(Image.new("L", (8, 8))), "no JPEG quantisation tables"),
    ],
)
def test_bad_side_information_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
