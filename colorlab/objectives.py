"""What each network is trained to minimise, so that one loop trains them all.

:func:`colorlab.train.fit` knows nothing about the network it trains: it asks the network for its
objective (``model.objective(data, config)``) and, each step, for the loss of a batch. An
objective is

- ``extras``: per-image tensors computed once for the whole data set, on its device, which the
  loop batches (and mirrors) together with the images (the classifier's soft targets);
- ``loss(net, l, ab, *extras, autocast)``: the float32 loss of one batch. ``net`` is the module to
  call (the model, or the DistributedDataParallel that wraps it, so that gradients are averaged);
  ``autocast`` is the loop's bf16 context, which the objective enters for the forward pass only
  where the loss must stay in float32;
- ``norm_forward(model, l, ab)``: the forward pass that recomputes the batch norms' statistics at
  the end of training (:func:`colorlab.train.recompute_batch_norm`).

=====================  ==============================================  =================================
objective              loss                                            networks
=====================  ==============================================  =================================
:class:`Regression`    ``config.loss`` on normalised ab: MSE (000's    RegressionCNN, Autoencoder
                       UV loss), SmoothL1 (002), blur (Dahl)
:class:`Classification` cross-entropy against Zhang et al.'s soft      ClassificationCNN
                       targets (5 nearest bins), each pixel weighted
                       by the rebalancing weight of its nearest bin
                       (``config.rebalance``; None for none)
:class:`Palette`       the colour loss given the true palette + BCE    PaletteNet
                       of the estimated palette (Fenu and Bagwell)
=====================  ==============================================  =================================
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F
from torch import nn

from . import distributed as dist
from .color import denormalize_ab
from .losses import regression_loss, soft_cross_entropy_sparse
from .palette import fast_histogram
from .quantize import SOFT_K, SOFT_SIGMA, class_prior, rebalance_weights, soft_encode_sparse

__all__ = ["Objective", "Regression", "Classification", "Palette", "soft_targets", "soft_targets_of"]


def soft_targets(ab_norm: torch.Tensor, out_stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Zhang's soft targets at the logits' resolution, as their non-zero entries.

    ``ab_norm``: normalised ab, float (N,2,H,W). It is average-pooled to 1/``out_stride`` (the
    resolution Zhang's network predicts at), then soft-encoded over the 5 nearest bins. Returns
    (N,5,H',W') int64 bin indices, nearest first, and their float weights, summing to 1 per pixel
    (:func:`colorlab.quantize.soft_encode_sparse`); H' = ceil(H / out_stride).
    """
    ab = denormalize_ab(F.avg_pool2d(ab_norm, out_stride, ceil_mode=True) if out_stride > 1 else ab_norm)
    return soft_encode_sparse(ab, k=SOFT_K, sigma=SOFT_SIGMA)


def soft_targets_of(data, out_stride: int, chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`soft_targets` of a whole :class:`~colorlab.data.LabPairs`, once, on its device.

    Returns int16 bins and float32 weights, (N,5,H',W') each. Each logit pixel keeps 5 bins at
    2 + 4 bytes: CIFAR-10's 50000 training images (8 x 8 logits each) need 96 MB, a sixth of their
    (L, ab) tensors.
    """
    n, _, h, w = data.ab.shape
    shape = (n, SOFT_K, math.ceil(h / out_stride), math.ceil(w / out_stride))
    bins = torch.empty(shape, dtype=torch.int16, device=data.device)
    weights = torch.empty(shape, dtype=torch.float32, device=data.device)
    for start in range(0, n, chunk):
        b, t = soft_targets(data.ab[start:start + chunk], out_stride)
        bins[start:start + chunk], weights[start:start + chunk] = b, t
    return bins, weights


class Objective(ABC):
    """The loss of one network on one data set; see the module's docstring. Subclasses define ``loss``."""

    extras: tuple[torch.Tensor, ...] = ()

    @abstractmethod
    def loss(self, net: nn.Module, l: torch.Tensor, ab: torch.Tensor, *extras: torch.Tensor,
             autocast) -> torch.Tensor:
        """The float32 loss of one batch (see the module's docstring)."""

    def norm_forward(self, model: nn.Module, l: torch.Tensor, ab: torch.Tensor):
        return model(l)


class Regression(Objective):
    """``config.loss`` ("mse", "smooth_l1" or "blur") between the predicted and the true normalised ab."""

    def __init__(self, loss: str = "mse"):
        self.loss_fn = regression_loss(loss)

    def loss(self, net, l, ab, *extras, autocast):
        with autocast:
            out = net(l)
        return self.loss_fn(out.float(), ab)  # in float32, outside autocast: the blur loss convolves


class Classification(Objective):
    """Zhang et al.'s rebalanced soft-target cross-entropy over the 313 bins.

    The soft targets are computed once for the data set when its width is a multiple of the logits'
    stride (then the pooling windows of a mirrored image mirror too, and the mirrored targets are the
    targets of the mirrored image); otherwise once per batch, from the batch's ab. The class prior
    is that of the whole data set: under ``torchrun`` the bin counts of every process's shard are
    summed.
    """

    def __init__(self, data, out_stride: int, rebalance: float | None):
        self.out_stride = out_stride
        self.weights = None
        if rebalance is not None:
            counts = dist.all_reduce_sum(data.bin_counts())
            self.weights = rebalance_weights(class_prior(counts), rebalance).to(device=data.device,
                                                                                dtype=torch.float32)
        if data.ab.shape[-1] % out_stride == 0:
            self.extras = soft_targets_of(data, out_stride)

    def loss(self, net, l, ab, *extras, autocast):
        with autocast:
            logits = net(l)
        bins, target = extras if extras else soft_targets(ab, self.out_stride)
        pixel_weights = self.weights[bins[:, 0].long()] if self.weights is not None else None  # its nearest bin's
        return soft_cross_entropy_sparse(logits, bins, target, pixel_weights)


class Palette(Objective):
    """:meth:`colorlab.models.PaletteNet.training_loss`, with ``config.loss`` as the colour loss.

    The batch norms are recomputed with the true palettes, as in training.
    """

    def __init__(self, model: nn.Module, loss: str = "mse"):
        self.model, self.colour_loss = model, regression_loss(loss)

    def loss(self, net, l, ab, *extras, autocast):
        with autocast:  # the whole loss: the palette's histograms are exact in any precision
            return self.model.training_loss(l, ab, self.colour_loss, net=net)

    def norm_forward(self, model, l, ab):
        return model(l, palette=fast_histogram(denormalize_ab(ab)))
