"""Tests of colorlab.models: the CNN of 003 (Figure 4), the autoencoder of 002, the baselines, padding.

Everything runs on the CPU with width 4 or 8 networks and small inputs.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from colorlab.models import (MODELS, Autoencoder, ClassificationCNN, GrayColorizer, MeanColorColorizer,
                             RegressionCNN, build_model)
from colorlab.models.padding import crop_to, pad_to_multiple
from colorlab.quantize import NUM_BINS


pytestmark = pytest.mark.usefixtures("one_thread")


# Small but valid settings for every model in MODELS.
SMALL = {
    "regression": {"width": 4},
    "classification": {"width": 4},
    "autoencoder": {"width": 4},
    "gray": {},
    "mean_color": {"mean_ab": (0.25, -0.5)},
    "palette": {"width": 4},
}

SIZES = [(17, 23), (32, 32), (45, 61), (8, 8), (1, 1), (3, 50)]


def small_model(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model({"name": name, **SMALL[name]}).eval()


def random_l(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, h, w, generator=g) * 2 - 1


def convs(module: nn.Module, kind=nn.Conv2d) -> list[nn.Module]:
    return [m for m in module.modules() if type(m) is kind]


# ------------------------------------------------------------------ building


def test_small_settings_cover_every_model():
    assert set(SMALL) == set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_builds_and_rebuilds_from_its_config(name):
    model = small_model(name)
    assert isinstance(model, MODELS[name])
    assert model.config["name"] == name
    assert model.kind in ("regression", "classification", "palette")
    rebuilt = build_model(dict(model.config))
    assert type(rebuilt) is type(model)
    assert rebuilt.config == model.config
    own, other = model.state_dict(), rebuilt.state_dict()
    assert list(own) == list(other)
    assert {k: tuple(v.shape) for k, v in own.items()} == {k: tuple(v.shape) for k, v in other.items()}
    # the rebuilt architecture accepts the original's weights exactly
    rebuilt.load_state_dict(own, strict=True)
    l = random_l(2, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(l), model(l), rtol=0, atol=0)


@pytest.mark.parametrize("width", [4, 8])
@pytest.mark.parametrize("name", ["regression", "classification", "autoencoder"])
def test_width_is_part_of_the_config(name, width):
    model = build_model({"name": name, "width": width})
    assert model.config == {"name": name, "width": width}
    assert build_model(model.config).config["width"] == width


def test_build_model_rejects_bad_configs():
    with pytest.raises(ValueError, match="regression.*classification.*autoencoder"):
        build_model({"name": "resnet"})
    with pytest.raises(ValueError, match="'name'"):
        build_model({"width": 4})
    with pytest.raises(ValueError, match="'name'"):
        build_model("regression")
    with pytest.raises(ValueError, match="RegressionCNN"):
        build_model({"name": "regression", "width": 4, "depth": 3})


# ------------------------------------------------------------ shapes, ranges


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", sorted(MODELS))
def test_any_input_size_gives_the_documented_output_shape(name, size):
    h, w = size
    model = small_model(name)
    l = random_l(2, h, w, seed=h * 100 + w)
    with torch.no_grad():
        out = model(l)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    if model.kind == "classification":
        assert out.shape == (2, NUM_BINS, math.ceil(h / 4), math.ceil(w / 4))
    else:
        assert out.shape == (2, 2, h, w)
        assert out.abs().max() < 1, "normalised ab must lie in (-1, 1)"


@pytest.mark.parametrize("name", ["regression", "autoencoder"])
def test_regression_output_stays_inside_minus_one_one_for_extreme_inputs(name):
    model = small_model(name)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3)  # push the pre-activation far out; tanh must still bound it
        out = model(random_l(2, 24, 24))
    assert out.shape == (2, 2, 24, 24)
    assert torch.isfinite(out).all()
    assert (out >= -1).all() and (out <= 1).all()


@pytest.mark.parametrize("name", ["regression", "classification", "autoencoder"])
def test_networks_train_mode_forward_and_backward_on_odd_sizes(name):
    model = small_model(name).train()
    l = random_l(2, 19, 13)
    out = model(l)
    out.float().square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("bad_shape", [(2, 3, 16, 16), (1, 16, 16), (2, 2, 16, 16), (16, 16), (1, 1, 1, 16, 16)])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_wrong_input_shape_is_a_value_error_naming_the_expected_shape(name, bad_shape):
    model = small_model(name)
    with pytest.raises(ValueError, match=r"\(N,1,H,W\)") as info:
        model(torch.zeros(bad_shape))
    assert str(tuple(bad_shape)) in str(info.value)


# ------------------------------------------------------ Figure 4 of 003


def _trunk_convs_per_block(model):
    return [convs(block) for block in model.trunk.blocks]


@pytest.mark.parametrize("cls", [RegressionCNN, ClassificationCNN])
def test_trunk_follows_figure_4(cls):
    model = cls(width=4)
    blocks = list(model.trunk.blocks)
    assert len(blocks) == 7
    per_block = _trunk_convs_per_block(model)
    assert [len(c) for c in per_block] == [2, 2, 3, 3, 3, 3, 3]
    for i, (block, block_convs) in enumerate(zip(blocks, per_block), start=1):
        # batch norm ends every block, and there is exactly one
        assert isinstance(list(block)[-1], nn.BatchNorm2d), f"block {i}"
        assert sum(isinstance(m, nn.BatchNorm2d) for m in block.modules()) == 1
        # every convolution is followed by a ReLU
        layers = list(block)
        for j, layer in enumerate(layers):
            if isinstance(layer, nn.Conv2d):
                assert isinstance(layers[j + 1], nn.ReLU), f"block {i} layer {j}"
        for j, conv in enumerate(block_convs):
            assert conv.kernel_size == (3, 3)
            last = j == len(block_convs) - 1
            expected_stride = 2 if (i <= 3 and last) else 1
            assert conv.stride == (expected_stride, expected_stride), f"block {i} conv {j}"
            expected_dilation = 2 if i in (5, 6) else 1
            assert conv.dilation == (expected_dilation, expected_dilation), f"block {i} conv {j}"
            assert conv.padding == (expected_dilation, expected_dilation), "'same' padding"
    # no pooling anywhere
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)) for m in model.modules())


def test_width_64_gives_the_channels_of_figure_4():
    model = RegressionCNN(width=64)
    outs = [[c.out_channels for c in block] for block in _trunk_convs_per_block(model)]
    assert outs == [[64, 64], [128, 128], [256, 256, 256], [512] * 3, [512] * 3, [512] * 3, [512] * 3]
    assert [b[-1].num_features for b in model.trunk.blocks] == [64, 128, 256, 512, 512, 512, 512]
    assert model.trunk.out_channels == 512
    deconvs = convs(model.up, nn.ConvTranspose2d)
    assert [(d.in_channels, d.out_channels) for d in deconvs] == [(512, 256), (256, 256), (256, 256)]
    assert model.head.in_channels == 256


@pytest.mark.parametrize("width", [4, 8])
def test_width_scales_every_channel_count(width):
    model = ClassificationCNN(width=width)
    outs = [block[-1].out_channels for block in _trunk_convs_per_block(model)]
    assert outs == [width, 2 * width, 4 * width, 8 * width, 8 * width, 8 * width, 8 * width]
    assert convs(model.trunk)[0].in_channels == 1


def test_regression_block_8_and_head():
    model = RegressionCNN(width=4)
    deconvs = convs(model.up, nn.ConvTranspose2d)
    assert len(deconvs) == 3
    for d in deconvs:
        assert d.kernel_size == (4, 4) and d.stride == (2, 2)
    assert isinstance(model.head, nn.Conv2d)
    assert model.head.kernel_size == (1, 1) and model.head.out_channels == 2
    assert model.kind == "regression"


def test_classification_block_8_and_head():
    model = ClassificationCNN(width=4)
    deconvs = convs(model.up, nn.ConvTranspose2d)
    assert len(deconvs) == 1
    assert deconvs[0].kernel_size == (4, 4) and deconvs[0].stride == (2, 2)
    assert model.head.kernel_size == (1, 1) and model.head.out_channels == NUM_BINS == 313
    assert model.kind == "classification" and model.out_stride == 4


def test_classification_logits_are_raw_scores():
    # the softmax belongs to the loss / decoder, not to the network
    model = small_model("classification")
    with torch.no_grad():
        logits = model(random_l(1, 16, 16))
    sums = logits.exp().sum(dim=1)
    assert not torch.allclose(sums, torch.ones_like(sums))


def calibrated(model: nn.Module, l: torch.Tensor) -> nn.Module:
    """Set batch norm's running statistics to those of ``l`` and switch to eval mode.

    With the default statistics (mean 0, variance 1) a freshly initialised narrow network
    shrinks its signal layer after layer until its eval-mode output no longer depends on
    the input; calibrated, it behaves like a network that has seen data.
    """
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # cumulative average: one pass gives exactly this batch's statistics
            m.reset_running_stats()
    model.train()
    with torch.no_grad():
        model(l)
    return model.eval()


@pytest.mark.parametrize("cls", [RegressionCNN, ClassificationCNN])
def test_calibrated_output_depends_on_the_input_and_not_on_the_rest_of_the_batch(cls):
    torch.manual_seed(0)
    l = random_l(4, 24, 24, seed=5)
    model = calibrated(cls(width=4), l)
    with torch.no_grad():
        together = model(l)
        alone = torch.cat([model(l[i:i + 1]) for i in range(4)])
    # eval mode: each image is colorized on its own
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)
    assert (together[0] - together[1]).abs().max() > 1e-3


def test_autoencoder_output_depends_on_the_input():
    torch.manual_seed(0)
    model = Autoencoder(width=8).eval()
    with torch.no_grad():
        a = model(random_l(1, 16, 16, seed=1))
        b = model(random_l(1, 16, 16, seed=2))
    assert (a - b).abs().max() > 1e-6


# ----------------------------------------------------------------- 002


def test_autoencoder_has_13_convolutions_and_tanh_last():
    model = Autoencoder(width=8)
    assert len(convs(model.encoder)) == 6
    assert len(convs(model.decoder)) == 7
    assert len(convs(model)) == 13
    assert isinstance(list(model.decoder)[-1], nn.Tanh)
    assert sum(c.stride == (2, 2) for c in convs(model.encoder)) == 3
    assert sum(isinstance(m, nn.Upsample) for m in model.decoder) == 3
    assert convs(model)[-1].out_channels == 2
    assert convs(model)[0].in_channels == 1 and convs(model)[0].out_channels == 8
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert model.kind == "regression"


# ------------------------------------------------------------- baselines


def test_gray_colorizer_outputs_zeros():
    model = GrayColorizer()
    l = random_l(3, 7, 9)
    out = model(l)
    assert out.shape == (3, 2, 7, 9)
    assert out.dtype == l.dtype
    assert torch.equal(out, torch.zeros_like(out))
    assert list(model.parameters()) == []


def test_mean_color_colorizer_fit_sets_the_mean_and_outputs_it_everywhere():
    g = torch.Generator().manual_seed(0)
    ab = torch.rand(5, 2, 6, 4, generator=g) * 0.8 - 0.3
    model = MeanColorColorizer()
    assert model.fit(ab) is model
    expected = torch.stack([ab[:, 0].mean(), ab[:, 1].mean()])
    torch.testing.assert_close(model.mean_ab, expected)
    out = model(random_l(2, 11, 13))
    assert out.shape == (2, 2, 11, 13)
    torch.testing.assert_close(out, expected.view(1, 2, 1, 1).expand(2, 2, 11, 13))
    # the output is a fresh tensor: editing it leaves the model alone
    out.zero_()
    torch.testing.assert_close(model.mean_ab, expected)


def test_mean_color_survives_a_state_dict_round_trip():
    model = MeanColorColorizer().fit(torch.full((1, 2, 3, 3), 0.4))
    rebuilt = build_model(model.config)
    rebuilt.load_state_dict(model.state_dict())
    torch.testing.assert_close(rebuilt.mean_ab, torch.tensor([0.4, 0.4]))


@pytest.mark.parametrize("bad", [(2, 3, 4, 4), (2, 4, 4), (0, 2, 4, 4)])
def test_mean_color_fit_rejects_wrong_shapes(bad):
    with pytest.raises(ValueError, match=r"\(N,2,H,W\)"):
        MeanColorColorizer().fit(torch.zeros(bad))


# ------------------------------------------------------- padding, cropping


@pytest.mark.parametrize("size", [(17, 23), (32, 32), (45, 61), (8, 8), (1, 1), (3, 9), (9, 2), (16, 5)])
@pytest.mark.parametrize("multiple", [1, 4, 8])
def test_pad_to_multiple_then_crop_to_restores_the_input(size, multiple):
    h, w = size
    x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(h * w))
    padded, original = pad_to_multiple(x, multiple)
    assert original == (h, w)
    assert padded.shape[:2] == (2, 3)
    assert padded.shape[-2] % multiple == 0 and padded.shape[-1] % multiple == 0
    assert padded.shape[-2] - h < multiple and padded.shape[-1] - w < multiple
    # the input sits unchanged at the top left; padding goes to the bottom and right
    assert torch.equal(padded[..., :h, :w], x)
    assert torch.equal(crop_to(padded, original), x)


def test_pad_to_multiple_reflects_the_border():
    x = torch.arange(5 * 6, dtype=torch.float32).view(1, 1, 5, 6)
    padded, _ = pad_to_multiple(x, 8)
    assert padded.shape == (1, 1, 8, 8)
    # reflection about the last row / column, which is not repeated
    assert torch.equal(padded[0, 0, 5, :6], x[0, 0, 3])
    assert torch.equal(padded[0, 0, 7, :6], x[0, 0, 1])
    assert torch.equal(padded[0, 0, :5, 6], x[0, 0, :, 4])
    # values never leave the range of the input (no black frame)
    assert padded.min() >= x.min() and padded.max() <= x.max()


def test_pad_to_multiple_of_a_tiny_input_replicates():
    x = torch.tensor([[[[0.5, -0.25]]]])
    padded, size = pad_to_multiple(x, 8)
    assert size == (1, 2)
    assert padded.shape == (1, 1, 8, 8)
    assert torch.equal(padded[0, 0, :, 0], torch.full((8,), 0.5))
    assert torch.equal(padded[0, 0, :, 1:], torch.full((8, 7), -0.25))


def test_pad_to_multiple_leaves_a_divisible_input_alone():
    x = torch.randn(1, 1, 16, 24)
    padded, size = pad_to_multiple(x, 8)
    assert padded is x and size == (16, 24)


@pytest.mark.parametrize("size,expected", [((17, 23), (5, 6)), ((16, 16), (4, 4)), ((1, 1), (1, 1)), ((45, 61), (12, 16))])
def test_crop_to_at_a_quarter_of_the_resolution(size, expected):
    y = torch.randn(1, 313, 12, 16)
    assert crop_to(y, size, 4).shape[-2:] == expected
