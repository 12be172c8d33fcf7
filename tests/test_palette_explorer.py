"""The palette explorer of notebook 06, driven without a browser.

Most tests use a stand-in colorizer whose behaviour is known exactly (every pixel gets the mean
colour of the palette it is handed), so they test the explorer, not a network's training; one test
runs a real (untrained) PaletteNet through the explorer.
"""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from colorlab.explorers import PaletteExplorer
from colorlab.models import PaletteNet
from colorlab.palette import NAMED_COLOURS, bin_index, mean_ab, push_palette
from colorlab.quantize import NUM_BINS
from widget_tree import descendants, png

pytestmark = pytest.mark.usefixtures("one_thread")

PNG = b"\x89PNG\r\n\x1a\n"
H, W = 24, 20


class MeanColourNet(torch.nn.Module):
    """Stand-in for a PaletteNet: estimates a fixed palette and colours every pixel with a palette's mean ab."""

    def __init__(self, estimate: torch.Tensor):
        super().__init__()
        self.register_buffer("logits", torch.logit(estimate.double().clamp(1e-12, 1 - 1e-6)).float())

    def encode(self, l):
        return l, tuple(l.shape[-2:])

    def palette_logits(self, features):
        return self.logits.expand(features.shape[0], -1)

    palette_from_logits = staticmethod(PaletteNet.palette_from_logits)

    def decode(self, features, size, palette):
        m = mean_ab(palette.expand(features.shape[0], -1)) / 110  # normalised ab
        return m[:, :, None, None].expand(-1, -1, *size)


def estimate() -> torch.Tensor:
    p = torch.zeros(NUM_BINS)
    p[bin_index(-20, 10)] = 0.6  # a dull green
    p[bin_index(10, 20)] = 0.4  # a dull orange
    return p


