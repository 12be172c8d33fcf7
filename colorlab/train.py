"""One readable training loop for every colorization network.

``fit(model, data, config)`` trains any of colorlab's networks on :class:`~colorlab.data.LabPairs`:
Adam, optionally the learning rate halved every ``halve_every`` steps (000), a tqdm progress bar
with the running loss, and a :class:`~colorlab.checkpoints.History` for loss curves. What it
minimises is the network's own business: ``model.objective(data, config)``
(:mod:`colorlab.objectives`: the regression losses, Zhang et al.'s rebalanced soft-target
cross-entropy, the palette network's two-part loss), so the loop reads the same for all of them.

It trains at the machine's speed on a GPU and on a CPU alike: channels_last memory format (CUDA
and CPU), bf16 autocast where the hardware computes in bf16 (CUDA; CPUs with AVX-512 BF16 or AMX:
:func:`colorlab.device.fast_bf16`) with the loss in float32, a fused Adam, one thread per physical
CPU core, and an objective's per-image extras (the classifier's soft targets) computed once per
data set instead of once per batch. The data stays where ``LabPairs`` put it, so a step does no
host work (the loss is copied to the host only every ``log_every`` steps).
``benchmarks/train_throughput.py`` measures what each of these buys against a plain float32 loop.
Under ``torchrun`` it trains on several processes with DistributedDataParallel, each on its own
shard of the data (see :func:`fit` and :mod:`colorlab.distributed`).

Progress is saved to a checkpoint (:mod:`colorlab.checkpoints`) as training goes and when it is
interrupted, with where training stood in its shuffled batches, so a resumed run continues exactly
as if it had never stopped.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import nn

from . import distributed as dist
from .checkpoints import History, load_checkpoint, save_checkpoint
from .data import LabPairs
from .device import fast_bf16, use_physical_cores
# Raised whenever fit trains differently with the same settings (2: bf16 and channels_last on CPUs, soft targets
# once per data set, fused Adam, batch-norm statistics recomputed at the end), so that no cache hands back a
# model the present loop would not have trained.
LOOP_VERSION = 2


@dataclass
class TrainConfig:
    """How to train. Every field has a default that trains a quick model on a CPU."""

    steps: int = 300  # optimiser steps in all (a resumed run continues up to this number)
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    loss: str = "mse"  # regression: "mse" (the UV/L2 loss), "smooth_l1" or "blur"; ignored for classification
    rebalance: float | None = 0.5  # classification: lambda of the rebalancing weights; None for none
    halve_every: int | None = None  # halve the learning rate every this many steps (000 used 3000)
    flip: bool = True  # random horizontal flips, done on the device
    amp: bool = True  # bf16 autocast where it is fast (fast_bf16: CUDA, CPUs with AVX-512 BF16 or AMX)
    time_budget: float | None = None  # seconds; stop early when spent
    log_every: int = 10  # steps between host reads of the loss
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"TrainConfig: unknown settings {sorted(unknown)}; known: {sorted(known)}.")
        return cls(**values)


# Settings a resumed run may change: how long it trains and how it reports. Any other change would make the
# resumed run a different run than the one the checkpoint began.
RESUMABLE_CHANGES = ("steps", "time_budget", "log_every")
SAVE_EVERY_STEPS = 1000
SAVE_EVERY_SECONDS = 300.0


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by SIGINT (Ctrl-C) or SIGTERM; ``checkpoint`` holds everything done so far (or is None)."""

    def __init__(self, message: str, signal_number: int, step: int, checkpoint: Path | None):
        super().__init__(message)
        self.signal_number, self.step, self.checkpoint = signal_number, step, checkpoint


def changed_settings(saved: dict, config: TrainConfig) -> list[str]:
    """What a resume would change: ``key=old -> new`` for each saved setting ``config`` differs in, except
    :data:`RESUMABLE_CHANGES`. ``saved`` is a checkpoint's ``train_config`` dict."""
    now = asdict(config)
    return [f"{key}={saved[key]!r} -> {now[key]!r}" for key in now
            if key in saved and key not in RESUMABLE_CHANGES and saved[key] != now[key]]


class _StopSignals:
    """While training, SIGINT and SIGTERM only ask the loop to stop at the end of its step (main thread only)."""

    def __init__(self, enabled: bool):
        self.received = None
        self._previous = {}
        if enabled and threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._ask)

    def _ask(self, number, frame):
        if self.received is not None:  # a second Ctrl-C: stop now, as Python would
            raise KeyboardInterrupt
        self.received = number

    def restore(self):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}


