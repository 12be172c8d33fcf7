"""Tests of colorlab.checks: right answers pass, wrong ones fail with one sentence that says where.

Every checker is run on the reference itself (or, for the pixel feature, the skimage
one-liner a student writes), on a stub that still raises NotImplementedError, on a result
of the wrong shape, and on a subtly wrong implementation of the kind students write.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.feature import hog
from torch import nn

from colorlab import checks
from colorlab.checks import CheckFailed, ExerciseNotDone
from colorlab.checks.features import photo_luma
from colorlab.color import YUV_FROM_RGB, rgb_to_lab, rgb_to_yuv
from colorlab.losses import blur_loss, gaussian_kernel, smooth_l1
from colorlab.metrics import uv_loss
from colorlab.models.cnn import conv_block
from colorlab.quantize import annealed_mean, bin_centers, rebalance_weights, soft_encode

pytestmark = pytest.mark.usefixtures("one_thread")


def pixel_feature(y, row, col):
    """What a student writes: Y, then skimage's HOG of the 16x16 window."""
    window = y[row - 8 : row + 8, col - 8 : col + 8]
    h = hog(window, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm="L2-Hys")
    return np.concatenate([[y[row, col]], h])


def named(name, fn):
    fn.__name__ = name
    return fn


def stub(name):
    def fn(*args, **kwargs):
        raise NotImplementedError

    return named(name, fn)


def raises_check(checker, fn, match=None):
    """Run a checker that must fail; return its message after checking it is one sentence."""
    with pytest.raises(CheckFailed) as info:
        checker(fn)
    message = str(info.value)
    assert "\n" not in message and message.endswith("."), message
    if match is not None:
        assert re.search(match, message), message
    return message


def passes(capsys, checker, fn):
    """Run a checker that must pass; return the one line it printed, after checking it is the ✓ line.

    A passing checker returns None: the check cell then has no result, which nbgrader would
    read as a partial score (and warn that ``True`` cannot be converted to one).
    """
    assert checker(fn) is None
    out = capsys.readouterr().out
    assert out.startswith("✓ ") and out.endswith(").\n") and out.count("\n") == 1, out
    return out


def has_number(message):
    return re.search(r"\d", message) is not None


# name, checker, a correct function, what the ✓ line says it matched, on how many inputs
CHECKERS = [
    ("rgb_to_yuv", checks.check_rgb_to_yuv, rgb_to_yuv, "colorlab.color.rgb_to_yuv", "7 inputs"),
    ("rgb_to_lab", checks.check_rgb_to_lab, rgb_to_lab, "colorlab.color.rgb_to_lab", "7 inputs"),
    ("uv_loss", checks.check_uv_loss, uv_loss, "colorlab.metrics.uv_loss", "5 inputs"),
    ("pixel_feature", checks.check_pixel_feature, pixel_feature,
     "Y and skimage.feature.hog of the 16x16 window", "8 inputs"),
    ("smooth_l1", checks.check_smooth_l1, smooth_l1, "colorlab.losses.smooth_l1", "5 inputs"),
    ("blur_loss", checks.check_blur_loss, blur_loss, "colorlab.losses.blur_loss", "5 inputs"),
    ("conv_block", checks.check_conv_block, conv_block, "colorlab.models.cnn.conv_block",
     "3 blocks, each in eval and train mode"),
    ("soft_encode", checks.check_soft_encode, soft_encode, "colorlab.quantize.soft_encode", "7 inputs"),
    ("rebalance_weights", checks.check_rebalance_weights, rebalance_weights,
     "colorlab.quantize.rebalance_weights", "6 inputs"),
    ("annealed_mean", checks.check_annealed_mean, annealed_mean, "colorlab.quantize.annealed_mean", "5 inputs"),
]
IDS = [c[0] for c in CHECKERS]


def test_public_names():
    assert set(checks.__all__) == ({"ExerciseNotDone", "CheckFailed", "check_to_float_image", "check_ab_histogram"}
                                   | {f"check_{c[0]}" for c in CHECKERS}
                                   | {"check_chroma_kept", "check_share_near_hue"}  # test_checks_desaturation.py
                                   | {"check_inverse_frequency"}  # test_checks_rebalancing.py
                                   | {"check_donor_overlap"}  # test_checks_palette_use.py
                                   | {"check_auc", "check_chroma_band_auc"})  # test_checks_measures.py
    assert issubclass(CheckFailed, AssertionError) and issubclass(ExerciseNotDone, Exception)
    assert not issubclass(ExerciseNotDone, AssertionError)  # "not done" is not "wrong"
    for name in checks.__all__:
        if name.startswith("check_"):
            assert len(getattr(checks, name).__doc__) > 200  # the notebooks' exercise text points at it


