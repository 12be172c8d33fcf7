"""Your own photo, colorized by the network you trained: upload it, move T, download the result.

:class:`YourPhotoColorizer` is an ``ipywidgets`` upload button with what :func:`colorlab.colorize.colorize`
(the function behind ``colorlab colorize``) makes of the photo: the network sees the photo's lightness
at a working resolution, its ab is upsampled to the photo's full size and joined to the photo's own
full-resolution L, so the result keeps every detail and only gains colour. The gray version (what the
network sees) and the colorization are shown side by side, scaled down when the photo is large; the
download link holds the full-resolution PNG.

A classification network's temperature slider redraws without running the network again: the
network's logits for the photo are kept, and colorize decodes them at each T. A regression network
predicts one colour per pixel, so there is no temperature: its slider is disabled, with a note.
An upload that is not an image (or an empty file) is a one-line message in the widget.
"""

from __future__ import annotations

import base64
import html
import math
import tempfile
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import torch
from PIL import Image
from torch import nn

from .._validate import whole_number
from ..color import rgb_to_gray
from ..colorize import colorize
from ..data import load_image, to_float_image
from ..files import png_bytes
from ..quantize import ZHANG_TEMPERATURE
from .temperature import PRESETS, T_MAX, T_MIN

PREVIEW_SIDE = 384  # the previews' longer side in pixels; the download keeps the photo's own size
KINDS = ("classification", "regression")  # the networks colorize can run on a photo alone


class _LogitsOnce(nn.Module):
    """A classification network that runs once per photo: its first logits answer every later call.

    colorize() then redraws any temperature with its own resizing and full-resolution join, while
    the network itself ran a single time. One instance serves one photo.
    """

    kind = "classification"

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network
        self.logits: torch.Tensor | None = None
        self.train(network.training)  # colorize restores this mode, on the network too, when it is done

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        if self.logits is None:
            self.logits = self.network(l_norm)
        return self.logits


def _uploaded_file(value) -> tuple[str, bytes] | None:
    """(name, bytes) of the file in a ``FileUpload``'s value, or None when it holds none.

    ipywidgets 8 gives a tuple of dicts with ``name`` and ``content``; ipywidgets 7 (Colab's own)
    a dict from the name to ``{"metadata": ..., "content": ...}``.
    """
    if isinstance(value, dict):
        value = [{"name": name, **entry} for name, entry in value.items()]
    if not value:
        return None
    entry = value[-1]
    return str(entry.get("name") or "photo"), bytes(entry["content"])


def _read_upload(data: bytes) -> np.ndarray:
    """An uploaded file's bytes as uint8 RGB (H,W,3), read by load_image as any image file is.

    The bytes are written to a temporary file so that an upload gets exactly the checks and reasons
    of a file on disk (empty, not an image, corrupt, too large); those are ValueErrors.
    """
    with tempfile.TemporaryDirectory(prefix="colorlab-upload-") as folder:
        path = Path(folder) / "upload"  # not the uploaded name, which could be anything
        path.write_bytes(data)
        return load_image(path)


def _checked_temperature(t) -> float:
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not (T_MIN <= t <= T_MAX):
        raise ValueError(f"YourPhotoColorizer: temperature must be a number in [{T_MIN}, {T_MAX}], got {t!r}.")
    return float(t)


