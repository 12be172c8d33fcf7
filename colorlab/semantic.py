"""The semantic test of Li and Wang (003): would a classifier recognise the colorized image?

Train a classifier on *colour* images, then feed it the gray images, each
colorizer's output and the true images. Colours that make sense help it (003,
Figure 7: gray 22% < regression 46% < classification 57% < annealed mean 65% <
truth 80% on CIFAR-10); wrong or washed-out colours do not. It measures what the
UV loss cannot: whether the colours carry the information colours should carry.

The test means something only when the judge is good on the true images, and it
can show a difference only as large as the judge's reliance on colour: the gap
between its accuracy on true and on gray images. 003's VGG falls from 80% to
22% without colour; a small CNN trained on 32 px CIFAR-10 images relies mostly
on shape and falls far less. Which judge is used decides what the test can show.

On CIFAR-10 the judge learns the ten classes; colorlab ships a reference judge
(:func:`reference_judge`, made by ``colorlab judge``) because training one worth
the name takes longer than a notebook's CPU budget. On the embedded photos, the
label of a patch is the held-out photo it was cut from
(:func:`colorlab.data.load_labelled_images`), a task where colour
matters (the cat is brown, the flower orange); that judge trains in seconds.
"""

from __future__ import annotations

import hashlib
import json
import time
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import rgb_image, whole_number
from .device import fast_bf16

__all__ = ["SemanticClassifier", "train_classifier", "save_judge", "load_judge",
           "reference_judge", "REFERENCE_JUDGES"]


class SemanticClassifier(nn.Module):
    """RGB (N,3,H,W) float in [0, 1] -> class scores (N, classes), float32.

    Three stages of ``convs`` 3x3 convolutions (batch norm, ReLU) of ``width``,
    ``2 * width`` and ``4 * width`` channels, each followed by 2x2 max pooling,
    then the spatial average and a linear layer. Any H, W >= 8.
    ``SemanticClassifier(10, width=32, convs=2)`` has 0.29 M parameters and
    reaches about 84 % on CIFAR-10 in 3000 steps (16 minutes on a 2-core CPU); ``width=16, convs=1``
    is enough for the three held-out photos of the embedded set.
    """

    def __init__(self, classes: int, width: int = 16, convs: int = 1):
        super().__init__()
        classes, width, convs = (whole_number(value, f"SemanticClassifier: {name}", least) for name, value, least
                                 in (("classes", classes, 2), ("width", width, 1), ("convs", convs, 1)))
        self.config = {"name": "semantic", "classes": classes, "width": width, "convs": convs}

        layers: list[nn.Module] = []
        channels = 3
        for stage in range(3):
            for _ in range(convs):
                out = width * 2**stage
                # no bias: the batch norm right after has its own
                layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                           nn.ReLU(inplace=True)]
                channels = out
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, classes)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        if rgb.ndim != 4 or rgb.shape[1] != 3:
            raise ValueError(f"SemanticClassifier: expected RGB of shape (N,3,H,W), got {tuple(rgb.shape)}.")
        # The whole image's average: the classifier may rely on overall colour, as it should here.
        return self.head(self.features(rgb * 2 - 1).mean(dim=(2, 3)).float())

    @torch.no_grad()
    def correct(self, rgb, labels, batch_size: int = 512, amp: bool = True) -> torch.Tensor:
        """Per image, whether the predicted class is the label: bool (N,) on the CPU.

        ``rgb`` float (N,3,H,W) in [0, 1]; ``labels`` int64 (N,). The mean is the accuracy; the
        per-image values are what a bootstrap interval resamples. Leaves the judge in eval mode.
        """
        device = next(self.parameters()).device
        rgb, _ = rgb_image(rgb, "semantic judge images")
        labels = torch.as_tensor(labels, dtype=torch.int64).cpu()
        if labels.shape != (len(rgb),):
            raise ValueError(f"semantic judge: labels must have shape ({len(rgb)},), got {tuple(labels.shape)}.")
        self.eval()
        hits = []
        for start in range(0, len(rgb), batch_size):
            x = rgb[start : start + batch_size].to(device).float().contiguous(memory_format=torch.channels_last)
            with _autocast(device, amp):
                scores = self(x)
            hits.append(scores.argmax(dim=1).cpu() == labels[start : start + batch_size])
        return torch.cat(hits) if hits else torch.zeros(0, dtype=torch.bool)

    def accuracy(self, rgb, labels, batch_size: int = 512) -> float:
        """The fraction of images (RGB (N,3,H,W) in [0, 1]) whose predicted class is the label."""
        return float(self.correct(rgb, labels, batch_size).float().mean())


def _autocast(device: torch.device, amp: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and fast_bf16(device))


