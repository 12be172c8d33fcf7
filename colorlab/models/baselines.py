"""Two colorizers that learn nothing, to measure the others against.

- :class:`GrayColorizer` predicts a = b = 0: the photo stays gray. Zhu et al.
  (000, Table 1) report its UV loss (0.005163) as the bar every method must clear.
- :class:`MeanColorColorizer` predicts one ab for every pixel: the mean colour
  of its training data. A regressor trained with L2 on ambiguous data drifts
  towards it; HOG + SVR in 000 ends up close to it.

Both are ``nn.Module`` s with the interface of the regression networks
(normalised L in, normalised ab out), so every tool that runs a model runs them.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validate import check_l_batch


class GrayColorizer(nn.Module):
    """L (N,1,H,W) -> zeros (N,2,H,W): no colour at all."""

    kind = "regression"
    multiple = 1

    def __init__(self):
        super().__init__()
        self.config = {"name": "gray"}

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        check_l_batch(l, "GrayColorizer")
        return l.new_zeros(l.shape[0], 2, *l.shape[2:])


class MeanColorColorizer(nn.Module):
    """L (N,1,H,W) -> the training set's mean normalised ab at every pixel."""

    kind = "regression"
    multiple = 1

    def __init__(self, mean_ab: tuple[float, float] = (0.0, 0.0)):
        super().__init__()
        self.config = {"name": "mean_color"}
        self.register_buffer("mean_ab", torch.tensor(mean_ab, dtype=torch.float32))

    @torch.no_grad()
    def fit(self, ab: torch.Tensor) -> "MeanColorColorizer":
        """Set the colour to the mean of normalised ab targets, shape (N,2,H,W)."""
        if ab.ndim != 4 or ab.shape[1] != 2 or ab.shape[0] == 0:
            raise ValueError(f"MeanColorColorizer.fit: expected normalised ab of shape (N,2,H,W), got {tuple(ab.shape)}.")
        self.mean_ab.copy_(ab.float().mean(dim=(0, 2, 3)).to(self.mean_ab.device))
        return self

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        check_l_batch(l, "MeanColorColorizer")
        return self.mean_ab.to(l.dtype).view(1, 2, 1, 1).expand(l.shape[0], 2, *l.shape[2:]).clone()
