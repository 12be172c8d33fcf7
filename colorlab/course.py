"""What every notebook's first cell sets up: the device, the data, the size, and training that is cached.

``setup(device, dataset, size)`` is what every notebook's first code cell calls,
with the values of its papermill ``parameters`` cell. It picks the device (GPU
first), chooses how big to train (the CPU-quick size when there is no GPU, and
says so) and hands out the data the notebook trains and tests on.

``Course.train(model, config)`` trains a network once per configuration. The
checkpoint is cached under a key made of everything that determines the result
(the model's configuration and weight shapes, the training configuration, the
bytes of the training images, the colorlab and torch versions), so the student
notebook reuses what its solution notebook trained, and a notebook run a second
time starts at once. Change anything that matters and the key changes.

The student notebooks are made from the solutions by :mod:`colorlab.student_notebooks`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from . import __version__
from .checkpoints import History, load_checkpoint
from .data import DATA_ENV_VAR, LabPairs, data_root, find_cifar10, load_images, load_labelled_images, resolve_dataset
from .device import default_device, describe_device, fast_bf16, is_gpu, seed_everything
from .train import LOOP_VERSION, TrainConfig, fit

# ------------------------------------------------------------------ sizes


@dataclass(frozen=True)
class CourseSize:
    """How much a notebook trains: the same notebook, sized for a laptop CPU or a GPU."""

    name: str
    patch: int  # side of the training and test images, in pixels
    train_count: int  # training images
    test_count: int  # held-out images
    width: int  # channels of the networks' first layer
    batch_size: int
    steps: int  # optimiser steps per model
    seconds: float  # a safety net: never more than this many seconds per model


# "quick" keeps every notebook under 3 minutes on a 2-core CPU; "full" is for a GPU. A model's training is
# ended by its step count: 900 quick steps take about 25 s on an idle 2-core CPU (fit's fast CPU path made
# them cost what 600 plain float32 steps did; benchmarks/train_throughput.py), so the time limit (more
# than twice that) only cuts in on a busy machine. Ending by steps, not seconds, makes a run the same run on
# every idle machine, and so do the results the notebooks check.
SIZES = {
    "quick": CourseSize("quick", patch=32, train_count=2000, test_count=2000, width=8, batch_size=32, steps=900,
                        seconds=60.0),
    "full": CourseSize("full", patch=64, train_count=20000, test_count=2000, width=32, batch_size=128, steps=3000,
                       seconds=120.0),
}

CACHE_ENV_VAR = "COLORLAB_CACHE"


def cache_dir() -> Path:
    """Where trained checkpoints are kept: ``$COLORLAB_CACHE``, else ``~/.cache/colorlab``."""
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "colorlab"


# ------------------------------------------------------------------ set-up


class Course:
    """The device, the size and the data of one notebook run. Made by :func:`setup`."""

    def __init__(self, device: torch.device, dataset, size: CourseSize, seed: int = 0):
        self.device = device
        self.dataset = dataset
        self.size = size
        self.seed = seed
        self._images: dict[str, torch.Tensor] = {}
        self._pairs: dict[str, LabPairs] = {}
        self._fingerprints: dict[int, str] = {}
        self.runs: dict[str, dict] = {}  # what train() did for each run: steps done and planned, seconds, loaded

    def __repr__(self) -> str:
        return (f"Course(device={str(self.device)!r}, dataset={self.dataset!r}, size={self.size.name!r}, "
                f"seed={self.seed})")

    def images(self, split: str = "train") -> torch.Tensor:
        """The notebook's ``"train"`` or ``"test"`` images: torch.uint8 (N,3,patch,patch), on the CPU.

        Loaded once and kept; the same for every notebook of the same set-up.
        """
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
        if split not in self._images:
            count = self.size.train_count if split == "train" else self.size.test_count
            # Different seeds for the two splits: the photos differ already, the patch positions need not match.
            self._images[split] = load_images(self.dataset, split, size=self.size.patch, count=count,
                                              seed=self.seed + (split == "test"))
        return self._images[split]

    def labels(self, split: str = "train") -> torch.Tensor:
        """Class labels (N,) of :meth:`images` (``split``): the photo of a sample patch, or the CIFAR-10 class.

        A folder data set has none (ValueError). Used by the semantic test of notebook 07.
        """
        key = f"{split}-labels"
        if key not in self._images:
            count = self.size.train_count if split == "train" else self.size.test_count
            images, labels = load_labelled_images(self.dataset, split, size=self.size.patch, count=count,
                                                  seed=self.seed + (split == "test"))
            self._images.setdefault(split, images)
            self._images[key] = labels
        return self._images[key]

    def pairs(self, split: str = "train") -> LabPairs:
        """The same images as normalised (L, ab) pairs, resident on the course's device."""
        if split not in self._pairs:
            self._pairs[split] = LabPairs.from_rgb(self.images(split), device=self.device)
        return self._pairs[split]

    def test_rgb(self) -> torch.Tensor:
        """The held-out images as float RGB in [0, 1], (N,3,H,W), on the course's device."""
        return self.images("test").to(self.device).float() / 255.0

    def train_config(self, **changes) -> TrainConfig:
        """A :class:`~colorlab.train.TrainConfig` of this size (steps, batch, time limit), with ``changes``."""
        base = TrainConfig(steps=self.size.steps, batch_size=self.size.batch_size,
                           time_budget=self.size.seconds, seed=self.seed)
        return replace(base, **changes)

    def _fingerprint(self, images: torch.Tensor) -> str:
        key = id(images)
        if key not in self._fingerprints:
            digest = hashlib.sha256(str(tuple(images.shape)).encode())
            digest.update(images.detach().cpu().contiguous().numpy().tobytes())
            self._fingerprints[key] = digest.hexdigest()
        return self._fingerprints[key]

    def checkpoint_path(self, model: nn.Module, config: TrainConfig, images: torch.Tensor | None = None,
                        name: str | None = None) -> Path:
        """Where :meth:`train` keeps (or finds) this model trained with this configuration on these images."""
        images = self.images("train") if images is None else images
        key = {
            "model": dict(model.config),
            "shapes": {k: list(v.shape) for k, v in model.state_dict().items()},
            "train": asdict(config),
            "images": self._fingerprint(images),
            "colorlab": __version__,
            "torch": ".".join(torch.__version__.split(".")[:2]),
            "device": self.device.type,
            "bf16": bool(config.amp and fast_bf16(self.device)),  # bf16 trains a (slightly) different model
            "loop": LOOP_VERSION,  # what fit does, beyond its settings
        }
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        name = name or model.config["name"]
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"name must be letters, digits, '_', '.' or '-' (it becomes a file name), got {name!r}.")
        return cache_dir() / "checkpoints" / f"{name}-{digest}.pt"

    def train(self, model: nn.Module, config: TrainConfig | None = None, images: torch.Tensor | None = None,
              name: str | None = None, retrain: bool = False, progress: bool = True) -> History:
        """Train ``model`` in place on the training images, or load it if this exact run was cached.

        Parameters
        ----------
        model : a colorlab network (it has a ``config``), freshly built
        config : TrainConfig or None
            None means :meth:`train_config` (this size's steps, batch and time limit).
        images : uint8 (N,3,H,W) or None
            The training images; None means ``self.images("train")``.
        name : str or None
            A label for the checkpoint file (default: the model's name).
        retrain : bool
            Train even if a cached checkpoint exists (and replace it).

        Returns the training history (loss curve); the model ends in eval mode on the course's device.
        A run that the time limit (``config.time_budget``, the safety net) cut short is cached only
        to be continued: the next call resumes it instead of loading it, and :meth:`run_note` gives
        the footnote that a results table prints for it.
        """
        config = config or self.train_config()
        images = self.images("train") if images is None else images
        path = self.checkpoint_path(model, config, images, name)
        label = name or model.config["name"]
        resume = False
        if path.exists() and not retrain:
            try:
                state = load_checkpoint(path, device=self.device, model=model)
            except ValueError as err:
                print(f"the cached checkpoint {path} is unreadable ({err}); training again.")
            else:
                history = History(**state["history"])
                if history.steps_done >= config.steps:
                    print(f"{label}: loaded the run trained earlier ({history.steps_done} steps, "
                          f"{history.seconds:.0f} s) from {path}; pass retrain=True to train again.")
                    return self._record(label, history, config, loaded=True)
                # A run the safety net cut short is kept only to be continued, never used as the full run.
                print(f"{label}: the cached run stopped at {history.steps_done} of {config.steps} steps; "
                      f"continuing it.")
                resume = True
        data = self.pairs("train") if images is self._images.get("train") else LabPairs.from_rgb(images, self.device)
        seed_everything(config.seed)
        history = fit(model, data, config, checkpoint=path, resume=resume, progress=progress)
        final = f", final loss {history.loss[-1]:.4f}" if history.loss else ""
        if history.steps_done < config.steps:
            print(f"{label}: CUT SHORT by the {config.time_budget:.0f} s safety net at {history.steps_done} of "
                  f"{config.steps} steps (the machine is busy){final}. It is not comparable with full runs; the "
                  f"next run of this cell continues it.")
        else:
            print(f"{label}: trained {history.steps_done} steps in {history.seconds:.0f} s{final}; cached in {path}")
        return self._record(label, history, config, loaded=False)

    def _record(self, label: str, history: History, config: TrainConfig, loaded: bool) -> History:
        self.runs[label] = {"steps_done": history.steps_done, "steps": config.steps,
                            "seconds": round(history.seconds, 1), "loaded": loaded}
        return history

    def run_note(self, name: str) -> str | None:
        """A footnote for a results table when the run ``name`` was cut short, else None."""
        run = self.runs.get(name)
        if run is None or run["steps_done"] >= run["steps"]:
            return None
        return (f"trained {run['steps_done']} of {run['steps']} steps (cut by the time limit on a busy machine): "
                f"not comparable with the full runs")


