"""The palette explorer of notebook 06: edit the palette, watch the colorization follow (001, Figure 6).

A :class:`~colorlab.models.palette_net.PaletteNet` colours an image from a
palette, the image's colour histogram over the 313 ab bins. Left alone it uses
the palette it estimates from the gray image; here you change that palette and
see what the colorizer makes of it:

- **push** it towards a colour: a named colour (red, orange, yellow, green,
  cyan, blue, purple, pink: see :data:`colorlab.palette.NAMED_COLOURS`) or any
  hue angle, with a strength from 0 (the estimated palette) to 1 (only that
  colour); :func:`colorlab.palette.push_palette` mixes in a blob of the colour;
- **edit a bin**: choose one of the palette's main bins and set its share
  (:func:`colorlab.palette.edit_bins`; the other bins make room).

The colorization panel shows, left to right: the gray input, the colorization
with the estimated palette, the colorization with the edited palette, and the
truth. The palette panel shows both palettes on the ab plane (each bin a square
in its colour, its area proportional to its share; the push target is the
circle) with their main colours as a strip of swatches underneath.

The network's trunk (everything before the palette enters) runs once per image
when the explorer is built; a redraw runs only the part after it, so it takes a
few milliseconds on a CPU. Every output is an ``ipywidgets.Image`` of PNG bytes,
as in :class:`colorlab.explorers.TemperatureExplorer`.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np
import torch
from PIL import Image, ImageDraw

from .._validate import rgb_image
from ..color import denormalize_ab, l_ab_to_rgb, normalize_l, rgb_to_l_ab
from ..device import model_device
from ..files import png_bytes, to_uint8
from ..palette import (NAMED_COLOURS, NAMED_HUES, bin_rgb, edit_bins, hue_to_ab, mean_ab, push_palette, target_ab,
                       top_bins)
from ..quantize import BIN_CENTERS, GRID, LATTICE_LO, LATTICE_N, NUM_BINS, bin_cells
from ._shared import image_names

HUE = "hue"  # the colour picker's last option: push towards the hue slider's angle
TOP_K = 8  # bins offered for editing and shown as swatches
_PANEL = 160  # the colorization panels are enlarged (nearest neighbour) to about this many pixels
_GAP = 6
_HEADER = 14  # pixels of label above each panel
_CELL = 8  # pixels per 10-unit ab cell on the palette plane
_PLANE = LATTICE_N * _CELL
_STRIP_H = 16
_BG = 255


_BIN_CELL = bin_cells().numpy()  # (313, 2): a index, b index on the 23 x 23 lattice
_BIN_FILL = [tuple(int(c) for c in rgb) for rgb in np.round(bin_rgb() * 255).astype(np.uint8)]  # PIL fill colours


def _bin_xy(q: int) -> tuple[float, float]:
    """Pixel centre of bin q on the palette image (below the label band)."""
    return (_BIN_CELL[q, 0] + 0.5) * _CELL, _HEADER + _PLANE - (_BIN_CELL[q, 1] + 0.5) * _CELL


def _plane_xy(a: float, b: float) -> tuple[float, float]:
    """Pixel position of (a, b) on the palette plane: a to the right, b upwards."""
    return (a - LATTICE_LO + GRID / 2) / GRID * _CELL, _PLANE - (b - LATTICE_LO + GRID / 2) / GRID * _CELL


class PaletteExplorer:
    """Push a palette-guided colorization towards a colour, or edit its palette bin by bin.

    Parameters
    ----------
    model : a trained :class:`~colorlab.models.palette_net.PaletteNet` (or any network with
        its ``encode``, ``palette_logits``, ``palette_from_logits`` and ``decode`` methods)
    images : float RGB (N,3,H,W) or (3,H,W) in [0, 1]: the photos; the network sees only
        their L, and they are shown as the truth
    names : optional list of N labels for the image picker
    colour : the starting push target, a name of :data:`colorlab.palette.NAMED_COLOURS`
        or a hue angle in degrees
    strength : the starting push strength in [0, 1] (0: the estimated palette)

    Widgets (attributes)
    --------------------
    widget : ``ipywidgets.VBox``, the whole explorer; displaying the explorer displays it
    colour_picker : ``ToggleButtons`` of the named colours and "hue"
    hue_slider : ``FloatSlider``, the hue angle (degrees) used when the picker is on "hue"
    strength_slider : ``FloatSlider`` from 0 to 1
    bin_picker : ``Dropdown`` of the main bins of the pushed palette
    bin_share_slider : ``FloatSlider``, the chosen bin's share; moving it edits the palette
    reset_button : ``Button``: strength 0 and no bin edits
    image_picker : ``Dropdown`` whose value is the image index
    colorization_image : ``Image`` (PNG): gray input, estimated-palette result, edited-palette
        result, truth
    palette_image : ``Image`` (PNG): the estimated and the edited palette on the ab plane, with
        swatch strips
    status : ``HTML`` line with the mean (a, b) of both results

    Methods
    -------
    push(colour, strength), edit_bin(bin, share), reset(), select_image(i): drive it from code.
    current_ab() -> (2,H,W) ab of the edited-palette result; current_palette() -> (313,) the
    edited palette; estimated_ab(), estimated_palette(): the same with the estimated palette.
    """

    def __init__(self, model, images, names=None, colour="red", strength: float = 0.0):
        for method in ("encode", "palette_logits", "palette_from_logits", "decode"):
            if not callable(getattr(model, method, None)):
                raise ValueError(
                    f"PaletteExplorer: model must be a PaletteNet (with encode, palette_logits, palette_from_logits "
                    f"and decode), got {type(model).__name__}, which has no {method}().")
        rgb, single = rgb_image(images, "PaletteExplorer images")
        n = rgb.shape[0]
        names = image_names(names, n, "PaletteExplorer")
        self._check_colour(colour)
        self._check_strength(strength)

        self.model = model
        self.names = names
        self.truth = rgb.detach().float().cpu()
        l, _ = rgb_to_l_ab(self.truth)
        self.l = l  # (N,1,H,W) in [0, 100], CPU
        self.gray = l_ab_to_rgb(l, torch.zeros(n, 2, *l.shape[-2:]))
        self.zoom = max(1, _PANEL // max(l.shape[-2:]))
        self._device = model_device(model)
        with self._eval():
            features, self._size = model.encode(normalize_l(l).to(self._device))
            self._features = features  # the trunk's output, cached: a redraw runs only the decoder
            self._estimated = model.palette_from_logits(model.palette_logits(features)).float().cpu()
            self._estimated_ab = denormalize_ab(model.decode(features, self._size, self._estimated.to(self._device))
                                                .float().cpu())
        self._edits: dict[int, float] = {}
        self._panel_cache: dict[int, np.ndarray] = {}
        self._plane_cache: dict[int, Image.Image] = {}
        self._backgrounds = None
        self._holding = False
        self._quiet = False  # set while the code (not the user) moves the bin share slider
        self._build_widgets(colour, strength)
        self._refresh_bins()
        self._redraw()

    # ------------------------------------------------------------ construction

    def _build_widgets(self, colour, strength: float) -> None:
        named = isinstance(colour, str)
        self.colour_picker = widgets.ToggleButtons(options=[*NAMED_COLOURS, HUE],
                                                   value=colour.strip().lower() if named else HUE,
                                                   description="towards", style={"button_width": "72px"})
        self.hue_slider = widgets.FloatSlider(value=NAMED_HUES["red"] if named else float(colour) % 360, min=0,
                                              max=360, step=1, description="hue (°)", readout_format=".0f")
        self.strength_slider = widgets.FloatSlider(value=float(strength), min=0.0, max=1.0, step=0.05,
                                                   description="strength", readout_format=".2f")
        self.bin_picker = widgets.Dropdown(description="bin")
        self.bin_share_slider = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.01, description="share",
                                                    readout_format=".2f")
        self.reset_button = widgets.Button(description="reset", tooltip="strength 0, no bin edits")
        self.image_picker = widgets.Dropdown(options=[(name, i) for i, name in enumerate(self.names)], value=0,
                                             description="image")
        self.colorization_image = widgets.Image(format="png")
        self.palette_image = widgets.Image(format="png")
        self.status = widgets.HTML()

        self.colour_picker.observe(self._on_push_control, names="value")
        self.hue_slider.observe(self._on_hue, names="value")
        self.strength_slider.observe(self._on_push_control, names="value")
        self.image_picker.observe(self._on_image, names="value")
        self.bin_picker.observe(self._on_bin_choice, names="value")
        self.bin_share_slider.observe(self._on_bin_share, names="value")
        self.reset_button.on_click(lambda _button: self.reset())
        self.widget = widgets.VBox([
            widgets.HBox([self.image_picker, self.reset_button]),
            self.colour_picker,
            widgets.HBox([self.strength_slider, self.hue_slider]),
            widgets.HBox([self.bin_picker, self.bin_share_slider]),
            self.status,
            self.colorization_image,
            self.palette_image,
        ])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    @contextmanager
    def _eval(self):
        was_training = getattr(self.model, "training", False)
        if hasattr(self.model, "eval"):
            self.model.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            if hasattr(self.model, "train"):
                self.model.train(was_training)

    # ------------------------------------------------------------ controls from code

    @staticmethod
    def _check_colour(colour) -> None:
        if isinstance(colour, str):
            if colour.strip().lower() not in NAMED_COLOURS:
                raise ValueError(f"PaletteExplorer: unknown colour {colour!r}; use one of "
                                 f"{', '.join(NAMED_COLOURS)} or a hue angle in degrees.")
        elif isinstance(colour, bool) or not isinstance(colour, (int, float)) or not math.isfinite(colour):
            raise ValueError(f"PaletteExplorer: colour must be a colour name ({', '.join(NAMED_COLOURS)}) or a hue "
                             f"angle in degrees, got {colour!r}.")

    @staticmethod
    def _check_strength(strength) -> None:
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
            raise ValueError(f"PaletteExplorer: strength must be a number in [0, 1], got {strength!r}.")

    @property
    def index(self) -> int:
        """The index of the image shown."""
        return int(self.image_picker.value)

    @property
    def target(self) -> tuple[float, float]:
        """The (a, b) point the palette is pushed towards."""
        if self.colour_picker.value == HUE:
            return hue_to_ab(float(self.hue_slider.value))
        return target_ab(self.colour_picker.value)

    def push(self, colour, strength: float) -> None:
        """Push towards ``colour`` (a name or a hue angle in degrees) with ``strength`` in [0, 1]; one redraw."""
        self._check_colour(colour)
        self._check_strength(strength)
        with self._hold():
            if isinstance(colour, str):
                self.colour_picker.value = colour.strip().lower()
            else:
                self.colour_picker.value = HUE
                self.hue_slider.value = float(colour) % 360
            self.strength_slider.value = float(strength)

    def edit_bin(self, q: int, share: float) -> None:
        """Set bin ``q``'s share of the edited palette (the other bins make room); one redraw."""
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or not 0 <= q < NUM_BINS:
            raise ValueError(f"PaletteExplorer.edit_bin: bin must be an integer in [0, {NUM_BINS}), got {q!r}.")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ValueError(f"PaletteExplorer.edit_bin: share must be a number in [0, 1], got {share!r}.")
        q, share = int(q), float(share)
        others = {k: v for k, v in self._edits.items() if k != q}
        room = 1.0 - share
        total = sum(others.values())
        if total > room:  # earlier edits shrink in proportion, so that the shares set never exceed 1
            others = {k: v * room / total for k, v in others.items()}
        self._edits = {**others, q: share}
        with self._hold():
            self._quiet = True
            try:
                if q not in [value for _, value in self.bin_picker.options]:
                    self.bin_picker.options = [*self.bin_picker.options, (self._bin_label(q), q)]
                self.bin_picker.value = q
                self.bin_share_slider.value = share
            finally:
                self._quiet = False

    def reset(self) -> None:
        """Back to the estimated palette: strength 0 and no bin edits."""
        self._edits = {}
        with self._hold():
            self.strength_slider.value = 0.0
            self._refresh_bins()

    def select_image(self, i: int) -> None:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(self.names):
            raise ValueError(f"PaletteExplorer.select_image: index must be an integer in [0, {len(self.names)}), "
                             f"got {i!r}.")
        self.image_picker.value = int(i)

    @contextmanager
    def _hold(self):
        """Change several controls with one redraw at the end."""
        outer = self._holding
        self._holding = True
        try:
            yield
        finally:
            self._holding = outer
        if not outer:
            self._redraw()

    # ------------------------------------------------------------ callbacks

    def _on_push_control(self, _change) -> None:
        with self._hold():
            self._refresh_bins()

    def _on_hue(self, _change) -> None:
        if self.colour_picker.value == HUE:
            self._on_push_control(_change)

    def _on_image(self, _change) -> None:
        self._edits = {}
        with self._hold():
            self._refresh_bins()

    def _on_bin_choice(self, _change) -> None:
        if self._quiet or self.bin_picker.value is None:
            return
        self._quiet = True
        try:
            self.bin_share_slider.value = float(self.current_palette()[self.bin_picker.value])
        finally:
            self._quiet = False

    def _on_bin_share(self, change) -> None:
        if self._quiet or self.bin_picker.value is None:
            return
        # The browser's slider rounds the share the code set to its step and sends it back; that echo
        # is not the user's edit (found by the JupyterLab test in e2e/, which no Python-side test sees).
        share = float(change["new"])
        if abs(share - float(self.current_palette()[self.bin_picker.value])) <= self.bin_share_slider.step / 2 + 1e-9:
            return
        self.edit_bin(self.bin_picker.value, share)

    # ------------------------------------------------------------ computation

    def estimated_palette(self) -> torch.Tensor:
        """The estimated palette (313,) of the image shown."""
        return self._estimated[self.index].clone()

    def pushed_palette(self) -> torch.Tensor:
        """The estimated palette pushed towards the target (before bin edits), (313,)."""
        strength = float(self.strength_slider.value)
        est = self._estimated[self.index]
        return push_palette(est, self.target, strength) if strength > 0 else est.clone()

    def current_palette(self) -> torch.Tensor:
        """The edited palette (313,) the colorization on the right is made with: pushed, then bin edits."""
        palette = self.pushed_palette()
        return edit_bins(palette, self._edits) if self._edits else palette

    def estimated_ab(self) -> torch.Tensor:
        """ab (2,H,W) of the image shown coloured with its estimated palette (cached)."""
        return self._estimated_ab[self.index].clone()

    def current_ab(self) -> torch.Tensor:
        """ab (2,H,W) of the image shown coloured with :meth:`current_palette` (a CPU float tensor)."""
        i = self.index
        with self._eval():
            ab = self.model.decode(self._features[i:i + 1], self._size, self.current_palette().to(self._device))
        return denormalize_ab(ab.float().cpu())[0]

    @staticmethod
    def _bin_label(q: int) -> str:
        a, b = BIN_CENTERS[q]
        return f"bin {q}: (a, b) = ({a:+.0f}, {b:+.0f})"

    def _refresh_bins(self) -> None:
        """Offer the main bins of the palette (after the push) in the bin picker, keeping the choice if it stays."""
        palette = self.current_palette()
        entries = top_bins(palette, TOP_K)
        options = [(self._bin_label(e.bin), e.bin) for e in entries]
        for q in self._edits:
            if q not in [value for _, value in options]:
                options.append((self._bin_label(q), q))
        keep = self.bin_picker.value if self.bin_picker.value in [v for _, v in options] else options[0][1]
        self._quiet = True
        try:
            self.bin_picker.options = options
            self.bin_picker.value = keep
            self.bin_share_slider.value = float(palette[keep])
        finally:
            self._quiet = False

    # ------------------------------------------------------------ drawing

    def _redraw(self) -> None:
        if self._holding:
            return
        i = self.index
        ab = self.current_ab()
        rgb = l_ab_to_rgb(self.l[i:i + 1], ab[None])[0]
        self.colorization_image.value = self._draw_panels(i, rgb)
        palette = self.current_palette()
        self.palette_image.value = self._draw_palettes(i, palette)
        (ea, eb), (ca, cb) = self._estimated_ab[i].mean(dim=(1, 2)).tolist(), ab.mean(dim=(1, 2)).tolist()
        ta, tb = self.target
        pa, pb = mean_ab(palette).tolist()
        colour = self.colour_picker.value if self.colour_picker.value != HUE else f"hue {self.hue_slider.value:.0f}°"
        edits = f" &nbsp;|&nbsp; {len(self._edits)} bin(s) edited" if self._edits else ""
        self.status.value = (
            f"towards <b>{colour}</b> (a, b) = ({ta:+.1f}, {tb:+.1f}), strength {self.strength_slider.value:.2f}"
            f"{edits}<br>mean (a, b) of the result: estimated palette ({ea:+.1f}, {eb:+.1f}) &rarr; "
            f"edited palette ({ca:+.1f}, {cb:+.1f}); the edited palette's own mean ({pa:+.1f}, {pb:+.1f})")

    # Everything that does not depend on the edit is drawn once (per image) and cached: the gray
    # input, the estimated-palette result, the truth, and the estimated palette's plane.

    _LABELS = ("gray input", "estimated palette", "edited palette", "truth")
    _EDITED = 2  # the panel redrawn on every change

    def _panel_x(self, k: int) -> int:
        return k * (self.l.shape[-1] * self.zoom + _GAP)

    def _static_panels(self, i: int) -> np.ndarray:
        if i not in self._panel_cache:
            z = self.zoom
            h, w = self.l.shape[-2:]
            canvas = np.full((_HEADER + h * z, self._panel_x(4) - _GAP, 3), _BG, dtype=np.uint8)
            estimated = l_ab_to_rgb(self.l[i:i + 1], self._estimated_ab[i:i + 1])[0]
            for k, rgb in ((0, self.gray[i]), (1, estimated), (3, self.truth[i])):
                x0 = self._panel_x(k)
                canvas[_HEADER:, x0:x0 + w * z] = to_uint8(rgb).repeat(z, axis=0).repeat(z, axis=1)
            image = Image.fromarray(canvas)
            draw = ImageDraw.Draw(image)
            for k, label in enumerate(self._LABELS):
                draw.text((self._panel_x(k) + 2, 1), label, fill=(0, 0, 0))
            self._panel_cache[i] = np.asarray(image).copy()
        return self._panel_cache[i]

    def _draw_panels(self, i: int, rgb: torch.Tensor) -> bytes:
        """Gray input, estimated-palette result, edited-palette result (``rgb``), truth; enlarged by ``zoom``."""
        canvas = self._static_panels(i).copy()
        z, x0 = self.zoom, self._panel_x(self._EDITED)
        canvas[_HEADER:, x0:x0 + rgb.shape[-1] * z] = to_uint8(rgb).repeat(z, axis=0).repeat(z, axis=1)
        return png_bytes(canvas)

    @staticmethod
    def _plane_background(label: str) -> Image.Image:
        """The ab plane without bins: its axes, the gamut as faint dots, a label."""
        image = Image.new("RGB", (_PLANE, _HEADER + _PLANE + 4 + _STRIP_H), (_BG, _BG, _BG))
        draw = ImageDraw.Draw(image)
        draw.text((2, 1), label, fill=(0, 0, 0))
        x0, y0 = _plane_xy(0, 0)
        draw.line([(0, _HEADER + y0), (_PLANE, _HEADER + y0)], fill=(215, 215, 215))
        draw.line([(x0, _HEADER), (x0, _HEADER + _PLANE)], fill=(215, 215, 215))
        for q in range(NUM_BINS):
            draw.point(_bin_xy(q), fill=(190, 190, 190))
        return image

    def _draw_plane(self, palette: torch.Tensor, background: Image.Image, target=None) -> Image.Image:
        """A palette on the ab plane: each bin a square in its colour, its area in proportion to its share;
        the main colours as a strip underneath, each as wide as its share of them."""
        image = background.copy()
        draw = ImageDraw.Draw(image)
        p = palette.double().numpy()
        side = np.sqrt(p / max(p.max(), 1e-12)) * _CELL
        for q in np.flatnonzero(side >= 1):
            cx, cy = _bin_xy(q)
            r = side[q] / 2
            draw.rectangle([cx - r, cy - r, cx + r - 1, cy + r - 1], fill=_BIN_FILL[q])
        if target is not None:
            tx, ty = _plane_xy(*target)
            draw.ellipse([tx - 5, _HEADER + ty - 5, tx + 5, _HEADER + ty + 5], outline=(0, 0, 0), width=2)
        entries = top_bins(palette, TOP_K)
        total = sum(e.share for e in entries)
        edges = np.round(np.cumsum([0.0] + [e.share / total for e in entries]) * _PLANE).astype(int)
        top = _HEADER + _PLANE + 4
        for e, left, right in zip(entries, edges[:-1], edges[1:]):
            if right > left:
                draw.rectangle([left, top, right - 1, top + _STRIP_H - 1], fill=_BIN_FILL[e.bin])
        return image

    def _draw_palettes(self, i: int, edited: torch.Tensor) -> bytes:
        """The estimated palette (left, cached per image) and the edited one (right, the target circled)."""
        if self._backgrounds is None:
            self._backgrounds = (self._plane_background("estimated palette"),
                                 self._plane_background("edited palette"))
        if i not in self._plane_cache:
            self._plane_cache[i] = self._draw_plane(self._estimated[i], self._backgrounds[0])
        target = self.target if self.strength_slider.value > 0 else None
        right = self._draw_plane(edited, self._backgrounds[1], target)
        left = self._plane_cache[i]
        canvas = Image.new("RGB", (2 * _PLANE + 3 * _GAP, left.height), (_BG, _BG, _BG))
        canvas.paste(left, (0, 0))
        canvas.paste(right, (_PLANE + 3 * _GAP, 0))
        return png_bytes(np.asarray(canvas))


__all__ = ["PaletteExplorer"]
