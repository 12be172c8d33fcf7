"""A colorization Turing test for the classroom (Zhang et al.'s "fool rate", by hand).

Real photos and colorized ones are shown one at a time in random order; the
player says "real" or "colorized"; the score is kept. The fool rate is the share
of colorized images taken for real: 50% would mean the colorizer is as
convincing as a photo.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch

from ._validate import rgb_image
from .files import png_bytes

IMAGE_SIDE = 192  # small images are enlarged (nearest neighbour) to about this many pixels


class TuringTest:
    """Show real and colorized images in random order, take guesses, keep the score.

    Parameters
    ----------
    real : float RGB (N,3,H,W) in [0, 1], true photos
    colorized : float RGB (M,3,H,W) in [0, 1], a colorizer's outputs (of other photos, ideally:
        seeing the same photo twice gives it away)
    seed : int, the order of the rounds

    ``widget`` (what the notebook displays) holds the image, the buttons "real" and
    "colorized", and the score. :meth:`guess` does what a click does, for tests and scripts.
    """

    def __init__(self, real, colorized, seed: int = 0):
        real, _ = rgb_image(real, "TuringTest real")
        colorized, _ = rgb_image(colorized, "TuringTest colorized")
        if real.ndim != 4 or colorized.ndim != 4 or not len(real) or not len(colorized):
            raise ValueError("TuringTest: give batches (N,3,H,W) of at least one real and one colorized image.")
        images = torch.cat([real.cpu().float(), colorized.cpu().float()])
        truth = [True] * len(real) + [False] * len(colorized)
        order = np.random.default_rng(seed).permutation(len(images))
        self.rounds = [(images[i], truth[i]) for i in order]
        self.answers: list[tuple[bool, bool]] = []  # (was real, guessed real) per finished round
        self.image = widgets.Image(format="png")
        self.real_button = widgets.Button(description="real", button_style="success")
        self.colorized_button = widgets.Button(description="colorized", button_style="warning")
        self.real_button.on_click(lambda _: self.guess(True))
        self.colorized_button.on_click(lambda _: self.guess(False))
        self.feedback = widgets.HTML()
        self.score_line = widgets.HTML()
        self.widget = widgets.VBox([self.image, widgets.HBox([self.real_button, self.colorized_button]),
                                    self.feedback, self.score_line])
        self._show()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def done(self) -> bool:
        return len(self.answers) == len(self.rounds)

    @property
    def score(self) -> int:
        """Rounds guessed right."""
        return sum(was == guessed for was, guessed in self.answers)

    @property
    def fool_rate(self) -> float | None:
        """The share of colorized images guessed real (None before any was shown)."""
        fakes = [guessed for was, guessed in self.answers if not was]
        return sum(fakes) / len(fakes) if fakes else None

    def guess(self, real: bool) -> bool:
        """Answer the current round ("real" is True); returns whether the guess was right."""
        if self.done:
            raise ValueError("TuringTest: every image has been shown; make a new TuringTest to play again.")
        was_real = self.rounds[len(self.answers)][1]
        self.answers.append((was_real, bool(real)))
        right = was_real == bool(real)
        self.feedback.value = f"{'Right' if right else 'Wrong'}: that one was {'real' if was_real else 'colorized'}."
        self._show()
        return right

    def _show(self) -> None:
        n = len(self.answers)
        fool = self.fool_rate
        self.score_line.value = (f"{self.score} of {n} right" + (f"; colorized images taken for real: {fool:.0%}"
                                                                  if fool is not None else ""))
        if self.done:
            self.real_button.disabled = self.colorized_button.disabled = True
            self.feedback.value += f" That was the last of {len(self.rounds)} images."
        else:
            self.image.value = png_bytes(self.rounds[n][0], zoom_to=IMAGE_SIDE, fast=False)
