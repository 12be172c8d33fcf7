"""The convolutional autoencoder of Depaoli and Mistrali (002).

Thirteen convolutions: six in the encoder (three of them stride 2, down to 1/8)
and seven in the decoder (three nearest-neighbour upsamplings back to full
size), ReLU between them and tanh at the end, because normalised a and b lie in
[-1, 1]. Unlike the CNN of 003 it has no batch norm and no dilation: it has to
squeeze the image through its bottleneck and rebuild it, which is why it
desaturates on photos unlike its training set.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validate import check_l_batch
from ..objectives import Regression
from .padding import crop_to, pad_to_multiple


def _conv(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.ReLU(inplace=True)]


class Autoencoder(nn.Module):
    """L (N,1,H,W), normalised to [-1, 1] -> normalised ab (N,2,H,W) in (-1, 1). Any H and W.

    ``width`` is the channel count of the first layer (64 in 002's 6 M parameter
    network; 8 trains in a minute on a CPU).
    """

    kind = "regression"
    multiple = 8

    def __init__(self, width: int = 64):
        super().__init__()
        self.config = {"name": "autoencoder", "width": width}
        w = width
        self.encoder = nn.Sequential(
            *_conv(1, w), *_conv(w, w, stride=2),
            *_conv(w, 2 * w), *_conv(2 * w, 2 * w, stride=2),
            *_conv(2 * w, 4 * w), *_conv(4 * w, 4 * w, stride=2),
        )
        self.decoder = nn.Sequential(
            *_conv(4 * w, 4 * w), nn.Upsample(scale_factor=2),
            *_conv(4 * w, 2 * w), *_conv(2 * w, 2 * w), nn.Upsample(scale_factor=2),
            *_conv(2 * w, w), nn.Upsample(scale_factor=2),
            *_conv(w, w), *_conv(w, max(w // 2, 2)),
            nn.Conv2d(max(w // 2, 2), 2, 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        check_l_batch(l, "Autoencoder")
        x, size = pad_to_multiple(l, self.multiple)
        return crop_to(self.decoder(self.encoder(x)), size)

    def objective(self, data, config) -> Regression:
        """What :func:`colorlab.train.fit` minimises: ``config.loss`` on normalised ab (see colorlab.objectives)."""
        return Regression(config.loss)
