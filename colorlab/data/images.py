"""Decoding one image into uint8 RGB: any file, PIL image or array (EXIF orientation, every PIL mode,
transparency, 16-bit), and uint8 -> float32 in [0, 1] for :mod:`colorlab.color`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from .._validate import check_range, describe


class UnreadableImage(ValueError):
    """A file that exists but cannot be read as an image; ``reason`` says why in a few words."""

    def __init__(self, path, reason: str):
        super().__init__(f"could not read {path} as an image: {reason}")
        self.reason = reason


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    # A transparent pixel has no colour to learn; white is what a viewer shows behind it.
    alpha = rgba[..., 3:].astype(np.float32) / 255
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255 * (1 - alpha)
    return np.round(rgb).astype(np.uint8)


def _deep_to_uint8(values: np.ndarray, full_scale: float) -> np.ndarray:
    """Gray values of more than 8 bits -> uint8, by the value range ``[0, full_scale]``.

    Values outside that range (a 32-bit or float file with its own convention) are stretched from
    their min to their max instead.
    """
    values = np.nan_to_num(values.astype(np.float64))
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if lo >= 0 and hi <= full_scale:
        scaled = values * (255 / full_scale)
    elif hi > lo:
        scaled = (values - lo) * (255 / (hi - lo))
    else:
        scaled = np.zeros_like(values)
    return np.round(scaled).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def _pil_to_rgb(img: Image.Image) -> np.ndarray:
    """A PIL image of any mode -> uint8 (H,W,3). EXIF orientation must already be applied."""
    mode = img.mode
    if mode.startswith("I;16"):
        # PIL's convert('RGB') clips 16-bit values at 255, which turns most of a photo white.
        return _gray_to_rgb(_deep_to_uint8(np.asarray(img), 65535))
    if mode == "I":  # 32-bit: how PIL opens some 16-bit PNG and TIFF files
        return _gray_to_rgb(_deep_to_uint8(np.asarray(img), 65535))
    if mode == "F":
        values = np.asarray(img)
        return _gray_to_rgb(_deep_to_uint8(values, 1.0 if values.size and np.nanmax(values) <= 1 else 255.0))
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        return _composite_on_white(np.asarray(img.convert("RGBA")))
    return np.asarray(img.convert("RGB"))


def _array_to_rgb(a: np.ndarray) -> np.ndarray:
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))) or 0 in a.shape:
        raise ValueError(f"load_image: expected an image array of shape (H,W), (H,W,3) or (H,W,4), got {describe(a)}. "
                         f"A (3,H,W) tensor-style array needs `a.transpose(1, 2, 0)`.")
    if a.dtype == np.uint16:
        a = _deep_to_uint8(a, 65535)
    elif np.issubdtype(a.dtype, np.floating):
        if not ((a >= 0) & (a <= 1)).all():
            raise ValueError(f"load_image: a float image must lie in [0, 1], got {describe(a)} with values from "
                             f"{np.nanmin(a):.4g} to {np.nanmax(a):.4g}.")
        a = np.round(a * 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ValueError(f"load_image: expected dtype uint8, uint16 or float in [0, 1], got {describe(a)}.")
    if a.ndim == 2:
        return _gray_to_rgb(a)
    if a.shape[2] == 4:
        return _composite_on_white(a)
    return np.ascontiguousarray(a)


def read_image_file(path: Path, draft_side: int | None = None) -> np.ndarray:
    """Read an image file as uint8 (H,W,3), values 0-255, EXIF orientation applied.

    ``draft_side`` lets a JPEG decode at a reduced scale that keeps both sides >= it. A missing path
    is a FileNotFoundError, a folder a ValueError, an unreadable file an :class:`UnreadableImage`.
    """
    if not path.exists():
        raise FileNotFoundError(f"no such image file: {path}")
    if not path.is_file():
        raise ValueError(f"expected an image file, got a folder or special file: {path}")
    if path.stat().st_size == 0:
        raise UnreadableImage(path, "empty file (0 bytes)")
    try:
        with Image.open(path) as img:
            if draft_side:
                # JPEG can decode at 1/2, 1/4 or 1/8 scale, far faster for big photos;
                # PIL keeps both sides >= draft_side, so the final Lanczos still has detail to work with.
                img.draft(None, (draft_side, draft_side))
            img.load()
            return _pil_to_rgb(ImageOps.exif_transpose(img))
    except Image.DecompressionBombError as err:
        raise UnreadableImage(path, f"too large to decode safely ({err})") from None
    except Image.UnidentifiedImageError:
        raise UnreadableImage(path, "not an image (PIL cannot identify the file format)") from None
    except Exception as err:  # PIL plugins raise OSError, SyntaxError, struct.error, ... on malformed files
        raise UnreadableImage(path, f"corrupt or truncated ({type(err).__name__}: {err})") from None


def load_image(source) -> np.ndarray:
    """Any image as uint8 RGB of shape (H,W,3), values 0-255.

    Parameters
    ----------
    source : path (str or Path), PIL image, or NumPy array
        Arrays may be (H,W) gray, (H,W,3) RGB or (H,W,4) RGBA, of dtype uint8, uint16 (scaled by
        1/257) or float in [0, 1].

    Notes
    -----
    Files and PIL images have their EXIF orientation applied, so portrait phone photos stand upright.
    Every PIL mode is converted to RGB:

    - gray (1, L, I;16, I;16B, I, F) is repeated on three channels; 16-bit and 32-bit 'I' values are
      scaled by their value range (0-65535 -> 0-255, where PIL's own convert would clip at 255),
      'F' values in [0, 1] or [0, 255] likewise, and other ranges stretched from min to max;
    - transparent images (RGBA, LA, PA, palette with transparency) are composited onto white;
    - palette, CMYK and YCbCr images are converted by PIL.

    A missing file is a FileNotFoundError; an unreadable one (corrupt, truncated, not an image,
    empty) a ValueError that says why.
    """
    if isinstance(source, (str, os.PathLike)):
        return read_image_file(Path(source).expanduser())
    if isinstance(source, Image.Image):
        return _pil_to_rgb(ImageOps.exif_transpose(source))
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    raise ValueError(f"load_image: expected a file path, a PIL image or a NumPy array, got {describe(source)}.")

def to_float_image(x):
    """uint8 image (0-255) -> float32 in [0, 1], the input of :mod:`colorlab.color`.

    Takes a torch tensor or a NumPy array of any shape and returns the same kind, same shape;
    a tensor stays on its device. Floating input already in [0, 1] is returned as float32
    (so calling it twice is harmless); any other dtype or range is a ValueError.
    """
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.uint8:
            return x.to(torch.float32) / 255
        if torch.is_floating_point(x):
            if x.numel():
                check_range(x, 0.0, 1.0, "to_float_image: a float image")
            return x.to(torch.float32)
    elif isinstance(x, np.ndarray):
        if x.dtype == np.uint8:
            return x.astype(np.float32) / np.float32(255)
        if np.issubdtype(x.dtype, np.floating):
            if x.size:
                check_range(torch.from_numpy(np.ascontiguousarray(x)), 0.0, 1.0, "to_float_image: a float image")
            return x.astype(np.float32)
    raise ValueError(f"to_float_image: expected a uint8 (0-255) tensor or array, got {describe(x)}.")