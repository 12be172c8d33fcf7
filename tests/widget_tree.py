"""What the explorer tests read from a widget tree: the PNG bytes of an image, and every widget under a box."""

from __future__ import annotations


def png(image) -> bytes:
    return bytes(image.value)  # ipywidgets keeps the bytes as a memoryview


def descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from descendants(child)
