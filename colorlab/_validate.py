"""Input checks shared by every module.

Each check raises ``ValueError`` with a sentence that says what was received and
what is expected, so that a student who hands a uint8 image to a function that
wants floats in [0, 1] learns that from the message, not from a silent wrong
answer three cells later.
"""

from __future__ import annotations

import numpy as np
import torch


def describe(x) -> str:
    """A short description of an array or tensor for error messages."""
    if isinstance(x, torch.Tensor):
        return f"a torch tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if isinstance(x, np.ndarray):
        return f"a NumPy array of shape {x.shape} and dtype {x.dtype}"
    return f"a {type(x).__name__}"


def as_tensor(x, name: str = "image") -> torch.Tensor:
    """Return ``x`` as a floating torch tensor (NumPy arrays are converted, tensors kept on their device).

    Integer input is refused rather than silently rescaled: the caller chooses
    whether 0-255 means [0, 1].
    """
    given = x
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name}: expected a torch tensor or NumPy array, got {describe(x)}.")
    if not torch.is_floating_point(x):
        hint = ""
        if x.dtype == torch.uint8:
            hint = (" Convert a uint8 image with `image.float() / 255` (or `colorlab.data.to_float_image`)."
                    if given is x else " Convert a uint8 image with `image.astype(np.float32) / 255`.")
        raise ValueError(f"{name}: expected floating-point values, got {describe(given)}.{hint}")
    return x


def check_channels(x: torch.Tensor, channels: int, name: str, layout: str) -> bool:
    """Check a (C,H,W) or (N,C,H,W) tensor; return True when it was unbatched."""
    if x.ndim not in (3, 4) or x.shape[-3] != channels:
        raise ValueError(
            f"{name}: expected shape ({channels},H,W) or (N,{channels},H,W) ({layout}), got shape "
            f"{tuple(x.shape)}. A (H,W,{channels}) NumPy image needs `torch.from_numpy(a).permute(2, 0, 1)`."
        )
    if x.ndim == 4 and x.shape[0] == 0:
        raise ValueError(f"{name}: the batch is empty (shape {tuple(x.shape)}); pass at least one image.")
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"{name}: the image has no pixels (shape {tuple(x.shape)}).")
    return x.ndim == 3


def check_finite(x: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name}: contains {bad} NaN or infinite values; expected only finite numbers.")


def check_range(x: torch.Tensor, lo: float, hi: float, name: str, tol: float = 1e-4) -> None:
    """Values must lie in [lo, hi] (with a small tolerance for rounding)."""
    # One device sync for both ends; NaN propagates through aminmax, so it is caught here too.
    mn, mx = torch.stack(torch.aminmax(x.detach())).tolist()
    if not (np.isfinite(mn) and np.isfinite(mx)):
        check_finite(x, name)
    if mn < lo - tol or mx > hi + tol:
        hint = ""
        if lo == 0 and hi == 1 and mx > 1.5:
            hint = " It looks like 0-255 values: divide by 255 first."
        raise ValueError(
            f"{name}: values must lie in [{lo:g}, {hi:g}], got values from {mn:.4g} to {mx:.4g}.{hint}"
        )


def rgb_image(x, name: str = "rgb") -> tuple[torch.Tensor, bool]:
    """Validate float RGB in [0, 1], shape (3,H,W) or (N,3,H,W); return (batched tensor, was_unbatched)."""
    x = as_tensor(x, name)
    single = check_channels(x, 3, name, "float RGB in [0, 1]")
    check_range(x, 0.0, 1.0, name)
    return (x.unsqueeze(0) if single else x), single


def channels_image(x, channels: int, name: str, layout: str) -> tuple[torch.Tensor, bool]:
    """Validate a finite float (C,H,W) or (N,C,H,W) tensor; return (batched tensor, was_unbatched)."""
    x = as_tensor(x, name)
    single = check_channels(x, channels, name, layout)
    check_finite(x, name)
    return (x.unsqueeze(0) if single else x), single


def same_shape(a: torch.Tensor, b: torch.Tensor, names: str = "prediction and target") -> None:
    if a.shape != b.shape:
        raise ValueError(f"{names} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}.")


def check_l_batch(l: torch.Tensor, name: str) -> None:
    """A colorizer's input: normalised L (see :func:`colorlab.color.normalize_l`), a tensor of shape (N,1,H,W).

    Shape only, any dtype and device: a value check would cost a GPU sync on every batch.
    ``name`` (the model's) opens the message.
    """
    if l.ndim != 4 or l.shape[1] != 1:
        raise ValueError(
            f"{name}: expected normalised L of shape (N,1,H,W) (see colorlab.color.normalize_l), "
            f"got shape {tuple(l.shape)}."
        )


def whole_number(value, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` when it is a whole number >= ``minimum``; else a ValueError that says what it got.

    Python and NumPy integers pass; ``True`` and ``False``, floats (even ``3.0``), strings and
    everything else are refused: a count given as 2.5 or ``True`` is a mistake, not a number
    to round. ``name`` (e.g. "batch_size", or "PaletteNet: width") opens the message.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r} (a {type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}.")
    return int(value)
