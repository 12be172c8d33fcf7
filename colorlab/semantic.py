"""The semantic test of Li and Wang (003): would a classifier recognise the colorized image?

Train a small classifier on *colour* images, then feed it the gray images, each
colorizer's output and the true images. Colours that make sense help it (003,
Figure 7: gray 22% < regression 46% < classification 57% < annealed mean 65% <
truth 80% on CIFAR-10); wrong or washed-out colours do not. It measures what the
UV loss cannot: whether the colours carry the information colours should carry.

On CIFAR-10 the classes are CIFAR's ten; on the embedded photos, the label of a
patch is the photo it was cut from (:func:`colorlab.data.load_images` with
``labels=True``), a task where colour matters (the cat is brown, the flower orange).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import rgb_image


class SemanticClassifier(nn.Module):
    """RGB (N,3,H,W) in [0, 1] -> class scores (N, classes). Three conv blocks and a linear layer.

    Small on purpose: it trains in seconds on a CPU, and a test of colour only needs
    a classifier that uses colour, not a state-of-the-art one.
    """

    def __init__(self, classes: int, width: int = 16):
        super().__init__()
        if int(classes) < 2:
            raise ValueError(f"SemanticClassifier needs at least 2 classes, got {classes!r}.")
        self.config = {"name": "semantic", "classes": int(classes), "width": int(width)}
        w = int(width)

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                    nn.MaxPool2d(2)]

        self.features = nn.Sequential(*block(3, w), *block(w, 2 * w), *block(2 * w, 4 * w))
        self.head = nn.Linear(4 * w, int(classes))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        if rgb.ndim != 4 or rgb.shape[1] != 3:
            raise ValueError(f"SemanticClassifier: expected RGB of shape (N,3,H,W), got {tuple(rgb.shape)}.")
        # The whole image's average: the classifier may rely on overall colour, as it should here.
        return self.head(self.features(rgb * 2 - 1).mean(dim=(2, 3)))


def train_classifier(model: SemanticClassifier, images, labels, steps: int = 300, batch_size: int = 64,
                     lr: float = 2e-3, time_budget: float | None = None, seed: int = 0) -> list[float]:
    """Train on colour images with cross-entropy, on the model's device; returns the loss every 10 steps.

    Parameters
    ----------
    images : uint8 (N,3,H,W) 0-255 or float in [0, 1], colour images
    labels : int64 (N,) class indices in [0, model.config["classes"])
    """
    device = next(model.parameters()).device
    rgb, _ = rgb_image(images.float() / 255.0 if images.dtype == torch.uint8 else images, "train_classifier images")
    rgb = rgb.to(device)
    labels = torch.as_tensor(labels, dtype=torch.int64, device=device)
    if labels.shape != (len(rgb),):
        raise ValueError(f"train_classifier: labels must have shape ({len(rgb)},), got {tuple(labels.shape)}.")
    if labels.min() < 0 or labels.max() >= model.config["classes"]:
        raise ValueError(f"train_classifier: labels must lie in [0, {model.config['classes']}), "
                         f"got {int(labels.min())}..{int(labels.max())}.")
    generator = torch.Generator(device=device).manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses, running = [], torch.zeros((), device=device)
    model.train()
    start = time.perf_counter()
    for step in range(1, steps + 1):
        if time_budget is not None and time.perf_counter() - start > time_budget:
            break
        index = torch.randint(0, len(rgb), (min(batch_size, len(rgb)),), device=device, generator=generator)
        x = rgb[index]
        flip = torch.rand(len(x), device=device, generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        loss = F.cross_entropy(model(x), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running += loss.detach()
        if step % 10 == 0:
            losses.append(float(running) / 10)  # one host sync every 10 steps
            running.zero_()
    model.eval()
    return losses


@torch.no_grad()
def accuracy(model: SemanticClassifier, rgb, labels, batch_size: int = 256) -> float:
    """The fraction of images (RGB (N,3,H,W) in [0, 1]) whose predicted class is the label."""
    device = next(model.parameters()).device
    rgb, _ = rgb_image(rgb, "accuracy images")
    labels = torch.as_tensor(labels, dtype=torch.int64)
    if labels.shape != (len(rgb),):
        raise ValueError(f"accuracy: labels must have shape ({len(rgb)},), got {tuple(labels.shape)}.")
    model.eval()
    correct = 0
    for start in range(0, len(rgb), batch_size):
        scores = model(rgb[start : start + batch_size].to(device).float())
        correct += int((scores.argmax(dim=1).cpu() == labels[start : start + batch_size]).sum())
    return correct / len(rgb)
