"""The colorizers of the course, one module each.

Every network takes normalised L (N,1,H,W) of any size and returns either
normalised ab (N,2,H,W) (``kind == "regression"``) or logits over the 313 bins at
1/4 resolution (``kind == "classification"``). Each carries a ``config`` dict
from which :func:`build_model` rebuilds it, which is what a checkpoint stores.
HOG + SVR (000) is a scikit-learn model in :mod:`colorlab.models.hog_svr`.
"""

from __future__ import annotations

from torch import nn

from .autoencoder import Autoencoder
from .baselines import GrayColorizer, MeanColorColorizer
from .cnn import ClassificationCNN, RegressionCNN
from .palette_net import PaletteNet

MODELS = {
    "regression": RegressionCNN,
    "classification": ClassificationCNN,
    "autoencoder": Autoencoder,
    "gray": GrayColorizer,
    "mean_color": MeanColorColorizer,
    "palette": PaletteNet,
}


def build_model(config: dict) -> nn.Module:
    """Rebuild a network from its ``config`` (e.g. ``{"name": "regression", "width": 16}``)."""
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(f"build_model: expected a dict with a 'name' key, got {config!r}.")
    name = config["name"]
    if name not in MODELS:
        raise ValueError(f"build_model: unknown model {name!r}; known models: {', '.join(MODELS)}.")
    kwargs = {k: v for k, v in config.items() if k != "name"}
    try:
        return MODELS[name](**kwargs)
    except TypeError as err:
        raise ValueError(f"build_model: the configuration {config!r} does not fit {MODELS[name].__name__}: {err}") from err


__all__ = ["MODELS", "build_model", "Autoencoder", "GrayColorizer", "MeanColorColorizer",
           "ClassificationCNN", "RegressionCNN"]
