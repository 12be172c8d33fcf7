"""The colorization CNN of Li and Wang (003, Figure 4), for regression, and its classification variant.

Blocks 1-3 halve the resolution three times (64, 128, 256 channels at full
width), blocks 4-7 work at 1/8 with 512 channels, blocks 5 and 6 dilated by 2 to
see further without losing resolution, and block 8 brings the resolution back
with transposed convolutions. Every convolution is followed by a ReLU and each
block ends with batch norm. No pooling.

- :class:`RegressionCNN`: block 8 returns to full resolution and a 1x1
  convolution predicts ab directly (normalised ab, tanh; 003 used a sigmoid on
  ab mapped to [0, 1], the same thing shifted).
- :class:`ClassificationCNN`: the same trunk; one transposed convolution takes
  1/8 to 1/4 and a 1x1 convolution predicts 313 logits per pixel at 1/4 of the
  input resolution: that head is Zhang et al.'s (003's classifier, Figure 5,
  ends at full resolution). Upsample the decoded ab to full size.

``width`` scales every channel count: 64 is the paper's network (about 33 M
parameters for regression), 8 or 16 train in minutes on a laptop CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validate import check_l_batch
from ..objectives import Classification, Regression
from ..quantize import NUM_BINS
from .padding import crop_to, pad_to_multiple


def conv_block(c_in: int, c_out: int, n: int, stride_last: int = 1, dilation: int = 1) -> nn.Sequential:
    """``n`` 3x3 convolutions with ReLU, the last one with ``stride_last``, then batch norm."""
    layers: list[nn.Module] = []
    for i in range(n):
        stride = stride_last if i == n - 1 else 1
        layers += [
            nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, stride=stride, padding=dilation, dilation=dilation),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.BatchNorm2d(c_out))
    return nn.Sequential(*layers)


def up_block(c_in: int, c_out: int, n: int) -> nn.Sequential:
    """``n`` 4x4 stride-2 transposed convolutions with ReLU: each doubles the resolution."""
    layers: list[nn.Module] = []
    for i in range(n):
        layers += [nn.ConvTranspose2d(c_in if i == 0 else c_out, c_out, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class Trunk(nn.Module):
    """Blocks 1-7 of 003's Figure 4: L at full resolution -> features at 1/8."""

    def __init__(self, width: int = 64):
        super().__init__()
        w = width
        self.blocks = nn.Sequential(
            conv_block(1, w, 2, stride_last=2),  # block 1 -> 1/2
            conv_block(w, 2 * w, 2, stride_last=2),  # block 2 -> 1/4
            conv_block(2 * w, 4 * w, 3, stride_last=2),  # block 3 -> 1/8
            conv_block(4 * w, 8 * w, 3),  # block 4
            conv_block(8 * w, 8 * w, 3, dilation=2),  # block 5: dilated, a wider view at the same resolution
            conv_block(8 * w, 8 * w, 3, dilation=2),  # block 6
            conv_block(8 * w, 8 * w, 3),  # block 7
        )
        self.out_channels = 8 * w

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        return self.blocks(l)


class RegressionCNN(nn.Module):
    """L (N,1,H,W), normalised to [-1, 1] -> normalised ab (N,2,H,W) in (-1, 1). Any H and W."""

    kind = "regression"
    multiple = 8

    def __init__(self, width: int = 64):
        super().__init__()
        self.config = {"name": "regression", "width": width}
        self.trunk = Trunk(width)
        self.up = up_block(self.trunk.out_channels, 4 * width, 3)  # block 8: 1/8 -> full
        self.head = nn.Conv2d(4 * width, 2, 1)

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        check_l_batch(l, "RegressionCNN")
        x, size = pad_to_multiple(l, self.multiple)
        ab = torch.tanh(self.head(self.up(self.trunk(x))))
        return crop_to(ab, size)

    def objective(self, data, config) -> Regression:
        """What :func:`colorlab.train.fit` minimises: ``config.loss`` on normalised ab (see colorlab.objectives)."""
        return Regression(config.loss)


class ClassificationCNN(nn.Module):
    """L (N,1,H,W), normalised -> logits over the 313 ab bins (N,313,ceil(H/4),ceil(W/4)).

    Decode with :func:`colorlab.quantize.annealed_mean` (or mode, mean) and upsample
    the ab to the input's size; :func:`colorlab.colorize.colorize` does both.
    """

    kind = "classification"
    multiple = 8
    out_stride = 4  # logits come out at 1/4 of the input resolution

    def __init__(self, width: int = 64):
        super().__init__()
        self.config = {"name": "classification", "width": width}
        self.trunk = Trunk(width)
        self.up = up_block(self.trunk.out_channels, 4 * width, 1)  # 1/8 -> 1/4
        self.head = nn.Conv2d(4 * width, NUM_BINS, 1)

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        check_l_batch(l, "ClassificationCNN")
        x, size = pad_to_multiple(l, self.multiple)
        logits = self.head(self.up(self.trunk(x)))
        return crop_to(logits, size, self.out_stride)

    def objective(self, data, config) -> Classification:
        """What :func:`colorlab.train.fit` minimises: Zhang et al.'s soft-target cross-entropy, rebalanced by
        ``config.rebalance`` (see colorlab.objectives)."""
        return Classification(data, self.out_stride, config.rebalance)