# ------------------------------------------------------------------ (a) right answers pass


@pytest.mark.parametrize("name, checker, fn, reference, count", CHECKERS, ids=IDS)
def test_the_reference_passes_with_one_tick_line(capsys, name, checker, fn, reference, count):
    out = passes(capsys, checker, fn)
    assert re.fullmatch(rf"✓ {name} matches {re.escape(reference)} on {re.escape(count)} "
                        r"\(largest difference \d\.\de[-+]\d\d\)\.\n", out), out


def test_rounded_textbook_yuv_coefficients_pass(capsys):
    # U = 0.492 (B - Y), V = 0.877 (R - Y): the formula as many textbooks round it.
    def textbook(rgb):
        r, g, b = rgb.unbind(-3)
        y = 0.299 * r + 0.587 * g + 0.114 * b
        return torch.stack([y, 0.492 * (b - y), 0.877 * (r - y)], dim=-3)

    passes(capsys, checks.check_rgb_to_yuv, textbook)


def test_a_numpy_result_is_accepted(capsys):
    out = passes(capsys, checks.check_rgb_to_yuv, named("rgb_to_yuv", lambda rgb: rgb_to_yuv(rgb).numpy()))
    assert out.startswith("✓ rgb_to_yuv matches")


def test_an_independent_annealed_mean_passes(capsys):
    def mine(logits, temperature):
        p = torch.softmax(logits / temperature, dim=-3)
        return torch.einsum("...qhw,qc->...chw", p, bin_centers())

    passes(capsys, checks.check_annealed_mean, mine)


def test_an_independent_conv_block_with_other_keys_passes(capsys):
    # Nested Sequentials give other state_dict keys; the parameters are matched in order.
    def mine(c_in, c_out, n, stride_last=1, dilation=1):
        convs = [nn.Sequential(nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, stride=stride_last if i == n - 1 else 1,
                                         padding=dilation, dilation=dilation), nn.ReLU())
                 for i in range(n)]
        return nn.Sequential(nn.Sequential(*convs), nn.BatchNorm2d(c_out))

    passes(capsys, checks.check_conv_block, mine)


# ------------------------------------------------------------------ (c) the stub


