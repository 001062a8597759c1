import cv2

from gpudeconv.app.cli import main


def test_demo_prints_table_and_writes_png(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["demo", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    rows = {line[:28].strip(): line.split() for line in text.splitlines()[2:] if "  " in line}
    assert float(rows["wiener (natural prior)"][-2]) > 1.0  # gain over the blurred card, dB
    image = cv2.imread(str(out))
    assert image is not None and image.shape[1] > 3 * image.shape[0]


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["demo", "--sigma", "-1", "--output", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sigma must be > 0" in err
    assert not (tmp_path / "x.png").exists()


def test_fit_prints_diagnostics_and_writes_json(tmp_path, capsys):
    from gpudeconv import DeconvFilter

    out, plot = tmp_path / "f.json", tmp_path / "f.png"
    argv = ["fit", "--psf", "gaussian:1.2", "--noise", "0.01", "-o", str(out), "--plot", str(plot)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "expected MSE gain (dB)" in text and "peak gain" in text
    filt = DeconvFilter.from_json(out.read_text())
    assert filt.basis == "gauss-lap" and len(filt.terms) == 6
    assert cv2.imread(str(plot)) is not None
    # An existing output is refused without --overwrite and left untouched.
    before = out.read_text()
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_text() == before


def test_fit_motion_warns_in_output(capsys):
    assert main(["fit", "--psf", "motion:9,30", "--noise", "0.002"]) == 0
    assert "gpudeconv fit: warning: basis 'gauss-lap' captures only" in capsys.readouterr().err


def test_fit_bad_psf_is_one_line(capsys):
    assert main(["fit", "--psf", "blob:1", "--noise", "0.01"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Invalid psf spec 'blob:1'" in err


# ---------------------------------------------------------------------------- #27 items 4, 5
def _kernel_png(path):
    import numpy as np

    kernel = np.zeros((5, 5), np.uint8)
    kernel[2, :] = 255
    cv2.imwrite(str(path), kernel)
    return path.read_bytes()


def _photo(path):
    import numpy as np

    rng = np.random.default_rng(0)
    cv2.imwrite(str(path), rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))


def test_files_a_command_reads_are_never_written_even_with_overwrite(tmp_path, capsys):
    """The --psf kernel file and the --filter file are inputs, like INPUT."""
    kernel = tmp_path / "kernel.png"
    kept = _kernel_png(kernel)
    photo = tmp_path / "in.png"
    _photo(photo)
    deblur = ["deblur", str(photo), "--psf", str(kernel), "--noise", "0.01", "--overwrite"]
    attempts = [
        [*deblur[:2], str(kernel), *deblur[2:]],  # the output onto the kernel
        [*deblur[:2], str(tmp_path / "out.png"), *deblur[2:], "--compare", str(kernel)],
        ["fit", "--psf", str(kernel), "--noise", "0.01", "-o", str(kernel), "--overwrite"],
        ["fit", "--psf", str(kernel), "--noise", "0.01", "--plot", str(kernel), "--overwrite"],
        ["export", "--psf", str(kernel), "--noise", "0.01", "-o", str(kernel), "--overwrite"],
    ]
    for argv in attempts:
        assert main(argv) == 2, argv
        assert "never" in capsys.readouterr().err
        assert kernel.read_bytes() == kept, argv
    assert not (tmp_path / "out.png").exists()
    # the filter file of export --filter
    document = tmp_path / "f.json"
    assert main(["fit", "--psf", "gaussian:1", "--noise", "0.01", "-o", str(document)]) == 0
    text = document.read_text()
    assert main(["export", "--filter", str(document), "-o", str(document), "--overwrite"]) == 2
    assert document.read_text() == text
    # fit's JSON and its plot are two outputs: never the same file
    same = str(tmp_path / "both.png")
    argv = ["fit", "--psf", "gaussian:1", "--noise", "0.01", "-o", same, "--plot", same]
    assert main([*argv, "--overwrite"]) == 2
    assert not (tmp_path / "both.png").exists()


def test_demo_output_keeps_an_existing_file_unless_overwrite(tmp_path, capsys):
    keep = tmp_path / "keep.png"
    keep.write_text("important")
    assert main(["demo", "--output", str(keep)]) == 2
    assert keep.read_text() == "important"
    assert "exists" in capsys.readouterr().err
    assert main(["demo", "--output", str(keep), "--overwrite"]) == 0
    assert cv2.imread(str(keep)) is not None


def test_file_names_cannot_drive_the_terminal(tmp_path, capsys):
    """#27 item 16: ANSI/OSC sequences in a name are printed as escapes, never raw."""
    folder = tmp_path / "in"
    folder.mkdir()
    evil = folder / "evil\x1b]0;OWNED\x07\x1b[2J\x9b.png"
    _photo(evil)
    (folder / "broken\x1b[31m.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    code = main(["deblur", str(folder), str(out), "--psf", "gaussian:1", "--noise", "0.01",
                 "--workers", "1", "--quiet"])  # fmt: skip
    single = main(["deblur", str(evil), str(tmp_path / "one.png"), "--psf", "gaussian:1",
                   "--noise", "0.01", "--quiet"])  # fmt: skip
    captured = capsys.readouterr()
    assert code != 0 and single == 0  # the broken file fails the batch; the photo is restored
    for stream in (captured.out, captured.err):
        assert "\x1b" not in stream and "\x07" not in stream and "\x9b" not in stream
    assert "\\x1b]0;OWNED" in captured.out + captured.err


def test_figure_and_demo_formats_are_checked_before_any_work(tmp_path, capsys):
    """#27 item 12: --compare fig.bmp tracebacked after OUTPUT was written; demo x.txt too."""
    photo = tmp_path / "in.png"
    _photo(photo)
    out = tmp_path / "out.png"
    argv = ["deblur", str(photo), str(out), "--psf", "gaussian:1", "--noise", "0.01"]
    assert main([*argv, "--compare", str(tmp_path / "fig.bmp")]) == 2
    assert main(["demo", "--output", str(tmp_path / "x.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "must be an image file" in err
    assert not out.exists() and not (tmp_path / "x.txt").exists()


def _png_header(path, side: int = 100_000) -> None:
    """A 70-byte PNG whose header claims side × side pixels (over OpenCV's 2^30 limit)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    data = chunk(b"IDAT", zlib.compress(bytes(10)))  # with data, OpenCV checks the size
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + data + chunk(b"IEND", b""))


def test_a_header_over_opencvs_pixel_limit_is_one_line(tmp_path, capsys):
    """#27 item 11: cv2.error tracebacks from deblur, estimate and --psf FILE."""
    bomb = tmp_path / "bomb.png"
    _png_header(bomb)
    photo = tmp_path / "in.png"
    _photo(photo)
    commands = [
        ["deblur", str(bomb), str(tmp_path / "o.png"), "--psf", "gaussian:1", "--noise", "0.01"],
        ["estimate", str(bomb)],
        ["deblur", str(photo), str(tmp_path / "o2.png"), "--psf", str(bomb), "--noise", "0.01"],
    ]
    for argv in commands:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot read" in err, err


def test_absurd_numbers_are_refused_by_the_command_line(tmp_path, capsys):
    """#27 item 21 (in part): --noise nan/inf/1e308/-1 and --workers 1024 were accepted."""
    import pytest

    photo = tmp_path / "in.png"
    _photo(photo)
    for value in ("nan", "inf", "1e308", "-1", "2"):
        for argv in (
            ["demo", "--noise", value],
            ["fit", "--psf", "gaussian:1", "--noise", value],
            ["live", "--noise", value, "--frames", "1"],
            ["deblur", str(photo), str(tmp_path / "o.png"), "--noise", value],
        ):
            with pytest.raises(SystemExit) as refused:  # argparse: usage line, exit 2
                main(argv)
            assert refused.value.code == 2, argv
            assert "noise std in [0, 1]" in capsys.readouterr().err or value == "nan"
    with pytest.raises(SystemExit):
        main(["deblur", str(tmp_path), str(tmp_path / "out"), "--workers", "1024"])
    assert "at most 64 worker processes" in capsys.readouterr().err


def test_a_write_that_fails_names_the_output_not_the_temporary_file(tmp_path):
    """#27 item 21 (in part): ENOSPC/EROFS named '.out.gpudeconv-XXXXXXXX.png'."""
    import errno

    import pytest

    from gpudeconv.media.io import atomic_output

    def full(tmp):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    with pytest.raises(OSError, match=r"cannot write '.*out[.]png': No space left") as failed:
        atomic_output(tmp_path / "out.png", full)
    assert "gpudeconv-" not in str(failed.value)
    assert list(tmp_path.iterdir()) == []
