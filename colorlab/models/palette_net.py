"""Palette-guided colorization after Fenu and Bagwell (001), small enough to train on a CPU.

001 estimates the image's colour histogram (its palette) explicitly, "with
binary cross entropy as the supervisory input", and feeds it to the colorizer
through "additional residual connections for the estimated histograms before
the batch normalization step"; a user can edit the histogram to push the
result "towards red" or "towards blue" (001, Figures 6 and 7). Here:

- **Trunk**: blocks 1-7 of the course's CNN (:class:`colorlab.models.cnn.Trunk`),
  L at full resolution -> features at 1/8. One trunk serves both heads (001
  trains a second, "very similar" network for the histogram; sharing halves
  the cost on a CPU).
- **Palette estimator**: as 001's histogram network, "in place of the upsampling
  convolutional layers, it has a fully connected layer, passing output to a
  linear classification layer": the trunk's features pooled over the image
  (mean and max), a fully connected layer with ReLU, a linear layer to 313
  logits. Trained with binary cross-entropy against the true histogram as soft
  targets (BCE per bin, target = the bin's share of the pixels): the minimiser
  of that loss is sigmoid(logit_q) = E[share_q | L], so the sigmoids estimate the
  expected shares, and :meth:`PaletteNet.estimate_palette` renormalises them to
  a histogram.
- **Colorizer**: the palette p (313 shares) is embedded as sqrt(p) (a unit
  vector whatever the palette, and small shares stay visible) by a fully
  connected layer with ReLU, and the embedding is *added*, channel by channel
  and broadcast over the image, to the features at two places, each time just
  before a batch norm: the trunk's output at 1/8 and the upsampled features at
  full resolution (001's residual connections for the histogram). Three
  transposed convolutions bring 1/8 back to full resolution, a 1x1 convolution
  and tanh give normalised ab, as :class:`~colorlab.models.RegressionCNN` does.

Training (:func:`colorlab.train.fit`, as every network, which minimises
:meth:`PaletteNet.training_loss` through the network's :meth:`~PaletteNet.objective`): the colorizer is given the **true** histogram of each training image, so
it learns to follow whatever palette it is handed; the estimator learns to
predict that histogram from L. A few training photos hold few hues (the embedded
ones have hardly any green), so a colorizer trained on them alone learns to follow
only the palettes it saw: pushed towards green, it may turn the image orange.
Hence ``recolour``: that share of each batch is recoloured by a random rotation of
its ab (a hue rotation: same L, same chroma, any hue), and the colorizer is given
the recoloured image's histogram and asked for the recoloured ab. Then the palette
is the only place the hue can come from, and every hue is seen. The estimator
still learns the true histograms (a recoloured photo's palette cannot be read
from its L). At test time ``model(l)`` colours with the
**estimated** palette, ``model(l, palette=...)`` with any other (a user-edited
one, :func:`colorlab.palette.push_palette`).

``kind == "palette"``: ``model(l)`` returns normalised ab like a regression
network, so :func:`colorlab.colorize.predict_ab` and ``colorize`` work unchanged.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._validate import check_l_batch, whole_number
from ..color import denormalize_ab
from ..objectives import Palette
from ..palette import fast_histogram
from ..quantize import NUM_BINS
from .cnn import Trunk, up_block
from .padding import crop_to, pad_to_multiple


class PaletteNet(nn.Module):
    """Palette estimator and palette-conditioned colorizer on one trunk (001).

    Parameters
    ----------
    width : int
        Channel scale of the trunk, as for :class:`~colorlab.models.RegressionCNN`
        (64 is the paper's size; 8 trains in half a minute on a CPU).
    palette_weight : float
        Weight of the palette's BCE loss (a mean over the 313 bins, about 0.01
        once trained) against the colour loss (MSE of normalised ab, about 0.02)
        in :meth:`training_loss`; used in training only. 10 estimates held-out
        palettes a little better than 1 after 35 s of training on a CPU.
    recolour : float in [0, 1]
        The share of each training batch whose hue is rotated at random before the
        colorizer sees it (see the module's docstring); used in training only.

    Calls
    -----
    ``model(l)``: normalised L (N,1,H,W) -> normalised ab (N,2,H,W) in (-1, 1),
    coloured with the estimated palette. ``model(l, palette=p)``: with the palette
    ``p``, a (N,313) or (313,) histogram (non-negative; scaled to sum 1 here).
    ``return_logits=True`` also returns the estimator's (N,313) logits.
    """

    kind = "palette"
    multiple = 8
    out_stride = 4  # ab is predicted at 1/4 and upsampled bilinearly inside forward

    def __init__(self, width: int = 64, palette_weight: float = 10.0, recolour: float = 0.5):
        super().__init__()
        width = whole_number(width, "PaletteNet: width")
        if not (isinstance(palette_weight, (int, float)) and math.isfinite(palette_weight) and palette_weight >= 0):
            raise ValueError(f"PaletteNet: palette_weight must be a number >= 0, got {palette_weight!r}.")
        if not (isinstance(recolour, (int, float)) and 0 <= recolour <= 1):
            raise ValueError(f"PaletteNet: recolour must be a share in [0, 1], got {recolour!r}.")
        self.config = {"name": "palette", "width": width, "palette_weight": float(palette_weight),
                       "recolour": float(recolour)}
        self.palette_weight = float(palette_weight)
        self.recolour = float(recolour)
        self.trunk = Trunk(width)
        c_low, c_high, hidden = self.trunk.out_channels, 4 * width, 16 * width
        # the histogram network: "a fully connected layer, passing output to a linear classification layer"
        self.estimator = nn.Sequential(nn.Linear(2 * c_low, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, NUM_BINS))
        with torch.no_grad():  # start at the uniform palette, sigmoid = 1/313, not 1/2 for every bin
            self.estimator[-1].bias.fill_(-math.log(NUM_BINS - 1))
        # the palette's residual connections into the colorizer
        self.embed = nn.Sequential(nn.Linear(NUM_BINS, hidden), nn.ReLU(inplace=True))
        self.inject_low = nn.Linear(hidden, c_low)
        self.norm_low = nn.BatchNorm2d(c_low)
        self.up = up_block(c_low, c_high, 1)  # 1/8 -> 1/4
        self.inject_high = nn.Linear(hidden, c_high)
        self.norm_high = nn.BatchNorm2d(c_high)
        self.head = nn.Conv2d(c_high, 2, 1)

    # ------------------------------------------------------------ the parts

    def encode(self, l: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Trunk features at 1/8 of normalised L (N,1,H,W), and L's (H, W). Independent of the palette."""
        check_l_batch(l, "PaletteNet")
        x, size = pad_to_multiple(l, self.multiple)
        return self.trunk(x), size

    def palette_logits(self, features: torch.Tensor) -> torch.Tensor:
        """The estimator: trunk features -> (N,313) logits, one binary 'share' output per bin."""
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        return self.estimator(pooled)

    @staticmethod
    def palette_from_logits(logits: torch.Tensor) -> torch.Tensor:
        """(N,313) logits -> estimated histogram: the sigmoids (expected shares), scaled to sum 1."""
        p = torch.sigmoid(logits.float())
        return p / p.sum(dim=-1, keepdim=True)

    def decode(self, features: torch.Tensor, size: tuple[int, int], palette: torch.Tensor) -> torch.Tensor:
        """The colorizer: trunk features and a palette (N,313) or (313,) -> normalised ab (N,2,H,W)."""
        n = features.shape[0]
        if palette.ndim == 1:
            palette = palette.unsqueeze(0)
        if palette.ndim != 2 or palette.shape[-1] != NUM_BINS or palette.shape[0] not in (1, n):
            raise ValueError(f"PaletteNet: palette must have shape ({NUM_BINS},) or ({n}, {NUM_BINS}), "
                             f"got {tuple(palette.shape)}.")
        p = palette.to(features.device, torch.float32).clamp(min=0)
        p = p / p.sum(dim=-1, keepdim=True).clamp(min=1e-12)
        e = self.embed(p.sqrt().expand(n, -1))
        x = self.norm_low(features + self.inject_low(e)[:, :, None, None].to(features.dtype))
        x = self.up(x)
        x = self.norm_high(x + self.inject_high(e)[:, :, None, None].to(x.dtype))
        ab = torch.tanh(self.head(x))  # at 1/4, like Zhang's network; colour varies slowly
        ab = F.interpolate(ab, scale_factor=self.out_stride, mode="bilinear", align_corners=False)
        return crop_to(ab, size)

    def estimate_palette(self, l: torch.Tensor) -> torch.Tensor:
        """The estimated histogram (N,313) of normalised L (N,1,H,W): non-negative, each row sums to 1."""
        features, _ = self.encode(l)
        return self.palette_from_logits(self.palette_logits(features))

    def forward(self, l: torch.Tensor, palette: torch.Tensor | None = None, return_logits: bool = False):
        if palette is None and self.training and torch.is_grad_enabled():
            raise ValueError(
                "PaletteNet: in training the colorizer must be given the true palette, model(l, palette=...); "
                "train it with colorlab.train.fit (which minimises PaletteNet.training_loss) "
                "(a plain regression loop would leave the palette estimator untrained).")
        features, size = self.encode(l)
        logits = self.palette_logits(features)
        if palette is None:
            palette = self.palette_from_logits(logits).detach()
        ab = self.decode(features, size, palette)
        return (ab, logits) if return_logits else ab

    # ------------------------------------------------------------ training

    def objective(self, data, config) -> Palette:
        """What :func:`colorlab.train.fit` minimises: :meth:`training_loss` with ``config.loss`` as the colour
        loss (``config.rebalance`` does not apply); the batch norms are recomputed with the true palettes."""
        return Palette(self, config.loss)

    def training_loss(self, l: torch.Tensor, ab: torch.Tensor, loss_fn=None, net: nn.Module | None = None,
                      parts: bool = False):
        """The loss of one batch: colour loss given the true palette + palette_weight * BCE of the estimate.

        Parameters
        ----------
        l, ab : normalised L (N,1,H,W) and ab (N,2,H,W), as :class:`~colorlab.data.LabPairs` yields them
        loss_fn : the colour loss, ``loss_fn(pred, target)`` on normalised ab; default MSE (the L2/UV loss)
        net : the module to call, ``self`` by default; pass a DistributedDataParallel wrapping
            ``self`` so that its gradients are synchronised
        parts : also return a dict of the two terms (detached, still on the device)

        The true histograms come from :func:`colorlab.palette.fast_histogram` (no host sync on a GPU);
        a horizontally flipped image has the same histogram, so flips need no care. A ``recolour``
        share of the images is hue-rotated for the colorizer (a random angle each, drawn from
        torch's global generator on ab's device); the estimator's target stays the true histogram.
        """
        ab = ab.float()
        hist = fast_histogram(denormalize_ab(ab.detach()))
        given_ab, given_hist = ab, hist
        if self.recolour > 0:
            n = ab.shape[0]
            angle = torch.rand(n, device=ab.device) * (2 * math.pi)
            angle = torch.where(torch.rand(n, device=ab.device) < self.recolour, angle, torch.zeros_like(angle))
            cos, sin = angle.cos()[:, None, None], angle.sin()[:, None, None]
            a, b = ab[:, 0], ab[:, 1]
            # |ab| stays what it was; the clamp only trims corners that tanh cannot reach anyway
            given_ab = torch.stack([cos * a - sin * b, sin * a + cos * b], dim=1).clamp(-1, 1)
            given_hist = fast_histogram(denormalize_ab(given_ab.detach()))
        out, logits = (self if net is None else net)(l, palette=given_hist, return_logits=True)
        colour = F.mse_loss(out.float(), given_ab) if loss_fn is None else loss_fn(out.float(), given_ab)
        bce = F.binary_cross_entropy_with_logits(logits.float(), hist)
        loss = colour + self.palette_weight * bce
        if parts:
            return loss, {"colour": colour.detach(), "palette_bce": bce.detach()}
        return loss


__all__ = ["PaletteNet"]
