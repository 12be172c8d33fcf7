"""Any input size for a network that halves its resolution a few times.

A network with three stride-2 layers needs height and width divisible by 8.
Rather than refusing other sizes, we pad the input (by reflection, so the
border looks like more photo, not a black frame) and crop the output back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad (N,C,H,W) on the bottom and right up to the next multiple; return it and the original (H, W)."""
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        # reflection needs the pad to be smaller than the side; tiny inputs fall back to replication
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return x, (h, w)


def crop_to(y: torch.Tensor, size: tuple[int, int], out_stride: int = 1) -> torch.Tensor:
    """Crop an output at 1/``out_stride`` of the input resolution back to ceil(size / out_stride)."""
    h, w = size
    return y[..., : -(-h // out_stride), : -(-w // out_stride)]
