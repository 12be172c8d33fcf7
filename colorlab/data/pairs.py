"""``LabPairs``: images as the normalised (L, ab) tensors the models train on, kept on one device
(the GPU, typically) and batched there, with their smoothed class prior over Zhang's 313 bins."""

from __future__ import annotations

import numpy as np
import torch

from .. import quantize
from .._validate import check_channels, describe, whole_number
from ..color import denormalize_ab, normalize_ab, normalize_l, rgb_to_l_ab
from ..device import default_device
from .images import to_float_image


class LabPairs(torch.utils.data.Dataset):
    """Images as normalised (L, ab) pairs, held as two tensors on one device.

    ``l`` is (N,1,H,W) = :func:`~colorlab.color.normalize_l` of Lab's L, in [-1, 1];
    ``ab`` is (N,2,H,W) = :func:`~colorlab.color.normalize_ab` of a and b, about [-1, 1]; both float32.

    The whole data set lives on one device (the GPU, typically: CIFAR-10's 50000 images take 600 MB),
    and :meth:`batches` builds each batch by indexing there, so a GPU training loop does no host work
    and no host-to-device copy per batch. It is also a ``torch.utils.data.Dataset`` (item i is
    ``(l[i], ab[i])``) for code that wants a DataLoader, though that gives up the speed.
    """

    def __init__(self, l: torch.Tensor, ab: torch.Tensor):
        for name, x, channels in (("l", l, 1), ("ab", ab, 2)):
            if not (isinstance(x, torch.Tensor) and torch.is_floating_point(x) and x.ndim == 4
                    and x.shape[1] == channels):
                raise ValueError(f"LabPairs: {name} must be a float tensor of shape (N,{channels},H,W), "
                                 f"got {describe(x)}.")
        if l.shape[0] != ab.shape[0] or l.shape[2:] != ab.shape[2:] or l.device != ab.device:
            raise ValueError(f"LabPairs: l and ab must have the same N, H, W and device, got {tuple(l.shape)} on "
                             f"{l.device} and {tuple(ab.shape)} on {ab.device}.")
        self.l = l.to(torch.float32)
        self.ab = ab.to(torch.float32)

    @classmethod
    def from_rgb(cls, images, device=None, chunk: int = 1024) -> "LabPairs":
        """Convert RGB images to (L, ab) pairs on ``device``.

        Parameters
        ----------
        images : torch tensor or NumPy array, (N,3,H,W)
            uint8 0-255 (what every loader of this module returns), or float in [0, 1].
        device : torch device or None
            Where the pairs live and where the conversion runs; None means
            :func:`colorlab.default_device` (the GPU when there is one).
        chunk : int
            Images converted at a time, so the float copies never need memory for the whole set.
        """
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(np.ascontiguousarray(images))
        if not isinstance(images, torch.Tensor) or not (images.dtype == torch.uint8 or torch.is_floating_point(images)):
            raise ValueError(f"LabPairs.from_rgb: expected uint8 (0-255) or float ([0, 1]) images of shape (N,3,H,W), "
                             f"got {describe(images)}.")
        if images.ndim != 4:
            raise ValueError(f"LabPairs.from_rgb: expected a batch of shape (N,3,H,W), got {describe(images)}; "
                             f"a single (3,H,W) image needs `image.unsqueeze(0)`.")
        check_channels(images, 3, "LabPairs.from_rgb images", "RGB")
        chunk = whole_number(chunk, "chunk")
        device = default_device() if device is None else torch.device(device)

        n, _, h, w = images.shape
        l = torch.empty((n, 1, h, w), dtype=torch.float32, device=device)
        ab = torch.empty((n, 2, h, w), dtype=torch.float32, device=device)
        for start in range(0, n, chunk):
            rgb = to_float_image(images[start:start + chunk].to(device))
            l_part, ab_part = rgb_to_l_ab(rgb)
            l[start:start + chunk] = normalize_l(l_part)
            ab[start:start + chunk] = normalize_ab(ab_part)
        return cls(l, ab)

    def __len__(self) -> int:
        return self.l.shape[0]

    def __getitem__(self, index):
        return self.l[index], self.ab[index]

    @property
    def device(self) -> torch.device:
        return self.l.device

    def to(self, device) -> "LabPairs":
        """The same pairs on another device (a new LabPairs; ``self`` is returned when already there)."""
        device = torch.device(device)
        if device == self.device:
            return self
        return LabPairs(self.l.to(device), self.ab.to(device))

    def bin_counts(self, chunk: int = 256) -> torch.Tensor:
        """How many pixels of the pairs' ab fall in each of Zhang's 313 bins: float64 (313,) on their device.

        Counted ``chunk`` images at a time (:func:`colorlab.quantize.bin_counts`), so the hard encoding
        never holds the whole set at once.
        """
        chunk = whole_number(chunk, "chunk")
        counts = torch.zeros(quantize.NUM_BINS, dtype=torch.float64, device=self.device)
        for start in range(0, len(self), chunk):
            counts += quantize.bin_counts(denormalize_ab(self.ab[start:start + chunk])).to(self.device)
        return counts

    def class_prior(self, chunk: int = 256) -> torch.Tensor:
        """The smoothed class prior of the pairs' ab: a (313,) float64 tensor on their device, summing to 1.

        :meth:`bin_counts`, smoothed by :func:`colorlab.quantize.class_prior`; the same as
        ``quantize.class_prior`` of all the (denormalised) ab at once. Empty pairs are a ValueError.
        """
        return quantize.class_prior(self.bin_counts(chunk))

    def batches(self, batch_size: int, shuffle: bool = True, flip: bool = False,
                generator: torch.Generator | None = None, drop_last: bool = False, also: tuple = ()):
        """One epoch of ``(l, ab)`` batches, shapes (B,1,H,W) and (B,2,H,W), on the data's device.

        Parameters
        ----------
        batch_size : int
        shuffle : bool
            Visit the images in a random order (``torch.randperm`` on the data's device); otherwise in order.
            Either way each image appears exactly once per epoch (or not at all, in a dropped last batch).
        flip : bool
            Mirror each image left-right with probability 1/2; L and ab of an image are flipped together.
        generator : torch.Generator or None
            Source of randomness, for a reproducible epoch; None uses torch's global generator.
            A generator on another device than the data (a CPU one for GPU data) also works: the
            permutation and flips are drawn there once per epoch and copied over.
        drop_last : bool
            Leave out the last batch when it is smaller than ``batch_size``.
        also : tuple of tensors
            More per-image tensors, shape (N, ..., W') on the data's device (a training loop's
            precomputed targets, say), batched with the same images and mirrored along their last
            dimension with them; each batch is then ``(l, ab, *also)``.

        The permutation and flips are drawn once at the start of the epoch, on the device; each batch is
        then an index_select and a ``torch.where``, with no host work and no synchronisation.
        """
        batch_size = whole_number(batch_size, "batch_size")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator or None, got {describe(generator)}.")
        n, device = len(self), self.device
        also = tuple(also)
        for i, extra in enumerate(also):
            if not (isinstance(extra, torch.Tensor) and extra.ndim >= 2 and extra.shape[0] == n
                    and extra.device == device):
                raise ValueError(f"LabPairs.batches: also[{i}] must be a tensor of shape ({n}, ..., W) on {device}, "
                                 f"got {describe(extra)}.")
        draw_on = generator.device if generator is not None else device
        order = (torch.randperm(n, generator=generator, device=draw_on).to(device) if shuffle
                 else torch.arange(n, device=device))
        mirrored = (torch.rand(n, generator=generator, device=draw_on).to(device) < 0.5) if flip else None
        end = n - n % batch_size if drop_last else n
        return self._epoch(order, mirrored, batch_size, end, also)

    def _epoch(self, order, mirrored, batch_size, end, also=()):
        for start in range(0, end, batch_size):
            index = order[start:start + batch_size]
            tensors = [self.l[index], self.ab[index], *(extra[index] for extra in also)]
            if mirrored is not None:
                mask = mirrored[start:start + batch_size]
                tensors = [torch.where(mask.view(-1, *(1,) * (x.ndim - 1)), x.flip(-1), x) for x in tensors]
            yield tuple(tensors)
