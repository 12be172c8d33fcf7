"""Training on several processes: one per GPU, on one machine or many, started by ``torchrun``.

``torchrun`` starts one process per GPU and tells each, in the environment, who it is
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``).
:func:`init_from_env` reads that and joins the process group: NCCL when the device is a
CUDA GPU (process ``LOCAL_RANK`` takes GPU ``LOCAL_RANK`` of its machine), gloo on CPUs.
Without ``torchrun`` (or with one process) it does nothing and the code runs as one
process, so the same command works both ways.

:func:`colorlab.train.fit` notices an initialised process group by itself; the helpers
below are what it uses. Each is a no-op, or returns its input, in a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Distributed:
    """Who this process is. The single-process default is rank 0 of 1."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None  # "nccl", "gloo", or None in a single process

    @property
    def is_main(self) -> bool:
        """Process 0 writes the checkpoints and prints."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_from_env(verbose: bool = False) -> Distributed:
    """Join the process group ``torchrun`` describes in the environment, or stay a single process.

    The device follows :func:`colorlab.default_device` (so ``COLORLAB_DEVICE=cpu`` trains on CPUs
    with gloo even where there are GPUs); a CUDA device becomes ``cuda:LOCAL_RANK`` and uses NCCL.
    With ``verbose``, process 0 prints one line: the device, or the processes and the backend.
    Call :func:`cleanup` when done (in a ``finally``).
    """
    from .device import default_device, describe_device

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world_size <= 1:
        return Distributed(device=default_device(verbose=verbose))
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this PyTorch has no torch.distributed; install a build that has it.")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = default_device()
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(f"process {rank} has LOCAL_RANK {local_rank} but this machine has only "
                             f"{torch.cuda.device_count()} GPU(s); start at most that many processes per node.")
        device, backend = torch.device("cuda", local_rank), "nccl"
        torch.cuda.set_device(device)
        dist.init_process_group(backend, rank=rank, world_size=world_size, device_id=device)
    elif device.type == "cpu":
        backend = "gloo"
        dist.init_process_group(backend, rank=rank, world_size=world_size)
    else:
        raise ValueError(f"training on several processes needs CUDA GPUs or CPUs, not {device}; "
                         f"set COLORLAB_DEVICE=cpu to use the CPUs.")
    info = Distributed(rank=rank, world_size=world_size, local_rank=local_rank, device=device, backend=backend)
    if verbose and info.is_main:
        where = f"{describe_device(device)} and the same on each" if device.type == "cuda" else describe_device(device)
        print(f"colorlab device: {world_size} processes ({backend}); process 0 on {where}")
    return info


def cleanup() -> None:
    """Leave the process group, if this process is in one."""
    if is_initialized():
        dist.destroy_process_group()


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def barrier() -> None:
    """Wait until every process gets here."""
    if is_initialized():
        dist.barrier()


def _comm_device() -> torch.device:
    """Where collectives want their tensors: the current GPU for NCCL, the CPU for gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of ``tensor`` over all processes (a new tensor, on ``tensor``'s device)."""
    if not is_initialized():
        return tensor.clone()
    total = tensor.detach().to(_comm_device(), copy=True)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total.to(tensor.device)


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """The mean of ``tensor`` over all processes (a new tensor); for the logged loss."""
    return all_reduce_sum(tensor) / world_size()


def any_rank(flag: bool) -> bool:
    """True on every process when ``flag`` is true on at least one: for decisions all must share."""
    if not is_initialized():
        return bool(flag)
    return bool(all_reduce_sum(torch.tensor([int(flag)], dtype=torch.int64)).item() > 0)


def all_gather(tensor: torch.Tensor) -> list[torch.Tensor]:
    """Every process's ``tensor`` (same shape and dtype on all), in rank order, on the CPU."""
    if not is_initialized():
        return [tensor.detach().cpu().clone()]
    mine = tensor.detach().to(_comm_device())
    out = [torch.empty_like(mine) for _ in range(world_size())]
    dist.all_gather(out, mine)
    return [t.cpu() for t in out]


def broadcast_(tensor: torch.Tensor, src: int = 0) -> torch.Tensor:
    """Overwrite ``tensor`` on every process with process ``src``'s (in place; returns it)."""
    if is_initialized():
        buffer = tensor.detach().to(_comm_device(), copy=True)
        dist.broadcast(buffer, src)
        with torch.no_grad():
            tensor.copy_(buffer)
    return tensor
