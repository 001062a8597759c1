import numpy as np
import pytest

from gpudeconv.core import metrics


def test_psnr_definition(rng):
    ref = rng.random((20, 30))
    img = ref + 0.01
    assert abs(metrics.psnr(ref, img) - 40.0) < 1e-9
    assert abs(metrics.psnr(ref * 255, img * 255, data_range=255) - 40.0) < 1e-9
    assert metrics.psnr(ref, ref) == float("inf")


def test_ssim_matches_skimage(rng):
    from skimage.metrics import structural_similarity

    ref = rng.random((40, 40, 3))
    img = np.clip(ref + 0.05 * rng.standard_normal(ref.shape), 0, 1)
    expect = structural_similarity(ref, img, data_range=1, channel_axis=-1)
    assert metrics.ssim(ref, img) == pytest.approx(expect)
    assert metrics.ssim(ref, ref) == pytest.approx(1.0)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        metrics.psnr(np.ones((3, 3)), np.ones((3, 4)))