def fit(
    model: nn.Module,
    data: LabPairs,
    config: TrainConfig | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    shard: bool = True,
    save_every: int | None = SAVE_EVERY_STEPS,
    save_seconds: float | None = SAVE_EVERY_SECONDS,
) -> History:
    """Train ``model`` on ``data`` (on the data's device) and return the history.

    With ``checkpoint`` the final state is saved there; with ``resume`` and an
    existing checkpoint, training continues from it (weights, optimiser, step,
    history, and the position in the shuffled batch order, so a resumed run is
    bit for bit the run that was never interrupted) up to ``config.steps``.

    **Several processes** (``torchrun``, see :mod:`colorlab.distributed`): when a
    process group is initialised, the model is wrapped in DistributedDataParallel
    and each process trains on its own shard of ``data``, images
    ``rank::world_size`` (``shard=False``: ``data`` already is this process's
    shard). ``config.batch_size`` is *per process*: a step sees
    ``batch_size * world_size`` images (scale ``lr`` yourself if you want to).
    Every process must call ``fit`` with the same model, configuration and
    checkpoint path. The logged loss is the mean over the processes; only
    process 0 shows the progress bar and writes the checkpoint, in the same
    format as a single process's; all return once it is written, with
    identical weights (rank 0's batch-norm statistics). A ``time_budget`` is
    checked every ``log_every`` steps, so that all stop at the same step. To
    resume, every process needs to see the checkpoint (a shared file system
    when the processes run on several machines).

    **Nothing is lost** when a ``checkpoint`` is given: the state is saved there (atomically, with
    everything a bit-exact resume needs) every ``save_every`` steps and every ``save_seconds``
    seconds, at the next log point, and at the end. SIGINT (Ctrl-C, a notebook's interrupt) and
    SIGTERM (a preempted machine) stop the loop at the end of the step in progress; the state is
    saved and :class:`TrainingInterrupted` (a ``KeyboardInterrupt``) is raised with a one-line
    message; ``resume=True`` continues from there. A resume must use the settings the checkpoint was
    trained with, except ``steps``, ``time_budget`` and ``log_every``: anything else is a
    ``ValueError`` that names what changed.
    """
    from tqdm.auto import tqdm

    config = config or TrainConfig()
    if not isinstance(data, LabPairs):
        raise ValueError(f"fit: data must be a colorlab.data.LabPairs, got {type(data).__name__}.")
    device = data.device
    cuda = device.type == "cuda"
    if device.type == "cpu":
        use_physical_cores()
    channels_last = device.type in ("cuda", "cpu")  # faster convolutions on both (benchmarks/train_throughput.py)
    distributed, rank, world_size = dist.is_initialized(), dist.rank(), dist.world_size()
    if distributed and shard:
        data = LabPairs(data.l[rank::world_size], data.ab[rank::world_size])  # views: no copy of the images
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if not callable(getattr(model, "objective", None)):
        raise ValueError(f"fit: a {type(model).__name__} has no objective(data, config), so fit cannot say what to "
                         f"minimise; colorlab's trainable networks are in colorlab.models.")
    if dist.any_rank(len(data) == 0):
        raise ValueError("fit: the data set is empty." if not distributed else
                         f"fit: the data set is empty in at least one of the {world_size} processes.")

    torch.manual_seed(config.seed)
    optimizer = _adam(model, config)
    history = History()
    saved_order = None
    found = resume and checkpoint is not None and Path(checkpoint).exists()
    if distributed:
        seen_by = int(dist.all_reduce_sum(torch.tensor(int(found))).item())
        if 0 < seen_by < world_size:
            raise FileNotFoundError(f"fit: only {seen_by} of the {world_size} processes see the checkpoint "
                                    f"{checkpoint} to resume from; on several machines put it on a shared file system.")
    if found:
        # every process loads the same file, so weights, optimiser and history agree everywhere
        state = load_checkpoint(checkpoint, device=device, model=model)
        changed = changed_settings(state.get("train_config") or {}, config)
        if changed:
            raise ValueError(f"fit: {checkpoint} was trained with other settings ({', '.join(changed)}); resume "
                             f"with the settings it was trained with (only {', '.join(RESUMABLE_CHANGES)} may "
                             f"change), or train to a new checkpoint.")
        if state.get("optimizer"):
            optimizer.load_state_dict(state["optimizer"])
        history = History(**state["history"])
        saved_order = state.get("batch_order")
    trained = model
    if distributed:
        # DDP broadcasts process 0's weights and averages the gradients in backward()
        trained = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)

    # What to minimise is the network's business (colorlab.objectives); its per-image extras (the classifier's
    # soft targets) are computed once for the data set, here, and batched with the images.
    objective = model.objective(data, config)

    def lr_at(step: int) -> float:
        if config.halve_every:
            return config.lr * 0.5 ** (step // config.halve_every)
        return config.lr

    # Each process shuffles its shard with a generator of its own. A resume puts it back where the saved run
    # stood; a checkpoint without that (an older one, or one of another number of processes) re-seeds it.
    generator = torch.Generator(device=device if cuda else "cpu").manual_seed(config.seed + history.steps_done + rank)
    batches = _BatchStream(data, config.batch_size, config.flip, generator, also=objective.extras)
    batches.restore(saved_order, rank, world_size)
    images_per_step = int(dist.all_reduce_sum(torch.tensor(batches.batch_size)).item())
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.amp and fast_bf16(device))

    def log() -> None:
        nonlocal since_log
        # the one host sync, every log_every steps (the mean over the processes when there are several)
        mean_loss = (dist.all_reduce_mean(running) / since_log).item()
        if not math.isfinite(mean_loss):
            raise FloatingPointError(
                f"fit: the loss became {mean_loss} at step {step}; lower the learning rate (now {lr_at(step):g})."
            )
        history.step.append(step)
        history.loss.append(mean_loss)
        history.lr.append(lr_at(step - 1))
        bar.set_postfix(loss=f"{mean_loss:.4f}")
        bar.update(since_log)
        running.zero_()
        since_log = 0

    def out_of_time() -> bool:
        if config.time_budget is None:
            return False
        if distributed and since_log:
            return False  # several processes decide together, at log points, so that all stop at the same step
        return dist.any_rank(time.perf_counter() - start > config.time_budget)

    def save(saved_history: History) -> None:
        """The checkpoint as training stands: every process takes part (the batch order is gathered)."""
        order = batches.gather_state()
        failed = None
        if rank == 0:
            try:
                save_checkpoint(checkpoint, model, history=saved_history, train_config=config, optimizer=optimizer,
                                batch_order=order)
            except Exception as err:  # noqa: BLE001 -- re-raised below, once every process knows
                failed = err
        # also the barrier that keeps the other processes until the checkpoint is written
        if dist.any_rank(failed is not None):
            if failed is not None:
                raise failed
            raise RuntimeError(f"fit: process 0 failed to write the checkpoint {checkpoint}; see its error.")

    def progress_saved() -> bool:
        """At a log point: save the progress so far when it is due (all processes decide together)."""
        nonlocal saved_at
        if checkpoint is None:
            return False
        due = bool(save_every and step - saved_at[0] >= save_every)
        if not due and save_seconds is not None:
            due = time.perf_counter() - saved_at[1] >= save_seconds
        if not dist.any_rank(due):
            return False
        save(dataclasses.replace(history, seconds=history.seconds + time.perf_counter() - start,
                                 step=list(history.step), loss=list(history.loss), lr=list(history.lr)))
        saved_at = (step, time.perf_counter())
        return True

    def stop_asked() -> bool:
        if signals.received is None and not distributed:
            return False
        if distributed and since_log:
            return False  # as for the time budget: all processes stop at the same log point
        return dist.any_rank(signals.received is not None)

    trained.train()
    step = first_step = history.steps_done
    start = time.perf_counter()
    saved_at = (step, start)
    running = torch.zeros((), device=device)
    since_log = 0
    interrupted = False
    bar = tqdm(total=config.steps, initial=step, desc=f"training {model.config['name']}",
               disable=not (progress and rank == 0), leave=False)
    signals = _StopSignals(enabled=checkpoint is not None)
    try:
        while step < config.steps:
            if out_of_time():
                break
            if stop_asked():
                interrupted = True
                break
            l, ab, *extras = next(batches)
            if channels_last:
                l = l.contiguous(memory_format=torch.channels_last)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            loss = objective.loss(trained, l, ab, *extras, autocast=autocast)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            running += loss.detach()
            since_log += 1
            history.images_seen += images_per_step
            if since_log == config.log_every or step == config.steps:
                log()
                if step < config.steps:
                    progress_saved()
        if since_log:  # stopped by the time budget or a signal between two logs
            log()
    finally:
        signals.restore()
        bar.close()
    history.seconds += time.perf_counter() - start
    if interrupted:
        # saved as it stands (the batch-norm averages of training included), so that a resume is bit-exact
        model.eval()
        if checkpoint is not None:
            save(history)
        if channels_last:
            model.to(memory_format=torch.contiguous_format)
        name = signal.Signals(signals.received).name if signals.received is not None else "a signal"
        where = f"saved to {checkpoint}; resume to continue" if checkpoint is not None else "nothing saved"
        raise TrainingInterrupted(f"{name}: stopped at step {step} of {config.steps}, {where}.",
                                  signals.received or 0, step, Path(checkpoint) if checkpoint is not None else None)
    if step > first_step:  # weights that did not change keep their statistics
        recompute_batch_norm(model, data, batches.batch_size, forward=objective.norm_forward)
    else:
        model.eval()
    if channels_last:
        # the memory format is a detail of training: the model leaves as a rebuilt checkpoint comes back,
        # so a trained and a reloaded model compute the same numbers bit for bit
        model.to(memory_format=torch.contiguous_format)
    if distributed:
        for buffer in model.buffers():  # batch-norm statistics: every process ends with process 0's model
            dist.broadcast_(buffer)
    if checkpoint is not None:
        save(history)
    return history


