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