def photos(n: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return F.interpolate(torch.rand(n, 3, 4, 4, generator=g), size=(H, W), mode="bilinear", align_corners=False)


@pytest.fixture
def explorer():
    return PaletteExplorer(MeanColourNet(estimate()), photos(), names=["first", "second"])


def test_widget_tree_holds_the_controls_and_images(explorer):
    tree = list(descendants(explorer.widget))
    for name in ("colour_picker", "hue_slider", "strength_slider", "bin_picker", "bin_share_slider", "reset_button",
                 "image_picker", "colorization_image", "palette_image", "status"):
        assert any(w is getattr(explorer, name) for w in tree), name
    assert list(explorer.colour_picker.options) == [*NAMED_COLOURS, "hue"]
    for image in (explorer.colorization_image, explorer.palette_image):
        data = png(image)
        assert data.startswith(PNG)
        assert Image.open(io.BytesIO(data)).mode == "RGB"
    z = explorer.zoom
    width, height = Image.open(io.BytesIO(png(explorer.colorization_image))).size
    assert width > 4 * W * z and height > H * z  # four panels side by side, labels above
    assert "mean (a, b)" in explorer.status.value
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()


def test_it_starts_with_the_estimated_palette(explorer):
    assert explorer.strength_slider.value == 0.0
    assert torch.allclose(explorer.current_palette(), estimate(), atol=1e-5)
    assert torch.allclose(explorer.current_ab(), explorer.estimated_ab(), atol=1e-5)
    assert explorer.current_ab().shape == (2, H, W)
    expected = mean_ab(estimate())
    assert torch.allclose(explorer.current_ab().mean(dim=(1, 2)), expected, atol=0.05)


def test_pushing_towards_red_raises_a_and_towards_blue_lowers_b(explorer):
    a0, b0 = explorer.current_ab().mean(dim=(1, 2)).tolist()
    explorer.push("red", 0.6)
    assert explorer.colour_picker.value == "red" and explorer.strength_slider.value == 0.6
    assert torch.allclose(explorer.current_palette(), push_palette(estimate(), "red", 0.6), atol=1e-5)
    a_red, _ = explorer.current_ab().mean(dim=(1, 2)).tolist()
    assert a_red > a0 + 15
    explorer.push("blue", 0.6)
    _, b_blue = explorer.current_ab().mean(dim=(1, 2)).tolist()
    assert b_blue < b0 - 15
    assert torch.allclose(explorer.estimated_ab(), explorer.estimated_ab())  # the estimate itself never moves
    assert explorer.current_palette().sum().item() == pytest.approx(1.0, abs=1e-5)


def test_a_hue_angle_pushes_like_the_named_colour(explorer):
    explorer.push("red", 0.5)
    by_name = explorer.current_palette()
    explorer.push(40.0, 0.5)  # red's hue
    assert explorer.colour_picker.value == "hue" and explorer.hue_slider.value == 40.0
    assert torch.allclose(explorer.current_palette(), by_name, atol=1e-6)
    before = png(explorer.colorization_image)
    explorer.hue_slider.value = 200.0  # cyan's hue: the slider alone redraws
    assert png(explorer.colorization_image) != before
    assert explorer.current_ab()[0].mean() < 0


def test_moving_the_strength_slider_redraws(explorer):
    explorer.colour_picker.value = "green"
    images = set()
    palettes = set()
    for strength in (0.0, 0.3, 0.9):
        explorer.strength_slider.value = strength
        images.add(png(explorer.colorization_image))
        palettes.add(png(explorer.palette_image))
    assert len(images) == 3 and len(palettes) == 3
    assert "strength 0.90" in explorer.status.value


def test_editing_a_bin(explorer):
    q = bin_index(40, 30)  # a red the estimate does not have
    explorer.edit_bin(q, 0.5)
    palette = explorer.current_palette()
    assert palette[q].item() == pytest.approx(0.5)
    assert palette[bin_index(-20, 10)].item() == pytest.approx(0.3)  # 0.6 of the remaining half
    assert explorer.bin_picker.value == q and explorer.bin_share_slider.value == 0.5
    assert q in [value for _, value in explorer.bin_picker.options]
    assert explorer.current_ab()[0].mean() > explorer.estimated_ab()[0].mean() + 10
    # as a user would: choose a bin in the dropdown (the slider jumps to its share), then move the slider
    green = bin_index(-20, 10)
    explorer.bin_picker.value = green
    assert explorer.bin_share_slider.value == pytest.approx(0.3, abs=0.01)
    before = png(explorer.colorization_image)
    explorer.bin_share_slider.value = 0.0
    assert explorer.current_palette()[green].item() == 0.0
    assert explorer.current_palette()[q].item() == pytest.approx(0.5)
    assert png(explorer.colorization_image) != before
    assert "2 bin(s) edited" in explorer.status.value
    # shares set later squeeze earlier ones so that they never add up to more than 1
    explorer.edit_bin(bin_index(0, -40), 0.8)
    assert explorer.current_palette().sum().item() == pytest.approx(1.0, abs=1e-5)
    assert explorer.current_palette()[q].item() == pytest.approx(0.2)


def test_the_browser_echoing_a_rounded_share_is_not_an_edit(explorer):
    # JupyterLab's slider rounds the share the code set (e.g. 0.2437) to its step (0.01) and sends the
    # rounded value back; the e2e test showed "1 bin(s) edited" from that echo alone.
    explorer.push("red", 0.35)
    shown = explorer.bin_share_slider.value
    echoed = round(shown / explorer.bin_share_slider.step) * explorer.bin_share_slider.step
    explorer.bin_share_slider.value = echoed + (0.004 if echoed == shown else 0.0)  # always a change
    assert "bin(s) edited" not in explorer.status.value
    assert torch.allclose(explorer.current_palette(), explorer.pushed_palette())
    explorer.bin_share_slider.value = shown + 0.2  # a real move still edits
    assert "1 bin(s) edited" in explorer.status.value


def test_reset_and_image_change(explorer):
    explorer.push("pink", 0.7)
    explorer.edit_bin(bin_index(40, 30), 0.2)
    explorer.reset()
    assert explorer.strength_slider.value == 0.0
    assert torch.allclose(explorer.current_palette(), estimate(), atol=1e-5)
    explorer.edit_bin(bin_index(40, 30), 0.2)
    first = png(explorer.colorization_image)
    explorer.select_image(1)
    assert explorer.index == 1 and png(explorer.colorization_image) != first
    assert torch.allclose(explorer.current_palette(), estimate(), atol=1e-5)  # edits belong to their image


def test_a_real_palette_network():
    torch.manual_seed(0)
    model = PaletteNet(width=4)
    model.train()
    rgb = photos(3)
    ex = PaletteExplorer(model, rgb)
    assert model.training  # its mode is restored
    assert ex.current_palette().shape == (NUM_BINS,)
    assert ex.current_ab().shape == (2, H, W)
    est = ex.current_ab()
    ex.push("red", 1.0)
    assert not torch.allclose(ex.current_ab(), est)  # the palette reaches the output
    assert png(ex.colorization_image).startswith(PNG)
    single = PaletteExplorer(model, rgb[0])  # one (3,H,W) image
    assert single.current_ab().shape == (2, H, W)


@pytest.mark.parametrize("kwargs, message", [
    ({"images": (photos() * 255).to(torch.uint8)}, "floating-point"),
    ({"images": torch.rand(2, 1, H, W)}, "shape"),
    ({"images": photos() * 2}, r"\[0, 1\]"),
    ({"names": ["only one"]}, "names"),
    ({"names": "ab"}, "names"),
    ({"colour": "mauve"}, "unknown colour"),
    ({"colour": (1, 2)}, "hue"),
    ({"strength": 2.0}, "strength"),
])
def test_bad_arguments_are_explained(kwargs, message):
    args = {"model": MeanColourNet(estimate()), "images": photos()}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        PaletteExplorer(**args)


def test_bad_model_and_bad_calls(explorer):
    with pytest.raises(ValueError, match="PaletteNet"):
        PaletteExplorer(torch.nn.Conv2d(1, 2, 1), photos())
    with pytest.raises(ValueError, match="strength"):
        explorer.push("red", -0.5)
    with pytest.raises(ValueError, match="unknown colour"):
        explorer.push("redd", 0.5)
    with pytest.raises(ValueError, match="bin"):
        explorer.edit_bin(NUM_BINS, 0.5)
    with pytest.raises(ValueError, match="share"):
        explorer.edit_bin(3, 1.5)
    with pytest.raises(ValueError, match="index"):
        explorer.select_image(2)
    assert explorer.strength_slider.value == 0.0  # nothing changed


def test_one_redraw_per_push(explorer, monkeypatch):
    calls = []
    original = explorer._redraw
    monkeypatch.setattr(explorer, "_redraw", lambda: (calls.append(1), original()))
    explorer.push(120.0, 0.4)  # picker, hue and strength all change
    assert len(calls) == 1
    explorer.edit_bin(bin_index(40, 30), 0.3)
    assert len(calls) == 2