BATCH_NORM_IMAGES = 1024  # images that recompute the batch-norm statistics at the end of training


@torch.no_grad()
def recompute_batch_norm(model: nn.Module, data: LabPairs, batch_size: int, images: int = BATCH_NORM_IMAGES,
                         forward=None) -> nn.Module:
    """Set every batch norm's running mean and variance to those of the final weights; return the model in eval mode.

    During training a batch norm keeps an exponential average of the batch statistics it saw, each
    from the weights of its step; in eval mode it normalises with that average. When the weights
    still move fast at the end (a high learning rate; a network whose output barely depends on its
    input), the average lags behind the weights, the eval-mode network is not the one whose loss was
    measured, and its output can be far off (notebook 01's red-or-green regressor, 1 seed in 4 in
    bf16). So, as "precise BN" does (Wu and Johnson, "Rethinking 'Batch' in BatchNorm", 2021), the
    statistics are recomputed: the average over the batches of the first ``images`` images of the
    data, in order (no shuffle, no flips: the result depends on the final weights alone, so a resumed
    run ends as the run that was never interrupted), float32, without gradients: a third of a
    training step's work per image, 0.3 s at the quick size on a 2-core CPU. ``forward(model, l, ab)`` replaces
    ``model(l)`` for a network that needs more than L (the palette network).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if norms and len(data):
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a plain average over the batches below
        model.train()
        try:
            batch_size = min(batch_size, len(data))
            epoch = data.batches(batch_size, shuffle=False)
            for _, (l, ab) in zip(range(max(1, math.ceil(images / batch_size))), epoch):
                model(l) if forward is None else forward(model, l, ab)
        finally:
            for m, momentum in zip(norms, momenta):
                m.momentum = momentum
    return model.eval()


def _adam(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam, fused into one kernel for all parameters where torch has that for the device (it is the same
    update; the per-parameter loop costs more than the arithmetic on a small network)."""
    try:
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device or torch
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


