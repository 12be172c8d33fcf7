"""Checkpoints: one file holds a trained network and everything needed to rebuild or resume it.

A checkpoint is a dict saved with ``torch.save``: its format tag, the colorlab version, the model's
configuration (from which :func:`colorlab.models.build_model` rebuilds it) and weights, the
:class:`History` of its training, the training configuration, the optimiser's state and where
training stood in its shuffled batches, so that a resumed run continues exactly as if it had never
stopped (:func:`colorlab.train.fit`). Files are written to a temporary name and renamed
(:func:`colorlab.files.atomic_write`), and read with ``torch.load(weights_only=True)``: no code from a
file is ever run, and a file whose model configuration does not fit its weights is refused before
any memory is taken for the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import __version__
from .files import atomic_write
from .models import build_model

__all__ = ["CHECKPOINT_FORMAT", "History", "save_checkpoint", "read_checkpoint", "load_checkpoint",
           "check_weights_fit"]

CHECKPOINT_FORMAT = "colorlab-checkpoint-1"


@dataclass
class History:
    """What happened during training, for loss curves and for resuming."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: float = 0.0
    images_seen: int = 0

    @property
    def steps_done(self) -> int:
        return self.step[-1] if self.step else 0


def save_checkpoint(path, model: nn.Module, history: History | None = None, train_config=None,
                    optimizer: torch.optim.Optimizer | None = None, batch_order: dict | None = None) -> Path:
    """Write a checkpoint to ``path`` atomically (temporary name, then rename); return the path.

    ``train_config`` is a :class:`colorlab.train.TrainConfig` (stored as a dict) or None.
    ``batch_order`` is where :func:`colorlab.train.fit` stands in its shuffled batches (per
    process: the batch generator's state at the start of the epoch, a uint8 tensor, and the
    batches taken since), so that a resume continues the same sequence; checkpoints without it
    still load.
    """
    state = {
        "format": CHECKPOINT_FORMAT,
        "colorlab_version": __version__,
        "model_config": dict(model.config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": asdict(history) if history is not None else asdict(History()),
        "train_config": asdict(train_config) if train_config is not None else {},
        "optimizer": optimizer.state_dict() if optimizer is not None else {},
    }
    if batch_order is not None:
        state["batch_order"] = batch_order
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def read_checkpoint(path, device: torch.device | str = "cpu") -> dict:
    """Read a checkpoint file safely (``weights_only=True``) and check its layout."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; train one with `colorlab train ... --out {path}`.")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # torch raises several kinds for a damaged zip or pickle stream
        if "weights only" in str(err).lower() or "weights_only" in str(err):
            # torch's message goes on to suggest weights_only=False: colorlab never runs a file's code
            reason = ("it holds Python objects beyond tensors, numbers and plain containers, which colorlab "
                      "never unpickles (they can run code)")
        else:
            first = str(err).splitlines()[0] if str(err) else ""
            reason = f"corrupt, truncated, or not a checkpoint: {type(err).__name__}: {first}"
        raise ValueError(f"{path} is not a readable colorlab checkpoint ({reason}). Re-train or re-copy the file."
                         ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path} is not a colorlab checkpoint (format {found!r}, expected {CHECKPOINT_FORMAT!r}).")
    for key in ("model_config", "state_dict", "history"):
        if key not in state:
            raise ValueError(f"{path} is an incomplete colorlab checkpoint: it has no {key!r}.")
    return state


def check_weights_fit(path, model: nn.Module, saved) -> None:
    """A ValueError unless ``saved`` (a state dict) has exactly the model's tensors, each of the model's shape.

    ``path`` only names the file in the message. The model may live on the meta device (no memory).
    """
    if not isinstance(saved, dict) or not all(isinstance(v, torch.Tensor) for v in saved.values()):
        raise ValueError(f"{path}: its state_dict is not a dict of tensors.")
    own = model.state_dict()
    missing = sorted(set(own) - set(saved))
    extra = sorted(set(saved) - set(own))
    wrong = [k for k in own if k in saved and tuple(own[k].shape) != tuple(saved[k].shape)]
    if missing or extra or wrong:
        raise ValueError(
            f"{path}: the weights do not fit the model {dict(model.config)}: "
            f"{len(missing)} missing (e.g. {missing[:2]}), {len(extra)} unexpected (e.g. {extra[:2]}), "
            f"{len(wrong)} of the wrong shape (e.g. {wrong[:2]})."
        )


def load_checkpoint(path, device: torch.device | str = "cpu", model: nn.Module | None = None) -> dict:
    """Load a checkpoint; rebuild the model from its configuration unless ``model`` is given.

    Returns the checkpoint dict with the ready model (in eval mode, on ``device``)
    under ``"model"``. Weights that do not match the model's layers are a
    ``ValueError``: nothing is half-loaded.
    """
    state = read_checkpoint(path, device)
    if model is None:
        # The configuration decides how much memory the model takes: check it against the stored weights
        # on the meta device (no memory) before building the model for real.
        config = state["model_config"]
        if not isinstance(config, dict):
            raise ValueError(f"{path}: its model configuration is a {type(config).__name__}, not a dict.")
        try:
            with torch.device("meta"):
                skeleton = build_model(config)
        except (TypeError, ValueError, KeyError, RuntimeError) as err:
            raise ValueError(f"{path}: its model configuration {config} is not one colorlab can build: {err}"
                             ) from None
        check_weights_fit(path, skeleton, state["state_dict"])
        model = build_model(config)
    elif dict(model.config) != dict(state["model_config"]):
        raise ValueError(
            f"{path} holds a {state['model_config']} model, but the model given is {model.config}."
        )
    # Compare names and shapes before copying anything, so a mismatch leaves the model untouched.
    saved = state["state_dict"]
    check_weights_fit(path, model, saved)
    model.load_state_dict(saved, strict=True)
    model.to(device).eval()
    state["model"] = model
    return state