def setup(device=None, dataset="auto", size: str | None = None, seed: int = 0, verbose: bool = True) -> Course:
    """The first call of every notebook: device, data set and size, each with a sensible default.

    Parameters
    ----------
    device : None, "cpu", "cuda", "cuda:1", "mps" or torch.device
        None picks CUDA, then MPS, then the CPU (``COLORLAB_DEVICE`` overrides).
    dataset : "auto", "samples", "cifar10", a labelled folder or a folder of photos
        "auto" (the default) is "cifar10" when CIFAR-10 is on disk under ``colorlab.data.data_root()``
        (``$COLORLAB_DATA``, else the nearest ``data/`` folder; the official binary files or a copy in
        class folders, see :func:`colorlab.data.find_cifar10`), else "samples", and says which it
        picked. "samples" (the photos shipped with scikit-image, scikit-learn and matplotlib) needs no
        download. A labelled folder (``train/<class>/`` and ``test/<class>/``) has labels, a plain
        folder of photos has none (see :func:`colorlab.data.load_images`).
    size : None, "quick" or "full"
        None picks "full" on a GPU and "quick" on a CPU. CIFAR-10 is always 32 px; every other data
        set gets the size's patch (32 quick, 64 full).
    seed : int

    Returns a :class:`Course` whose ``dataset`` is the resolved value ("cifar10", "samples" or the path),
    never "auto".
    """
    if device is None:
        device = default_device(verbose=verbose)
    else:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"device must be None, 'cpu', 'cuda', 'cuda:0' or 'mps', got {device!r}.") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={str(device)!r} but this machine has no CUDA GPU; use device=None or 'cpu'.")
        if verbose:
            print(f"colorlab device: {describe_device(device)} (chosen in the parameters cell)")
    if size is None:
        size = "full" if is_gpu(device) else "quick"
        reason = "a GPU is present" if is_gpu(device) else "no GPU, so the CPU-quick size"
    else:
        reason = "chosen in the parameters cell"
    if size not in SIZES:
        raise ValueError(f"size must be None, 'quick' or 'full', got {size!r}.")
    chosen = SIZES[size]
    if not (dataset in ("auto", "samples", "cifar10") or isinstance(dataset, (str, os.PathLike))):
        raise ValueError(f"dataset must be 'auto', 'samples', 'cifar10' or a folder path, got {dataset!r}.")
    if isinstance(dataset, str) and dataset == "auto":
        found = find_cifar10()
        dataset = resolve_dataset("auto")
        if verbose:
            if found is not None:
                print(f"dataset 'auto': CIFAR-10 found in {found[1]}, using it; dataset='samples' uses the embedded "
                      f"photos instead.")
            else:
                print(f"dataset 'auto': no CIFAR-10 in {data_root()}, using the embedded photos; "
                      f"`python data_scripts/get_cifar10.py`, run from the course's top folder, downloads it "
                      f"(170 MB) into its data/ folder, where every notebook finds it; or set ${DATA_ENV_VAR} to a "
                      f"folder that holds it.")
    if dataset == "cifar10" and chosen.patch != 32:
        chosen = replace(chosen, patch=32)  # CIFAR-10 is 32x32 and nothing else
    seed_everything(seed)
    if verbose:
        print(f"size {chosen.name!r} ({reason}): {chosen.train_count} training and {chosen.test_count} test images "
              f"of {chosen.patch} px from {dataset!r}; networks of width {chosen.width}, at most "
              f"{chosen.steps} steps or {chosen.seconds:.0f} s each.")
    return Course(device, dataset, chosen, seed)
