"""What the explorers of this package check and build alike (private to the package)."""

from __future__ import annotations

import torch


def image_names(names, n: int, who: str) -> list[str]:
    """The image picker's labels: ``names`` (any N items, made strings), or "image 0", "image 1", ... when None.

    ``who`` (the explorer's class name) opens the ValueError for a single string or a count other than ``n``.
    """
    if names is None:
        return [f"image {i}" for i in range(n)]
    if isinstance(names, str):
        raise ValueError(f"{who}: names must be a list of {n} labels, got the string {names!r}.")
    names = [str(x) for x in names]
    if len(names) != n:
        raise ValueError(f"{who}: got {len(names)} names for {n} images; expected {n}.")
    return names


def model_device(model) -> torch.device:
    """The device of a model's first parameter or buffer; the CPU for a model that has neither."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")
