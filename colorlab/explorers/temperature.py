"""The temperature explorer of notebook 05: Zhang et al.'s annealed mean, live.

A classification colorizer predicts, for every pixel (at 1/4 resolution), a
distribution over the 313 ab bins. Turning it into one colour is a choice, and
the annealed mean makes that choice a dial: sharpen the distribution at a
temperature T, ``softmax(logits / T)``, then take its mean.

- T -> 0 gives the **mode**, the most probable bin: vivid but patchy, neighbouring
  pixels jump between red and green when the two are nearly equally likely.
- T = 1 gives the **mean**: smooth but desaturated, red and green average to gray.
- Zhang et al.'s T = 0.38 sits in between (Li and Wang, 003, use 0.89).

:class:`TemperatureExplorer` shows the colorized image at the current T (truth
beside it), the distribution at one chosen pixel drawn on the ab plane, and the
image's colourfulness against T. The network runs once (:meth:`TemperatureExplorer.from_model`);
every redraw decodes the cached logits again, so moving the slider is instant.

In a notebook the last expression ``explorer`` (or ``display(explorer)``)
shows it; ``explorer.widget`` is the ``ipywidgets.VBox`` to place in a larger layout.
Every output is an ``ipywidgets.Image`` holding PNG bytes, so it renders in any
front end and tests can compare the bytes. The pixel is chosen with two sliders:
a plain ``ipywidgets.Image`` reports no click positions.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from .._validate import channels_image, check_range, rgb_image
from ..color import l_ab_to_rgb, normalize_l, rgb_to_l_ab
from ..device import model_device
from ..files import png_bytes, to_uint8
from ..metrics import colorfulness
from ..palette import SWATCH_L, bin_rgb
from ..quantize import (BIN_CENTERS, GRID, LATTICE_LO, LATTICE_N, LI_WANG_TEMPERATURE, NUM_BINS, ZHANG_TEMPERATURE,
                        annealed_mean, bin_cells)
from ._shared import image_names

T_MIN, T_MAX = 0.01, 1.0  # the slider's range; T_MIN is the mode for any practical purpose
CURVE_POINTS = 20  # temperatures on the colourfulness curve (log grid), plus the two presets
PRESETS = {  # button label -> temperature
    "mode (T=0.01)": T_MIN,
    f"Zhang ({ZHANG_TEMPERATURE})": ZHANG_TEMPERATURE,
    f"Li & Wang ({LI_WANG_TEMPERATURE})": LI_WANG_TEMPERATURE,
    "mean (T=1)": T_MAX,
}
_IMAGE_SIDE = 256  # small images are enlarged (nearest neighbour) to about this many pixels
_GAP = 8  # pixels between the colorization and the truth
_CENTERS = torch.tensor(BIN_CENTERS, dtype=torch.float32)  # (313, 2)
_BIN_RGB = bin_rgb(SWATCH_L)  # (313, 3) each bin's colour on the ab plane
_BIN_CELL = bin_cells().numpy()  # (313, 2): (a index, b index) on the 23 x 23 lattice


class _Panel:
    """A matplotlib figure redrawn fast: the static part is drawn once, the ``dynamic`` artists on top.

    The figure is never registered with pyplot (``Figure`` + ``FigureCanvasAgg``), so no global
    state changes and it is freed with the explorer. Call :meth:`invalidate` after changing a
    static artist; :meth:`png` then draws everything once and keeps the background.
    """

    def __init__(self, fig: Figure, dynamic: list):
        self.fig, self.dynamic = fig, dynamic
        self.canvas = FigureCanvasAgg(fig)
        for artist in dynamic:
            artist.set_animated(True)  # left out of canvas.draw(), drawn by hand in png()
        self._background = None

    def invalidate(self) -> None:
        self._background = None

    def png(self) -> bytes:
        if self._background is None:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        else:
            self.canvas.restore_region(self._background)
        for artist in self.dynamic:
            self.fig.draw_artist(artist)
        return png_bytes(np.asarray(self.canvas.buffer_rgba())[..., :3])


def _logit_scale(logits_hw: tuple[int, int], l_hw: tuple[int, int]) -> int | None:
    """The integer s with ceil(H / s) == h and ceil(W / s) == w (a network's output stride), or None."""
    (h, w), (big_h, big_w) = logits_hw, l_hw
    if h > big_h or w > big_w:
        return None
    s = -(-big_h // h)
    return s if -(-big_h // s) == h and -(-big_w // s) == w else None


class TemperatureExplorer:
    """Explore the annealed mean of a classification colorizer, image by image and pixel by pixel.

    Parameters
    ----------
    logits : float (N,313,h,w) tensor, the network's output at 1/s of L's resolution
        (s = 4 for :class:`colorlab.models.ClassificationCNN`; s = 1 works too).
        Kept on the CPU.
    l : float (N,1,H,W) tensor, Lab lightness in [0, 100] at full resolution, with
        ceil(H / s) == h and ceil(W / s) == w.
    truth : optional float RGB (N,3,H,W) in [0, 1], drawn beside the colorization.
    names : optional list of N labels for the image picker.
    temperature : the starting T, in [0.01, 1].

    Widgets (attributes)
    --------------------
    widget : ``ipywidgets.VBox``, the whole explorer; displaying the explorer displays it
    temperature_slider : ``FloatLogSlider`` for T from 0.01 to 1
    preset_buttons : dict label -> ``Button`` jumping to the mode (0.01), Zhang (0.38),
        Li & Wang (0.89) and the mean (1)
    image_picker : ``Dropdown`` whose value is the image index
    row_slider, col_slider : ``IntSlider`` choosing the pixel, in full-resolution coordinates
    colorization_image : ``Image`` (PNG), the colorization at T (enlarged), truth to its right;
        the chosen pixel's 1/s cell is outlined
    distribution_image : ``Image`` (PNG), the sharpened distribution of that cell on the ab plane
    curve_image : ``Image`` (PNG), the image's colourfulness against T
    status : ``HTML`` line with T, the colourfulness and the chosen pixel's decoded (a, b)

    Methods
    -------
    set_temperature(T), select_image(i), select_pixel(row, col): move the controls from code
    (setting a control's ``value`` directly redraws exactly as dragging it does).
    current_ab() -> (2,H,W) decoded ab of the image shown at the current T.
    distribution() -> (313,) sharpened distribution of the chosen pixel's cell.
    curve -> (temperatures, colourfulness) NumPy arrays of the image shown, cached per image.
    """

    def __init__(self, logits, l, truth=None, names=None, temperature: float = ZHANG_TEMPERATURE):
        logits, single = channels_image(logits, NUM_BINS, "TemperatureExplorer logits",
                                        f"{NUM_BINS} bin logits per pixel")
        if single:
            logits = logits.unsqueeze(0)
        l, single_l = channels_image(l, 1, "TemperatureExplorer l", "Lab lightness L in [0, 100]")
        if single_l:
            l = l.unsqueeze(0)
        check_range(l, 0.0, 100.0, "TemperatureExplorer l")
        n, (big_h, big_w) = logits.shape[0], l.shape[-2:]
        if l.shape[0] != n:
            raise ValueError(
                f"TemperatureExplorer: logits hold {n} images (shape {tuple(logits.shape)}) but l holds "
                f"{l.shape[0]} (shape {tuple(l.shape)}); expected l of shape ({n}, 1, H, W).")
        scale = _logit_scale(tuple(logits.shape[-2:]), (big_h, big_w))
        if scale is None:
            raise ValueError(
                f"TemperatureExplorer: logits of shape {tuple(logits.shape)} do not fit l of shape "
                f"{tuple(l.shape)}; expected logits at 1/s of L's resolution, e.g. "
                f"{(n, NUM_BINS, -(-big_h // 4), -(-big_w // 4))} for a ClassificationCNN (s = 4).")
        if truth is not None:
            truth, _ = rgb_image(truth, "TemperatureExplorer truth")
            if truth.shape != (n, 3, big_h, big_w):
                raise ValueError(
                    f"TemperatureExplorer: truth has shape {tuple(truth.shape)}; expected "
                    f"{(n, 3, big_h, big_w)}, the RGB photos whose L is l.")
            truth = truth.detach().float().cpu()
        names = image_names(names, n, "TemperatureExplorer")
        self._check_temperature(temperature)

        self.logits = logits.detach().float().cpu()
        self.l = l.detach().float().cpu()
        self.truth = truth
        self.names = names
        self.scale = scale
        self.zoom = max(1, _IMAGE_SIDE // max(big_h, big_w))
        self._curves: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._truth_colorfulness: dict[int, float] = {}
        self._holding = False
        self._build_widgets(temperature)
        self._build_figures()
        self._redraw()

    # ------------------------------------------------------------ construction

    @classmethod
    def from_model(cls, model, rgb_images, names=None, temperature: float = ZHANG_TEMPERATURE,
                   batch_size: int = 16) -> "TemperatureExplorer":
        """Run a classification network once on ``rgb_images`` (float (N,3,H,W) in [0, 1]) and explore it.

        The logits are computed without gradients in eval mode on the model's device (its
        training mode is restored afterwards) and kept on the CPU; the photos are the truth.
        """
        if getattr(model, "kind", None) != "classification":
            raise ValueError(
                f"TemperatureExplorer.from_model: expected a classification network (kind == "
                f"'classification', e.g. ClassificationCNN), got {type(model).__name__} of kind "
                f"{getattr(model, 'kind', None)!r}.")
        rgb, _ = rgb_image(rgb_images, "TemperatureExplorer.from_model rgb_images")
        rgb = rgb.detach().float()
        device = model_device(model)
        was_training = model.training
        model.eval()
        chunks = []
        try:
            with torch.no_grad():
                for start in range(0, rgb.shape[0], batch_size):
                    l, _ = rgb_to_l_ab(rgb[start:start + batch_size].to(device))
                    chunks.append(model(normalize_l(l)).float().cpu())
        finally:
            model.train(was_training)
        l, _ = rgb_to_l_ab(rgb.cpu())
        return cls(torch.cat(chunks), l, truth=rgb.cpu(), names=names, temperature=temperature)

    def _build_widgets(self, temperature: float) -> None:
        big_h, big_w = self.l.shape[-2:]
        self.temperature_slider = widgets.FloatLogSlider(
            value=temperature, base=10, min=math.log10(T_MIN), max=math.log10(T_MAX), step=0.01,
            description="T", readout_format=".3f", layout=widgets.Layout(width="360px"))
        self.preset_buttons = {label: widgets.Button(description=label, layout=widgets.Layout(width="auto"))
                               for label in PRESETS}
        for label, button in self.preset_buttons.items():
            button.on_click(lambda _button, t=PRESETS[label]: self.set_temperature(t))
        self.image_picker = widgets.Dropdown(options=[(name, i) for i, name in enumerate(self.names)],
                                             value=0, description="image")
        self.row_slider = widgets.IntSlider(value=big_h // 2, min=0, max=big_h - 1, description="row")
        self.col_slider = widgets.IntSlider(value=big_w // 2, min=0, max=big_w - 1, description="column")
        self.colorization_image = widgets.Image(format="png")
        self.distribution_image = widgets.Image(format="png")
        self.curve_image = widgets.Image(format="png")
        self.status = widgets.HTML()
        for control in (self.temperature_slider, self.image_picker, self.row_slider, self.col_slider):
            control.observe(lambda _change: self._redraw(), names="value")
        self.widget = widgets.VBox([
            widgets.HBox([self.temperature_slider, *self.preset_buttons.values()]),
            widgets.HBox([self.image_picker, self.row_slider, self.col_slider]),
            self.status,
            self.colorization_image,
            widgets.HBox([self.distribution_image, self.curve_image]),
        ])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------ controls from code

    @staticmethod
    def _check_temperature(t) -> None:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not (T_MIN <= t <= T_MAX):
            raise ValueError(f"TemperatureExplorer: temperature must be a number in [{T_MIN}, {T_MAX}], got {t!r}.")

    @property
    def temperature(self) -> float:
        return float(self.temperature_slider.value)

    @property
    def index(self) -> int:
        """The index of the image shown."""
        return int(self.image_picker.value)

    @property
    def pixel(self) -> tuple[int, int]:
        """The chosen (row, col), full-resolution coordinates."""
        return int(self.row_slider.value), int(self.col_slider.value)

    def set_temperature(self, t: float) -> None:
        self._check_temperature(t)
        self.temperature_slider.value = float(t)

    def select_image(self, i: int) -> None:
        if not (isinstance(i, (int, np.integer)) and 0 <= i < len(self.names)):
            raise ValueError(f"TemperatureExplorer.select_image: index must be an integer in [0, {len(self.names)}), got {i!r}.")
        self.image_picker.value = int(i)

    def select_pixel(self, row: int, col: int) -> None:
        """Choose the pixel (full-resolution coordinates) whose distribution is shown; one redraw."""
        big_h, big_w = self.l.shape[-2:]
        if not (0 <= row < big_h and 0 <= col < big_w):
            raise ValueError(f"TemperatureExplorer.select_pixel: (row, col) must lie in the {big_h}x{big_w} image, got ({row}, {col}).")
        with self._hold():
            self.row_slider.value = int(row)
            self.col_slider.value = int(col)

    @contextmanager
    def _hold(self):
        """Change several controls with one redraw at the end."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        self._redraw()

    # ------------------------------------------------------------ computation

    def _ab(self, i: int, t: float) -> torch.Tensor:
        """Decoded ab (1,2,H,W) of image i at temperature t, upsampled as colorize.predict_ab does."""
        ab = annealed_mean(self.logits[i:i + 1], t)
        if ab.shape[-2:] != self.l.shape[-2:]:
            ab = F.interpolate(ab, size=self.l.shape[-2:], mode="bilinear", align_corners=False)
        return ab

    def _rgb(self, i: int, t: float) -> torch.Tensor:
        return l_ab_to_rgb(self.l[i:i + 1], self._ab(i, t))

    def current_ab(self) -> torch.Tensor:
        """The decoded ab (2,H,W) of the image shown, at the current T (a CPU float tensor)."""
        return self._ab(self.index, self.temperature)[0]

    def distribution(self) -> torch.Tensor:
        """The sharpened distribution softmax(logits / T), (313,), of the chosen pixel's cell."""
        row, col = self.pixel
        z = self.logits[self.index, :, row // self.scale, col // self.scale]
        return torch.softmax((z - z.max()) / self.temperature, dim=0)

    @property
    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(temperatures, colourfulness) of the image shown: a log grid from 0.01 to 1 plus 0.38 and 0.89.

        Computed once per image, then cached.
        """
        i = self.index
        if i not in self._curves:
            temps = np.union1d(np.geomspace(T_MIN, T_MAX, CURVE_POINTS), [ZHANG_TEMPERATURE, LI_WANG_TEMPERATURE])
            values = np.array([float(colorfulness(self._rgb(i, float(t)))) for t in temps])
            self._curves[i] = (temps, values)
            if self.truth is not None:
                self._truth_colorfulness[i] = float(colorfulness(self.truth[i]))
        return self._curves[i]

    # ------------------------------------------------------------ drawing

    def _redraw(self) -> None:
        if self._holding:
            return
        i, t = self.index, self.temperature
        row, col = self.pixel
        ab = self._ab(i, t)
        rgb = l_ab_to_rgb(self.l[i:i + 1], ab)[0]
        a, b = ab[0, :, row, col].tolist()
        probs = self.distribution()
        current = float(colorfulness(rgb))
        self.colorization_image.value = self._draw_colorization(rgb)
        self.distribution_image.value = self._draw_distribution(probs)
        self.curve_image.value = self._draw_curve(t, current)
        q = int(probs.argmax())
        mean_a, mean_b = (probs @ _CENTERS).tolist()
        cell = f"its 1/{self.scale} cell's" if self.scale > 1 else "its"
        self.status.value = (
            f"<b>T = {t:.3f}</b> &nbsp;|&nbsp; colourfulness {current:.1f} &nbsp;|&nbsp; "
            f"pixel (row {row}, col {col}): a = {a:+.1f}, b = {b:+.1f}<br>"
            f"{cell} distribution: largest p = {float(probs[q]):.2f} at bin (a, b) = "
            f"({BIN_CENTERS[q][0]:+.0f}, {BIN_CENTERS[q][1]:+.0f}), annealed mean ({mean_a:+.1f}, {mean_b:+.1f})")

    def _draw_colorization(self, rgb: torch.Tensor) -> bytes:
        """The colorization (and truth) enlarged by ``zoom``, the chosen pixel's cell outlined."""
        panels = [rgb] if self.truth is None else [rgb, self.truth[self.index]]
        z, (big_h, big_w) = self.zoom, rgb.shape[-2:]
        width = len(panels) * big_w * z + (len(panels) - 1) * _GAP
        canvas = np.full((big_h * z, width, 3), 255, dtype=np.uint8)
        for k, panel in enumerate(panels):
            x0 = k * (big_w * z + _GAP)
            canvas[:, x0:x0 + big_w * z] = to_uint8(panel).repeat(z, axis=0).repeat(z, axis=1)
        image = Image.fromarray(canvas)
        draw = ImageDraw.Draw(image)
        row, col = self.pixel
        s = self.scale
        for k in range(len(panels)):
            x0 = k * (big_w * z + _GAP)
            # the 1/s cell whose distribution is shown, and a crosshair on the pixel itself
            top, left = (row // s) * s * z, x0 + (col // s) * s * z
            bottom, right = min(top + s * z, big_h * z) - 1, min(left + s * z, x0 + big_w * z) - 1
            cy, cx = row * z + z // 2, x0 + col * z + z // 2
            for colour, grow in (("black", 1), ("white", 0)):
                draw.rectangle([left - grow, top - grow, right + grow, bottom + grow], outline=colour)
                arm = 6 + grow
                draw.line([cx, top - 2 - arm, cx, top - 2], fill=colour, width=1 + 2 * grow)
                draw.line([cx, bottom + 2, cx, bottom + 2 + arm], fill=colour, width=1 + 2 * grow)
                draw.line([left - 2 - arm, cy, left - 2, cy], fill=colour, width=1 + 2 * grow)
                draw.line([right + 2, cy, right + 2 + arm, cy], fill=colour, width=1 + 2 * grow)
        return png_bytes(np.asarray(image))

    def _build_figures(self) -> None:
        half = GRID / 2
        lim = (LATTICE_LO - half, -LATTICE_LO + half)
        fig = Figure(figsize=(3.3, 3.4), dpi=80)
        ax = fig.add_axes((0.17, 0.13, 0.79, 0.73))
        ax.axhline(0, color="0.8", lw=0.5)
        ax.axvline(0, color="0.8", lw=0.5)
        ax.set(xlim=(lim[0] - 5, lim[1] + 5), ylim=(lim[0] - 5, lim[1] + 5), aspect="equal")  # clear of the frame
        ax.set_xlabel("a (green - red)", fontsize=8)
        ax.set_ylabel("b (blue - yellow)", fontsize=8)
        ax.tick_params(labelsize=7)
        self._plane = ax.imshow(np.zeros((LATTICE_N, LATTICE_N, 4)), origin="lower", interpolation="nearest",
                                extent=(*lim, *lim), zorder=1)
        (self._mode_marker,) = ax.plot([0], [0], "s", ms=9, mfc="none", mec="black", mew=1.2, zorder=3, label="mode")
        (self._mean_marker,) = ax.plot([0], [0], "o", ms=8, mfc="white", mec="black", mew=1.5, zorder=4,
                                       label="annealed mean")
        ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
        # static titles only: matplotlib draws text slowly (~15 ms a line), the numbers go in ``status``
        ax.set_title("the chosen pixel's distribution at T", fontsize=8)
        self._distribution_panel = _Panel(fig, [self._plane, self._mode_marker, self._mean_marker])

        fig = Figure(figsize=(4.2, 3.4), dpi=80)
        ax = fig.add_axes((0.14, 0.13, 0.82, 0.68))
        ax.set_xscale("log")
        ax.set_xlim(T_MIN, T_MAX)
        ticks = [0.01, 0.03, 0.1, ZHANG_TEMPERATURE, 1.0]  # fixed ticks: a log axis's own locator is slow to draw
        ax.set_xticks(ticks, [f"{x:g}" for x in ticks])
        ax.minorticks_off()
        ax.set_xlabel("temperature T (log scale)", fontsize=8)
        ax.set_ylabel("colourfulness", fontsize=8)
        ax.tick_params(labelsize=7)
        # Everything that depends on the image is drawn on top of a background drawn once, so
        # switching images redraws no text; the y axis grows to fit the images seen, never shrinks.
        (self._curve_line,) = ax.plot([], [], "-", color="0.3", lw=1.5, label="colourfulness at T")
        (self._zhang_mark,) = ax.plot([], [], "o", color="tab:blue", ms=6, label=f"Zhang T={ZHANG_TEMPERATURE}")
        (self._li_wang_mark,) = ax.plot([], [], "s", color="tab:orange", ms=6,
                                        label=f"Li & Wang T={LI_WANG_TEMPERATURE}")
        self._truth_line = ax.axhline(0, color="tab:green", ls="--", lw=1,
                                      label="truth" if self.truth is not None else None,
                                      visible=self.truth is not None)
        self._t_line = ax.axvline(ZHANG_TEMPERATURE, color="tab:red", lw=1.2, label="current T")
        (self._t_mark,) = ax.plot([0], [0], "o", color="tab:red", ms=5, clip_on=False)  # whole at T = 1
        ax.set_ylim(0, 1)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=7, frameon=False,
                  handlelength=1.5, columnspacing=1.0)  # above the axes: no line crosses it
        self._curve_axes = ax
        self._curve_panel = _Panel(fig, [self._curve_line, self._zhang_mark, self._li_wang_mark, self._truth_line,
                                         self._t_line, self._t_mark])

    def _draw_distribution(self, probs: torch.Tensor) -> bytes:
        """The 313 bins on the ab plane, each in its colour, opaque in proportion to its probability."""
        p = probs.numpy()
        alpha = (0.1 + 0.9 * (p / p.max()))[:, None]  # a faint floor keeps the gamut's shape visible
        plane = np.zeros((LATTICE_N, LATTICE_N, 4))  # rows: b, columns: a; transparent off the gamut
        plane[_BIN_CELL[:, 1], _BIN_CELL[:, 0]] = np.concatenate([alpha * _BIN_RGB + (1 - alpha), np.ones_like(alpha)], 1)
        self._plane.set_data(plane)
        q = int(p.argmax())
        a, b = (probs @ _CENTERS).tolist()
        self._mode_marker.set_data([BIN_CENTERS[q][0]], [BIN_CENTERS[q][1]])
        self._mean_marker.set_data([a], [b])
        return self._distribution_panel.png()

    def _draw_curve(self, t: float, current: float) -> bytes:
        """Colourfulness against T (log axis), the current T and the two papers' temperatures marked."""
        temps, values = self.curve
        self._curve_line.set_data(temps, values)
        for mark, preset in ((self._zhang_mark, ZHANG_TEMPERATURE), (self._li_wang_mark, LI_WANG_TEMPERATURE)):
            k = int(np.argmin(np.abs(temps - preset)))
            mark.set_data([temps[k]], [values[k]])
        top = max(float(values.max()), current)
        if self.index in self._truth_colorfulness:
            truth = self._truth_colorfulness[self.index]
            self._truth_line.set_ydata([truth, truth])
            top = max(top, truth)
        if top > self._curve_axes.get_ylim()[1]:  # the y axis only grows: one scale for the images seen
            self._curve_axes.set_ylim(0, 1.15 * top + 1)
            self._curve_panel.invalidate()
        self._t_line.set_xdata([t, t])
        self._t_mark.set_data([t], [current])
        return self._curve_panel.png()
