"""The temperature explorer of notebook 05, driven without a browser."""

import ipywidgets as widgets
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from colorlab.color import normalize_l, rgb_to_l_ab
from colorlab.colorize import predict_ab
from colorlab.models import ClassificationCNN, RegressionCNN
from colorlab.quantize import (BIN_CENTERS, LI_WANG_TEMPERATURE, NUM_BINS, ZHANG_TEMPERATURE, decode_mean,
                               decode_mode)
from colorlab.explorers import TemperatureExplorer
from widget_tree import descendants, png

pytestmark = pytest.mark.usefixtures("one_thread")

PNG = b"\x89PNG\r\n\x1a\n"
H = W = 64  # full resolution; the logits are at 1/4
PAIRS = (((60.0, 0.0), (-60.0, 0.0)),  # image 0: red or green
         ((0.0, 80.0), (0.0, -60.0)))  # image 1: yellow or blue


def _bimodal_logits(seed: int = 0) -> torch.Tensor:
    """(2,313,16,16): every cell is torn between two colours, with a margin of 0.2 to 0.8 in logits."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.full((len(PAIRS), NUM_BINS, H // 4, W // 4), -6.0)
    for i, (first, second) in enumerate(PAIRS):
        margin = torch.empty(H // 4, W // 4).uniform_(0.1, 0.4, generator=g)
        sign = torch.where(torch.rand(H // 4, W // 4, generator=g) < 0.5, -1.0, 1.0)
        logits[i, BIN_CENTERS.index(first)] = 2.0 + sign * margin
        logits[i, BIN_CENTERS.index(second)] = 2.0 - sign * margin
    return logits


def _lightness() -> torch.Tensor:
    ramp = torch.linspace(35.0, 75.0, W)
    return ramp.expand(len(PAIRS), 1, H, W).clone()


def _upsample(ab: torch.Tensor) -> torch.Tensor:
    return F.interpolate(ab, size=(H, W), mode="bilinear", align_corners=False)


@pytest.fixture
def explorer():
    return TemperatureExplorer(_bimodal_logits(), _lightness(), names=["red-green", "yellow-blue"])


def test_widget_tree_holds_the_controls_and_images(explorer):
    tree = list(descendants(explorer.widget))
    for part in (explorer.temperature_slider, explorer.image_picker, explorer.row_slider, explorer.col_slider,
                 explorer.colorization_image, explorer.distribution_image, explorer.curve_image, explorer.status,
                 *explorer.preset_buttons.values()):
        assert any(part is w for w in tree)
    assert isinstance(explorer.temperature_slider, widgets.FloatLogSlider)
    assert (explorer.temperature_slider.min, explorer.temperature_slider.max) == (-2, 0)  # 10^-2 .. 10^0
    assert isinstance(explorer.image_picker, widgets.Dropdown)
    assert explorer.image_picker.options == (("red-green", 0), ("yellow-blue", 1))
    for image in (explorer.colorization_image, explorer.distribution_image, explorer.curve_image):
        assert isinstance(image, widgets.Image) and png(image).startswith(PNG)
    assert explorer.temperature == pytest.approx(ZHANG_TEMPERATURE)
    bundle = explorer._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data


def test_moving_the_slider_redraws(explorer):
    before_png, before_ab = png(explorer.colorization_image), explorer.current_ab()
    before_curve = png(explorer.curve_image)
    explorer.temperature_slider.value = 0.05  # as a drag in the browser would
    assert png(explorer.colorization_image).startswith(PNG)
    assert png(explorer.colorization_image) != before_png
    assert png(explorer.curve_image) != before_curve  # the line at the current T moved
    assert not torch.allclose(explorer.current_ab(), before_ab)
    assert "T = 0.050" in explorer.status.value


def test_low_temperature_is_the_mode_and_one_the_mean(explorer):
    logits = _bimodal_logits()
    explorer.set_temperature(0.01)
    ab = explorer.current_ab()
    assert ab.shape == (2, H, W)
    assert torch.allclose(ab, _upsample(decode_mode(logits[:1]))[0], atol=1e-3)
    explorer.set_temperature(1.0)
    assert torch.allclose(explorer.current_ab(), _upsample(decode_mean(logits[:1]))[0], atol=1e-4)
    explorer.select_image(1)
    assert torch.allclose(explorer.current_ab(), _upsample(decode_mean(logits[1:]))[0], atol=1e-4)


def test_colorfulness_curve_falls_from_mode_to_mean(explorer):
    temps, values = explorer.curve
    assert len(temps) == len(values) >= 20
    assert temps[0] == pytest.approx(0.01) and temps[-1] == pytest.approx(1.0)
    assert np.all(np.diff(temps) > 0)
    assert np.isclose(temps, ZHANG_TEMPERATURE).any() and np.isclose(temps, LI_WANG_TEMPERATURE).any()
    assert values[0] > values[-1] + 10  # vivid red/green patches against a grayish average
    assert explorer.curve[0] is temps  # cached, not recomputed


def test_selecting_a_pixel_or_an_image_changes_the_distribution(explorer):
    redraws = []
    explorer.colorization_image.observe(redraws.append, names="value")
    before = png(explorer.distribution_image)
    assert explorer.pixel == (32, 32)  # the centre, cell (8, 8) of the logits
    winners = _bimodal_logits()[0].argmax(dim=0)
    row, col = (int(x) for x in (winners != winners[8, 8]).nonzero()[0] * 4 + 1)  # a cell won by the other colour
    explorer.select_pixel(row, col)
    assert explorer.pixel == (row, col)
    assert len(redraws) == 1  # both sliders moved, one redraw
    after_pixel = png(explorer.distribution_image)
    assert after_pixel.startswith(PNG) and after_pixel != before
    explorer.select_image(1)
    assert explorer.index == 1
    assert png(explorer.distribution_image) != after_pixel
    explorer.row_slider.value = 40  # a slider moved in the browser
    assert explorer.distribution().shape == (NUM_BINS,)
    assert f"pixel (row 40, col {col})" in explorer.status.value


def test_distribution_is_the_chosen_cell_sharpened(explorer):
    explorer.select_pixel(21, 9)  # cell (5, 2) at 1/4 resolution
    explorer.set_temperature(0.5)
    expected = torch.softmax(_bimodal_logits()[0, :, 5, 2] / 0.5, dim=0)
    assert torch.allclose(explorer.distribution(), expected, atol=1e-6)


def test_preset_buttons_jump_to_the_papers_temperatures(explorer):
    buttons = explorer.preset_buttons
    by_text = {t: next(b for label, b in buttons.items() if t in label) for t in ("0.38", "0.89", "mode", "mean")}
    explorer.set_temperature(0.1)
    by_text["0.89"].click()
    assert explorer.temperature_slider.value == pytest.approx(LI_WANG_TEMPERATURE)
    by_text["0.38"].click()
    assert explorer.temperature_slider.value == pytest.approx(ZHANG_TEMPERATURE)
    by_text["mode"].click()
    assert explorer.temperature == pytest.approx(0.01)
    by_text["mean"].click()
    assert explorer.temperature == pytest.approx(1.0)


def test_from_model_runs_the_network_once():
    torch.manual_seed(0)
    model = ClassificationCNN(width=4)
    model.train()
    rgb = torch.rand(2, 3, 32, 32)
    explorer = TemperatureExplorer.from_model(model, rgb, names=["a", "b"], temperature=0.5)
    assert model.training  # its mode is given back
    assert explorer.logits.shape == (2, NUM_BINS, 8, 8) and explorer.logits.device.type == "cpu"
    assert not explorer.logits.requires_grad
    assert torch.equal(explorer.truth, rgb)
    assert png(explorer.colorization_image).startswith(PNG)
    model.eval()
    l, _ = rgb_to_l_ab(rgb)
    expected = predict_ab(model, normalize_l(l[1:]), "annealed", 0.5)[0]
    explorer.select_image(1)
    assert torch.allclose(explorer.current_ab(), expected, atol=1e-3)


def test_from_model_refuses_a_regression_network():
    with pytest.raises(ValueError, match="classification"):
        TemperatureExplorer.from_model(RegressionCNN(width=4), torch.rand(1, 3, 16, 16))


@pytest.mark.parametrize("logits, l, truth, match", [
    (torch.zeros(2, 300, 16, 16), _lightness(), None, r"\(2, 300, 16, 16\).*313"),
    (torch.zeros(2, NUM_BINS, 10, 16), _lightness(), None, r"\(2, 313, 10, 16\).*\(2, 313, 16, 16\)"),
    (torch.zeros(3, NUM_BINS, 16, 16), _lightness(), None, r"\(3, 313, 16, 16\).*\(2, 1, 64, 64\).*\(3, 1, H, W\)"),
    (torch.zeros(2, NUM_BINS, 16, 16), torch.zeros(2, 3, 64, 64), None, r"\(1,H,W\).*\(2, 3, 64, 64\)"),
    (torch.zeros(2, NUM_BINS, 16, 16), _lightness() * 3, None, r"\[0, 100\]"),
    (torch.zeros(2, NUM_BINS, 16, 16), _lightness(), torch.rand(2, 3, 32, 32), r"\(2, 3, 32, 32\).*\(2, 3, 64, 64\)"),
])
def test_bad_inputs_say_what_they_got_and_want(logits, l, truth, match):
    with pytest.raises(ValueError, match=match):
        TemperatureExplorer(logits, l, truth=truth)


def test_bad_names_temperature_and_pixel_are_refused(explorer):
    with pytest.raises(ValueError, match="1 names for 2 images"):
        TemperatureExplorer(_bimodal_logits(), _lightness(), names=["only one"])
    with pytest.raises(ValueError, match=r"\[0.01, 1"):
        TemperatureExplorer(_bimodal_logits(), _lightness(), temperature=2.0)
    with pytest.raises(ValueError, match="temperature"):
        explorer.set_temperature(0.0)
    with pytest.raises(ValueError, match="64x64"):
        explorer.select_pixel(64, 0)
    with pytest.raises(ValueError, match="index"):
        explorer.select_image(2)


def test_truth_is_drawn_beside_the_colorization():
    logits, l = _bimodal_logits(), _lightness()
    alone = TemperatureExplorer(logits, l)
    with_truth = TemperatureExplorer(logits, l, truth=torch.rand(2, 3, H, W))
    assert png(with_truth.colorization_image) != png(alone.colorization_image)
    from io import BytesIO

    from PIL import Image
    width_alone = Image.open(BytesIO(png(alone.colorization_image))).width
    width_truth = Image.open(BytesIO(png(with_truth.colorization_image))).width
    assert width_truth > 2 * width_alone - 1


def test_photo_at_patch_scale_is_the_photo_as_the_training_patches_saw_it():
    from colorlab.data import load_photo
    from colorlab.explorers import photo_at_patch_scale

    photo = torch.tensor(load_photo("chelsea")).permute(2, 0, 1)[None].float() / 255
    shorter = min(photo.shape[-2:])
    for patch in (32, 64, 200):  # shrunk by area averaging, or enlarged bilinearly (4 x 200 px is larger)
        scale = 4 * patch / shorter
        expected = F.interpolate(photo, scale_factor=scale, mode="area" if scale < 1 else "bilinear")[0, :, :96, :96]
        shown = photo_at_patch_scale("chelsea", patch)
        assert shown.shape == (3, 96, 96) and shown.dtype == torch.float32
        assert torch.equal(shown, expected.clamp(0, 1))
    small = photo_at_patch_scale("chelsea", 8, side=64)  # the shorter side is only 32 px long
    assert small.shape[1] == 32 and small.shape[2] < 64
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="patch"):
            photo_at_patch_scale("chelsea", bad)
    with pytest.raises(ValueError, match="unknown embedded photo"):
        photo_at_patch_scale("nobody", 32)
