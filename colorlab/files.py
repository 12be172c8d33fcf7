"""Writing files so that nothing half-written is ever left under the real name, and images as PNG bytes.

Every file colorlab writes (checkpoints, figures, colorized photos, JSON records, notebooks) goes
through :func:`atomic_write`: the content is written to a temporary name beside the target and
renamed over it only when complete, so a crash, a full disk or Ctrl-C leaves either the old file or
the new one, never a truncated mix. A rename within one folder is atomic on POSIX and Windows.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

__all__ = ["atomic_write", "write_text", "save_figure", "save_png", "to_uint8", "png_bytes"]


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` to write the file at a temporary name, then rename it to ``path``.

    ``tmp`` is ``.<name>.<pid>.tmp`` in the same folder (one per process, so concurrent writers of one
    path never share a temporary file; the last rename wins, and every reader sees a whole file). The
    parent folder is created. On any error the temporary file is removed and the error re-raised, and
    ``path`` is left as it was. Returns ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_figure(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Save a matplotlib figure atomically, in the format of the path's suffix (PNG when it has none)."""
    path = Path(path)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png"))


def to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """An RGB image as 8-bit pixels for PIL.

    ``rgb``: float tensor (3,H,W) in [0, 1] (values outside are clipped), on any device and dtype.
    Returns a NumPy ``uint8`` array (H,W,3), rounded to the nearest level.
    """
    if rgb.ndim != 3 or rgb.shape[0] != 3:
        raise ValueError(f"expected an RGB image of shape (3, H, W), got shape {tuple(rgb.shape)}")
    return (rgb.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def png_bytes(image: torch.Tensor | np.ndarray, zoom_to: int | None = None, fast: bool = True) -> bytes:
    """PNG-encode an image for a widget.

    ``image``: a float tensor (3,H,W) in [0, 1], or a ``uint8`` array (H,W,3). ``zoom_to``: enlarge by
    the largest whole factor that keeps the longer side at most this many pixels (nearest neighbour, so
    a 32 px patch stays crisp), never shrinking. ``fast`` uses zlib level 1: widgets redraw on every
    slider move, and level 1 is several times faster than the default for a few per cent more bytes.
    """
    array = to_uint8(image) if isinstance(image, torch.Tensor) else np.asarray(image, dtype=np.uint8)
    picture = Image.fromarray(array)
    if zoom_to is not None:
        zoom = max(1, zoom_to // max(picture.size))
        picture = picture.resize((picture.width * zoom, picture.height * zoom), Image.NEAREST)
    buf = io.BytesIO()
    picture.save(buf, format="png", **({"compress_level": 1} if fast else {}))
    return buf.getvalue()


def save_png(rgb: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a ``uint8`` (H,W,3) array as a PNG file, atomically."""
    return atomic_write(path, lambda tmp: Image.fromarray(rgb).save(tmp, format="PNG"))
