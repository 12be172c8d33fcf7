"""The two splits every source has, ``"train"`` and ``"test"``, and the check of a ``split`` argument."""

from __future__ import annotations

SPLITS = ("train", "test")


def check_split(split) -> str:
    """``split`` when it is ``"train"`` or ``"test"``; otherwise a ValueError."""
    if not (isinstance(split, str) and split in SPLITS):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    return split