class _BatchStream:
    """Batches forever, a new shuffle each epoch, from a generator of its own.

    Its position (the generator's state at the start of the current epoch and the
    batches taken since) can be saved and restored, so a resumed run sees exactly the
    batches the uninterrupted run would have seen, even from the middle of an epoch
    (given the same data, batch size and number of processes).
    """

    def __init__(self, data: LabPairs, batch_size: int, flip: bool, generator: torch.Generator, also: tuple = ()):
        self.data, self.flip, self.generator, self.also = data, flip, generator, also
        self.batch_size = min(batch_size, len(data))
        self._epoch = iter(())
        self._epoch_start = generator.get_state()
        self._taken = 0

    def _new_epoch(self):
        self._epoch_start = self.generator.get_state()
        self._taken = 0
        self._epoch = self.data.batches(self.batch_size, shuffle=True, flip=self.flip, generator=self.generator,
                                        drop_last=True, also=self.also)

    def __next__(self):
        batch = next(self._epoch, None)
        if batch is None:
            self._new_epoch()
            batch = next(self._epoch)
        self._taken += 1
        return batch

    def gather_state(self) -> dict:
        """Every process's position, for the checkpoint (a collective when there are several processes)."""
        states = dist.all_gather(self._epoch_start)
        taken = dist.all_gather(torch.tensor([self._taken], dtype=torch.int64))
        return {"world_size": len(states), "generator": torch.stack(states), "taken": torch.cat(taken)}

    def restore(self, saved: dict | None, rank: int, world_size: int) -> bool:
        """Go back to this process's saved position; False (nothing changed) when the file has none that fits."""
        if not saved or int(saved["world_size"]) != world_size:
            return False
        state = saved["generator"][rank].cpu().clone()  # its own storage: set_state crashes on a row view
        if state.shape != self._epoch_start.shape:  # another kind of generator (saved on a GPU, resumed on a CPU)
            return False
        self.generator.set_state(state)
        self._epoch, self._epoch_start, self._taken = iter(()), state.clone(), 0
        taken = int(saved["taken"][rank])
        if taken:  # draw that epoch again and skip what was already trained on
            self._new_epoch()
            while self._taken < taken and next(self._epoch, None) is not None:
                self._taken += 1
        return True