def train_classifier(model: SemanticClassifier, images, labels, steps: int = 300, batch_size: int = 128,
                     lr: float = 0.1, weight_decay: float = 5e-4, crop: int = 4, amp: bool = True,
                     time_budget: float | None = None, seed: int = 0) -> list[float]:
    """Train on colour images with cross-entropy, on the model's device; returns the loss every 10 steps.

    SGD with Nesterov momentum 0.9, the learning rate rising linearly to ``lr`` over the first
    15 % of the steps and falling linearly to 0 at ``steps`` (a one-cycle schedule, the fastest
    way we found to a good small classifier); random flips and random shifts of up to ``crop``
    pixels (the image padded by reflection, one shift per batch), done on the device. bf16
    autocast where the device computes bf16 natively (:func:`colorlab.device.fast_bf16`) and
    ``amp``; channels_last memory layout.

    Parameters
    ----------
    images : uint8 (N,3,H,W) 0-255 or float in [0, 1], colour images; kept on the model's device
        as uint8, so CIFAR-10's 50,000 training images take 150 MB
    labels : int64 (N,) class indices in [0, model.config["classes"])
    steps : optimiser steps; ``time_budget`` (seconds) may end training earlier (the schedule does
        not shorten, so a cut run ends at a high learning rate: prefer ``steps``)
    """
    device = next(model.parameters()).device
    steps = whole_number(steps, "train_classifier: steps")
    as_float = images.float() / 255.0 if images.dtype == torch.uint8 else images
    rgb_image(as_float, "train_classifier images")  # shape and range, with a clear message
    pixels = (images if images.dtype == torch.uint8 else (images * 255).round().to(torch.uint8)).to(device)
    labels = torch.as_tensor(labels, dtype=torch.int64, device=device)
    if labels.shape != (len(pixels),):
        raise ValueError(f"train_classifier: labels must have shape ({len(pixels)},), got {tuple(labels.shape)}.")
    if labels.min() < 0 or labels.max() >= model.config["classes"]:
        raise ValueError(f"train_classifier: labels must lie in [0, {model.config['classes']}), "
                         f"got {int(labels.min())}..{int(labels.max())}.")

    model.to(memory_format=torch.channels_last)
    generator = torch.Generator(device=device).manual_seed(seed)
    shifts = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    warmup = max(1, round(0.15 * steps))

    def lr_at(step: int) -> float:
        return lr * (step / warmup if step <= warmup else (steps - step) / max(1, steps - warmup))

    losses, running = [], torch.zeros((), device=device)
    model.train()
    start = time.perf_counter()
    h, w = pixels.shape[2:]
    for step in range(1, steps + 1):
        if time_budget is not None and time.perf_counter() - start > time_budget:
            break
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        index = torch.randint(0, len(pixels), (min(batch_size, len(pixels)),), device=device, generator=generator)
        x = pixels[index].float() / 255.0
        flip = torch.rand(len(x), device=device, generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if crop:
            # the shift comes from a host generator: drawing it needs no device sync
            dy, dx = torch.randint(0, 2 * crop + 1, (2,), generator=shifts).tolist()
            x = F.pad(x, (crop,) * 4, mode="reflect")[:, :, dy:dy + h, dx:dx + w]
        x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(device, amp):
            scores = model(x)
        loss = F.cross_entropy(scores.float(), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running += loss.detach()
        if step % 10 == 0:
            losses.append(float(running) / 10)  # one host sync every 10 steps
            running.zero_()
    model.eval()
    return losses


# ------------------------------------------------------------------ judges on disk

def save_judge(path, model: SemanticClassifier) -> Path:
    """Write a judge as a colorlab checkpoint, atomically (temporary name, then rename)."""
    from .checkpoints import save_checkpoint

    return save_checkpoint(path, model.float())


def load_judge(path, device="cpu", sha256: str | None = None) -> SemanticClassifier:
    """A judge written by :func:`save_judge`, read with ``weights_only=True``, in eval mode on ``device``.

    With ``sha256``, the file's checksum must match (a ValueError names both), so a damaged or
    replaced reference judge is never used.
    """
    from .checkpoints import check_weights_fit, read_checkpoint

    path = Path(path)
    if sha256 is not None and path.is_file():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != sha256:
            raise ValueError(f"{path} has sha256 {digest}, but its record says {sha256}: the file is damaged or "
                             f"was replaced. Reinstall colorlab, or make it again with `colorlab judge`.")
    state = read_checkpoint(path, "cpu")
    config = dict(state["model_config"])
    if config.pop("name", None) != "semantic":
        raise ValueError(f"{path} holds a {state['model_config'].get('name')!r} network, not a semantic judge.")
    try:
        with torch.device("meta"):  # the configuration checked against the weights before any memory is taken
            skeleton = SemanticClassifier(**config)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path}: its judge configuration {config} is not one colorlab can build: {err}") from None
    check_weights_fit(path, skeleton, state["state_dict"])
    model = SemanticClassifier(**config)
    model.load_state_dict(state["state_dict"], strict=True)
    return model.to(device).eval()


# The judges that ship with colorlab, made by the command in each record (``colorlab judge ...``).
REFERENCE_JUDGES = {"cifar10": "cifar10_judge"}


def _judge_files(name: str):
    folder = resources.files("colorlab") / "judges"
    return folder / f"{REFERENCE_JUDGES[name]}.pt", folder / f"{REFERENCE_JUDGES[name]}.json"


def reference_judge(name: str = "cifar10", device="cpu") -> tuple[SemanticClassifier, dict]:
    """The semantic judge shipped with colorlab for data set ``name``, and its record.

    The record (a dict read from the JSON file beside the weights) says what the judge was
    trained on, with which settings and command, how long it took, its accuracy on the true
    and gray test images, and the weights' sha256, which is checked before they are read.
    """
    if name not in REFERENCE_JUDGES:
        raise ValueError(f"colorlab ships a reference judge only for {', '.join(REFERENCE_JUDGES)}, got {name!r}; "
                         f"train one with colorlab.semantic.train_classifier.")
    weights, record_file = _judge_files(name)
    if not Path(str(weights)).is_file():
        raise FileNotFoundError(f"the reference judge {weights} is missing from this colorlab installation; make it "
                                f"with `colorlab judge --data {name} --out {weights}`.")
    record = json.loads(Path(str(record_file)).read_text(encoding="utf-8"))
    return load_judge(Path(str(weights)), device, sha256=record["sha256"]), record


def make_judge(data="cifar10", steps: int = 3000, width: int = 32, convs: int = 2, batch_size: int = 128,
               lr: float = 0.1, seed: int = 0, device=None, test_count: int | None = None,
               log=print) -> tuple[SemanticClassifier, dict]:
    """Train a judge on the colour training images of ``data`` and measure it on its test images.

    ``data`` is anything :func:`colorlab.data.load_labelled_images` reads ("cifar10", a
    labelled folder, "samples"); images of 32 px. Returns the judge (eval mode) and a record of
    plain values: the data, the settings, the seconds, and the accuracy on the true and on the
    gray test images, each with its 95 % bootstrap interval (:class:`colorlab.results.ResultsTable`).
    ``colorlab judge`` calls this and writes both to disk.
    """
    from . import __version__
    from .color import rgb_to_gray
    from .data import load_labelled_images
    from .device import default_device, describe_device, seed_everything
    from .results import ResultsTable

    device = default_device() if device is None else torch.device(device)
    images, labels = load_labelled_images(data, "train", size=32, seed=seed)
    test_images, test_labels = load_labelled_images(data, "test", size=32, count=test_count, seed=seed + 1)
    classes = int(labels.max()) + 1
    log(f"judge: {classes} classes, {len(images)} colour training images of {data!r}, {steps} steps of "
        f"{batch_size}, width {width}, {convs} convolutions per stage, on {describe_device(device)}")
    seed_everything(seed)
    judge = SemanticClassifier(classes, width=width, convs=convs).to(device)
    start = time.perf_counter()
    losses = train_classifier(judge, images, labels, steps=steps, batch_size=batch_size, lr=lr, seed=seed)
    seconds = time.perf_counter() - start
    truth = test_images.float() / 255
    table = ResultsTable(seed=seed)
    table.add("truth", {"semantic": judge.correct(truth, test_labels)})
    table.add("gray", {"semantic": judge.correct(rgb_to_gray(truth), test_labels)})
    accuracy_of = {m: {"mean": table.mean(m, "semantic"), "interval": table.interval(m, "semantic")}
                   for m in ("truth", "gray")}
    log(f"judge: trained in {seconds:.0f} s; on {len(test_images)} test images: true colours "
        f"{table.cell('truth', 'semantic')}, gray {table.cell('gray', 'semantic')}")
    record = {
        "data": str(data), "train_images": len(images), "test_images": len(test_images), "classes": classes,
        "model_config": dict(judge.config),
        "settings": {"steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed, "optimizer": "SGD nesterov 0.9",
                     "schedule": "one cycle: linear warm-up over 15 % of the steps, then linear decay to 0",
                     "augmentation": "flips, shifts of up to 4 px", "weight_decay": 5e-4},
        "final_loss": losses[-1] if losses else None, "seconds": round(seconds, 1),
        "device": describe_device(device), "colorlab_version": __version__, "torch_version": torch.__version__,
        "accuracy": accuracy_of,
    }
    return judge, record
