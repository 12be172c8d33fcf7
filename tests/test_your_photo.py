"""The your-own-photo colorizer of notebook 05, driven without a browser: uploads set from code."""

import base64
import datetime as dt
import io
import re

import ipywidgets as widgets
import numpy as np
import pytest
import torch
from PIL import Image

from colorlab.color import rgb_to_lab
from colorlab.colorize import colorize
from colorlab.data import load_photo
from colorlab.explorers import YourPhotoColorizer
from colorlab.explorers.your_photo import PREVIEW_SIDE, _uploaded_file
from colorlab.files import png_bytes
from colorlab.models import ClassificationCNN, PaletteNet, RegressionCNN
from colorlab.quantize import LI_WANG_TEMPERATURE, ZHANG_TEMPERATURE
from widget_tree import descendants, png

pytestmark = pytest.mark.usefixtures("one_thread")

PNG = b"\x89PNG\r\n\x1a\n"
PHOTO = load_photo("chelsea")  # 300 x 451: larger than the working resolution, so it is resized both ways


def _classifier() -> ClassificationCNN:
    """An untrained classifier made confident: freshly initialised, its 313 scores are nearly equal everywhere,
    so every temperature would give the same gray; larger weights make distributions worth sharpening."""
    torch.manual_seed(0)
    model = ClassificationCNN(width=4).eval()
    with torch.no_grad():
        model.head.weight.mul_(40.0)
        model.head.bias.normal_(0.0, 2.0)
    return model


def _upload(colorizer: YourPhotoColorizer, data: bytes, name: str = "chelsea.png") -> None:
    """What the front end does when a file is chosen: the upload's value becomes that file."""
    colorizer.upload.value = ({"name": name, "type": "image/png", "size": len(data), "content": memoryview(data),
                               "last_modified": dt.datetime.now(dt.timezone.utc)},)


def _lightness(rgb_uint8: np.ndarray) -> torch.Tensor:
    return rgb_to_lab(torch.from_numpy(rgb_uint8).permute(2, 0, 1).double() / 255)[0]


def _decode(data: bytes) -> np.ndarray:
    assert data[:8] == PNG
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _link_png(colorizer: YourPhotoColorizer) -> bytes:
    found = re.search(r'href="data:image/png;base64,([A-Za-z0-9+/=]+)"', colorizer.download.value)
    assert found, f"no data: URL in the download link: {colorizer.download.value[:200]!r}"
    return base64.b64decode(found.group(1))


@pytest.fixture(scope="module")
def uploaded():
    colorizer = YourPhotoColorizer(_classifier())
    _upload(colorizer, png_bytes(PHOTO))
    return colorizer


def test_widget_tree_holds_the_controls_and_images():
    colorizer = YourPhotoColorizer(_classifier())
    tree = list(descendants(colorizer.widget))
    for part in (colorizer.upload, colorizer.temperature_slider, colorizer.gray_image, colorizer.colorized_image,
                 colorizer.status, colorizer.download, *colorizer.preset_buttons.values()):
        assert any(part is w for w in tree)
    assert isinstance(colorizer.upload, widgets.FileUpload) and colorizer.upload.accept == "image/*"
    assert not colorizer.upload.multiple
    assert isinstance(colorizer.temperature_slider, widgets.FloatLogSlider)
    assert colorizer.temperature == pytest.approx(ZHANG_TEMPERATURE)
    assert any(f"({LI_WANG_TEMPERATURE})" in label for label in colorizer.preset_buttons)
    assert colorizer.photo is None and colorizer.result is None and colorizer.download.value == ""
    assert png(colorizer.colorized_image) == b""
    assert "application/vnd.jupyter.widget-view+json" in colorizer._repr_mimebundle_()


def test_an_upload_is_colorized_at_full_resolution_as_colorize_does(uploaded):
    assert uploaded.photo.shape == PHOTO.shape and (uploaded.photo == PHOTO).all()
    assert uploaded.result.shape == PHOTO.shape and uploaded.result.dtype == np.uint8
    expected = colorize(PHOTO, uploaded.model, temperature=ZHANG_TEMPERATURE)
    assert (uploaded.result == expected).all()
    assert "chelsea.png" in uploaded.status.value and "451 x 300" in uploaded.status.value
    assert png(uploaded.gray_image)[:8] == PNG and png(uploaded.colorized_image)[:8] == PNG


def test_the_result_keeps_the_photos_lightness(uploaded):
    uploaded.set_temperature(1.0)  # the mean: colours that mostly stay inside the sRGB gamut
    try:
        result = uploaded.result
        # a pixel pushed out of the gamut is clipped (a channel at 0 or 255), which moves its L; every other
        # pixel keeps the photo's L up to 8-bit rounding
        inside = ((result > 0) & (result < 255)).all(axis=-1)
        diff = (_lightness(result) - _lightness(PHOTO)).abs().numpy()[inside]
        assert inside.mean() > 0.9 and diff.max() < 0.5, (inside.mean(), diff.max())
    finally:
        uploaded.set_temperature(ZHANG_TEMPERATURE)


