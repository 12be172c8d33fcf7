"""The photos the explorers show: an embedded photo at the scale of the patches a network trained on."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import whole_number
from ..data import load_photo, to_float_image

PATCHES_PER_SIDE = 4  # the training patches cut a photo's shorter side into about this many


def photo_at_patch_scale(name: str, patch: int, side: int = 96) -> torch.Tensor:
    """An embedded photo scaled as the training patches were cut from it, then its top-left corner.

    A network trained on ``patch``-pixel patches has learnt objects at that scale: the patches of
    the embedded photos span a quarter of a photo's shorter side. The photo is resized (area
    averaging to shrink, bilinear to enlarge) so that its shorter side is ``4 * patch`` pixels, and
    its top-left ``side`` x ``side`` pixels (fewer where the photo is smaller) are kept.

    Parameters
    ----------
    name : str, a key of :data:`colorlab.data.EMBEDDED_PHOTOS` (e.g. one of ``TEST_PHOTOS``)
    patch : int > 0, the side of the training patches in pixels (``course.size.patch``)
    side : int > 0, the side of the square kept, in pixels

    Returns
    -------
    float32 RGB tensor (3, side, side) in [0, 1], on the CPU.
    """
    patch = whole_number(patch, "photo_at_patch_scale: patch (pixels)")
    side = whole_number(side, "photo_at_patch_scale: side (pixels)")
    photo = to_float_image(torch.tensor(load_photo(name)).permute(2, 0, 1))[None]
    scale = PATCHES_PER_SIDE * patch / min(photo.shape[-2:])
    photo = F.interpolate(photo, scale_factor=scale, mode="area" if scale < 1 else "bilinear")
    return photo[0, :, :side, :side].clamp(0, 1)
