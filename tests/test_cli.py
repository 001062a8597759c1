import cv2

from gpudeconv.cli import main


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