@pytest.mark.parametrize("name, checker, fn, reference, count", CHECKERS, ids=IDS)
def test_the_stub_is_not_done_yet(name, checker, fn, reference, count):
    with pytest.raises(ExerciseNotDone) as info:
        checker(stub(name))
    assert str(info.value) == (
        f'{name} is not written yet: replace "raise NotImplementedError" in the cell above with your code, '
        "run that cell, then run this check again."
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__  # a short traceback


def test_not_implemented_after_the_first_input_is_a_failure_not_a_stub():
    def unbatched_only(rgb):
        if rgb.ndim == 4:
            raise NotImplementedError("batches later")
        return rgb_to_yuv(rgb)

    message = raises_check(checks.check_rgb_to_yuv, unbatched_only)
    assert message.startswith('unbatched_only raised NotImplementedError("batches later") on "random batch, '
                              'shape (2, 3, 4, 6)"')


# ------------------------------------------------------------------ (d) wrong shapes


def _block_with_an_extra_layer(c_in, c_out, n, stride_last=1, dilation=1):
    return nn.Sequential(*conv_block(c_in, c_out, n, stride_last, dilation), nn.Flatten())


WRONG_SHAPES = {
    "rgb_to_yuv": (lambda rgb: rgb_to_yuv(rgb.unsqueeze(0) if rgb.ndim == 3 else rgb),
                   "returned shape (1, 3, 1, 1) for input shape (3, 1, 1); it should return the same shape as its "
                   "input — an unbatched input should give an unbatched result."),
    "rgb_to_lab": (lambda rgb: rgb_to_lab(rgb).movedim(-3, -1),
                   "returned shape (1, 1, 3) for input shape (3, 1, 1); it should return the same shape as its "
                   "input — the right sizes in another order; check which dimension holds what."),
    "uv_loss": (lambda p, t: uv_loss(p, t).reshape(1),
                "returned shape (1,) for input shape (3, 8, 8); it should return a single number, a 0-d tensor "
                "(shape ())."),
    "pixel_feature": (lambda y, row, col: pixel_feature(y, row, col)[1:],
                      'returned shape (36,) on "astronaut luma, pixel (20, 25) of a 40x48 image"; it should return '
                      "37 values, shape (37,): Y at (row, col), then the 36 HOG values."),
    "smooth_l1": (lambda p, t, beta=0.1: F.smooth_l1_loss(p, t, beta=beta, reduction="none"),
                  "returned shape (2, 2, 4, 4) for input shape (2, 2, 4, 4); it should return a single number, "
                  "a 0-d tensor (shape ())."),
    "blur_loss": (lambda p, t: blur_loss(p, t)[None],
                  "returned shape (1,) for input shape (2, 2, 8, 8); it should return a single number, a 0-d "
                  "tensor (shape ())."),
    "conv_block": (_block_with_an_extra_layer,
                   "conv_block(1, 4, 2, stride_last=2, dilation=1) has 6 layers: conv, ReLU, conv, ReLU, BatchNorm, "
                   "Flatten; the block of Li and Wang's Figure 4 with n=2 has 5: conv, ReLU, conv, ReLU, BatchNorm."),
    "soft_encode": (lambda ab: soft_encode(ab).movedim(-3, -1),
                    "returned shape (1, 1, 313) for input shape (2, 1, 1); it should return shape (313, 1, 1), a "
                    "distribution over the 313 bins for every pixel — the right sizes in another order; check which "
                    "dimension holds what."),
    "rebalance_weights": (lambda prior, lam=0.5: rebalance_weights(prior, lam)[None],
                          "returned shape (1, 313) for input shape (313,); it should return shape (313,), one weight "
                          "per bin — an unbatched input should give an unbatched result."),
    "annealed_mean": (lambda logits, t: annealed_mean(logits, t).movedim(-3, -1),
                      "returned shape (2, 3, 2) for input shape (313, 2, 3); it should return shape (2, 2, 3): a and "
                      "b for every pixel — the right sizes in another order; check which dimension holds what."),
}


@pytest.mark.parametrize("name, checker, fn, reference, count", CHECKERS, ids=IDS)
def test_a_wrong_shape_is_named(name, checker, fn, reference, count):
    wrong, expected = WRONG_SHAPES[name]
    assert raises_check(checker, named(name, wrong)) == (expected if name == "conv_block" else f"{name} {expected}")


# ------------------------------------------------------------------ (b) wrong values, one checker at a time


def test_yuv_exact_failure_sentence():
    m = torch.tensor(YUV_FROM_RGB)
    m[1, 0] = -m[1, 0]  # a sign slip in U's red coefficient

    def rgb_to_yuv_typo(rgb):
        return torch.einsum("ij,...jhw->...ihw", m, rgb)

    assert raises_check(checks.check_rgb_to_yuv, named("rgb_to_yuv", rgb_to_yuv_typo)) == (
        'rgb_to_yuv is off on "pure red, shape (3, 1, 1)": U is 0.1471 where colorlab.color.rgb_to_yuv gives '
        "-0.1471 (difference 0.2943, allowed 0.0005)."
    )


def test_yuv_channels_in_another_order_get_a_hint():
    message = raises_check(checks.check_rgb_to_yuv, lambda rgb: rgb_to_yuv(rgb)[..., [0, 2, 1], :, :])
    assert message.startswith('rgb_to_yuv is off on "pure red, shape (3, 1, 1)": U is')
    assert message.endswith("hint: your channels are Y, V, U; put them in the order Y, U, V.")


def test_lab_without_the_srgb_gamma():
    from colorlab.color import linear_to_srgb

    message = raises_check(checks.check_rgb_to_lab, named("rgb_to_lab", lambda rgb: rgb_to_lab(linear_to_srgb(rgb))),
                           # gamma leaves 0 and 1 alone: the primaries pass, the grays do not
                           r'^rgb_to_lab is off on "dark grays 0.02, 0.06 and 0.2, shape \(3, 1, 3\)": '
                           r"L at pixel \(0, 2\) is 51.84 where colorlab.color.rgb_to_lab gives 21.25")
    assert "undo the sRGB gamma first" in message


def test_uv_loss_divided_by_w_h_instead_of_2_w_h():
    def per_wh(pred, true):
        du = rgb_to_yuv(pred)[..., 1:, :, :] - rgb_to_yuv(true)[..., 1:, :, :]
        return du.square().sum(dim=(-3, -2, -1)).div(pred.shape[-1] * pred.shape[-2]).mean()

    message = raises_check(checks.check_uv_loss, named("uv_loss", per_wh))
    assert message.startswith('uv_loss is off on "its gray version against a colour image, shape (3, 8, 8)": '
                              "it gives ")
    assert "that is exactly 2 times colorlab.metrics.uv_loss's value, so a constant factor is off" in message
    assert "identical images" not in message  # 2 x 0 is still 0: that input passed


def test_uv_loss_summing_the_batch_is_named():
    def summed(pred, true):
        return uv_loss(pred, true, reduction="none").sum()

    message = raises_check(checks.check_uv_loss, summed, r'"a random batch of 4 pairs, shape \(4, 3, 6, 6\)"')
    assert "exactly 4 times" in message and "summed, not averaged" in message


def test_pixel_feature_off_by_one_window():
    def shifted(y, row, col):
        window = y[row - 7 : row + 9, col - 8 : col + 8]  # one row too low
        h = hog(window, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm="L2-Hys")
        return np.concatenate([[y[row, col]], h])

    message = raises_check(checks.check_pixel_feature, named("pixel_feature", shifted),
                           r'^pixel_feature is off on "astronaut luma, pixel \(20, 25\) of a 40x48 image": feature \d+ '
                           r"\(the [a-z-]+ cell's orientation bin \d")
    assert "the HOG of the window one row lower; the window is y[row-8:row+8, col-8:col+8]" in message


def test_pixel_feature_with_colorlabs_dense_hog_is_told_the_difference():
    from colorlab.models.hog_svr import pixel_features

    message = raises_check(checks.check_pixel_feature,
                           named("pixel_feature", lambda y, row, col: pixel_features(y)[:, row, col]))
    assert "your values are colorlab's pixel_features" in message
    assert "skimage.feature.hog of the 16x16 window alone" in message


def test_pixel_feature_agrees_with_pixel_features_only_where_the_window_is_the_image():
    # What the docstring claims: on a 16x16 image the two definitions agree at (8, 8), and
    # inside a photo they do not, on any pixel.
    from colorlab.models.hog_svr import pixel_features

    y = photo_luma()
    dense = pixel_features(y)
    diffs = [np.abs(dense[:, r, c] - pixel_feature(y, r, c)).max() for r in range(8, 33, 4) for c in range(8, 41, 4)]
    assert min(diffs) > 1e-3 and max(diffs) > 0.05
    window = y[4:20, 10:26].copy()
    np.testing.assert_allclose(pixel_features(window)[:, 8, 8], pixel_feature(window, 8, 8), atol=1e-6)


def test_smooth_l1_without_dividing_by_beta():
    def no_beta(pred, target, beta=0.1):
        e = (pred - target).abs()
        return torch.where(e < beta, 0.5 * e**2, e - 0.5 * beta).mean()

    message = raises_check(checks.check_smooth_l1, named("smooth_l1", no_beta),
                           r'^smooth_l1 is off on "every error below beta, beta=0.1, shape \(2, 2, 4, 4\)": it gives ')
    assert "0.5 e**2 / beta" in message


def test_smooth_l1_wrong_default_beta():
    message = raises_check(checks.check_smooth_l1, lambda pred, target, beta=1.0: smooth_l1(pred, target, beta))
    assert '"errors on both sides of beta, beta left at its default' in message and has_number(message)


def test_blur_loss_with_zero_padding():
    def zero_padded(pred, target):
        terms = [F.mse_loss(pred, target)]
        for size in (3, 5):
            blurred = [F.conv2d(F.pad(x, (size // 2,) * 4), gaussian_kernel(size, 2, x.dtype, "cpu"), groups=2)
                       for x in (pred, target)]
            terms.append(F.mse_loss(*blurred))
        return torch.stack(terms).mean()

    message = raises_check(checks.check_blur_loss, named("blur_loss", zero_padded),
                           r'^blur_loss is off on "two random images, shape \(2, 2, 8, 8\)": it gives [\d.e-]+ where')
    assert 'pad by reflection, F.pad(x, ..., mode="reflect")' in message


def test_blur_loss_summing_the_terms():
    message = raises_check(checks.check_blur_loss, lambda p, t: 3 * blur_loss(p, t))
    assert "exactly 3 times colorlab.losses.blur_loss's value, so the three terms are summed, not averaged" in message


def test_conv_block_with_batch_norm_after_every_conv():
    def bn_everywhere(c_in, c_out, n, stride_last=1, dilation=1):
        layers = []
        for i in range(n):
            layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, stride=stride_last if i == n - 1 else 1,
                                 padding=dilation, dilation=dilation), nn.ReLU(), nn.BatchNorm2d(c_out)]
        return nn.Sequential(*layers)

    assert raises_check(checks.check_conv_block, named("conv_block", bn_everywhere)) == (
        "conv_block(1, 4, 2, stride_last=2, dilation=1) has 6 layers: conv, ReLU, BatchNorm, conv, ReLU, BatchNorm; "
        "the block of Li and Wang's Figure 4 with n=2 has 5: conv, ReLU, conv, ReLU, BatchNorm — batch norm comes once, at the "
        "end of the block."
    )


def block_with_every_conv(name, **settings):
    """A conv_block whose every convolution has ``settings`` (attribute: function of stride_last and dilation)."""
    def fn(c_in, c_out, n, stride_last=1, dilation=1):
        block = conv_block(c_in, c_out, n, stride_last, dilation)
        for m in block:
            if isinstance(m, nn.Conv2d):
                for attr, value in settings.items():
                    setattr(m, attr, value(stride_last, dilation))
        return block

    return named(name, fn)


def test_conv_block_striding_every_conv():
    stride_all = block_with_every_conv("conv_block", stride=lambda stride_last, dilation: (stride_last, stride_last))
    assert raises_check(checks.check_conv_block, stride_all) == (
        "the 1st conv of conv_block(1, 4, 2, stride_last=2, dilation=1) has stride=(2, 2) where the block of Li and "
        "Wang's Figure 4 has stride=(1, 1) — only the last conv has stride stride_last, the others stride 1."
    )


def test_conv_block_padding_ignores_the_dilation():
    message = raises_check(checks.check_conv_block,
                           block_with_every_conv("pad_one", padding=lambda stride_last, dilation: (1, 1)))
    assert message.startswith("the 1st conv of pad_one(4, 6, 3, stride_last=1, dilation=2) has padding=(1, 1)")
    assert "needs padding d" in message


def test_conv_block_wrong_values_in_train_mode_only():
    # Right layers and settings, but a batch norm that ignores the batch in train mode:
    # only the output comparison can see that.
    def frozen_bn(c_in, c_out, n, stride_last=1, dilation=1):
        block = conv_block(c_in, c_out, n, stride_last, dilation)
        block[-1].forward = lambda x, bn=block[-1]: F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight,
                                                                 bn.bias, False, 0.0, bn.eps)
        return block

    message = raises_check(checks.check_conv_block, named("conv_block", frozen_bn))
    assert message.startswith('conv_block is off on "conv_block(1, 4, 2, stride_last=2, dilation=1) in train mode, '
                              'input shape (2, 1, 12, 12)": channel ')
    assert has_number(message)


def test_conv_block_returning_a_list():
    def as_list(c_in, c_out, n, stride_last=1, dilation=1):
        return list(conv_block(c_in, c_out, n, stride_last, dilation))

    message = raises_check(checks.check_conv_block, named("conv_block", as_list))
    assert message == ("conv_block(1, 4, 2, stride_last=2, dilation=1) returned a list; wrap the layers in "
                       "nn.Sequential(*layers).")


def test_soft_encode_with_four_neighbours():
    message = raises_check(checks.check_soft_encode, named("soft_encode", lambda ab: soft_encode(ab, k=4)),
                           r'^soft_encode is off on "exactly on the centre of bin \(0, 0\), shape \(2, 1, 1\)": '
                           r"bin \d+ \(a=-?\d+, b=-?\d+\) is ")
    assert has_number(message)


def test_soft_encode_without_the_2_in_the_gaussian():
    message = raises_check(checks.check_soft_encode, lambda ab: soft_encode(ab, sigma=5 / 2**0.5))
    assert "hint: the Gaussian is exp(-d**2 / (2 sigma**2)), with the 2" in message


def test_soft_encode_that_underflows_far_from_the_gamut():
    centers = bin_centers()

    def naive(ab):
        pixels = ab.reshape(2, -1).T
        d2 = torch.cdist(pixels, centers).square()
        near = d2.topk(5, largest=False)
        w = torch.exp(-near.values / 50)
        w = w / w.sum(1, keepdim=True)
        out = torch.zeros(pixels.shape[0], 313).scatter(1, near.indices, w)
        return out.T.reshape(313, *ab.shape[1:])

    message = raises_check(checks.check_soft_encode, named("soft_encode", naive))
    assert message.startswith('soft_encode gave nan for bin ')
    assert 'on "far outside the gamut at (-115, -105), shape (2, 1, 1)"' in message
    assert "subtract the smallest d**2 of the pixel before exponentiating" in message


def test_rebalance_weights_not_normalised():
    def unnormalised(prior, lam=0.5):
        return 1 / ((1 - lam) * prior + lam / 313)

    message = raises_check(checks.check_rebalance_weights, named("rebalance_weights", unnormalised),
                           r'^rebalance_weights is off on "the smoothed prior of a photo, lam left at its default": '
                           r"the weight of bin \d+ \(a=-?\d+, b=-?\d+\) is ")
    assert "right up to a constant factor; scale the weights so that sum(prior * w) == 1" in message


def test_rebalance_weights_infinite_for_empty_bins():
    def naive(prior, lam=0.5):
        w = 1 / ((1 - lam) * prior + lam / 313)
        return w / (prior * w).sum()

    message = raises_check(checks.check_rebalance_weights, named("rebalance_weights", naive))
    assert re.match(r'rebalance_weights gave nan for the weight of bin 0 \(a=-90, b=50\) on "a prior with \d+ empty '
                    r'bins, lam=0"', message), message
    assert "give those bins weight 0" in message


def test_annealed_mean_naive_exp_gets_the_stability_hint():
    def naive(logits, temperature):
        e = torch.exp(logits / temperature)
        p = e / e.sum(dim=-3, keepdim=True)
        return torch.einsum("...qhw,qc->...chw", p, bin_centers())

    message = raises_check(checks.check_annealed_mean, named("annealed_mean", naive))
    assert re.match(r'annealed_mean gave nan for [ab] at pixel \(\d, \d\) of image 0 on "T=0.01 with logits up to '
                    r'\+-200, shape \(1, 313, 2, 2\)" where colorlab.quantize.annealed_mean gives -?[\d.]+ — hint: ',
                    message), message
    assert "subtract the max logit before exponentiating" in message


def test_annealed_mean_multiplying_by_t():
    message = raises_check(checks.check_annealed_mean, lambda logits, t: annealed_mean(logits * t * t, t),
                           r'^annealed_mean is off on "T=0.38, Zhang\'s temperature, shape \(2, 313, 2, 2\)": '
                           r"[ab] at pixel \(\d, \d\) of image \d is ")
    assert "divide the logits by T" in message


# ------------------------------------------------------------------ types, exceptions, copies


def test_returning_none():
    def forgot_return(rgb):
        rgb_to_yuv(rgb)

    assert raises_check(checks.check_rgb_to_yuv, forgot_return) == (
        'forgot_return returned None on "pure red, shape (3, 1, 1)"; it should return a torch tensor — check that it '
        "ends with a return statement."
    )


def test_returning_integers():
    message = raises_check(checks.check_rgb_to_yuv, named("rgb_to_yuv", lambda rgb: (rgb_to_yuv(rgb) * 255).long()))
    assert message.startswith('rgb_to_yuv returned integers (torch.int64) on "pure red, shape (3, 1, 1)"; '
                              "it should return floating-point values")


def test_returning_a_tuple_of_channels():
    message = raises_check(checks.check_rgb_to_yuv, named("rgb_to_yuv", lambda rgb: tuple(rgb_to_yuv(rgb))))
    assert message == ('rgb_to_yuv returned a tuple of 3 arrays on "pure red, shape (3, 1, 1)"; it should return a '
                       "torch tensor, so join the parts with torch.stack or torch.cat.")


def test_another_exception_keeps_the_students_traceback():
    def buggy(rgb):
        return rgb @ torch.ones(5, 5)

    with pytest.raises(CheckFailed) as info:
        checks.check_rgb_to_yuv(buggy)
    message = str(info.value)
    assert message.startswith('buggy raised RuntimeError("') and message.endswith('") on "pure red, shape (3, 1, 1)".')
    assert isinstance(info.value.__cause__, RuntimeError)  # the student can still see their failing line


def test_mixed_float32_and_float64_gets_a_hint():
    matrix = torch.tensor(YUV_FROM_RGB, dtype=torch.float64)

    def float64_constants(rgb):
        return torch.einsum("ij,...jhw->...ihw", matrix, rgb)

    message = raises_check(checks.check_rgb_to_yuv, float64_constants)
    assert "float32 and float64 are mixed" in message and "dtype=x.dtype" in message


def test_passing_the_result_instead_of_the_function():
    with pytest.raises(TypeError, match=r"check_rgb_to_yuv wants your function itself, as in "
                                        r"check_rgb_to_yuv\(rgb_to_yuv\)"):
        checks.check_rgb_to_yuv(rgb_to_yuv(torch.rand(3, 2, 2)))


def test_a_student_who_changes_the_input_in_place_still_passes(capsys):
    def tidy_but_destructive(rgb):
        out = rgb_to_yuv(rgb.clone())
        rgb.fill_(0.5)  # e.g. reusing the input's memory afterwards
        return out

    passes(capsys, checks.check_rgb_to_yuv, tidy_but_destructive)

    def destructive_feature(y, row, col):
        out = pixel_feature(y, row, col)
        y[...] = 0
        return out

    passes(capsys, checks.check_pixel_feature, destructive_feature)


def test_changing_the_input_cannot_fool_the_reference():
    # Zeroing both images makes every later loss 0; the reference must still see the real images.
    def zero_everything(pred, true):
        pred.zero_()
        true.zero_()
        return uv_loss(pred, true)

    raises_check(checks.check_uv_loss, zero_everything,
                 r'^zero_everything is off on "its gray version against a colour image, shape \(3, 8, 8\)": '
                 r"it gives 0 where")


def test_the_checkers_leave_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checks.check_soft_encode(soft_encode)
    checks.check_annealed_mean(annealed_mean)
    checks.check_conv_block(conv_block)  # builds modules, which draws initial weights
    assert torch.equal(torch.rand(3), expected)


# ------------------------------------------------------------------ to_float_image (notebook 00)


def test_to_float_image_reference_passes_and_common_mistakes_are_named(capsys):
    from colorlab.checks import check_to_float_image

    passes(capsys, check_to_float_image, lambda x: x.to(torch.float32) / 255.0)
    with pytest.raises(CheckFailed, match=r"255 times .* divide by 255"):
        check_to_float_image(lambda x: x.float())
    with pytest.raises(CheckFailed, match=r"dtype torch.float64 .* torch.float32"):
        check_to_float_image(lambda x: x.double() / 255.0)

    def not_written(x):
        raise NotImplementedError

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check_to_float_image(not_written)


def test_ab_histogram_checker(capsys):
    from colorlab.checks import check_ab_histogram
    from colorlab.quantize import NUM_BINS, encode_hard

    def counts(ab):
        x = ab[None] if ab.ndim == 3 else ab
        bins = encode_hard(x).flatten(1)
        out = torch.zeros(len(x), NUM_BINS).scatter_add_(1, bins, torch.ones(bins.shape))
        return out[0] if ab.ndim == 3 else out

    def shares(ab):
        c = counts(ab)
        return c / c.sum(dim=-1, keepdim=True)

    passes(capsys, check_ab_histogram, shares)
    with pytest.raises(CheckFailed, match="divide by the number of pixels"):
        check_ab_histogram(counts)
    with pytest.raises(CheckFailed, match=r"shape"):
        check_ab_histogram(lambda ab: shares(ab)[..., :312])
