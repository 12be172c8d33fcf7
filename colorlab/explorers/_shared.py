"""What the explorers of this package check alike (private to the package)."""

from __future__ import annotations


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
