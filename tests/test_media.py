"""gpudeconv deblur: photos and videos round-trip, and every refusal is one clear line."""

import cv2
import numpy as np
import pytest

from gpudeconv.app.cli import main
from gpudeconv.core.metrics import psnr


@pytest.fixture
def sharp_photo():
    import skimage.data

    return skimage.data.astronaut()[..., ::-1].copy()  # BGR, as OpenCV writes it


def _deblur(src, dst, psf="gaussian:1.2", noise="0.001", *extra):
    """Run ``gpudeconv deblur`` quietly; returns the exit code."""
    return main(["deblur", str(src), str(dst), "--psf", psf, "--noise", noise, "--quiet", *extra])


def _blurred(image, sigma=1.2):
    from gpudeconv.core import degrade, psf

    linear = degrade.srgb_to_linear(image / np.iinfo(image.dtype).max)
    blurred = degrade.linear_to_srgb(np.clip(degrade.blur(linear, psf.gaussian(sigma)), 0, 1))
    return np.round(blurred * np.iinfo(image.dtype).max).astype(image.dtype)


@pytest.mark.parametrize(
    ("dtype", "channels"),
    [(np.uint8, 3), (np.uint16, 3), (np.uint8, 4), (np.uint8, 1), (np.uint16, 1)],
)
def test_photo_round_trip_keeps_depth_and_alpha(tmp_path, sharp_photo, dtype, channels):
    image = sharp_photo.astype(dtype) * (257 if dtype == np.uint16 else 1)
    if channels == 1:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if channels == 4:
        alpha = np.tile(
            (np.arange(image.shape[1]) % 256).astype(dtype)[None, :], (image.shape[0], 1)
        )
        image = np.dstack([image, alpha])
    blurred = (
        _blurred(image) if channels != 4 else np.dstack([_blurred(image[..., :3]), image[..., 3]])
    )
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    cv2.imwrite(str(src), blurred)
    assert _deblur(src, dst) == 0
    out = cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    assert out.dtype == dtype and out.shape == image.shape
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])
    top = np.iinfo(dtype).max
    colour = slice(None) if channels != 4 else (Ellipsis, slice(0, 3))
    inner = (slice(16, -16), slice(16, -16))
    assert (
        psnr(image[colour][inner] / top, out[colour][inner] / top)
        > psnr(image[colour][inner] / top, blurred[colour][inner] / top) + 1.0
    )


