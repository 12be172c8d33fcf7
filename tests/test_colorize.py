import numpy as np
import pytest
import torch
from PIL import Image

from colorlab.color import rgb_to_lab
from colorlab.colorize import colorize, colorize_batch, predict_ab
from colorlab.models import ClassificationCNN, GrayColorizer, MeanColorColorizer, RegressionCNN, build_model


def photo(h=50, w=70, seed=0):
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, w)[None, :, None] * np.ones((h, 1, 3))
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


def lightness(rgb_uint8):
    return rgb_to_lab(torch.from_numpy(np.array(rgb_uint8)).permute(2, 0, 1).double() / 255)[0]


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "CMYK"])
def test_any_mode_keeps_size_and_lightness(mode):
    torch.manual_seed(0)
    model = RegressionCNN(width=4).eval()
    img = Image.fromarray(photo()).convert(mode)
    out = colorize(img, model)
    assert out.shape == (50, 70, 3) and out.dtype == np.uint8
    # the output keeps the input's own lightness (up to gamut clipping and uint8 rounding)
    reference = np.asarray(img.convert("RGB"))
    diff = (lightness(out) - lightness(reference)).abs()
    assert float(diff.median()) < 1.0


def test_path_array_and_large_photo_use_the_working_resolution(tmp_path):
    model = ClassificationCNN(width=4).eval()
    big = photo(300, 420)
    path = tmp_path / "big.png"
    Image.fromarray(big).save(path)
    seen = []
    model.register_forward_hook(lambda m, inp, out: seen.append(tuple(inp[0].shape)))
    out_path = colorize(path, model, work_size=128)
    assert out_path.shape == (300, 420, 3)
    assert seen[-1][-2:] == (91, 128)  # the network saw the photo shrunk to a longer side of 128
    out_array = colorize(big, model, work_size=128)
    np.testing.assert_array_equal(out_path, out_array)


def test_gray_model_gives_a_gray_photo_and_mean_colour_tints_it():
    img = photo()
    gray = colorize(img, GrayColorizer()).astype(int)
    assert np.abs(gray[..., 0] - gray[..., 1]).max() <= 2 and np.abs(gray[..., 1] - gray[..., 2]).max() <= 2
    red = MeanColorColorizer((40 / 110, 20 / 110))
    tinted = colorize(img, red).astype(int)
    assert (tinted[..., 0] - tinted[..., 2]).mean() > 20


def test_temperature_changes_classification_output_but_not_regression():
    torch.manual_seed(1)
    cls = ClassificationCNN(width=4).eval()
    with torch.no_grad():
        cls.head.weight.mul_(20)  # a peaked distribution, so temperature matters
    img = photo()
    assert not np.array_equal(colorize(img, cls, temperature=1.0), colorize(img, cls, temperature=0.05))
    reg = RegressionCNN(width=4).eval()
    np.testing.assert_array_equal(colorize(img, reg, temperature=1.0), colorize(img, reg, temperature=0.05))


def test_predict_ab_resolution_and_batch():
    cls = ClassificationCNN(width=4).eval()
    l = torch.zeros(2, 1, 30, 45)
    assert predict_ab(cls, l).shape == (2, 2, 30, 45)
    rgb = torch.rand(2, 3, 30, 45)
    out = colorize_batch(cls, rgb, method="mode")
    assert out.shape == rgb.shape and out.min() >= 0 and out.max() <= 1


def test_bad_input_is_a_clear_error(tmp_path):
    model = RegressionCNN(width=4).eval()
    with pytest.raises((ValueError, FileNotFoundError)):
        colorize(tmp_path / "missing.jpg", model)
    with pytest.raises(ValueError):
        colorize(np.zeros((4, 4, 5), dtype=np.uint8), model)


def test_colorize_decodings_equals_one_colorize_batch_per_decoding():
    from colorlab.colorize import colorize_decodings

    torch.manual_seed(0)
    cls = build_model({"name": "classification", "width": 4}).eval()
    rgb = torch.rand(3, 3, 16, 16)
    ways = {"mode": ("mode", 1.0), "mean": ("mean", 1.0), "annealed": ("annealed", 0.38)}
    together = colorize_decodings(cls, rgb, ways)
    assert list(together) == list(ways)
    for name, (method, temperature) in ways.items():
        with torch.no_grad():
            alone = colorize_batch(cls, rgb, method=method, temperature=temperature)
        assert torch.allclose(together[name], alone, atol=1e-6), name
    with pytest.raises(ValueError, match="classification network only"):
        colorize_decodings(build_model({"name": "regression", "width": 4}), rgb, ways)


def test_colorize_says_what_a_model_must_be():
    import numpy as np

    from colorlab.colorize import colorize

    photo = np.zeros((8, 8, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"got dict \(a checkpoint's dict: pass load_checkpoint\(path\)\['model'\]\)"):
        colorize(photo, {"model_config": {}})
    with pytest.raises(ValueError, match="model must be a colorlab network, got NoneType"):
        colorize(photo, None)


@pytest.mark.parametrize("work_size", [0, -5, 1, 15, 2.5, True])
def test_colorize_refuses_a_work_size_the_network_cannot_use(work_size):
    import numpy as np

    from colorlab.colorize import colorize
    from colorlab.models import build_model

    with pytest.raises(ValueError, match="work_size must be a whole number of pixels >= 16"):
        colorize(np.zeros((8, 8, 3), dtype=np.uint8), build_model({"name": "regression", "width": 4}),
                 work_size=work_size)