def test_the_temperature_recolours_without_running_the_network_again():
    model = _classifier()
    expected_mean = colorize(PHOTO, model, temperature=1.0)
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    colorizer = YourPhotoColorizer(model)
    colorizer.colorize_file(png_bytes(PHOTO), "chelsea.png")
    at_zhang = colorizer.result.copy()
    colorizer.set_temperature(1.0)
    at_mean = colorizer.result.copy()
    colorizer.preset_buttons["mode (T=0.01)"].click()
    assert colorizer.temperature == pytest.approx(0.01)
    assert len(calls) == 1, f"the network ran {len(calls)} times for one photo and three temperatures"
    assert np.abs(at_zhang.astype(int) - at_mean.astype(int)).max() > 10
    assert (at_mean == expected_mean).all()
    assert "T = 0.010" in colorizer.status.value
    colorizer.colorize_file(png_bytes(PHOTO[::-1].copy()), "upside-down.png")  # a new photo runs it again
    assert len(calls) == 2


def test_the_download_is_the_full_resolution_png(uploaded):
    data = _link_png(uploaded)
    assert data == uploaded.download_png
    assert (_decode(data) == uploaded.result).all() and _decode(data).shape == PHOTO.shape
    assert 'download="chelsea_color.png"' in uploaded.download.value
    assert "451 x 300 px PNG" in uploaded.download.value


def test_a_large_photo_is_previewed_small_and_downloaded_whole():
    big = np.asarray(Image.fromarray(PHOTO).resize((1353, 900)))  # 3x chelsea
    colorizer = YourPhotoColorizer(_classifier())
    assert colorizer.colorize_file(png_bytes(big), "big.png")
    assert colorizer.result.shape == (900, 1353, 3)
    assert max(_decode(png(colorizer.colorized_image)).shape[:2]) == PREVIEW_SIDE
    assert max(_decode(png(colorizer.gray_image)).shape[:2]) == PREVIEW_SIDE
    assert _decode(_link_png(colorizer)).shape == (900, 1353, 3)


def test_a_small_photo_is_enlarged_by_a_whole_factor_for_the_preview():
    colorizer = YourPhotoColorizer(_classifier())
    assert colorizer.colorize_file(png_bytes(PHOTO[:32, :48]), "tiny.png")
    assert colorizer.result.shape == (32, 48, 3)
    assert _decode(png(colorizer.colorized_image)).shape[:2] == (32 * 8, 48 * 8)  # 384 // 48 = 8


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file (0 bytes)"),
    (b"these are my holiday notes, not a photo", "not an image"),
    (png_bytes(PHOTO)[:200], "corrupt or truncated"),
])
def test_a_bad_upload_is_a_one_line_message(data, reason):
    colorizer = YourPhotoColorizer(_classifier())
    _upload(colorizer, png_bytes(PHOTO))
    assert colorizer.result is not None
    _upload(colorizer, data, "notes.txt")  # no exception reaches the front end
    assert reason in colorizer.status.value and "notes.txt" in colorizer.status.value
    assert "Traceback" not in colorizer.status.value and "<br" not in colorizer.status.value
    assert colorizer.result is None and colorizer.download.value == "" and png(colorizer.colorized_image) == b""
    colorizer.set_temperature(1.0)  # nothing to redraw: the message stays
    assert reason in colorizer.status.value


def test_a_regression_network_has_no_temperature():
    torch.manual_seed(0)
    colorizer = YourPhotoColorizer(RegressionCNN(width=4).eval())
    assert colorizer.temperature_slider.disabled
    assert all(button.disabled for button in colorizer.preset_buttons.values())
    assert any("no temperature" in w.value for w in descendants(colorizer.widget) if isinstance(w, widgets.HTML))
    assert colorizer.colorize_file(png_bytes(PHOTO), "chelsea.png")
    assert (colorizer.result == colorize(PHOTO, colorizer.model)).all()
    assert "regression" in colorizer.status.value


def test_what_cannot_be_colorized_is_refused_at_once():
    with pytest.raises(ValueError, match="colorlab network"):
        YourPhotoColorizer({"model": None})
    with pytest.raises(ValueError, match="'palette' network"):
        YourPhotoColorizer(PaletteNet())
    with pytest.raises(ValueError, match="temperature"):
        YourPhotoColorizer(_classifier(), temperature=2.0)
    with pytest.raises(ValueError, match="temperature"):
        YourPhotoColorizer(_classifier()).set_temperature(0.0)
    with pytest.raises(ValueError, match="work_size"):
        YourPhotoColorizer(_classifier(), work_size=8)


@pytest.mark.parametrize("training", [False, True])
def test_the_networks_mode_is_left_as_it_was(training):
    model = _classifier().train(training)
    colorizer = YourPhotoColorizer(model)
    assert colorizer.colorize_file(png_bytes(PHOTO), "chelsea.png")
    colorizer.set_temperature(1.0)
    assert model.training is training and all(m.training is training for m in model.modules())


def test_both_upload_formats_are_read():
    data = b"\x89PNG..."
    eight = ({"name": "a.png", "type": "image/png", "size": 7, "content": memoryview(data)},)
    seven = {"a.png": {"metadata": {"name": "a.png"}, "content": data}}  # ipywidgets 7, Colab's own
    assert _uploaded_file(eight) == _uploaded_file(seven) == ("a.png", data)
    assert _uploaded_file(()) is None and _uploaded_file({}) is None
