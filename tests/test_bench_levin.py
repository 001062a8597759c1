"""bench.levin: the benchmark's protocol (shift search, rotated kernels) without its data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.io import savemat
from scipy.ndimage import gaussian_filter, map_coordinates
from scipy.signal import convolve2d

from bench import levin


def _brute_force_ssd(restored: np.ndarray, sharp: np.ndarray) -> tuple[float, tuple]:
    """The protocol written out: ``interp2`` at every shifted grid point, one by one."""
    rows, cols = sharp.shape
    r = np.arange(levin.CUT, rows - levin.CUT, dtype=float)
    c = np.arange(levin.CUT, cols - levin.CUT, dtype=float)
    target = sharp[levin.CUT : rows - levin.CUT, levin.CUT : cols - levin.CUT]
    best = (np.inf, None)
    for dy in levin.SHIFTS:
        for dx in levin.SHIFTS:
            grid = np.meshgrid(r + dy, c + dx, indexing="ij")
            sample = map_coordinates(restored, grid, order=1)
            ssd = float(np.sum((sample - target) ** 2))
            if ssd < best[0]:
                best = (ssd, (float(dy), float(dx)))
    return best


def test_shift_search_equals_the_brute_force_protocol():
    rng = np.random.default_rng()
    sharp = gaussian_filter(rng.random((44, 48)), 1.5)
    true_shift = rng.uniform(-4, 4, size=2)
    rows, cols = np.mgrid[0:44, 0:48].astype(float)
    restored = map_coordinates(sharp, [rows - true_shift[0], cols - true_shift[1]], order=3)
    restored += 0.002 * rng.standard_normal(restored.shape)
    ssd, shift = levin.aligned_ssd(restored, sharp)
    ref_ssd, ref_shift = _brute_force_ssd(restored, sharp)
    assert ssd == pytest.approx(ref_ssd, rel=1e-9)
    assert shift == ref_shift
    assert np.abs(np.array(shift) - true_shift).max() <= 0.25  # it found the move


def _write_case(folder, photo: int, kernel_index: int, rng) -> np.ndarray:
    """A capture stored as the benchmark stores it: the kernel rotated by 180°."""
    sharp = gaussian_filter(rng.random((120, 120)), 2.0)
    kernel = np.zeros((25, 25))
    kernel[12, 6:14] = np.linspace(1, 3, 8)  # asymmetric: a rotation shows
    kernel[9:12, 13] = 2
    kernel /= kernel.sum()
    blurred = convolve2d(sharp, kernel, mode="same", boundary="symm")
    savemat(
        folder / f"im{photo:02d}_ker{kernel_index:02d}.mat",
        {"x": sharp, "y": blurred, "f": kernel[::-1, ::-1]},
    )
    return kernel


def test_read_case_undoes_the_stored_rotation(tmp_path):
    kernel = _write_case(tmp_path, 1, 3, np.random.default_rng())
    case = levin.read_case(tmp_path / "im01_ker03.mat")
    np.testing.assert_allclose(case["kernel"], kernel, atol=1e-12)
    assert (case["photo"], case["kernel_index"]) == (1, 3)
    with pytest.raises(ValueError, match=r"expected a name like im01_ker01\.mat"):
        levin.read_case(tmp_path / "photo.mat")


def test_without_a_folder_it_says_so_and_writes_nothing(tmp_path, capsys):
    assert levin.main(["--out", str(tmp_path)]) == 0
    assert "no folder given" in capsys.readouterr().out
    assert not list(tmp_path.iterdir())
    assert levin.main([str(tmp_path), "--out", str(tmp_path)]) == 2  # no captures in it
    assert "no imII_kerKK.mat files" in capsys.readouterr().err


def test_quick_run_on_a_synthetic_capture_writes_the_protocol_fields(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write_case(data, 1, 1, np.random.default_rng(7))
    out = tmp_path / "out"
    assert levin.main([str(data), "--quick", "--out", str(out)]) == 0
    result = json.loads((out / "levin-quick.json").read_text())
    (row,) = result["rows"]
    assert row["size"] == 25 and row["ssd_levin_true"] == levin.LEVIN_TRUE_SSD[0, 0]
    assert row["ratio"] == pytest.approx(row["ssd_found"] / row["ssd_levin_true"])
    assert row["psnr_true"] > 25  # the true kernel restores this blur
    assert result["summary"]["cases"] == 1
    assert "success at ratio ≤ 1.5 / 2 / 3" in (out / "levin-quick.md").read_text()
