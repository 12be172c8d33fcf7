"""Random square patches cut out of photos: seeded, optionally mirrored, after an optional anti-aliased resize."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .._validate import describe, whole_number


def _resize_shorter_side(photo: np.ndarray, shorter: int) -> np.ndarray:
    h, w = photo.shape[:2]
    factor = shorter / min(h, w)
    new_size = (max(shorter, round(w * factor)), max(shorter, round(h * factor)))
    # Lanczos in PIL widens its kernel when shrinking, so downscaling is anti-aliased.
    return np.asarray(Image.fromarray(photo).resize(new_size, Image.Resampling.LANCZOS))


def random_patches(photos, size: int, count: int, seed: int, flip: bool = True,
                   scale: int | None = None, return_sources: bool = False):
    """Cut ``count`` random square patches out of photos.

    Parameters
    ----------
    photos : dict name -> array, or list of arrays
        uint8 photos of shape (H,W,3), values 0-255 (as :func:`embedded_photos` returns).
    size : int
        Side of a patch in pixels. Every photo (after ``scale``) must be at least this large.
    count : int
        Number of patches, >= 1.
    seed : int
        Seed of a private ``numpy.random.default_rng``; the global random state is neither used nor changed.
    flip : bool
        Mirror each patch left-right with probability 1/2.
    scale : int or None
        If given, each photo is first resized (once, Lanczos, anti-aliased) so that its shorter side
        is ``scale`` pixels, so that a small patch holds a whole object rather than a close-up texture.
        Must be >= ``size``.

    return_sources : bool
        Also return which photo each patch was cut from.

    Returns
    -------
    torch.uint8 tensor of shape (count, 3, size, size); with ``return_sources``, also a
    torch.int64 tensor (count,) of indices into ``photos`` (in the dict's order).

    Notes
    -----
    Each patch picks a photo uniformly at random, whatever its size (so a large photo such as the motorcycle
    does not dominate), then a top-left corner uniformly among all positions where the patch fits.
    The random draws do not depend on ``flip``: the same seed gives the same crops with ``flip``
    on or off, only mirrored.
    """
    size = whole_number(size, "size")
    count = whole_number(count, "count")
    seed = whole_number(seed, "seed", 0)
    if scale is not None and whole_number(scale, "scale") < size:
        raise ValueError(f"scale (the shorter side after resizing) must be >= the patch size {size}, got {scale}.")
    if isinstance(photos, dict):
        named = list(photos.items())
    elif isinstance(photos, (list, tuple)):
        named = [(f"photo {i}", p) for i, p in enumerate(photos)]
    else:
        raise ValueError(f"photos must be a dict or a list of uint8 (H,W,3) arrays, got {describe(photos)}.")
    if not named:
        raise ValueError("photos is empty; pass at least one uint8 (H,W,3) photo.")

    channel_first = []
    for name, photo in named:
        if not (isinstance(photo, np.ndarray) and photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3):
            raise ValueError(f"{name}: expected a uint8 NumPy array of shape (H,W,3), got {describe(photo)}.")
        if scale is not None:
            photo = _resize_shorter_side(photo, scale)
        h, w = photo.shape[:2]
        if h < size or w < size:
            raise ValueError(f"{name} is {h}x{w} pixels (HxW), smaller than the {size}x{size} patch; "
                             f"use a smaller size or a larger scale.")
        channel_first.append(photo.transpose(2, 0, 1))

    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(channel_first), count)
    heights = np.array([p.shape[1] for p in channel_first])
    widths = np.array([p.shape[2] for p in channel_first])
    tops = rng.integers(0, heights[which] - size + 1)
    lefts = rng.integers(0, widths[which] - size + 1)
    mirrored = rng.random(count) < 0.5

    patches = np.empty((count, 3, size, size), dtype=np.uint8)
    for i, (k, top, left) in enumerate(zip(which, tops, lefts)):
        patch = channel_first[k][:, top:top + size, left:left + size]
        patches[i] = patch[:, :, ::-1] if flip and mirrored[i] else patch
    if return_sources:
        return torch.from_numpy(patches), torch.from_numpy(which.astype(np.int64))
    return torch.from_numpy(patches)
