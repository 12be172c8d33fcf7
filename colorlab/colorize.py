"""Colorizing a photo of any size with a trained network.

The network sees the photo's lightness at a working resolution (the longer
side at most ``work_size``), predicts ab there (a classification network at a
quarter of that, decoded by mode, mean or annealed mean), the ab is upsampled
to the photo's full size and joined to the photo's own full-resolution L. The
output keeps every detail of the input and only gains colour.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .color import denormalize_ab, l_ab_to_rgb, normalize_l, rgb_to_l_ab
from .device import model_device
from .quantize import ZHANG_TEMPERATURE, decode


@torch.no_grad()
def predict_ab(model: nn.Module, l_norm: torch.Tensor, method: str = "annealed",
               temperature: float = ZHANG_TEMPERATURE) -> torch.Tensor:
    """Unnormalised ab (N,2,H,W) predicted from normalised L (N,1,H,W), at L's resolution.

    Regression networks give ab directly; a classification network's logits are
    decoded by ``method`` ("mode", "mean" or "annealed" at ``temperature``) and
    upsampled bilinearly from its 1/4 resolution.
    """
    out = model(l_norm)
    if getattr(model, "kind", "regression") == "classification":
        ab = decode(out.float(), method, temperature)
        if ab.shape[-2:] != l_norm.shape[-2:]:
            ab = F.interpolate(ab, size=l_norm.shape[-2:], mode="bilinear", align_corners=False)
        return ab
    return denormalize_ab(out.float())


@torch.no_grad()
def colorize_batch(model: nn.Module, rgb: torch.Tensor, method: str = "annealed",
                   temperature: float = ZHANG_TEMPERATURE) -> torch.Tensor:
    """Colorize a batch of images at their own resolution.

    ``rgb``: float (N,3,H,W) in [0, 1] (colour or gray; only its L is used), on the
    model's device. Returns float RGB (N,3,H,W) in [0, 1] with the input's L.
    """
    l, _ = rgb_to_l_ab(rgb)
    ab = predict_ab(model, normalize_l(l), method, temperature)
    return l_ab_to_rgb(l, ab.to(l.dtype))


@torch.no_grad()
def colorize_decodings(model: nn.Module, rgb: torch.Tensor,
                       decodings: dict[str, tuple[str, float]]) -> dict[str, torch.Tensor]:
    """Several decodings of one classification network's output, running the network once.

    ``rgb`` as for :func:`colorize_batch`; ``decodings`` maps a name to ``(method, temperature)``
    (``("mode", 1.0)``, ``("mean", 1.0)``, ``("annealed", 0.38)``). Returns name -> RGB (N,3,H,W)
    in [0, 1], each with the input's L. The same as calling :func:`colorize_batch` once per
    decoding, at a fraction of the cost.
    """
    if getattr(model, "kind", "regression") != "classification":
        raise ValueError(f"colorize_decodings: decodings exist for a classification network only, got a "
                         f"{getattr(model, 'kind', type(model).__name__)!r} one; use colorize_batch.")
    l, _ = rgb_to_l_ab(rgb)
    logits = model(normalize_l(l)).float()
    out = {}
    for name, (method, temperature) in decodings.items():
        ab = decode(logits, method, temperature)
        if ab.shape[-2:] != l.shape[-2:]:
            ab = F.interpolate(ab, size=l.shape[-2:], mode="bilinear", align_corners=False)
        out[name] = l_ab_to_rgb(l, ab.to(l.dtype))
    return out


@torch.no_grad()
def colorize(image, model: nn.Module, temperature: float = ZHANG_TEMPERATURE, method: str = "annealed",
             work_size: int = 256) -> np.ndarray:
    """Colorize one photo of any size and mode.

    Parameters
    ----------
    image : a path, a PIL image, or an array ((H,W) gray, (H,W,3) RGB, (H,W,4) RGBA;
        uint8, uint16 or float in [0, 1]). A colour photo is first reduced to its L.
    model : a colorlab network (regression or classification), in eval mode.
    temperature, method : decoding of a classification network (ignored for regression).
    work_size : the longer side of the resolution the network sees (the photo's own
        size if smaller); the ab is upsampled from there.

    Returns
    -------
    np.uint8 array (H,W,3): RGB of the input's size, with the input's lightness.
    """
    from .data import load_image

    if not isinstance(model, nn.Module):
        hint = (" (a checkpoint's dict: pass load_checkpoint(path)['model'])" if isinstance(model, dict) else
                " (load one with colorlab.checkpoints.load_checkpoint(path)['model'])")
        raise ValueError(f"colorize: model must be a colorlab network, got {type(model).__name__}{hint}.")
    if isinstance(work_size, bool) or not isinstance(work_size, (int, np.integer)) or work_size < 16:
        raise ValueError(f"colorize: work_size must be a whole number of pixels >= 16, got {work_size!r}.")
    photo = load_image(image)  # (H,W,3) uint8, EXIF-rotated, any mode converted to RGB
    device = model_device(model)
    rgb = torch.from_numpy(np.array(photo)).to(device).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    l, _ = rgb_to_l_ab(rgb)
    h, w = l.shape[-2:]
    factor = min(1.0, work_size / max(h, w))
    small = l if factor == 1.0 else F.interpolate(
        l, size=(max(1, round(h * factor)), max(1, round(w * factor))), mode="area")
    was_training = model.training
    model.eval()
    try:
        ab = predict_ab(model, normalize_l(small), method, temperature)
    finally:
        model.train(was_training)
    if ab.shape[-2:] != (h, w):
        ab = F.interpolate(ab, size=(h, w), mode="bilinear", align_corners=False)
    out = l_ab_to_rgb(l, ab.to(l.dtype))[0]
    return (out.permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