class YourPhotoColorizer:
    """Upload a photo; see it colorized at full resolution by ``model``, at any temperature; download it.

    Parameters
    ----------
    model : a colorlab network of kind "classification" or "regression" (what
        :func:`colorlab.colorize.colorize` takes), on any device.
    temperature : the starting T of a classification network, in [0.01, 1].
    work_size : the longer side, in pixels, of the resolution the network sees (as colorize's).
    preview_side : the previews' longer side in pixels (small photos are enlarged by a whole factor,
        large ones scaled down); the download is always the photo's own size.

    Widgets (attributes)
    --------------------
    widget : ``ipywidgets.VBox``, the whole colorizer; displaying the colorizer displays it
    upload : ``FileUpload`` accepting images; an upload colorizes the photo
    temperature_slider : ``FloatLogSlider`` for T from 0.01 to 1 (disabled for a regression network)
    preset_buttons : dict label -> ``Button``: the mode (0.01), Zhang (0.38), Li & Wang (0.89), the mean (1)
    gray_image, colorized_image : ``Image`` (PNG), the previews of the photo's gray version and of the result
    status : ``HTML``, one line: the photo and its size, or why an upload could not be colorized
    download : ``HTML``, a link whose ``data:`` URL holds the full-resolution PNG (empty before a photo)

    State and methods
    -----------------
    photo, result : uint8 (H,W,3) arrays, the photo uploaded and its colorization (None before one)
    download_png : bytes, the PNG the download link holds
    colorize_file(data, name) -> bool: what an upload does, from code: True when the photo was colorized
    set_temperature(T): move the slider from code (one redraw, as dragging it)
    """

    def __init__(self, model: nn.Module, temperature: float = ZHANG_TEMPERATURE, work_size: int = 256,
                 preview_side: int = PREVIEW_SIDE):
        if not isinstance(model, nn.Module):
            raise ValueError(f"YourPhotoColorizer: model must be a colorlab network, got {type(model).__name__}.")
        kind = getattr(model, "kind", "regression")
        if kind not in KINDS:
            raise ValueError(f"YourPhotoColorizer: a {kind!r} network cannot colorize a photo on its own (it needs "
                             f"more than the photo's lightness); give a classification or regression network.")
        temperature = _checked_temperature(temperature)
        self.model, self.kind = model, kind
        self.work_size = whole_number(work_size, "YourPhotoColorizer: work_size (pixels)", minimum=16)
        self.preview_side = whole_number(preview_side, "YourPhotoColorizer: preview_side (pixels)")
        self.photo: np.ndarray | None = None
        self.result: np.ndarray | None = None
        self.download_png: bytes = b""
        self.name = ""
        self._network: nn.Module = model
        self._build_widgets(temperature)

    def _build_widgets(self, temperature: float) -> None:
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Upload a photo",
                                         layout=widgets.Layout(width="auto"))
        self.temperature_slider = widgets.FloatLogSlider(
            value=temperature, base=10, min=math.log10(T_MIN), max=math.log10(T_MAX), step=0.01,
            description="temperature", readout_format=".3f", continuous_update=False,  # full-size redraws
            style={"description_width": "initial"}, layout=widgets.Layout(width="360px"))
        self.preset_buttons = {label: widgets.Button(description=label, layout=widgets.Layout(width="auto"))
                               for label in PRESETS}
        for label, button in self.preset_buttons.items():
            button.on_click(lambda _button, t=PRESETS[label]: self.set_temperature(t))
        controls = [self.temperature_slider, *self.preset_buttons.values()]
        note = widgets.HTML()
        if self.kind != "classification":
            for control in controls:
                control.disabled = True
            note.value = ("<i>A regression network predicts one colour per pixel: there is no distribution, so no "
                          "temperature to choose.</i>")
        self.gray_image = widgets.Image(format="png")
        self.colorized_image = widgets.Image(format="png")
        self.colorized_image.add_class("colorlab-your-photo-result")  # what the browser test looks for
        self.status = widgets.HTML("Upload a photo (JPEG, PNG, ...): the network colorizes it at its full size.")
        self.download = widgets.HTML()
        self.upload.observe(self._on_upload, names="value")
        self.temperature_slider.observe(lambda _change: self._redraw(), names="value")
        self.widget = widgets.VBox([
            widgets.HBox([self.upload]),  # in a row, the button is as wide as its label
            widgets.HBox(controls),
            note,
            self.status,
            widgets.HBox([widgets.VBox([widgets.HTML("gray: what the network sees"), self.gray_image]),
                          widgets.VBox([widgets.HTML("colorized"), self.colorized_image])]),
            self.download,
        ])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------ controls from code

    @property
    def temperature(self) -> float:
        return float(self.temperature_slider.value)

    def set_temperature(self, t: float) -> None:
        self.temperature_slider.value = _checked_temperature(t)

    def colorize_file(self, data: bytes, name: str = "photo") -> bool:
        """Colorize a file's bytes as an upload would; True when done, False when the status says why not."""
        self.name = str(name)
        try:
            photo = _read_upload(bytes(data))
        except ValueError as err:  # load_image's reasons: empty, not an image, corrupt, too large
            return self._fail(getattr(err, "reason", str(err)))
        self.photo = photo
        self._network = _LogitsOnce(self.model) if self.kind == "classification" else self.model
        small = to_float_image(torch.from_numpy(self._shrunk(photo)).permute(2, 0, 1))
        self.gray_image.value = png_bytes(rgb_to_gray(small), zoom_to=self.preview_side)  # a small photo enlarged
        return self._redraw()

    # ------------------------------------------------------------ drawing

    def _on_upload(self, change) -> None:
        uploaded = _uploaded_file(change["new"])
        if uploaded is not None:
            self.colorize_file(uploaded[1], uploaded[0])

    def _fail(self, reason: str) -> bool:
        self.photo = self.result = None
        self.download_png = b""
        self.gray_image.value = self.colorized_image.value = b""
        self.download.value = ""
        self.status.value = f"<b>{html.escape(self.name)}</b> could not be colorized: {html.escape(reason)}"
        return False

    def _shrunk(self, rgb: np.ndarray) -> np.ndarray:
        """A uint8 (H,W,3) image scaled down to a longer side of ``preview_side`` (a smaller one as it is)."""
        picture = Image.fromarray(rgb)
        if max(picture.size) > self.preview_side:
            picture.thumbnail((self.preview_side, self.preview_side), Image.LANCZOS)
        return np.array(picture)

    def _redraw(self) -> bool:
        if self.photo is None:
            return False
        h, w = self.photo.shape[:2]
        self.status.value = f"<b>{html.escape(self.name)}</b>: colorizing {w} x {h} px ..."  # seconds for megapixels
        try:
            self.result = colorize(self.photo, self._network, temperature=self.temperature, work_size=self.work_size)
        except (RuntimeError, MemoryError) as err:  # out of memory on a huge photo, above all
            return self._fail(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
        self.colorized_image.value = png_bytes(self._shrunk(self.result), zoom_to=self.preview_side)
        self.download_png = png_bytes(self.result)
        stem = Path(self.name).stem or "photo"
        self.download.value = (
            f'<a download="{html.escape(stem)}_color.png" style="color: var(--jp-content-link-color, #1565c0); '
            f'text-decoration: underline" '
            f'href="data:image/png;base64,{base64.b64encode(self.download_png).decode("ascii")}">'
            f"Download the colorized photo ({w} x {h} px PNG, {len(self.download_png) / 1e3:.0f} kB)</a>")
        how = (f"at T = {self.temperature:.3f}" if self.kind == "classification" else "by the regression network")
        self.status.value = (f"<b>{html.escape(self.name)}</b>: {w} x {h} px, colorized {how}; the network saw it "
                             f"at {min(max(h, w), self.work_size)} px on the longer side")
        return True