def test_video_round_trip(tmp_path, capsys):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*"mp4v"), 24.0, (96, 64))
    rng = np.random.default_rng(0)
    for _ in range(12):
        writer.write(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
    writer.release()
    assert _deblur(src, dst, "gaussian:1.0", "0.01", "--method", "atrous") == 0
    assert "restored 12 frames" in capsys.readouterr().out
    capture = cv2.VideoCapture(str(dst))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(24.0)
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    ok, frame = capture.read()
    assert ok and frame.shape == (64, 96, 3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_compare_figure(tmp_path, sharp_photo):
    src, dst, fig = tmp_path / "in.png", tmp_path / "out.png", tmp_path / "cmp.png"
    cv2.imwrite(str(src), _blurred(sharp_photo[:128, :128]))
    assert _deblur(src, dst, "gaussian:1.2", "0.002", "--compare", str(fig)) == 0
    assert cv2.imread(str(fig)).shape[1] > 3 * cv2.imread(str(fig)).shape[0]


@pytest.mark.parametrize(
    ("make", "argv", "message"),
    [
        (None, ["missing.png", "out.png"], "does not exist or is not a file"),
        ("in.png", ["in.png", "in.png"], "is the input file"),
        ("in.png", ["in.png", "out.png"], "already exists; pass --overwrite"),
        ("in.png", ["in.png", "out.gif"], "unsupported format '.gif'"),
        ("in.png", ["in.png", "out.mp4"], "both be photos or both be videos"),
        ("bad.png", ["bad.png", "out2.png"], "cannot read"),
        ("bad.mp4", ["bad.mp4", "out2.mp4"], "as a video"),
        ("in.png", ["in.png", "nodir/out2.png"], "output folder"),
    ],
)
def test_refusals(tmp_path, sharp_photo, capsys, monkeypatch, make, argv, message):
    monkeypatch.chdir(tmp_path)
    cv2.imwrite("in.png", sharp_photo[:32, :32])
    (tmp_path / "out.png").write_bytes(b"existing")
    (tmp_path / "bad.png").write_text("not an image")
    (tmp_path / "bad.mp4").write_text("not a video")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["deblur", *argv, "--psf", "gaussian:1", "--noise", "0.01", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # nothing written, nothing overwritten


def test_bad_psf_spec(tmp_path, sharp_photo, capsys):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), sharp_photo[:32, :32])
    assert (
        main(["deblur", str(src), str(tmp_path / "o.png"), "--psf", "blob", "--noise", "0.01"]) == 2
    )
    assert "Invalid psf spec 'blob'" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_video_audio_track_is_copied(tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    import subprocess

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    subprocess.run(
        [
            ffmpeg,
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=96x64:rate=12:duration=1",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-c:v",
            "mpeg4",
            "-c:a",
            "aac",
            "-shortest",
            str(src),
        ],
        check=True,
    )
    assert _deblur(src, dst, "gaussian:1", "0.01") == 0
    probe = subprocess.run([ffmpeg, "-i", str(dst)], capture_output=True, text=True)
    assert "Audio:" in probe.stderr and "Video:" in probe.stderr


@pytest.mark.parametrize("suffix", [".jpg", ".bmp"])
def test_a_16_bit_photo_written_to_an_8_bit_format_is_scaled_and_said(tmp_path, suffix):
    """#27 item 6: OpenCV saturates uint16 to uint8 (all white) without this."""
    from gpudeconv.media.files import deblur_file

    rng = np.random.default_rng(3)
    photo = (rng.integers(20000, 45000, (40, 56, 3))).astype(np.uint16)
    source = tmp_path / "in16.png"
    cv2.imwrite(str(source), photo)
    target = tmp_path / f"out{suffix}"
    summary = deblur_file(str(source), str(target), psf_spec="gaussian:1", noise=0.01)
    assert "16-bit result written as 8 bits" in summary
    written = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint8
    assert abs(float(written.mean()) - float(photo.mean()) / 257) < 3  # not saturated


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_a_photo_keeps_its_exif_orientation_and_icc_profile(tmp_path, suffix):
    """#27 item 7: OpenCV dropped them (a phone portrait came out sideways)."""
    from PIL import Image, ImageCms

    from gpudeconv.media.files import deblur_file

    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° CW to view
    exif[0x010F] = "PhoneMaker"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = tmp_path / f"in{suffix}"
    Image.fromarray(pixels).save(source, exif=exif.tobytes(), icc_profile=icc)
    target = tmp_path / f"out{suffix}"
    summary = deblur_file(str(source), str(target), psf_spec="gaussian:1", noise=0.01)
    assert "not copied" not in summary
    with Image.open(target) as out:
        assert out.getexif().get(0x0112) == 6 and out.getexif().get(0x010F) == "PhoneMaker"
        assert out.info.get("icc_profile") == icc
        assert out.size == (64, 48)  # pixels as stored; the viewer turns them
    assert cv2.imread(str(target)) is not None  # still a valid file for OpenCV


def test_a_format_that_cannot_carry_the_metadata_says_so(tmp_path):
    from PIL import Image

    from gpudeconv.media.files import deblur_file

    source = tmp_path / "in.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(source, exif=exif.tobytes())
    summary = deblur_file(str(source), str(tmp_path / "out.bmp"), psf_spec="gaussian:1", noise=0.01)
    assert "EXIF/ICC profile not copied: a .bmp output" in summary


def test_a_whole_image_method_that_will_not_fit_is_refused_with_the_number(tmp_path, monkeypatch):
    """#27 item 14: wiener and the iterative methods take 57-82x the photo, with no warning."""
    import gpudeconv.media.files as media
    from gpudeconv.app.cli import main as cli

    photo = np.random.default_rng(5).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    source = tmp_path / "in.png"
    cv2.imwrite(str(source), photo)
    monkeypatch.setattr(media, "_available_memory", lambda: 1_000_000)  # 1 MB free
    argv = [
        "deblur",
        str(source),
        str(tmp_path / "o.png"),
        "--psf",
        "gaussian:1",
        "--noise",
        "0.01",
    ]
    for method in ("wiener", "hyper-laplacian"):
        with pytest.raises(media.MediaError, match=r"needs about .* GiB .* available") as refused:
            media.deblur_file(str(source), str(tmp_path / "o.png"), psf_spec="gaussian:1",
                              noise=0.01, method=method)  # fmt: skip
        assert refused.value.code == 3
    assert not (tmp_path / "o.png").exists()
    assert cli([*argv, "--method", "gauss-lap"]) == 0  # the fitted filter needs ~3x: it runs
    monkeypatch.setattr(media, "_available_memory", lambda: 40_000)  # under 3x the photo
    with pytest.raises(media.MediaError, match=r"gauss-lap needs .* \(3x its") as refused:
        media.deblur_file(str(source), str(tmp_path / "o2.png"), psf_spec="gaussian:1", noise=0.01)
    assert refused.value.code == 3 and not (tmp_path / "o2.png").exists()


def test_a_multi_page_tiff_says_only_its_first_page_is_restored(tmp_path):
    """#27 item 17 (in part): 3 pages in, 1 out, without a word."""
    import tifffile

    from gpudeconv.media.files import deblur_file

    rng = np.random.default_rng(6)
    source = tmp_path / "pages.tif"
    with tifffile.TiffWriter(source) as tif:
        for _ in range(3):
            tif.write(rng.integers(0, 256, (32, 40), dtype=np.uint8))
    summary = deblur_file(str(source), str(tmp_path / "o.tif"), psf_spec="gaussian:1", noise=0.01)
    assert "page 1 of 3 restored" in summary


def test_a_truncated_jpeg_is_not_counted_as_restored(tmp_path):
    """#27 item 17 (in part): libjpeg fills the missing rows with grey, exit 0."""
    from PIL import Image

    from gpudeconv.media.files import MediaError, deblur_file
    from gpudeconv.media.metadata import jpeg_complete

    rng = np.random.default_rng(8)
    whole = tmp_path / "whole.jpg"
    exif = Image.Exif()
    exif[0x0112] = 1
    # an EXIF block (a thumbnail's end marker could sit there) and noise that compresses badly
    Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(
        whole, exif=exif.tobytes()
    )
    data = whole.read_bytes()
    assert jpeg_complete(data) and jpeg_complete(data + b"appended motion-photo data")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert not jpeg_complete(cut.read_bytes())
    with pytest.raises(MediaError, match="truncated JPEG"):
        deblur_file(str(cut), str(tmp_path / "o.png"), psf_spec="gaussian:1", noise=0.01)
    deblur_file(str(whole), str(tmp_path / "o.png"), psf_spec="gaussian:1", noise=0.01)
    misnamed = tmp_path / "png.jpg"  # a PNG named .jpg: OpenCV reads it by its content
    cv2.imwrite(str(tmp_path / "p.png"), rng.integers(0, 256, (32, 40, 3), dtype=np.uint8))
    misnamed.write_bytes((tmp_path / "p.png").read_bytes())
    deblur_file(str(misnamed), str(tmp_path / "o2.png"), psf_spec="gaussian:1", noise=0.01)
