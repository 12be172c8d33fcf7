import warnings

import numpy as np
import pytest
import skimage.color as skc
import skimage.data
import torch

from colorlab import color as C


def photo():
    return skimage.data.astronaut()[::4, ::4] / 255.0  # 128 x 128, float64


def random_rgb(seed=0, shape=(48, 40, 3)):
    return np.random.default_rng(seed).random(shape)


def to_chw(a, dtype=torch.float64):
    return torch.tensor(a, dtype=dtype).permute(2, 0, 1)


def to_hwc(t):
    return t.permute(1, 2, 0).detach().cpu().numpy()


@pytest.mark.parametrize("image", [photo(), random_rgb()], ids=["astronaut", "random"])
def test_rgb_to_lab_matches_skimage(image):
    lab = C.rgb_to_lab(to_chw(image, torch.float32))
    np.testing.assert_allclose(to_hwc(lab), skc.rgb2lab(image), atol=0.05)


def test_lab_published_values():
    # D65 white is L=100, a=b=0; pure sRGB red is about (53.24, 80.09, 67.20) (Lindbloom's tables)
    rgb = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64).reshape(3, 1, 3)
    lab = C.rgb_to_lab(rgb)[:, 0, :].T
    np.testing.assert_allclose(lab[0].numpy(), [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(lab[1].numpy(), [53.24, 80.09, 67.20], atol=0.02)
    np.testing.assert_allclose(lab[2].numpy(), [0, 0, 0], atol=1e-6)


@pytest.mark.parametrize("image", [photo(), random_rgb(1)], ids=["astronaut", "random"])
def test_lab_round_trip(image):
    x = to_chw(image)
    torch.testing.assert_close(C.lab_to_rgb(C.rgb_to_lab(x)), x, atol=1e-4, rtol=0)
    x32 = to_chw(image, torch.float32)
    torch.testing.assert_close(C.lab_to_rgb(C.rgb_to_lab(x32)), x32, atol=1e-4, rtol=0)


def test_lab_to_rgb_matches_skimage_including_out_of_gamut():
    rng = np.random.default_rng(2)
    lab = np.stack([rng.uniform(0, 100, (32, 32)), rng.uniform(-128, 127, (32, 32)), rng.uniform(-128, 127, (32, 32))], -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about the negative Z values it clips
        ref = skc.lab2rgb(lab)
    out = to_hwc(C.lab_to_rgb(to_chw(lab)))
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("image", [photo(), random_rgb(3)], ids=["astronaut", "random"])
def test_yuv_matches_skimage_and_round_trips(image):
    yuv = C.rgb_to_yuv(to_chw(image))
    np.testing.assert_allclose(to_hwc(yuv), skc.rgb2yuv(image), atol=1e-6)
    np.testing.assert_allclose(to_hwc(C.yuv_to_rgb(yuv)), skc.yuv2rgb(skc.rgb2yuv(image)), atol=1e-6)
    torch.testing.assert_close(C.yuv_to_rgb(yuv), to_chw(image), atol=1e-4, rtol=0)


def test_yuv_by_hand():
    # BT.601: white has Y = 0.299 + 0.587 + 0.114 = 1 and U = V = 0; pure blue has U = 0.436
    rgb = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64).reshape(3, 1, 2)
    yuv = C.rgb_to_yuv(rgb)[:, 0, :].T
    np.testing.assert_allclose(yuv[0].numpy(), [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(yuv[1].numpy(), [0.114, 0.43601035, -0.10001026], atol=1e-6)


@pytest.mark.parametrize("image", [photo(), random_rgb(4)], ids=["astronaut", "random"])
def test_hsv_matches_skimage_and_round_trips(image):
    hsv = C.rgb_to_hsv(to_chw(image))
    np.testing.assert_allclose(to_hwc(hsv), skc.rgb2hsv(image), atol=1e-6)
    torch.testing.assert_close(C.hsv_to_rgb(hsv), to_chw(image), atol=1e-4, rtol=0)
    np.testing.assert_allclose(to_hwc(C.hsv_to_rgb(hsv)), skc.hsv2rgb(skc.rgb2hsv(image)), atol=1e-6)


def test_hsv_gray_and_black_and_wraparound():
    rgb = torch.tensor([[0.5, 0.0, 1.0], [0.5, 0.0, 0.0], [0.5, 0.0, 0.02]]).reshape(3, 1, 3)
    hsv = C.rgb_to_hsv(rgb)[:, 0, :].T
    assert hsv[0].tolist() == pytest.approx([0, 0, 0.5])  # gray: no hue, no saturation
    assert hsv[1].tolist() == pytest.approx([0, 0, 0])  # black
    assert hsv[2, 0].item() > 0.99  # a red tinged with blue sits just below 1: hue wraps around
    torch.testing.assert_close(C.hsv_to_rgb(torch.tensor([1.2, 1.0, 1.0]).reshape(3, 1, 1)),
                               C.hsv_to_rgb(torch.tensor([0.2, 1.0, 1.0]).reshape(3, 1, 1)))


def test_batched_equals_per_image_and_keeps_dtype():
    batch = torch.stack([to_chw(random_rgb(s), torch.float32) for s in range(3)])
    for fn in (C.rgb_to_lab, C.rgb_to_yuv, C.rgb_to_hsv):
        out = fn(batch)
        assert out.shape == batch.shape and out.dtype == torch.float32
        for i in range(3):
            torch.testing.assert_close(out[i], fn(batch[i]))


def test_conversions_are_differentiable():
    x = to_chw(random_rgb(5, (8, 8, 3)), torch.float64).requires_grad_()
    for fn in (C.rgb_to_lab, C.rgb_to_yuv, C.rgb_to_hsv):
        x.grad = None
        fn(x).sum().backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # the gradient through rgb_to_lab matches finite differences
    small = to_chw(random_rgb(6, (2, 2, 3)) * 0.8 + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: C.rgb_to_lab(t), (small,))
    # black pixels sit on the linear branches: still finite
    zero = torch.zeros(1, 3, 2, 2, requires_grad=True)
    C.rgb_to_lab(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()


def test_l_ab_split_join_and_gray():
    x = to_chw(photo(), torch.float32).unsqueeze(0)
    l, ab = C.rgb_to_l_ab(x)
    assert l.shape == (1, 1, 128, 128) and ab.shape == (1, 2, 128, 128)
    torch.testing.assert_close(C.l_ab_to_rgb(l, ab), x, atol=1e-4, rtol=0)
    gray = C.rgb_to_gray(x)
    assert (gray[:, 0] - gray[:, 1]).abs().max() < 1e-3 and (gray[:, 1] - gray[:, 2]).abs().max() < 1e-3
    # the gray version keeps L
    torch.testing.assert_close(C.rgb_to_l_ab(gray)[0], l, atol=0.05, rtol=0)
    with pytest.raises(ValueError, match=r"\(N,1,H,W\)"):
        C.l_ab_to_rgb(ab, l)


def test_normalisation_round_trip_and_range():
    l = torch.tensor([0.0, 50.0, 100.0])
    assert C.normalize_l(l).tolist() == [-1, 0, 1]
    torch.testing.assert_close(C.denormalize_l(C.normalize_l(l)), l)
    ab = torch.tensor([-110.0, 0.0, 110.0])
    assert C.normalize_ab(ab).tolist() == [-1, 0, 1]
    torch.testing.assert_close(C.denormalize_ab(C.normalize_ab(ab)), ab)


def test_bad_input_messages():
    with pytest.raises(ValueError, match=r"255"):
        C.rgb_to_lab(torch.full((3, 4, 4), 200.0))
    with pytest.raises(ValueError, match=r"uint8.*255|/ 255"):
        C.rgb_to_lab(torch.zeros(3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(3,H,W\).*got shape \(4, 4, 3\)"):
        C.rgb_to_lab(torch.zeros(4, 4, 3))
    with pytest.raises(ValueError, match="empty"):
        C.rgb_to_yuv(torch.zeros(0, 3, 4, 4))
    with pytest.raises(ValueError, match="NaN"):
        C.rgb_to_hsv(torch.full((3, 2, 2), float("nan")))
    with pytest.raises(ValueError, match="NaN"):
        C.lab_to_rgb(torch.full((3, 2, 2), float("nan")))
    with pytest.raises(ValueError, match="torch tensor or NumPy"):
        C.rgb_to_lab([[0.5]])


def test_numpy_input_is_accepted():
    a = random_rgb(7, (3, 5, 5))
    torch.testing.assert_close(C.rgb_to_yuv(a), C.rgb_to_yuv(torch.from_numpy(a)))


def test_half_precision_input_is_converted_in_float32():
    from colorlab.color import lab_to_rgb, rgb_to_lab

    rgb = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0))
    for dtype in (torch.float16, torch.bfloat16):
        lab = rgb_to_lab(rgb.to(dtype))
        assert lab.dtype == torch.float32
        # only the input's own rounding is left: far below the 0.25-0.4 Lab units of computing in half
        torch.testing.assert_close(lab, rgb_to_lab(rgb.to(dtype).float()))
        assert lab_to_rgb(lab.to(dtype)).dtype == torch.float32


def test_a_numpy_uint8_image_is_described_as_numpy():
    import numpy as np

    from colorlab.color import rgb_to_lab

    with pytest.raises(ValueError, match=r"got a NumPy array of shape \(3, 4, 4\) and dtype uint8.*astype"):
        rgb_to_lab(np.zeros((3, 4, 4), dtype=np.uint8))
