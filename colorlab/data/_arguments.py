"""The argument checks every loader of :mod:`colorlab.data` shares: counts, sizes, seeds and the split."""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "test")


def positive_int(value, name: str) -> int:
    """``value`` as an int when it is a whole number >= 1 (a Python or NumPy integer, not a bool);
    otherwise a ValueError that names the argument ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_seed(seed) -> int:
    """``seed`` as an int when it is a Python or NumPy integer (not a bool); otherwise a ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}.")
    return int(seed)


def check_split(split) -> str:
    """``split`` when it is ``"train"`` or ``"test"``; otherwise a ValueError."""
    if not (isinstance(split, str) and split in SPLITS):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    return split
